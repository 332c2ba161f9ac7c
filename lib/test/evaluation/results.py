"""Result files: the one place that decides where a sequence's results live and how they are written.

The runner writes through these functions and analysis, packers and viewers read through them, so results for
GOT-10k and TrackingNet (which live in a ``<dataset>/`` sub-folder) are found again (fixes spec 8.6 item 38).

Formats (spec 7.4, kept for parity with the original and third-party scripts):
* ``<base>.txt``: one ``x<TAB>y<TAB>w<TAB>h`` row per frame including frame 0, **truncated to int**;
* ``<base>_time.txt``: per-frame seconds, ``%f``, one per line.
``<base>`` is ``<results_dir>/<sequence>`` or ``<results_dir>/<dataset>/<sequence>`` for got10k and trackingnet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence as SequenceType

import numpy as np

from lib.test.utils.load_text import load_boxes, load_values

__all__ = ["SUBFOLDER_DATASETS", "tracker_results_dir", "dataset_results_dir", "result_base", "box_file",
           "time_file", "write_results", "read_boxes", "read_times", "results_exist"]

#: datasets whose results go to a sub-folder named after the dataset, as the original runner wrote them
SUBFOLDER_DATASETS = ("got10k", "trackingnet")


def tracker_results_dir(results_path: str | os.PathLike, name: str, parameter_name: str,
                        run_id: int | None = None, result_only: bool = False) -> Path:
    """``<results_path>/<name>/<parameter_name>[_<run_id:03d>]`` (or ``<results_path>/<name>`` if result_only)."""
    base = Path(results_path) / name
    if result_only:
        return base
    return base / (parameter_name if run_id is None else f"{parameter_name}_{run_id:03d}")


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


def results_exist(base: Path) -> bool:
    """Whether a sequence is finished (its box file is written last, atomically)."""
    return box_file(base).is_file()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(base: Path, boxes: SequenceType[SequenceType[float]], times: SequenceType[float]) -> None:
    """Write a sequence's boxes and times in the original formats.

    The time file is written first and the box file last, each to a temporary name then renamed, so an
    interrupted run never leaves a box file that a rerun would take as finished.

    Args:
        base: from :func:`result_base`.
        boxes: (N, 4) xywh per frame, frame 0 included.
        times: N per-frame times in seconds.
    """
    base.parent.mkdir(parents=True, exist_ok=True)
    # matches OSTrack: astype(int) truncates toward zero before writing (spec 8.6 item 37).
    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).astype(int)
    _write_atomic(time_file(base), "".join(f"{t:f}\n" for t in times))
    _write_atomic(box_file(base), "".join("\t".join(str(v) for v in row) + "\n" for row in rows.tolist()))


def read_boxes(base: Path) -> np.ndarray:
    """(N, 4) float64 boxes of a result file (tab or comma separated)."""
    return load_boxes(box_file(base))


def read_times(base: Path) -> np.ndarray | None:
    """Per-frame times, or None when the time file does not exist."""
    path = time_file(base)
    return load_values(path) if path.is_file() else None
