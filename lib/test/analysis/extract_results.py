"""Evaluate result files of trackers on a dataset into per-sequence curves (spec 7.6), with caching.

The returned dict keeps the original ``eval_data.pkl`` keys (``sequences``, ``trackers``, ``valid_sequence``,
``ave_success_rate_plot_overlap``, ``ave_success_rate_plot_center``, ``ave_success_rate_plot_center_norm``,
``avg_overlap_all`` and the three ``threshold_set_*``) as numpy arrays, plus ``mode``, the per-sequence
denominators and sums that AO/SR/FPS need, and the cache ``fingerprint`` (cached as plain data in
``eval_data.npz``, see cache.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence as SequenceType

import numpy as np

from lib.test.analysis.cache import cache_file as cache_path, fingerprint, load_cached, save_cache
from lib.test.analysis.metrics import (CENTER_THRESHOLDS, NORM_CENTER_THRESHOLDS, ResultsError, evaluate_sequence,
                                       overlap_thresholds)
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.provenance import check_folder
from lib.test.evaluation.results import (ResultFileError, box_file, read_result_boxes, read_result_times,
                                         results_folder_name, time_file)
from lib.test.evaluation.tracker import Tracker
from lib.utils.environment import env_settings
from lib.utils.errors import OSTrackError
from lib.utils.progress import progress

__all__ = ["ResultsNotFoundError", "extract_results", "report_dir"]

logger = logging.getLogger(__name__)


class ResultsNotFoundError(OSTrackError):
    """Result files needed for an analysis do not exist."""


def report_dir(report_name: str, result_plot_path: str | Path | None = None) -> Path:
    """``<result_plot_path>/<report_name>``: where eval_data.npz, tables and plots of a report go."""
    return Path(result_plot_path or env_settings().result_plot_path) / report_name


def _tracker_info(trk: Tracker) -> dict:
    # the epoch of a checkpoint sweep is part of 'param', so runs are only merged within one epoch
    epoch = getattr(trk, "epoch", None)
    return {"name": trk.name, "param": results_folder_name(trk.parameter_name, None, epoch), "run_id": trk.run_id,
            "disp_name": trk.display_name, "label": trk.label(), "results_dir": str(trk.results_dir)}


def extract_results(trackers: SequenceType[Tracker], dataset: SequenceType[Sequence], report_name: str,
                    mode: str = "pytracking", skip_missing_seq: bool = False, plot_bin_gap: float = 0.05,
                    exclude_invalid_frames: bool = False, force_evaluation: bool = False,
                    result_plot_path: str | Path | None = None, pad_results: bool = False,
                    progress_bar: bool | None = None) -> dict:
    """Per-sequence curves and sums for every (sequence, tracker).

    Args:
        trackers: evaluation Trackers (their results_dir locates the files, through the shared path function).
        dataset: the sequences.
        report_name: folder name of the report (cache and plots).
        mode: metric convention, 'pytracking' (default), 'pysot' or 'got10k' (see metrics.py).
        skip_missing_seq: mark a sequence invalid for all trackers when one tracker lacks it (else an error).
        plot_bin_gap: success-plot threshold step (pytracking mode).
        exclude_invalid_frames: pytracking option: divide by the number of valid frames.
        force_evaluation: ignore the cache.
        result_plot_path: root of report folders (default: the path settings' result_plot_path).
        pad_results: score result files with the wrong row count anyway (padded with zero boxes or trimmed, with a
            warning; a bad time file is then ignored); by default such a file is an error naming it.
        progress_bar: show a bar with an ETA over the sequences (None: when stderr is a terminal).
    """
    for trk in trackers:
        check_folder(trk.results_dir)  # a folder whose provenance records disagree is never scored
    out_dir = report_dir(report_name, result_plot_path)
    # one file per mode, so switching modes keeps both (plain data: eval_data.npz, see cache.py)
    cache_file = cache_path(out_dir, mode)
    bases = [[trk.result_base(seq) for trk in trackers] for seq in dataset]
    settings = {"mode": mode, "bin_gap": plot_bin_gap, "exclude_invalid_frames": exclude_invalid_frames,
                "skip_missing_seq": skip_missing_seq, "pad_results": pad_results,
                "sequences": [s.name for s in dataset],
                "trackers": [_tracker_info(t) for t in trackers]}
    ground_truth = [a for s in dataset for a in (s.ground_truth_rect, s.target_visible, s.cover)]
    files = [f for row in bases for b in row for f in (box_file(b), time_file(b))]
    key = fingerprint(settings, ground_truth, files)
    if not force_evaluation:
        cached = load_cached(cache_file, key)
        if cached is not None:
            logger.info("reusing %s (results unchanged)", cache_file)
            return cached

    missing = [box_file(b) for row in bases for b in row if not box_file(b).is_file()]
    if missing and not skip_missing_seq:
        shown = "\n  ".join(str(p) for p in missing[:5])
        raise ResultsNotFoundError(
            f"{len(missing)} result file(s) do not exist, e.g.\n  {shown}\nRun tracking/test.py for these "
            f"trackers first, or pass --skip_missing_seq 1 to evaluate only sequences all trackers finished.")

    thresholds = overlap_thresholds(mode, plot_bin_gap)
    n_seq, n_trk = len(dataset), len(trackers)
    shape = (n_seq, n_trk)
    success = np.zeros(shape + (len(thresholds),))
    precision = np.zeros(shape + (len(CENTER_THRESHOLDS),))
    norm_precision = np.zeros(shape + (len(NORM_CENTER_THRESHOLDS),))
    sums = {k: np.zeros(shape) for k in ("frames", "iou_sum", "iou_count", "over50", "over75", "time_sum",
                                         "time_frames", "inv_time_sum", "inv_time_count")}
    valid_sequence = np.ones(n_seq, dtype=bool)
    for s, seq in enumerate(progress(dataset, desc=f"scoring {report_name}", unit="seq", enabled=progress_bar)):
        for t in range(n_trk):
            base = bases[s][t]
            if not box_file(base).is_file():
                valid_sequence[s] = False
                break
            # one check for every mode and tracker family: a row per frame, finite, sizes >= 0
            pred = read_result_boxes(base, len(seq.frames), pad=pad_results)
            try:
                ev = evaluate_sequence(pred, seq.ground_truth_rect, seq.dataset, mode, seq.target_visible,
                                       seq.cover, seq.resolution, thresholds, exclude_invalid_frames)
            except ResultsError as err:
                raise ResultsError(f"{box_file(base)}: {err}") from None
            success[s, t], precision[s, t], norm_precision[s, t] = ev.success, ev.precision, ev.norm_precision
            for name in ("frames", "iou_sum", "iou_count", "over50", "over75"):
                sums[name][s, t] = getattr(ev, name)
            try:
                times = read_result_times(base, len(seq.frames))
            except ResultFileError as err:
                if not pad_results:
                    raise
                logger.warning("%s; FPS of this sequence not counted (--pad_results)", err)
                times = None
            if times is not None:
                sums["time_sum"][s, t], sums["time_frames"][s, t] = times.sum(), times.size
                positive = times[np.isfinite(times) & (times > 0)]
                sums["inv_time_sum"][s, t], sums["inv_time_count"][s, t] = (1.0 / positive).sum(), positive.size
            else:
                sums["time_sum"][s, t] = np.nan
    logger.info("computed results over %d / %d sequences", int(valid_sequence.sum()), n_seq)

    with np.errstate(invalid="ignore", divide="ignore"):
        avg_overlap = sums["iou_sum"] / sums["iou_count"]
    data = {
        "sequences": [s.name for s in dataset],
        "trackers": [_tracker_info(t) for t in trackers],
        "valid_sequence": valid_sequence,
        "ave_success_rate_plot_overlap": success,
        "ave_success_rate_plot_center": precision,
        "ave_success_rate_plot_center_norm": norm_precision,
        "avg_overlap_all": avg_overlap,
        "threshold_set_overlap": thresholds,
        "threshold_set_center": CENTER_THRESHOLDS.copy(),
        "threshold_set_center_norm": NORM_CENTER_THRESHOLDS.copy(),
        "mode": mode,
        "fingerprint": key,
        **sums,
    }
    save_cache(cache_file, data)
    return data
