"""VOT toolkit workspaces: tracker entries (``trackers.ini``), local stacks, VOT-layout sequences, and the
toolkit's analysis (accuracy, robustness, EAO) read back as numbers.

A workspace of the official toolkit (package vot-toolkit) is a folder with ``config.yaml`` (the stack, i.e. the
experiments and analyses, and the dataset folder), ``trackers.ini`` (how to start each tracker), ``sequences/``
(the dataset, ``list.txt`` + one folder per sequence) and ``results/<tracker>/<experiment>/<sequence>/``.
``vot initialize <stack>`` downloads the official stack's dataset; everything here works offline as well: a local
stack file and a ``sequences`` folder written from any evaluation dataset (each sequence's ``sequence`` file points
at the original frames, nothing is copied).
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence as SequenceType

import yaml

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.results import parameter_stem
from lib.utils.environment import PROJECT_ROOT
from lib.utils.errors import OSTrackError

__all__ = ["VOTToolkitError", "toolkit_import_error", "toolkit_available", "tracker_identifier", "tracker_command",
           "write_trackers_ini", "write_stack", "write_workspace_config", "export_sequences", "run_toolkit",
           "toolkit_analysis", "setup_workspace"]

logger = logging.getLogger(__name__)

_IDENTIFIER_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class VOTToolkitError(OSTrackError):
    """The VOT toolkit is missing, or one of its commands failed."""


def toolkit_import_error() -> str | None:
    """None when the official toolkit (package vot-toolkit) imports, else why not (not installed, or broken: e.g.
    attributee 0.1.10 fails on Python 3.11+ with "dataclass_transform() takes 0 positional arguments")."""
    try:
        import vot  # noqa: F401
    except ImportError as err:
        return f"the VOT toolkit is not installed ({err}; pip install vot-toolkit, see requirements.txt)"
    except Exception as err:  # noqa: BLE001 - a dependency that fails at import time
        return f"the VOT toolkit is installed but does not import ({type(err).__name__}: {err})"
    return None


def toolkit_available() -> bool:
    """Whether the official toolkit (package vot-toolkit) imports."""
    return toolkit_import_error() is None


def tracker_identifier(name: str, parameter: str) -> str:
    """The toolkit identifier of a tracker configuration: ``<tracker>_<param stem>`` with characters the toolkit
    refuses (anything but letters, digits, ``_`` and ``-``) replaced by ``-``."""
    return _IDENTIFIER_BAD.sub("-", f"{name}_{parameter_stem(parameter)}")


def tracker_command(name: str, parameter: str, checkpoint: str | None = None, device: str = "auto",
                    opts: Iterable[str] | None = None, save_dir: str | None = None, threads: int = 0,
                    cfg_override: str | None = None, python: str | None = None) -> str:
    """The command line that starts the TraX server of a registered tracker (lib.test.vot.trax_tracker); paths
    are made absolute, since the toolkit starts trackers in a temporary folder."""
    words = [python or sys.executable, "-m", "lib.test.vot.trax_tracker", name,
             str(Path(parameter).resolve()) if Path(parameter).suffix in (".yaml", ".yml") else parameter]
    if checkpoint:
        words += ["--checkpoint", str(Path(checkpoint).expanduser().resolve())]
    if save_dir:
        words += ["--save_dir", str(Path(save_dir).expanduser().resolve())]
    words += ["--device", device]
    if threads:
        words += ["--threads", str(threads)]
    if cfg_override:
        words += ["--cfg_override", str(Path(cfg_override).expanduser().resolve())]
    if opts:
        words += ["--opts", *opts]
    return shlex.join(words)


def write_trackers_ini(workspace: str | os.PathLike, identifier: str, command: str, label: str | None = None,
                       timeout: int = 300) -> Path:
    """Add (or replace) one tracker section of ``<workspace>/trackers.ini``; other sections are kept.

    Args:
        workspace: the workspace folder (created when missing).
        identifier: the section name (:func:`tracker_identifier`).
        command: the TraX server command (:func:`tracker_command`).
        label: the name shown in the toolkit's reports.
        timeout: seconds the toolkit waits for each answer (the first one includes building the network).
    """
    path = Path(workspace) / "trackers.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # keep key case (env_PYTHONPATH)
    if path.is_file():
        config.read(path, encoding="utf-8")
    config[identifier] = {
        "label": label or identifier,
        "protocol": "trax",
        "command": command,
        "timeout": str(int(timeout)),
        # the toolkit starts the command in a temporary folder: the framework must be importable from there
        "env_PYTHONPATH": str(PROJECT_ROOT),
    }
    with open(path, "w", encoding="utf-8") as f:
        config.write(f)
    return path


def write_stack(path: str | os.PathLike, title: str, repetitions: int = 1, skip_initialize: int = 5,
                eao_low: int = 100, eao_high: int = 356, sensitivity: int = 30, unsupervised: bool = False) -> Path:
    """A local stack with the reset-based experiment ``baseline`` (the toolkit's supervised experiment) and its
    analyses (average accuracy-robustness, EAO score and curve); with ``unsupervised`` also the one-pass experiment
    ``unsupervised`` (average accuracy), as in the VOT2018 stack. The values are the VOT2018 stack's except the
    repetitions (1: the framework's trackers are deterministic; the official stack runs 15 and stops after 3
    identical runs).

    vot-toolkit 0.9.0 cannot *run* the supervised experiment with a single-object TraX tracker (its runtime is given
    an object status where it expects a list: "Tracker does not support multiple objects"); it analyses reset-protocol
    results that tracking/test.py wrote, and it runs the unsupervised experiment.
    """
    experiments = {"baseline": {
        "type": "supervised", "repetitions": int(repetitions), "skip_initialize": int(skip_initialize),
        "analyses": [{"type": "supervised_average_ar", "sensitivity": int(sensitivity)},
                     {"type": "supervised_eao_score", "low": int(eao_low), "high": int(eao_high)},
                     {"type": "supervised_eao_curve"}]}}
    if unsupervised:
        experiments["unsupervised"] = {"type": "unsupervised", "repetitions": 1,
                                       "analyses": [{"type": "average_accuracy"}]}
    stack = {"title": title, "experiments": experiments}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(stack, sort_keys=False), encoding="utf-8")
    return path


def write_workspace_config(workspace: str | os.PathLike, stack: str, sequences: str = "sequences") -> Path:
    """``<workspace>/config.yaml`` naming the stack (an official name such as ``vot2018/shortterm`` or a stack
    file) and the dataset folder; also creates ``results/`` and an empty ``trackers.ini`` when missing."""
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "results").mkdir(exist_ok=True)
    (workspace / "trackers.ini").touch(exist_ok=True)
    path = workspace / "config.yaml"
    path.write_text(yaml.safe_dump({"stack": str(stack), "sequences": str(sequences), "registry": ["./trackers.ini"]},
                                   sort_keys=False), encoding="utf-8")
    return path


def _region_line(seq: Sequence, index: int) -> str:
    regions = getattr(seq, "vot_regions", None)
    if regions is not None:
        from lib.test.evaluation.vot_region import format_region
        return format_region(regions[index])
    box = seq.ground_truth_rect[index]
    # an absent target (a GOT-10k-style -1 row) is the toolkit's "unknown" code
    return ",".join(f"{v:g}" for v in box) if box[2] > 0 and box[3] > 0 else "0"


def export_sequences(sequences: SequenceType[Sequence], folder: str | os.PathLike) -> Path:
    """Write any evaluation dataset in the VOT layout: ``list.txt`` and, per sequence, ``groundtruth.txt`` (the
    VOT regions when the sequence has them, else its boxes), a ``sequence`` file, and ``color/%08d.<ext>`` as
    links to the sequence's frames in order (copies where links cannot be made)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for seq in sequences:
        target = folder / seq.name
        target.mkdir(parents=True, exist_ok=True)
        ext = Path(seq.frames[0]).suffix
        color = target / "color"
        if color.exists():
            shutil.rmtree(color)
        color.mkdir()
        for i, frame in enumerate(seq.frames, 1):
            link = color / f"{i:08d}{ext}"
            try:
                link.symlink_to(Path(frame).resolve())
            except OSError:  # no symlinks (Windows without privileges): copy the frame
                shutil.copyfile(frame, link)
        (target / "groundtruth.txt").write_text("".join(_region_line(seq, i) + "\n" for i in range(len(seq.frames))),
                                                encoding="utf-8")
        (target / "sequence").write_text(f"channels.color=color/%08d{ext}\nfps=30\nformat=default\n"
                                         f"length={len(seq.frames)}\n", encoding="utf-8")
    (folder / "list.txt").write_text("".join(s.name + "\n" for s in sequences), encoding="utf-8")
    return folder


def run_toolkit(args: list[str], workspace: str | os.PathLike, timeout: float | None = None) -> str:
    """Run ``vot <args> --workspace <workspace>`` with this interpreter; returns its output.

    Raises:
        VOTToolkitError: the toolkit is not installed, or the command failed (its output is quoted).
    """
    problem = toolkit_import_error()
    if problem is not None:
        raise VOTToolkitError(f"{problem}.")
    command = [sys.executable, "-m", "vot", *args, "--workspace", str(Path(workspace).resolve())]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise VOTToolkitError(f"`vot {' '.join(args)}` failed (exit {done.returncode}) in workspace "
                              f"{workspace}:\n{tail}")
    return output


#: scalar measures of the toolkit's analyses, in the order its report lists them (the report has no names)
_MEASURES = {"AverageAccuracyRobustness": ("Accuracy", "Robustness"), "EAOScore": ("EAO",),
             "AverageAccuracy": ("Accuracy",), "FailureCount": ("Failures",)}


def toolkit_analysis(workspace: str | os.PathLike, identifier: str, timeout: float | None = 600,
                     experiments: Iterable[str] | None = None) -> dict:
    """Run ``vot analysis`` for one tracker of a workspace and return its scalar measures per experiment, e.g.
    ``{'baseline': {'Accuracy': 0.61, 'Robustness': 1.3, 'EAO': 0.41}}`` (Robustness: failures per sequence,
    length-weighted, as the toolkit reports it).

    Raises:
        VOTToolkitError: the toolkit is missing or failed, or its report has an unexpected shape.
    """
    workspace = Path(workspace)
    only = ["--experiments", ",".join(experiments)] if experiments else []
    report = workspace / "analysis" / "framework_analysis.json"
    report.unlink(missing_ok=True)
    output = run_toolkit(["analysis", identifier, "--format", "json", "--name", "framework_analysis", *only],
                         workspace, timeout)
    if not report.is_file():  # the toolkit reports some failures only in its output, with exit status 0
        tail = "\n".join(output.strip().splitlines()[-10:])
        raise VOTToolkitError(f"`vot analysis` wrote no report in {workspace}; its output ends with:\n{tail}")
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
        column = list(doc["trackers"]).index(identifier)
        scores: dict[str, dict] = {}
        for experiment, entry in doc["results"].items():
            measures: dict[str, float] = {}
            # one result per analysis of the stack, each a list over the report's trackers
            for spec, result in zip(entry["parameters"]["analyses"], entry["results"]):
                names = _MEASURES.get(str(spec.get("type", "")).rsplit(".", 1)[-1], ())
                values = result[column] if names else []
                measures.update({n: float(v) for n, v in zip(names, values) if isinstance(v, (int, float))})
            scores[experiment] = measures
    except (OSError, KeyError, TypeError, ValueError, IndexError) as err:
        raise VOTToolkitError(f"could not read the toolkit's analysis report {report} ({type(err).__name__}: "
                              f"{err}).") from None
    return scores


def setup_workspace(workspace: str | os.PathLike, tracker_name: str, parameter: str, *,
                    command: str, stack: str | None = None, sequences: SequenceType[Sequence] | None = None,
                    eao_interval: tuple[int, int] = (100, 356), timeout: int = 300, label: str | None = None,
                    replace_stack: bool = False) -> str:
    """Prepare a toolkit workspace for one tracker; returns the tracker's identifier.

    Args:
        workspace: the folder (created when missing).
        tracker_name, parameter: the registered tracker and its config (name the identifier).
        command: the TraX server command (:func:`tracker_command`).
        stack: an official stack (``vot2018/shortterm``; the toolkit downloads its dataset on first use) or a stack
            file; None with ``sequences``: a local reset-protocol stack.
        sequences: write these sequences as the workspace's dataset (offline use, any evaluation dataset).
        eao_interval: the EAO interval of the local stack.
        timeout: seconds the toolkit waits for each answer of the tracker.
        label: the tracker's name in the toolkit's reports.
        replace_stack: rewrite config.yaml of an existing workspace.

    Raises:
        VOTToolkitError: a new workspace without a stack or sequences, or a stack change without replace_stack.
    """
    workspace = Path(workspace)
    exists = (workspace / "config.yaml").is_file()
    if (stack is not None or sequences is not None) and exists and not replace_stack:
        raise VOTToolkitError(f"{workspace} is a toolkit workspace already (config.yaml); its stack and sequences are "
                              f"kept. Give only the tracker to add it, or --replace to rewrite config.yaml.")
    if not exists and stack is None and sequences is None:
        raise VOTToolkitError(f"{workspace} is not a toolkit workspace yet: give --stack (an official stack such as "
                              f"vot2018/shortterm, or a stack file) or --dataset (write a dataset into it).")
    if sequences is not None:
        export_sequences(sequences, workspace / "sequences")
    if stack is None and sequences is not None:
        stack = str(write_stack(workspace / "stack.yaml", "reset-based and one-pass (tracking/vot_setup.py)",
                                eao_low=eao_interval[0], eao_high=eao_interval[1], unsupervised=True).name)
    if stack is not None:
        write_workspace_config(workspace, stack)
    identifier = tracker_identifier(tracker_name, parameter)
    write_trackers_ini(workspace, identifier, command, label=label, timeout=timeout)
    return identifier
