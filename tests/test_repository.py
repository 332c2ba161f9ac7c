"""Promises of the repository itself: CI runs the README's test command; no path hacks; no weights in git."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Tests", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash install.sh" in ci
    assert command in ci.splitlines()


def test_no_sys_path_manipulation_in_code():
    offenders = []
    for path in [*ROOT.glob("lib/**/*.py"), *ROOT.glob("tracking/*.py")]:
        text = path.read_text()
        if re.search(r"sys\.path\.(insert|append)|_init_paths", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_cuda_calls_in_library_code():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.glob("lib/**/*.py") if re.search(r"\.cuda\(\)", p.read_text())]
    assert offenders == []


def test_no_weights_or_datasets_tracked():
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return  # not a git checkout (e.g. an sdist): nothing tracked to check
    bad = [f for f in files.splitlines() if re.search(r"\.(pth|pt|tar|ckpt|mdb|npz)$", f)]
    assert bad == []
