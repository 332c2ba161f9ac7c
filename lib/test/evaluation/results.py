"""Result files: the one place that decides where a sequence's results live, how they are written and checked.

The runner writes through these functions and analysis, packers and viewers read through them, so results for
GOT-10k and TrackingNet (which live in a ``<dataset>/`` sub-folder) are found again (fixes spec 8.6 item 38).

Formats (spec 7.4, kept for parity with the original and third-party scripts):
* ``<base>.txt``: one ``x<TAB>y<TAB>w<TAB>h`` row per frame including frame 0, **truncated to int**;
* ``<base>_time.txt``: per-frame seconds, ``%f``, one per line.
``<base>`` is ``<results_dir>/<sequence>`` or ``<results_dir>/<dataset>/<sequence>`` for got10k and trackingnet.
``<results_dir>`` is ``<results_path>/<tracker>/<param>[_ep<epoch:04d>][_<runid:03d>]``.

Every reader checks a result file the same way, whatever the metric mode or tracker family: one row per frame,
finite values, no negative width or height; a bad file is a :class:`ResultFileError` naming the file and the
line. A short or long file is padded (zero boxes, failures at every threshold) or trimmed only when asked for,
with a warning. Files are written to a temporary name and renamed, so a killed run never leaves a box file that
looks finished; temporary leftovers (``.<name>.*.tmp``) are never read.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Sequence as SequenceType

import numpy as np

from lib.utils.errors import OSTrackError
from lib.utils.atomic import write_text_atomic

__all__ = ["SUBFOLDER_DATASETS", "ResultFileError", "TrackerResults", "parameter_stem", "results_folder_name",
           "tracker_results_dir", "dataset_results_dir", "result_base", "box_file", "time_file", "write_results",
           "read_boxes", "read_times", "read_result_boxes", "read_result_times", "check_boxes", "results_exist",
           "result_status", "result_files", "write_text_atomic", "format_times"]

logger = logging.getLogger(__name__)

#: datasets whose results go to a sub-folder named after the dataset, as the original runner wrote them
SUBFOLDER_DATASETS = ("got10k", "trackingnet")


class ResultFileError(OSTrackError):
    """A result file is malformed: wrong row count, non-finite values or a negative size."""


def parameter_stem(parameter_name: str) -> str:
    """The results folder name of a parameter name (a YAML path gives its file stem)."""
    path = Path(parameter_name)
    return path.stem if path.suffix in (".yaml", ".yml") else str(parameter_name)


def results_folder_name(parameter_name: str, run_id: int | None = None, epoch: int | None = None) -> str:
    """``<param>[_ep<epoch:04d>][_<run_id:03d>]``: each epoch of a checkpoint sweep gets its own folder."""
    name = parameter_stem(parameter_name)
    if epoch is not None:
        name += f"_ep{epoch:04d}"
    if run_id is not None:
        name += f"_{run_id:03d}"
    return name


def tracker_results_dir(results_path: str | os.PathLike, name: str, parameter_name: str,
                        run_id: int | None = None, result_only: bool = False, epoch: int | None = None) -> Path:
    """``<results_path>/<name>/<param>[_ep<epoch>][_<run_id>]`` (or ``<results_path>/<name>`` if result_only)."""
    base = Path(results_path) / name
    if result_only:
        return base
    return base / results_folder_name(parameter_name, run_id, epoch)


def dataset_results_dir(results_dir: str | os.PathLike, dataset: str) -> Path:
    """The folder holding one dataset's result files for a tracker."""
    return Path(results_dir) / dataset if dataset in SUBFOLDER_DATASETS else Path(results_dir)


def result_base(results_dir: str | os.PathLike, dataset: str, sequence_name: str) -> Path:
    """The base path (without suffix) of one sequence's result files."""
    return dataset_results_dir(results_dir, dataset) / sequence_name


def box_file(base: Path) -> Path:
    return base.with_name(base.name + ".txt")


def time_file(base: Path) -> Path:
    return base.with_name(base.name + "_time.txt")


def result_files(results_dir: str | os.PathLike) -> list[Path]:
    """Every result text file of a results folder (its dataset sub-folders included; temporaries excluded)."""
    folders = [Path(results_dir)] + [Path(results_dir) / d for d in SUBFOLDER_DATASETS]
    return sorted(p for f in folders if f.is_dir() for p in f.glob("*.txt") if not p.name.startswith("."))


