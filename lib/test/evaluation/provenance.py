"""Result provenance: each results folder records what produced it, so results of two checkpoints never mix.

A rerun of ``tracking/test.py`` skips the sequences whose result files exist (that is how a run resumes). The
original skipped by file name alone, so ``--checkpoint OTHER.pth.tar`` after an earlier run silently kept the
earlier results. Here every results folder holds ``provenance.json`` (plain JSON, read with ``json`` only): one
entry per run with the tracker, the parameter name, a hash of the test parameters (the whole config), the
checkpoint file's SHA-256, the epoch, how the network ran (backend, resolved precision and, for ONNX Runtime, the
ONNX file's SHA-256), the framework and torch versions, the datasets and the time. A run whose identity (tracker,
parameters, config hash, checkpoint hash, backend, precision, ONNX hash) differs from the folder's is refused with
one error naming what differs and how to proceed (a new ``--runid``, or ``--overwrite``), so the boxes of an fp32
PyTorch run and of a bf16 or ONNX Runtime run never mix in one score; a folder holding result files but no record
(another tool, an older version) is refused the same way. Records written before the backend fields existed mean
PyTorch in fp32. Analysis refuses a folder whose entries
disagree (e.g. two runs of different checkpoints racing on a shared disk without file locks).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import socket
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from lib.test.evaluation.results import SUBFOLDER_DATASETS, result_files
from lib.utils.errors import OSTrackError
from lib.utils.atomic import write_text_atomic

__all__ = ["RECORD_FILE", "RECORD_FORMAT", "ProvenanceError", "plain_parameters", "config_digest", "file_sha256",
           "framework_version", "runtime_settings", "make_record", "identity", "read_records", "check_and_record",
           "check_folder"]

logger = logging.getLogger(__name__)

RECORD_FILE = "provenance.json"
RECORD_FORMAT = 1
_PROJECT_ROOT = Path(__file__).resolve().parents[3]
#: parameter attributes kept out of the config hash: debug output, where the weights come from (hashed apart), and
#: the backend choice (recorded apart, resolved and hashed; so the hash of a PyTorch fp32 run is the one older
#: versions wrote)
_NOT_IDENTITY = ("debug", "debug_dir", "checkpoint", "backend", "precision", "onnx")
#: the backend fields of a record written before they existed
_RUNTIME_DEFAULTS = {"backend": "pytorch", "precision": "fp32"}


class ProvenanceError(OSTrackError):
    """A results folder holds results of another tracker configuration, or its records disagree."""


def _plain(value: Any) -> Any:
    """JSON-ready copy: dicts (a CfgNode too), lists, numbers, strings; paths and arrays as text / lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def plain_parameters(params: Any) -> dict:
    """The test parameters that decide the results, as plain data (the config included, debug settings not)."""
    values = vars(params) if hasattr(params, "__dict__") else dict(params)
    return {k: _plain(v) for k, v in sorted(values.items()) if k not in _NOT_IDENTITY}


