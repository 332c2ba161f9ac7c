"""The VOT reset-based (supervised) protocol as PySOT's ``tools/test.py`` runs it (pysot-spec 10.5).

Per sequence, one run: at the first frame, and 5 frames after every failure, the tracker is initialised from the
ground-truth region (:func:`~lib.test.evaluation.vot_region.pysot_init_box`) and ``1`` is recorded; on the other
frames it tracks, and its box is recorded when it overlaps the ground truth (IoU of the two, clipped to the image,
> 0), else ``2`` is recorded (a failure) and the next 4 frames are skipped (``0``). A frame whose ground truth is
empty (a VOT2020 mask of an invisible target, an absent target) cannot be initialised on (the initialisation moves to
the next frame) and cannot be a failure (the box is recorded; PySOT's VOT data has no such frame).

Result files, in the layout of PySOT and of the VOT toolkit's workspace results::

    <results_dir>/<benchmark>/baseline/<seq>/<seq>_001.txt          1 | 2 | 0 | x,y,w,h ("%.4f")
    <results_dir>/<benchmark>/baseline/<seq>/<seq>_001_time.value   seconds per frame (the toolkit's property file)

(``<benchmark>`` is vot2018, vot2020 or vot2022; the box file is written last and atomically, so a file that
exists is a finished run.) :func:`accuracy_robustness` scores a run as the toolkit's supervised analysis does:
accuracy is the mean overlap over tracked frames, leaving out the 10 frames from each initialisation (burn-in);
robustness counts failures. EAO needs the toolkit (lib.test.vot.toolkit).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence as SequenceType

import numpy as np

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.results import format_times
from lib.utils.atomic import write_text_atomic
from lib.test.evaluation.vot_region import (EMPTY, Polygon, Region, pysot_init_box, pysot_rect_polygon,
                                            rect_polygon, region_is_empty, region_overlap, region_to_box_minmax)
from lib.utils.errors import OSTrackError

__all__ = ["INIT", "FAILURE", "SKIPPED", "SKIP_INITIALIZE", "BURNIN", "VOTResultError", "SupervisedRun",
           "failure_region", "sequence_regions", "run_supervised", "vot_result_dir", "trajectory_file",
           "format_trajectory", "write_trajectory", "read_trajectory", "accuracy_robustness", "SequenceAR", "summarize"]

logger = logging.getLogger(__name__)

INIT, FAILURE, SKIPPED = 1, 2, 0
#: frames from a failure to the next initialisation (PySOT: frame_counter = idx + 5; the toolkit's skip_initialize)
SKIP_INITIALIZE = 5
#: frames from each initialisation left out of the accuracy (the toolkit's burn-in for VOT2016-2019)
BURNIN = 10


class VOTResultError(OSTrackError):
    """A reset-protocol result file is malformed."""


@dataclass
class SupervisedRun:
    """One reset-protocol run of a sequence.

    Attributes:
        trajectory: per frame, a code (1 init, 2 failure, 0 skipped) or an [x, y, w, h] box.
        times: per-frame seconds (initialise or track; 0 for skipped frames).
        failures: the number of failures.
    """

    trajectory: list = field(default_factory=list)
    times: list = field(default_factory=list)
    failures: int = 0


def _image_size(image: np.ndarray) -> tuple[int, int]:
    return int(image.shape[1]), int(image.shape[0])


def failure_region(region: Region) -> Region:
    """The region a prediction is compared with to decide a failure.

    matches PySOT: a rectangle ground truth is compared as the polygon [x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y]
    (pysot-spec 10.5); polygons and masks as they are.
    """
    if isinstance(region, Polygon) and region.is_rect:
        return Polygon(pysot_rect_polygon(*region_to_box_minmax(region)))
    return region


def sequence_regions(seq: Sequence) -> list[Region]:
    """The VOT regions of a sequence, or its ground-truth boxes as rectangles (any other dataset)."""
    regions = getattr(seq, "vot_regions", None)
    if regions is not None:
        return list(regions)
    return [Polygon(rect_polygon(*box), is_rect=True) if box[2] > 0 and box[3] > 0 else EMPTY
            for box in seq.ground_truth_rect]


def run_supervised(tracker, seq: Sequence, read_frame, skip_initialize: int = SKIP_INITIALIZE,
                   failure_overlap: float = 0.0) -> SupervisedRun:
    """Run the reset protocol on one sequence.

    Args:
        tracker: an object with ``initialize(image, info)`` and ``track(image, info) -> {'target_bbox': ...}``
            (re-initialised in place after each failure, as PySOT re-initialises its tracker).
        seq: a sequence with ``vot_regions`` (lib.test.evaluation.votdataset) or, for any other dataset, its
            ground-truth boxes taken as rectangles.
        read_frame: ``read_frame(seq, index) -> (H, W, 3) RGB image``.
        skip_initialize: frames from a failure to the re-initialisation (5).
        failure_overlap: an overlap at or below it is a failure (0).
    """
    regions = sequence_regions(seq)
    n = len(seq.frames)
    if len(regions) < n:
        raise VOTResultError(f"sequence {seq.name}: {len(regions)} ground-truth regions for {n} frames; the reset "
                             f"protocol needs the region of every frame.")
    run = SupervisedRun()
    next_init = 0
    for idx in range(n):
        if idx < next_init:
            run.trajectory.append(SKIPPED)
            run.times.append(0.0)
            continue
        image = read_frame(seq, idx)
        if idx == next_init:
            if region_is_empty(regions[idx]):  # nothing to initialise on: try the next frame
                next_init += 1
                run.trajectory.append(SKIPPED)
                run.times.append(0.0)
                continue
            start = time.perf_counter()
            tracker.initialize(image, {"init_bbox": pysot_init_box(regions[idx])})
            run.times.append(time.perf_counter() - start)
            run.trajectory.append(INIT)
            continue
        start = time.perf_counter()
        box = [float(v) for v in tracker.track(image, {})["target_bbox"]]
        run.times.append(time.perf_counter() - start)
        # a frame without ground truth (target absent, or unknown) cannot be a failure
        if region_is_empty(regions[idx]) or \
                region_overlap(box, failure_region(regions[idx]), _image_size(image)) > failure_overlap:
            run.trajectory.append(box)
        else:
            # matches PySOT: record 2, skip to idx + 5 (frames in between record 0), count a loss
            run.trajectory.append(FAILURE)
            run.failures += 1
            next_init = idx + skip_initialize
    return run


def vot_result_dir(results_dir: str | os.PathLike, benchmark: str, sequence: str) -> Path:
    """``<results_dir>/<benchmark>/baseline/<sequence>`` (the toolkit's ``results/<tracker>/baseline/<seq>``)."""
    return Path(results_dir) / benchmark / "baseline" / sequence


def trajectory_file(results_dir: str | os.PathLike, benchmark: str, sequence: str) -> Path:
    return vot_result_dir(results_dir, benchmark, sequence) / f"{sequence}_001.txt"


def format_trajectory(trajectory: SequenceType) -> str:
    """PySOT's VOT lines: the code as an integer, or the box values as ``"%.4f"`` joined by commas."""
    lines = []
    for entry in trajectory:
        if isinstance(entry, (int, np.integer)):
            lines.append(f"{int(entry)}\n")
        else:
            lines.append(",".join(f"{float(v):.4f}" for v in entry) + "\n")
    return "".join(lines)


def write_trajectory(results_dir: str | os.PathLike, benchmark: str, sequence: str, run: SupervisedRun) -> Path:
    """Write a run's time file, then its trajectory (last, atomically); returns the trajectory file."""
    folder = vot_result_dir(results_dir, benchmark, sequence)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / f"{sequence}_001_time.value", format_times(run.times))
    path = folder / f"{sequence}_001.txt"
    write_text_atomic(path, format_trajectory(run.trajectory))
    return path