class TrackerResults:
    """Where one tracker's results live, for reading: any ``<tracker>/<param>`` folder, registered here or not.

    Analysis only needs the folder, so raw results that papers publish for other trackers are scored the same way
    as ours (the original's analysis accepted any name too).

    Args:
        name: tracker name (the folder under results_path).
        parameter_name: parameter (config) name; a YAML path gives its stem.
        results_path: the root of all results (path setting ``results_path``).
        run_id: optional run number.
        display_name: name used in tables and plots.
        result_only: results lie directly in ``<results_path>/<name>``.
        epoch: the epoch of a checkpoint sweep (folder ``<param>_ep<epoch:04d>``).
    """

    def __init__(self, name: str, parameter_name: str, results_path: str | os.PathLike, run_id: int | None = None,
                 display_name: str | None = None, result_only: bool = False, epoch: int | None = None):
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = run_id
        self.display_name = display_name
        self.epoch = epoch
        self.results_dir = tracker_results_dir(results_path, name, parameter_name, run_id, result_only, epoch)

    def label(self) -> str:
        """Display name, or name/<results folder name>."""
        return self.display_name or f"{self.name}/{results_folder_name(self.parameter_name, self.run_id, self.epoch)}"

    def result_base(self, seq) -> Path:
        """Base path of a sequence's result files."""
        return result_base(self.results_dir, seq.dataset, seq.name)

    def __repr__(self) -> str:
        return f"TrackerResults({self.name!r}, {self.parameter_name!r}, run_id={self.run_id}, epoch={self.epoch})"


def _parse_rows(path: Path, width: int) -> np.ndarray:
    """(N, width) float64 rows of a text file, one per line; an empty or malformed line is an error with its number.

    Trailing empty lines are allowed (an editor's final newline); an empty line between rows is not, since every
    later row would be paired with the wrong frame.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ResultFileError(f"{path} is not a text file ({err}); a result file holds one row of numbers per "
                              f"frame.") from None
    lines = text.rstrip().splitlines() if text.strip() else []
    if not lines:
        return np.zeros((0, width))
    raw, lines = lines, [line.replace(",", " ").replace("\t", " ") for line in lines]
    if all(len(line.split()) == width for line in lines):
        try:
            with warnings.catch_warnings():
                # a parse that stops early warns (older numpy) or raises (newer); the loop below then explains
                warnings.simplefilter("error", DeprecationWarning)
                values = np.fromstring(" ".join(lines), dtype=np.float64, sep=" ")  # one C call: the fast path
        except (ValueError, DeprecationWarning):
            values = np.zeros(0)
        if values.size == width * len(lines):
            return values.reshape(len(lines), width)
    for number, (line, original) in enumerate(zip(lines, raw), 1):
        tokens = line.split()
        try:
            row = [float(t) for t in tokens]
        except ValueError:
            row = None
        if row is None or len(row) != width:
            what = "an empty line" if not tokens else repr(original.strip())
            raise ResultFileError(f"{path}, line {number}: expected {width} number(s) separated by tabs, commas or "
                                  f"spaces (one row per frame), found {what}.")
    raise ResultFileError(f"{path}: could not read {width} numbers per line.")  # unreachable in practice


def check_boxes(boxes: np.ndarray, n_frames: int | None, path: str | os.PathLike, pad: bool = False) -> np.ndarray:
    """Validate (N, 4) result boxes: one row per frame, finite, no negative width or height.

    Args:
        boxes: the rows as read.
        n_frames: the sequence's frame count (None: not checked).
        path: the file, for messages.
        pad: repair a wrong row count instead of failing: zero boxes are appended (failures at every threshold)
            or extra rows dropped, with a warning.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if bad.size:
        raise ResultFileError(f"{path}, line {bad[0] + 1}: the box {boxes[bad[0]].tolist()} is not finite "
                              f"({bad.size} such row(s)); every frame needs a finite x, y, w, h. Rerun the tracker "
                              f"on this sequence (delete the file) or fix the file.")
    bad = np.flatnonzero((boxes[:, 2:] < 0).any(axis=1))
    if bad.size:
        raise ResultFileError(f"{path}, line {bad[0] + 1}: the box {boxes[bad[0]].tolist()} has a negative width "
                              f"or height ({bad.size} such row(s)); sizes must be >= 0.")
    if n_frames is not None and len(boxes) != n_frames:
        if not pad:
            raise ResultFileError(
                f"{path}: {len(boxes)} rows for a sequence of {n_frames} frames; a result file needs exactly one row "
                f"per frame (frame 0 included). Rerun the tracker on this sequence (delete the file), or pass "
                f"--pad_results to score it anyway (missing frames count as failures, extra rows are dropped).")
        logger.warning("%s: %d rows for %d frames; %s as asked (--pad_results)", path, len(boxes), n_frames,
                       "padding with zero boxes" if len(boxes) < n_frames else "dropping the extra rows")
        if len(boxes) < n_frames:
            boxes = np.concatenate([boxes, np.zeros((n_frames - len(boxes), 4))])
        boxes = boxes[:n_frames]
    return boxes


