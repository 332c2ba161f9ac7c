"""Install and packaging (issue 15 part 7): requirements.txt, pyproject.toml and constraints.txt agree, the
environment install.sh made has exactly the pinned versions, and no system package is needed."""

import importlib.metadata as metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "ostrack-framework"
# install.sh installs vot-toolkit without this declared dependency (the GUI build of OpenCV, see install.sh).
SKIPPED_DEPENDENCIES = {"vot-toolkit": {"opencv-python"}}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return canonical(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line).group(1))


def requirement_lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()
            if line.split("#", 1)[0].strip()]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}; every line must be an exact pin."""
    out = {}
    for line in requirement_lines(ROOT / "constraints.txt"):
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        assert match, f"constraints.txt: {line!r} is not an exact pin NAME==VERSION"
        assert canonical(match.group(1)) not in out, f"constraints.txt pins {match.group(1)} twice"
        out[canonical(match.group(1))] = match.group(2)
    return out


def in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()


def test_requirements_name_the_declared_dependencies_and_extras():
    project = pyproject()["project"]
    declared = [requirement_name(r) for r in project["dependencies"]]
    declared += [requirement_name(r) for extra in project["optional-dependencies"].values() for r in extra]
    listed = [requirement_name(line) for line in requirement_lines(ROOT / "requirements.txt")]
    assert len(listed) == len(set(listed)), f"requirements.txt lists a package twice: {sorted(listed)}"
    assert sorted(listed) == sorted(set(declared))
    assert {"pytest", "ruff"} <= set(project["optional-dependencies"]["dev"])
    assert {"export", "vot", "tuning", "dev"} <= set(project["optional-dependencies"])
    runtime = {requirement_name(r) for r in project["dependencies"]}
    assert not runtime & {"pytest", "ruff", "jpeg4py"}, "test-only or removed packages in the runtime list"


def test_torch_stays_pinned_everywhere():
    runtime = pyproject()["project"]["dependencies"]
    assert "torch==2.14.1" in runtime and "torchvision==0.29.1" in runtime
    assert {"torch", "torchvision"} <= set(pins())
    assert (pins()["torch"], pins()["torchvision"]) == ("2.14.1", "0.29.1")


def test_every_requirement_is_pinned():
    missing = sorted({requirement_name(line) for line in requirement_lines(ROOT / "requirements.txt")} - set(pins()))
    assert missing == [], f"add these to constraints.txt with their exact versions: {missing}"


def test_installed_versions_equal_the_constraints():
    # What makes a fresh install next year resolve the same environment: install.sh installs with -c
    # constraints.txt, and here every package of the environment it made must be pinned at its version.
    if not in_project_venv():
        pytest.skip(f"runs in the environment install.sh makes ({ROOT / '.venv'}), not {sys.prefix}")
    expected = pins()
    unpinned, different = [], []
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        if name == PROJECT:
            continue
        if name not in expected:
            unpinned.append(f"{name}=={dist.version}")
        elif dist.version != expected[name]:
            different.append(f"{name} {dist.version} (constraints.txt: {expected[name]})")
    assert unpinned == [], f"installed but not in constraints.txt (add them, or uninstall them): {unpinned}"
    assert different == [], f"installed at other versions than constraints.txt (rerun install.sh): {different}"


def test_installed_dependencies_are_consistent():
    if not in_project_venv():
        pytest.skip(f"runs in the environment install.sh makes ({ROOT / '.venv'})")
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True,
                            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    problems = []
    for line in result.stdout.splitlines():
        match = re.match(r"(\S+) \S+ requires (\S+), which is not installed", line)
        if match and canonical(match.group(2)) in SKIPPED_DEPENDENCIES.get(canonical(match.group(1)), ()):
            continue
        if line.strip() and line.strip() != "No broken requirements found.":
            problems.append(line)
    assert problems == []


def test_install_needs_no_system_packages_and_no_jpeg4py():
    install = (ROOT / "install.sh").read_text()
    assert not re.search(r"apt-get|apt |sudo|ldconfig|yum|brew", install)
    assert "-c constraints.txt" in install
    for name in ("requirements.txt", "pyproject.toml", "constraints.txt"):
        assert "jpeg4py" not in (ROOT / name).read_text().lower(), name
    offenders = [str(p.relative_to(ROOT)) for p in [*ROOT.glob("lib/**/*.py"), *ROOT.glob("tracking/*.py")]
                 if re.search(r"^\s*(import|from)\s+jpeg4py", p.read_text(), re.M)]
    assert offenders == []


def test_ci_lints_then_tests():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    lint = next(i for i, line in enumerate(ci) if "ruff check" in line)
    tests = next(i for i, line in enumerate(ci) if "-m pytest" in line)
    install = next(i for i, line in enumerate(ci) if "bash install.sh" in line)
    assert install < lint < tests
    ruff = pyproject()["tool"]["ruff"]
    assert ruff["line-length"] == 120 and {"E9", "F"} <= set(ruff["lint"]["select"])


def test_contributing_points_to_existing_registries():
    # Each table row names a registry and the file that defines it; both must exist.
    text = (ROOT / "CONTRIBUTING.md").read_text()
    rows = re.findall(r"^\|[^|]*\|\s*(`[A-Z_]+`(?:,\s*`[A-Z_]+`)*)\s*\|\s*`([^`]+\.py)`\s*\|$", text, re.M)
    assert len(rows) >= 6
    for names, path in rows:
        source = (ROOT / path).read_text()
        for name in re.findall(r"`([A-Z_]+)`", names):
            assert re.search(rf"^{name}\b.*=", source, re.M), f"{name} is not defined in {path}"
    for path in re.findall(r"`((?:lib|tests|tracking)/[\w/]+\.py)`", text):
        assert (ROOT / path).is_file(), path
