"""Benchmark scores of one tracker configuration as a few numbers (AO, SR0.5, SR0.75, AUC), for the places that
need a single figure: evaluation during training (lib.train.trainers.eval_hook) and test-time tuning
(lib.test.evaluation.tuning).

The numbers are those of the analysis package (lib.test.analysis): AO and SR are the GOT-10k toolkit's (frame 0
skipped, frames of all sequences pooled, as ``tracking/analysis_results.py --mode got10k`` and the quickstart
report them); AUC is pytracking's success AUC averaged over sequences (``--mode pytracking``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence as SequenceType

import numpy as np

from lib.test.analysis.metrics import SequenceEval, evaluate_sequence
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.results import read_result_boxes
from lib.test.evaluation.tracker import Tracker, track_sequence
from lib.utils.errors import OSTrackError

__all__ = ["METRICS", "SequenceScore", "score_sequence", "summarize_scores", "score_result_files", "track_and_score"]

logger = logging.getLogger(__name__)

#: the figures a summary holds (each in percent)
METRICS = ("AO", "SR0.5", "SR0.75", "AUC")


@dataclass
class SequenceScore:
    """One sequence's evaluations: ``got10k`` (AO, SR) and ``pytracking`` (success AUC)."""

    name: str
    got10k: SequenceEval
    pytracking: SequenceEval


def score_sequence(seq: Sequence, boxes) -> SequenceScore:
    """Evaluate one sequence's predicted [x, y, w, h] boxes (frame 0 included) against its ground truth.

    Raises:
        ResultsError: the sequence has only its first box (a test split).
    """
    pred = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return SequenceScore(
        seq.name,
        evaluate_sequence(pred, seq.ground_truth_rect, seq.dataset, mode="got10k", target_visible=seq.target_visible,
                          cover=seq.cover, resolution=seq.resolution),
        evaluate_sequence(pred, seq.ground_truth_rect, seq.dataset, mode="pytracking",
                          target_visible=seq.target_visible))


def summarize_scores(scores: SequenceType[SequenceScore]) -> dict:
    """AO, SR0.5, SR0.75 (pooled frames) and AUC (mean over sequences), in percent, plus ``sequences``."""
    if not scores:
        raise OSTrackError("no sequence to score (every sequence failed, or the dataset has none with a full "
                           "ground truth).")
    count = sum(s.got10k.iou_count for s in scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "AO": 100.0 * sum(s.got10k.iou_sum for s in scores) / count if count else float("nan"),
            "SR0.5": 100.0 * sum(s.got10k.over50 for s in scores) / count if count else float("nan"),
            "SR0.75": 100.0 * sum(s.got10k.over75 for s in scores) / count if count else float("nan"),
            "AUC": 100.0 * float(np.mean([s.pytracking.success.mean() for s in scores])),
            "sequences": len(scores),
        }


def score_result_files(tracker: Tracker, sequences: SequenceType[Sequence]) -> dict:
    """Summary scores of a tracker's result files (lib.test.evaluation.results) on ``sequences``."""
    return summarize_scores([score_sequence(seq, read_result_boxes(tracker.result_base(seq), len(seq.frames)))
                             for seq in sequences])


def track_and_score(tracker: Tracker, sequences: SequenceType[Sequence], device: str = "cpu",
                    params=None) -> dict:
    """Run a tracker on each sequence in this process (no result files) and summarize; also returns ``seconds``
    (tracking time, frame reading excluded) and ``fps``.

    Args:
        tracker: the evaluation Tracker (its parameters give the config and the checkpoint).
        sequences: the sequences, with full ground truth.
        device: torch device of the network.
        params: resolved parameters (default: ``tracker.get_parameters()``).
    """
    params = params or tracker.get_parameters()
    scores, seconds, frames = [], 0.0, 0
    for seq in sequences:
        output = track_sequence(tracker.create_tracker(params, device=device), seq)
        seconds += float(sum(output["time"]))
        frames += len(output["time"])
        scores.append(score_sequence(seq, output["target_bbox"]))
    summary = summarize_scores(scores)
    summary["seconds"] = seconds
    summary["fps"] = frames / seconds if seconds > 0 else float("nan")
    return summary