def read_trajectory(path: str | os.PathLike, n_frames: int | None = None) -> list:
    """A trajectory file as codes (int) and boxes ([x, y, w, h]); checks one line per frame when ``n_frames``.

    Raises:
        VOTResultError: a line that is neither a code nor four numbers, or a wrong line count.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").rstrip().splitlines()
    out: list = []
    for number, line in enumerate(lines, 1):
        tokens = line.replace(",", " ").split()
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            values = []
        if len(values) == 1 and values[0] in (INIT, FAILURE, SKIPPED):
            out.append(int(values[0]))
        elif len(values) == 4 and np.isfinite(values).all():
            out.append(values)
        else:
            raise VOTResultError(f"{path}, line {number}: expected 1, 2, 0 or x,y,w,h, got {line.strip()!r}.")
    if n_frames is not None and len(out) != n_frames:
        raise VOTResultError(f"{path}: {len(out)} lines for a sequence of {n_frames} frames; rerun the sequence "
                             f"(delete the file).")
    return out


@dataclass
class SequenceAR:
    """Accuracy and robustness of one sequence: ``accuracy`` (mean overlap over the scored frames, nan when
    none), ``failures``, ``frames`` (the sequence length) and ``scored`` (frames counted in the accuracy)."""

    name: str
    accuracy: float
    failures: int
    frames: int
    scored: int


def accuracy_robustness(trajectory: SequenceType, regions: SequenceType[Region], image_size: tuple[int, int] | None,
                        burnin: int = BURNIN, name: str = "") -> SequenceAR:
    """Score a trajectory as the toolkit's supervised analysis: frames from each initialisation up to ``burnin``
    frames later (the init frame included), failures and skipped frames are left out of the accuracy.

    Args:
        trajectory: codes and boxes (:func:`read_trajectory`).
        regions: the ground truth of every frame.
        image_size: (width, height) to clip regions to (None: no clipping).
        burnin: frames excluded from each initialisation (10).
        name: the sequence name.
    """
    # frames without ground truth are not scored (the toolkit ignores unknown regions)
    scored = np.array([not region_is_empty(regions[i]) for i in range(len(trajectory))], dtype=bool)
    for i, entry in enumerate(trajectory):
        if isinstance(entry, int):
            scored[i] = False
            if entry == INIT:
                scored[i:i + burnin] = False
    overlaps = [region_overlap(entry, regions[i], image_size) for i, entry in enumerate(trajectory) if scored[i]]
    failures = sum(1 for e in trajectory if isinstance(e, int) and e == FAILURE)
    accuracy = float(np.mean(overlaps)) if overlaps else float("nan")
    return SequenceAR(name, accuracy, failures, len(trajectory), len(overlaps))


def summarize(results: SequenceType[SequenceAR]) -> dict:
    """Dataset scores: ``accuracy`` (length-weighted mean of the sequences' accuracies, as the toolkit's
    aggregate), ``robustness`` (length-weighted mean failures per sequence, the toolkit's), ``failures`` (total,
    PySOT's "total lost") and ``sequences``."""
    frames = np.array([r.frames for r in results], dtype=np.float64)
    acc = np.array([r.accuracy if np.isfinite(r.accuracy) else 0.0 for r in results])
    fails = np.array([r.failures for r in results], dtype=np.float64)
    total = frames.sum()
    return {"accuracy": float((acc * frames).sum() / total) if total else float("nan"),
            "robustness": float((fails * frames).sum() / total) if total else float("nan"),
            "failures": int(fails.sum()), "sequences": len(results)}