def read_result_boxes(base: Path, n_frames: int | None = None, pad: bool = False) -> np.ndarray:
    """A sequence's result boxes, (N, 4) float64, validated (see :func:`check_boxes`)."""
    path = box_file(base)
    if not path.is_file():
        raise ResultFileError(f"result file {path} does not exist; run tracking/test.py for this tracker first.")
    return check_boxes(_parse_rows(path, 4), n_frames, path, pad)


def read_result_times(base: Path, n_frames: int | None = None) -> np.ndarray | None:
    """Per-frame seconds, validated (one per frame, finite, >= 0); None when the time file does not exist."""
    path = time_file(base)
    if not path.is_file():
        return None
    times = _parse_rows(path, 1).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(times) | (times < 0))
    if bad.size:
        raise ResultFileError(f"{path}, line {bad[0] + 1}: {times[bad[0]]} is not a duration in seconds "
                              f"(finite and >= 0). Fix or delete the time file (FPS is then not reported).")
    if n_frames is not None and len(times) != n_frames:
        raise ResultFileError(f"{path}: {len(times)} times for a sequence of {n_frames} frames; expected one per "
                              f"frame. Fix or delete the time file (FPS is then not reported).")
    return times


def read_boxes(base: Path) -> np.ndarray:
    """(N, 4) float64 boxes of a result file (finite, non-negative sizes; the row count is not checked)."""
    return read_result_boxes(base)


def read_times(base: Path) -> np.ndarray | None:
    """Per-frame times, or None when the time file does not exist."""
    return read_result_times(base)


def results_exist(base: Path) -> bool:
    """Whether a sequence's box file exists (written last, atomically; see :func:`result_status` to check it)."""
    return box_file(base).is_file()


def result_status(base: Path, n_frames: int) -> tuple[str, str]:
    """('missing' | 'finished' | 'invalid', reason): whether a sequence can be skipped on a rerun.

    A box file that does not pass the checks (a short file from a killed run of an older version or another tool,
    a missing time file) is 'invalid': the runner runs that sequence again.
    """
    if not box_file(base).is_file():
        return "missing", ""
    try:
        read_result_boxes(base, n_frames)
        if read_result_times(base, n_frames) is None:
            return "invalid", f"{time_file(base)} does not exist"
    except (ResultFileError, OSError) as err:
        return "invalid", str(err)
    return "finished", ""


def format_times(times: SequenceType[float]) -> str:
    """Per-frame seconds as the original writes them: ``%f``, one per line."""
    return "".join(f"{t:f}\n" for t in times)


def write_results(base: Path, boxes: SequenceType[SequenceType[float]], times: SequenceType[float]) -> None:
    """Write a sequence's boxes and times in the original formats.

    The time file is written first and the box file last, each to a temporary name then renamed, so an
    interrupted run never leaves a box file that a rerun would take as finished.

    Args:
        base: from :func:`result_base`.
        boxes: (N, 4) xywh per frame, frame 0 included.
        times: N per-frame times in seconds.

    Raises:
        ResultFileError: a box is not finite or has a negative size (a tracker that diverged), or the counts of
            boxes and times differ; nothing is written then.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if len(times) != len(boxes):
        raise ResultFileError(f"{box_file(base)}: {len(boxes)} boxes but {len(times)} times; expected one of each "
                              f"per frame.")
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1) | (boxes[:, 2:] < 0).any(axis=1))
    if bad.size:
        raise ResultFileError(f"the tracker returned the box {boxes[bad[0]].tolist()} at frame {bad[0]} "
                              f"({bad.size} such frame(s)); a result box must be finite with sizes >= 0. Nothing "
                              f"was written to {box_file(base)}.")
    base.parent.mkdir(parents=True, exist_ok=True)
    # matches OSTrack: astype(int) truncates toward zero before writing (spec 8.6 item 37).
    rows = boxes.astype(int)
    write_text_atomic(time_file(base), format_times(times))
    write_text_atomic(box_file(base), "".join("\t".join(str(v) for v in row) + "\n" for row in rows.tolist()))