def config_digest(plain: dict) -> str:
    """SHA-256 of the canonical JSON of the plain parameters."""
    return hashlib.sha256(json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 8 MiB blocks (about a second for a 1 GB checkpoint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_commit(root: Path) -> str | None:
    """The checked-out commit, read from .git without running git (None outside a clone)."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        return None
    return None


def framework_version() -> str:
    """``<package version>[+<commit[:12]>]`` of this framework (the version from pyproject.toml when not installed)."""
    try:
        number = importlib.metadata.version("ostrack-framework")
    except importlib.metadata.PackageNotFoundError:
        match = re.search(r'^version\s*=\s*"([^"]+)"', _read_text(_PROJECT_ROOT / "pyproject.toml"), re.MULTILINE)
        number = match.group(1) if match else "unknown"
    commit = _git_commit(_PROJECT_ROOT)
    return f"{number}+{commit[:12]}" if commit else number


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _get(params: Any, name: str, default: Any = None) -> Any:
    """An attribute of TrackerParams-like parameters, or a key of a dict."""
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


def runtime_settings(params: Any, device: Any = None) -> dict:
    """How the network runs, as recorded: ``backend``, the resolved ``precision``, and for ONNX Runtime the ONNX
    file and its SHA-256 (``onnx``, ``onnx_sha256``; None for PyTorch or a missing file, which the tracker refuses).

    Args:
        params: test parameters; ``backend``, ``precision`` and ``onnx`` as set by
            lib.test.tracker.backends.set_runtime_options (absent: PyTorch in fp32).
        device: where the network will run; resolves ``precision`` 'auto' (tracking/test.py resolves it before,
            for the device of its --device). None: the default device (CUDA when available).
    """
    backend = _get(params, "backend", None) or "pytorch"
    precision = _get(params, "precision", None) or "fp32"
    if precision == "auto" or backend != "pytorch":
        # the ONNX Runtime graph is float32 whatever was asked; 'auto' depends on the device
        from lib.test.tracker.precision import resolve_precision
        from lib.utils.device import resolve_device

        where = resolve_device(None) if device is None else device
        precision = resolve_precision(precision, where, backend)
    onnx = _get(params, "onnx", None) if backend == "onnxruntime" else None
    onnx_path = Path(onnx).resolve() if onnx else None
    onnx_sha256 = file_sha256(onnx_path) if onnx_path is not None and onnx_path.is_file() else None
    return {"backend": backend, "precision": precision, "onnx": str(onnx_path) if onnx_path else None,
            "onnx_sha256": onnx_sha256}


def make_record(tracker_name: str, parameter_name: str, params: Any, datasets: list[str] | None = None,
                epoch: int | None = None, device: Any = None) -> dict:
    """A provenance entry for one run of a tracker configuration.

    Args:
        tracker_name: the tracker (e.g. 'ostrack').
        parameter_name: the parameter (config) name as the results folder names it.
        params: the resolved test parameters (TrackerParams); ``params.checkpoint`` is hashed when it is a file,
            and the backend choice (``backend``, ``precision``, ``onnx``) is recorded by :func:`runtime_settings`.
        datasets: dataset tags of the run.
        epoch: the checkpoint epoch of a sweep, if any.
        device: where the network will run (resolves ``precision`` 'auto'; see :func:`runtime_settings`).
    """
    import torch  # only for its version; the evaluation runner has it loaded anyway

    plain = plain_parameters(params)
    checkpoint = _get(params, "checkpoint", None)
    checkpoint_path = Path(checkpoint).resolve() if checkpoint else None
    is_file = checkpoint_path is not None and checkpoint_path.is_file()
    return {
        "tracker": tracker_name,
        "parameter": parameter_name,
        "config_sha256": config_digest(plain),
        "checkpoint": str(checkpoint_path) if checkpoint_path else None,
        "checkpoint_sha256": file_sha256(checkpoint_path) if is_file else None,
        "epoch": epoch,
        **runtime_settings(params, device),
        "framework_version": framework_version(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "datasets": sorted(datasets or []),
        "host": socket.gethostname(),
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "parameters": plain,
    }


def _config_sha256(record: dict) -> str | None:
    """The record's config hash; recomputed without the keys that are not part of it when its parameters hold any
    (a record of a development version that hashed the backend choice with the config)."""
    plain = record.get("parameters")
    if isinstance(plain, dict) and any(k in plain for k in _NOT_IDENTITY):
        return config_digest({k: v for k, v in plain.items() if k not in _NOT_IDENTITY})
    return record.get("config_sha256")


def _runtime(record: dict, key: str) -> Any:
    """A backend field of a record; absent (older versions): PyTorch in fp32."""
    value = record.get(key)
    return _RUNTIME_DEFAULTS[key] if value is None else value


def identity(record: dict) -> tuple:
    """What must agree between runs sharing a results folder (a record without the backend fields: PyTorch, fp32)."""
    return (record.get("tracker"), record.get("parameter"), _config_sha256(record), record.get("checkpoint_sha256"),
            _runtime(record, "backend"), _runtime(record, "precision"), record.get("onnx_sha256"))


def _flatten(tree: Any, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    out = {}
    for key, value in tree.items():
        out.update(_flatten(value, f"{prefix}{key}."))
    return out


def _describe_difference(old: dict, new: dict) -> str:
    parts = []
    for key in ("tracker", "parameter"):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {old.get(key)!r} there, {new.get(key)!r} now")
    if old.get("checkpoint_sha256") != new.get("checkpoint_sha256"):
        def show(r: dict) -> str:
            digest = r.get("checkpoint_sha256")
            epoch = f", epoch {r['epoch']}" if r.get("epoch") is not None else ""
            return f"{r.get('checkpoint')} (sha256 {digest[:12] if digest else 'none'}{epoch})"
        parts.append(f"checkpoint {show(old)} there, {show(new)} now")
    for key in ("backend", "precision"):
        if _runtime(old, key) != _runtime(new, key):
            parts.append(f"{key} {_runtime(old, key)!r} there, {_runtime(new, key)!r} now")
    if old.get("onnx_sha256") != new.get("onnx_sha256") and _runtime(old, "backend") == _runtime(new, "backend"):
        def show_onnx(r: dict) -> str:
            digest = r.get("onnx_sha256")
            return f"{r.get('onnx')} (sha256 {digest[:12]})" if digest else "none"
        parts.append(f"ONNX file {show_onnx(old)} there, {show_onnx(new)} now")
    if _config_sha256(old) != _config_sha256(new):
        def config_part(r: dict) -> dict:
            return {k: v for k, v in (r.get("parameters") or {}).items() if k not in _NOT_IDENTITY}
        a, b = _flatten(config_part(old)), _flatten(config_part(new))
        changed = [f"{k}: {a.get(k, '(absent)')!r} -> {b.get(k, '(absent)')!r}" for k in sorted(set(a) | set(b))
                   if a.get(k, "(absent)") != b.get(k, "(absent)")]
        shown = "; ".join(changed[:6]) + (f"; and {len(changed) - 6} more" if len(changed) > 6 else "")
        parts.append(f"test parameters differ ({shown or 'config hash ' + str(old.get('config_sha256'))[:12]})")
    return "; ".join(parts)


def read_records(results_dir: str | os.PathLike) -> list[dict]:
    """The runs recorded in a results folder (empty when it has no record); a malformed record is an error."""
    path = Path(results_dir) / RECORD_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProvenanceError(f"{path} is not a provenance record ({err}); it should be the JSON file test.py "
                              f"writes. Move it away and rerun with --overwrite, or use a new --runid.") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ProvenanceError(f"{path} is not a provenance record (expected {{'format': {RECORD_FORMAT}, 'runs': "
                              f"[...]}}). Move it away and rerun with --overwrite, or use a new --runid.")
    return runs


def _write_records(results_dir: Path, runs: list[dict]) -> None:
    write_text_atomic(results_dir / RECORD_FILE, json.dumps({"format": RECORD_FORMAT, "runs": runs}, indent=1) + "\n")


@contextlib.contextmanager
def _folder_lock(results_dir: Path) -> Iterator[None]:
    """An exclusive lock on the folder's record (concurrent test.py runs check and append one at a time)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; analysis still catches disagreeing records
        yield
        return
    with open(results_dir / ".provenance.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_results(results_dir: Path) -> int:
    """Delete a folder's result files, temporary leftovers and record (--overwrite); returns how many."""
    files = result_files(results_dir)
    leftovers = [p for f in (results_dir, *(results_dir / d for d in SUBFOLDER_DATASETS)) if f.is_dir()
                 for p in f.glob(".*.tmp")]
    for path in files + leftovers + [results_dir / RECORD_FILE]:
        path.unlink(missing_ok=True)
    return len(files)


def check_and_record(results_dir: str | os.PathLike, record: dict, overwrite: bool = False) -> None:
    """Refuse to add results of another configuration to a folder; else append this run to its record.

    Args:
        results_dir: the tracker's results folder.
        record: from :func:`make_record`.
        overwrite: delete the folder's result files and record first (every dataset in it) instead of refusing.

    Raises:
        ProvenanceError: the folder's record names another identity, or the folder holds result files without a
            record; the message says what differs and how to proceed.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    with _folder_lock(results_dir):
        runs = read_records(results_dir) if not overwrite else []
        if overwrite:
            removed = _remove_results(results_dir)
            if removed:
                logger.warning("--overwrite: deleted %d result file(s) in %s", removed, results_dir)
        how = ("Pass a new --runid N to write these results to a separate folder, or --overwrite to delete the "
               "results in this folder (all datasets) and run again.")
        other = next((r for r in runs if identity(r) != identity(record)), None)
        if other is not None:
            raise ProvenanceError(
                f"{results_dir} holds results of another configuration (run of {other.get('started')} on "
                f"{', '.join(other.get('datasets') or []) or 'unknown datasets'}): "
                f"{_describe_difference(other, record)}. Adding to them would mix two configurations in one "
                f"score. {how}")
        if not runs:
            existing = result_files(results_dir)
            if existing:
                raise ProvenanceError(
                    f"{results_dir} holds {len(existing)} result file(s) (e.g. {existing[0].name}) but no "
                    f"{RECORD_FILE}: they were written by another tool or an older version, so it is unknown which "
                    f"checkpoint and config produced them, and finished sequences would be reused. {how}")
        _write_records(results_dir, runs + [record])


def check_folder(results_dir: str | os.PathLike) -> list[dict]:
    """The records of a folder to score; raises ProvenanceError when they disagree (none: third-party results)."""
    runs = read_records(results_dir)
    identities = {identity(r) for r in runs}
    if len(identities) > 1:
        first = runs[0]
        other = next(r for r in runs if identity(r) != identity(first))
        raise ProvenanceError(
            f"{Path(results_dir) / RECORD_FILE} records runs of different configurations "
            f"({_describe_difference(first, other)}), so its result files may mix them and cannot be scored as one "
            f"tracker. Rerun tracking/test.py with --overwrite for that folder (or into a new --runid).")
    return runs
