"""Scores and tables from evaluation data: AUC, OP50/OP75, precision, normalised precision, AO, SR, FPS.

Definitions (all in percent except FPS):
* AUC: mean of the success curve over its thresholds. OP50 / OP75: the success curve at the 0.50 / 0.75
  threshold, picked by **integer index** (the original compared floats and lost OP75, spec 8.6 item 43).
* Precision: precision curve at 20 px (index 20); Norm Precision: normalised curve at 0.20 (index 20).
* AO: mean IoU over the evaluated frames; SR0.5 / SR0.75: fraction of those frames with IoU > 0.5 / 0.75.
* FPS: frames / seconds from the time files (got10k mode: mean of 1 / t over frames, as the toolkit).
Curves and per-sequence scores are averaged over valid sequences (each sequence weighs the same; pytracking
and pysot), or pooled over all evaluated frames (got10k mode, as the GOT-10k toolkit).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

__all__ = ["METRICS", "DEFAULT_COLUMNS", "merge_runs", "tracker_curves", "compute_scores", "sequence_scores",
           "format_table", "threshold_index"]

METRICS = ("AUC", "OP50", "OP75", "Precision", "Norm Precision", "AO", "SR0.5", "SR0.75", "FPS")
DEFAULT_COLUMNS = {
    "pytracking": ("AUC", "OP50", "OP75", "Precision", "Norm Precision", "FPS"),
    "pysot": ("AUC", "Precision", "Norm Precision", "FPS"),
    "got10k": ("AO", "SR0.5", "SR0.75", "FPS"),
}
_CURVES = ("ave_success_rate_plot_overlap", "ave_success_rate_plot_center", "ave_success_rate_plot_center_norm")
_SUMS = ("frames", "iou_sum", "iou_count", "over50", "over75", "time_sum", "time_frames", "inv_time_sum",
         "inv_time_count")


def threshold_index(thresholds: np.ndarray, value: float) -> int:
    """Index of the threshold nearest to ``value`` (thresholds are built as k * step)."""
    return int(np.argmin(np.abs(np.asarray(thresholds) - value)))


def merge_runs(data: dict) -> dict:
    """Average the runs of trackers that share name and parameter (the original's merge_results)."""
    groups: OrderedDict[tuple, list[int]] = OrderedDict()
    for i, trk in enumerate(data["trackers"]):
        groups.setdefault((trk["name"], trk["param"], trk.get("disp_name")), []).append(i)
    if all(len(g) == 1 for g in groups.values()):
        return data
    merged = dict(data)
    merged["trackers"] = []
    for (name, param, disp), idx in groups.items():
        info = dict(data["trackers"][idx[0]], run_id=None)
        info["label"] = disp or f"{name}/{param}"
        merged["trackers"].append(info)
    for key in _CURVES + _SUMS + ("avg_overlap_all",):
        merged[key] = np.stack([np.nanmean(data[key][:, idx], axis=1) for idx in groups.values()], axis=1)
    return merged


def _pool(curves: np.ndarray, frames: np.ndarray, pooled: bool) -> np.ndarray:
    """(S, K) per-sequence curves -> (K,): sequence mean, or frame-weighted mean when pooled."""
    if pooled:
        weights = frames[:, None]
        return (curves * weights).sum(axis=0) / max(weights.sum(), 1e-12)
    return curves.mean(axis=0)


def tracker_curves(data: dict, tracker_index: int) -> dict:
    """Success / precision / normalised precision curves (fractions) of one tracker over valid sequences."""
    valid = np.asarray(data["valid_sequence"], dtype=bool)
    pooled = data["mode"] == "got10k"
    frames = data["frames"][valid, tracker_index]
    return {key: _pool(data[key][valid, tracker_index], frames, pooled) for key in _CURVES}


def compute_scores(data: dict) -> list[dict]:
    """One dict of METRICS per tracker (plus 'label' and 'sequences' = number of valid sequences)."""
    valid = np.asarray(data["valid_sequence"], dtype=bool)
    pooled = data["mode"] == "got10k"
    idx50 = threshold_index(data["threshold_set_overlap"], 0.50)
    idx75 = threshold_index(data["threshold_set_overlap"], 0.75)
    rows = []
    for t, info in enumerate(data["trackers"]):
        curves = tracker_curves(data, t)
        success = curves["ave_success_rate_plot_overlap"]
        s = {k: data[k][valid, t] for k in _SUMS}
        with np.errstate(invalid="ignore", divide="ignore"):
            if pooled:
                ao = s["iou_sum"].sum() / s["iou_count"].sum()
                sr50 = s["over50"].sum() / s["iou_count"].sum()
                sr75 = s["over75"].sum() / s["iou_count"].sum()
                fps = s["inv_time_sum"].sum() / s["inv_time_count"].sum()
            else:
                ao = np.nanmean(s["iou_sum"] / s["iou_count"]) if valid.any() else math.nan
                sr50 = np.nanmean(s["over50"] / s["iou_count"]) if valid.any() else math.nan
                sr75 = np.nanmean(s["over75"] / s["iou_count"]) if valid.any() else math.nan
                timed = np.isfinite(s["time_sum"])
                fps = s["time_frames"][timed].sum() / s["time_sum"][timed].sum()
        rows.append({
            "label": info["label"],
            "sequences": int(valid.sum()),
            "AUC": 100.0 * float(success.mean()),
            "OP50": 100.0 * float(success[idx50]),
            "OP75": 100.0 * float(success[idx75]),
            "Precision": 100.0 * float(curves["ave_success_rate_plot_center"][20]),
            "Norm Precision": 100.0 * float(curves["ave_success_rate_plot_center_norm"][20]),
            "AO": 100.0 * float(ao),
            "SR0.5": 100.0 * float(sr50),
            "SR0.75": 100.0 * float(sr75),
            "FPS": float(fps),
        })
    return rows


def sequence_scores(data: dict) -> list[dict]:
    """Per (sequence, tracker): AUC, AO, precision@20 and FPS (valid sequences only)."""
    rows = []
    for s, name in enumerate(data["sequences"]):
        if not data["valid_sequence"][s]:
            continue
        for t, info in enumerate(data["trackers"]):
            with np.errstate(invalid="ignore", divide="ignore"):
                fps = data["time_frames"][s, t] / data["time_sum"][s, t]
                ao = data["iou_sum"][s, t] / data["iou_count"][s, t]
            rows.append({"sequence": name, "label": info["label"],
                         "AUC": 100.0 * float(data["ave_success_rate_plot_overlap"][s, t].mean()),
                         "AO": 100.0 * float(ao),
                         "Precision": 100.0 * float(data["ave_success_rate_plot_center"][s, t, 20]),
                         "FPS": float(fps)})
    return rows


def format_table(rows: list[dict], columns: tuple[str, ...], title: str = "", key: str = "label") -> str:
    """A fixed-width text table with two decimals (as the original's print_results)."""
    width = max([len(key)] + [len(str(r[key])) for r in rows]) + 2
    col_w = [max(len(c), 7) + 2 for c in columns]
    lines = [title] if title else []
    lines.append(f"{'':<{width}}" + "".join(f"| {c:<{w - 1}}" for c, w in zip(columns, col_w)))
    for r in rows:
        cells = "".join(f"| {r[c]:<{w - 1}.2f}" if isinstance(r[c], float) else f"| {r[c]!s:<{w - 1}}"
                        for c, w in zip(columns, col_w))
        lines.append(f"{str(r[key]):<{width}}" + cells)
    return "\n".join(lines)
