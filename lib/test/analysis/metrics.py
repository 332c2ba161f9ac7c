"""Per-sequence tracking metrics in three conventions (spec 7.6, 8.6 item 43).

``pytracking`` (default): the definitions behind OSTrack's published numbers (pytracking's
    ``calc_seq_err_robust`` + ``extract_results``): frame 0 := ground truth; inclusive-pixel IoU
    (``x + w - 1``) and centres ``xy + (wh - 1) / 2``; a zero-size prediction repeats the previous one; invalid
    frames (GT w or h <= 0, or not visible where the dataset says so) get IoU -1, centre error +Inf (-1 on UAV)
    and normalised error -1, so they count as failures for success, and as successes for normalised precision
    (matches OSTrack; on LaSOT invisible frames get +Inf, i.e. failures); denominator = all frames
    (``exclude_invalid_frames``: valid frames only); success uses ``IoU > t``, precision ``error <= t``.
``pysot``: the LaSOT/pysot toolkit (OPE benchmark): the result file as written (no frame-0 override),
    continuous IoU (``x + w``), centres ``xy + (wh - 1) / 2``; invisible frames dropped from the numerator but
    kept in the denominator (all frames); GT rows with w or h <= 0 get IoU -1; centre distances where a GT
    centre coordinate is <= 0 are -1 and count as successes (as the toolkit).
``got10k``: the GOT-10k toolkit: frame 0 skipped; boxes clipped to the image (``bound``) when the resolution
    is known; continuous IoU with eps; only frames with cover > 0 (else visible frames, else all); AO, SR and
    the 101-bin success curve pool all evaluated frames of all sequences (frame-weighted, as the toolkit).

Everything is numpy float64; one call handles one (sequence, tracker) pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lib.utils.errors import OSTrackError

__all__ = ["MODES", "ResultsError", "SequenceEval", "overlap_thresholds", "CENTER_THRESHOLDS",
           "NORM_CENTER_THRESHOLDS", "GOT10K_THRESHOLDS", "iou_inclusive", "iou_continuous", "centers",
           "pytracking_errors", "evaluate_sequence"]

MODES = ("pytracking", "pysot", "got10k")

CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)  # pixels
NORM_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
GOT10K_THRESHOLDS = np.linspace(0, 1, 101)


class ResultsError(OSTrackError):
    """A result file cannot be evaluated (NaN, negative size, wrong length)."""


def overlap_thresholds(mode: str = "pytracking", bin_gap: float = 0.05) -> np.ndarray:
    """Success-plot IoU thresholds of a mode.

    matches OSTrack: pytracking builds them with a float64 torch.arange, whose 0.75 entry is
    0.7500000000000001, so an IoU of exactly 0.75 is not a success at that threshold. Scores pick thresholds by
    integer index (never by float equality, which made OP75 empty in the original).
    """
    if mode == "got10k":
        return GOT10K_THRESHOLDS.copy()
    if mode == "pysot":
        return np.arange(0, 1.05, 0.05)
    return torch.arange(0.0, 1.0 + bin_gap, bin_gap, dtype=torch.float64).numpy()


@dataclass
class SequenceEval:
    """Curves and sums for one (sequence, tracker); fractions are per evaluated frame.

    Attributes:
        success: (n_overlap_thresholds,) fraction with IoU > t.
        precision: (51,) fraction with centre error <= t pixels.
        norm_precision: (51,) fraction with normalised centre error <= t.
        frames: the curves' denominator.
        iou_sum, iou_count: IoU summed over the frames that define AO, and their number.
        over50, over75: how many of those frames have IoU > 0.5 / > 0.75.
    """

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    frames: int
    iou_sum: float
    iou_count: int
    over50: int
    over75: int


def iou_inclusive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) xywh boxes in the inclusive-pixel convention (pytracking: br = xy + wh - 1)."""
    tl = np.maximum(a[:, :2], b[:, :2])
    br = np.minimum(a[:, :2] + a[:, 2:] - 1.0, b[:, :2] + b[:, 2:] - 1.0)
    inter = np.clip(br - tl + 1.0, 0, None).prod(axis=1)
    union = a[:, 2:].prod(axis=1) + b[:, 2:].prod(axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def iou_continuous(a: np.ndarray, b: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """IoU of (N, 4) xywh boxes in the continuous convention (br = xy + wh), clipped to [0, 1]."""
    tl = np.maximum(a[:, :2], b[:, :2])
    br = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.clip(br - tl, 0, None).prod(axis=1)
    union = a[:, 2:].prod(axis=1) + b[:, 2:].prod(axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(inter / (union + eps), 0.0, 1.0)


def centers(boxes: np.ndarray) -> np.ndarray:
    """Box centres xy + (wh - 1) / 2 (pixel-centre convention of pytracking and both toolkits)."""
    return boxes[:, :2] + 0.5 * (boxes[:, 2:] - 1.0)


def _fractions(values: np.ndarray, thresholds: np.ndarray, denominator: float, above: bool) -> np.ndarray:
    """Fraction of values > t (above) or <= t per threshold, via one sort (fast for long sequences)."""
    ordered = np.sort(values)
    if above:
        counts = ordered.size - np.searchsorted(ordered, thresholds, side="right")
    else:
        counts = np.searchsorted(ordered, thresholds, side="right")
    return counts / denominator


def pytracking_errors(pred: np.ndarray, anno: np.ndarray, dataset: str,
                      target_visible: np.ndarray | None = None):
    """pytracking's ``calc_seq_err_robust``: (iou, center_error, norm_center_error, valid) per frame."""
    if len(pred) == 0:
        raise ResultsError("the result file is empty")
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ResultsError("the result holds NaN or a negative width/height")
    anno_nan = np.isnan(anno).any(axis=1)
    if anno_nan.any() and dataset != "uav":
        raise ResultsError("the annotation holds NaN (only UAV123 may)")
    pred = pred.copy()
    zero = (pred[:, 2:] == 0).any(axis=1)
    zero[0] = False
    n_common = min(len(pred), len(anno))
    zero[:n_common] &= ~anno_nan[:n_common]
    if zero.any():
        # A zero-size prediction repeats the previous (possibly itself repeated) one.
        keep = np.where(zero, 0, np.arange(len(pred)))
        pred = pred[np.maximum.accumulate(keep)]
    if len(pred) != len(anno):
        if len(pred) > len(anno):
            pred = pred[: len(anno)]  # e.g. monkey-17 of LaSOT has extra rows for some trackers
        elif dataset == "lasot":
            raise ResultsError(f"the result has {len(pred)} rows but the ground truth has {len(anno)}")
        else:
            pred = np.concatenate([pred, np.zeros((len(anno) - len(pred), 4))])
    pred[0] = anno[0]  # matches OSTrack: frame 0 counts as perfect
    with np.errstate(invalid="ignore"):
        valid = (anno[:, 2:] > 0).all(axis=1)
    if target_visible is not None:
        valid &= target_visible.astype(bool)
    c_pred, c_anno = centers(pred), centers(anno)
    with np.errstate(divide="ignore", invalid="ignore"):
        err_center = np.sqrt(((c_pred - c_anno) ** 2).sum(axis=1))
        err_norm = np.sqrt(((c_pred / anno[:, 2:] - c_anno / anno[:, 2:]) ** 2).sum(axis=1))
    iou = iou_inclusive(pred, anno)
    err_center[~valid] = -1.0 if dataset == "uav" else np.inf
    err_norm[~valid] = -1.0
    iou[~valid] = -1.0
    if dataset == "lasot" and target_visible is not None:
        err_norm[~target_visible] = np.inf
        err_center[~target_visible] = np.inf
    if np.isnan(iou).any():
        raise ResultsError("the overlap is NaN for a valid frame (a zero-area box)")
    return iou, err_center, err_norm, valid


def _eval_pytracking(pred, anno, dataset, target_visible, thresholds, exclude_invalid_frames) -> SequenceEval:
    iou, err_center, err_norm, valid = pytracking_errors(pred, anno, dataset, target_visible)
    frames = int(valid.sum()) if exclude_invalid_frames else len(anno)
    if frames <= 0:
        raise ResultsError("no frame to evaluate (sequence length zero)")
    return _curves(iou, err_center, err_norm, valid, thresholds, frames)


def _curves(iou, err_center, err_norm, valid, thresholds, frames: int) -> SequenceEval:
    """Success / precision / normalised-precision curves over ``frames`` plus the IoU sums of valid frames."""
    ious = iou[valid]
    return SequenceEval(
        success=_fractions(iou, thresholds, frames, above=True),
        precision=_fractions(err_center, CENTER_THRESHOLDS, frames, above=False),
        norm_precision=_fractions(err_norm, NORM_CENTER_THRESHOLDS, frames, above=False),
        frames=frames, iou_sum=float(ious.sum()), iou_count=int(ious.size),
        over50=int((ious > 0.5).sum()), over75=int((ious > 0.75).sum()))


def _eval_pysot(pred, anno, target_visible, thresholds) -> SequenceEval:
    if len(pred) < len(anno):
        raise ResultsError(f"the result has {len(pred)} rows but the ground truth has {len(anno)}")
    pred = pred[: len(anno)]
    n_frame = len(anno)
    if target_visible is not None:
        keep = target_visible.astype(bool)
        pred, anno = pred[keep], anno[keep]
    valid = (anno[:, 2:] > 0).all(axis=1)
    iou = np.full(len(anno), -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou[valid] = np.clip(iou_continuous(pred[valid], anno[valid]), 0, 1)
    c_anno, c_pred = centers(anno), centers(pred)
    dist = np.full(len(anno), -1.0)
    mask = (c_anno > 0).all(axis=1)
    dist[mask] = np.sqrt(((c_anno[mask] - c_pred[mask]) ** 2).sum(axis=1))
    n_anno, n_pred = c_anno / (anno[:, 2:] + 1e-16), c_pred / (anno[:, 2:] + 1e-16)
    norm = np.full(len(anno), -1.0)
    mask = (n_anno > 0).all(axis=1)
    norm[mask] = np.sqrt(((n_anno[mask] - n_pred[mask]) ** 2).sum(axis=1))
    return _curves(iou, dist, norm, valid, thresholds, n_frame)


def _bound(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    boxes = boxes.copy()
    boxes[:, 0] = np.clip(boxes[:, 0], 0, width)
    boxes[:, 1] = np.clip(boxes[:, 1], 0, height)
    boxes[:, 2] = np.clip(boxes[:, 2], 0, width - boxes[:, 0])
    boxes[:, 3] = np.clip(boxes[:, 3], 0, height - boxes[:, 1])
    return boxes


def _eval_got10k(pred, anno, cover, target_visible, resolution) -> SequenceEval:
    if pred.shape != anno.shape:
        raise ResultsError(f"the result has {len(pred)} rows but the ground truth has {len(anno)} "
                           f"(the GOT-10k toolkit needs equal lengths)")
    pred, anno = pred[1:], anno[1:]  # the toolkit skips the initialisation frame
    if resolution is not None:
        pred, anno = _bound(pred, *resolution), _bound(anno, *resolution)
    ious = iou_continuous(pred, anno, eps=np.finfo(float).eps)
    if cover is not None:
        if len(cover) != len(anno) + 1:
            raise ResultsError(f"cover.label has {len(cover)} entries for {len(anno) + 1} frames")
        keep = np.asarray(cover)[1:] > 0
    elif target_visible is not None:
        keep = target_visible.astype(bool)[1:]
    else:
        keep = np.ones(len(anno), dtype=bool)
    ious, pred, anno = ious[keep], pred[keep], anno[keep]
    frames = int(keep.sum())
    denominator = max(frames, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.sqrt(((centers(pred) - centers(anno)) ** 2).sum(axis=1))
        err_norm = np.sqrt(((centers(pred) / anno[:, 2:] - centers(anno) / anno[:, 2:]) ** 2).sum(axis=1))
    err_norm[~np.isfinite(err_norm)] = np.inf
    return SequenceEval(
        success=_fractions(ious, GOT10K_THRESHOLDS, denominator, above=True),
        precision=_fractions(err, CENTER_THRESHOLDS, denominator, above=False),
        norm_precision=_fractions(err_norm, NORM_CENTER_THRESHOLDS, denominator, above=False),
        frames=frames, iou_sum=float(ious.sum()), iou_count=frames,
        over50=int((ious > 0.5).sum()), over75=int((ious > 0.75).sum()))


def evaluate_sequence(pred: np.ndarray, anno: np.ndarray, dataset: str, mode: str = "pytracking",
                      target_visible: np.ndarray | None = None, cover: np.ndarray | None = None,
                      resolution: tuple[int, int] | None = None, thresholds: np.ndarray | None = None,
                      exclude_invalid_frames: bool = False) -> SequenceEval:
    """Curves of one result against its ground truth.

    Args:
        pred: (N, 4) xywh result boxes (frame 0 included).
        anno: (N, 4) ground truth.
        dataset: dataset tag ('lasot' and 'uav' have special cases in pytracking mode).
        mode: 'pytracking', 'pysot' or 'got10k' (module docstring).
        target_visible: (N,) visibility, when the dataset has it.
        cover: (N,) GOT-10k cover labels (got10k mode).
        resolution: (width, height) to bound boxes (got10k mode).
        thresholds: success thresholds (default :func:`overlap_thresholds` of the mode).
        exclude_invalid_frames: pytracking option: divide by the number of valid frames.
    """
    if mode not in MODES:
        raise ValueError(f"unknown metric mode {mode!r}; expected one of {MODES}")
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    anno = np.asarray(anno, dtype=np.float64).reshape(-1, 4)
    if len(anno) < 2:
        raise ResultsError("the ground truth has only the first frame (a test split: evaluate on the server)")
    if mode == "pytracking":
        thresholds = overlap_thresholds(mode) if thresholds is None else thresholds
        return _eval_pytracking(pred, anno, dataset, target_visible, thresholds, exclude_invalid_frames)
    if mode == "pysot":
        thresholds = overlap_thresholds(mode) if thresholds is None else thresholds
        return _eval_pysot(pred, anno, target_visible, thresholds)
    return _eval_got10k(pred, anno, cover, target_visible, resolution)
