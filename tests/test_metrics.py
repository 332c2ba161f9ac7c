"""Metrics against hand-computed cases: pytracking (OSTrack's published definitions), pysot/LaSOT and the
GOT-10k toolkit conventions; first frame, absent frames, invalid boxes; scores with integer threshold indices."""

from __future__ import annotations

import numpy as np
import pytest

from lib.test.analysis.metrics import ResultsError, evaluate_sequence, iou_continuous, iou_inclusive, overlap_thresholds
from lib.test.analysis.report import compute_scores, merge_runs, threshold_index

BOX = [0, 0, 10, 10]


def scores_of(evals, mode, times=None, names=("trk",)):
    """Evaluation data (as extract_results returns) from per-sequence results of one or more trackers."""
    evals = [e if isinstance(e, list) else [e] for e in evals]
    n_seq, n_trk = len(evals), len(evals[0])
    data = {"mode": mode, "valid_sequence": np.ones(n_seq, bool), "sequences": [f"s{i}" for i in range(n_seq)],
            "trackers": [{"name": n, "param": "p", "run_id": None, "disp_name": None, "label": n} for n in names],
            "threshold_set_overlap": overlap_thresholds(mode)}
    for key, attr in (("ave_success_rate_plot_overlap", "success"), ("ave_success_rate_plot_center", "precision"),
                      ("ave_success_rate_plot_center_norm", "norm_precision")):
        data[key] = np.array([[getattr(e, attr) for e in row] for row in evals])
    for key in ("frames", "iou_sum", "iou_count", "over50", "over75"):
        data[key] = np.array([[getattr(e, key) for e in row] for row in evals], dtype=float)
    times = times or [[np.array([0.1] * 2)] * n_trk] * n_seq
    data["time_sum"] = np.array([[t.sum() for t in row] for row in times])
    data["time_frames"] = np.array([[t.size for t in row] for row in times], dtype=float)
    data["inv_time_sum"] = np.array([[(1 / t[t > 0]).sum() for t in row] for row in times])
    data["inv_time_count"] = np.array([[(t > 0).sum() for t in row] for row in times], dtype=float)
    data["avg_overlap_all"] = data["iou_sum"] / data["iou_count"]
    return data


def test_iou_conventions():
    a, b = np.array([[0, 0, 10, 10.]]), np.array([[5, 0, 10, 10.]])
    assert iou_inclusive(a, b)[0] == pytest.approx(50 / 150)  # x in [5, 9]: 5 px * 10 px
    assert iou_continuous(a, b)[0] == pytest.approx(50 / 150)
    c = np.array([[9, 9, 10, 10.]])
    assert iou_inclusive(a, c)[0] == pytest.approx(1 / 199)  # pixel 9 is shared (inclusive convention)
    assert iou_continuous(a, c)[0] == pytest.approx(1 / 199)
    d = np.array([[10, 0, 10, 10.]])
    assert iou_inclusive(a, d)[0] == 0 and iou_continuous(a, d)[0] == 0


def test_pytracking_first_frame_invalid_frames_and_zero_size_predictions():
    anno = np.array([BOX, BOX, BOX, [0, 0, 0, 0], BOX], float)
    pred = np.array([[50, 50, 5, 5],  # frame 0: replaced by the ground truth
                     BOX,  # IoU 1
                     [5, 0, 10, 10],  # IoU 1/3, centre error 5 px, normalised 0.5
                     [5, 0, 10, 10],  # invalid ground truth (w = 0): IoU -1, error +Inf, normalised -1
                     [0, 0, 0, 0]], float)  # zero size: repeats the previous prediction -> IoU 1/3
    ev = evaluate_sequence(pred, anno, "otb")
    thr = overlap_thresholds()
    expected_success = [(4 if t < 1 / 3 else 2 if t < 1 else 0) / 5 for t in thr]
    assert ev.success.tolist() == pytest.approx(expected_success)
    assert ev.success.mean() == pytest.approx((7 * 0.8 + 13 * 0.4) / 21)  # AUC
    assert ev.precision[4] == pytest.approx(2 / 5) and ev.precision[5] == pytest.approx(4 / 5)
    assert ev.precision[20] == pytest.approx(4 / 5)  # the invalid frame (+Inf) is a failure
    # matches OSTrack: normalised error -1 on the invalid frame counts as a success
    assert ev.norm_precision[20] == pytest.approx(3 / 5) and ev.norm_precision[50] == pytest.approx(1.0)
    assert ev.frames == 5 and ev.iou_sum / ev.iou_count == pytest.approx((2 + 2 / 3) / 4)  # AO: valid frames
    excluded = evaluate_sequence(pred, anno, "otb", exclude_invalid_frames=True)
    assert excluded.frames == 4 and excluded.success[0] == pytest.approx(1.0)


def test_pytracking_lasot_absent_frames_and_uav_nan():
    anno = np.array([BOX, BOX, BOX, BOX], float)
    pred = np.array([BOX, BOX, BOX, [5, 0, 10, 10]], float)
    visible = np.array([True, True, False, True])
    lasot = evaluate_sequence(pred, anno, "lasot", target_visible=visible)
    assert lasot.success[0] == pytest.approx(3 / 4)  # the absent frame is a failure (IoU -1)
    assert lasot.norm_precision[20] == pytest.approx(2 / 4)  # +Inf on LaSOT: not a success
    assert lasot.precision[20] == pytest.approx(3 / 4)
    other = evaluate_sequence(pred, anno, "otb", target_visible=visible)
    assert other.norm_precision[20] == pytest.approx(3 / 4)  # -1 elsewhere: a success (quirk kept)

    uav_anno = np.array([BOX, BOX, [np.nan] * 4], float)
    uav = evaluate_sequence(np.array([BOX, BOX, BOX], float), uav_anno, "uav")
    assert uav.success[0] == pytest.approx(2 / 3) and uav.precision[0] == pytest.approx(1.0)  # -1 counts on UAV
    with pytest.raises(ResultsError, match="NaN"):
        evaluate_sequence(np.array([BOX, BOX, BOX], float), uav_anno, "otb")


def test_pytracking_length_mismatch_and_invalid_results():
    anno = np.array([BOX] * 4, float)
    short = np.array([BOX] * 3, float)
    with pytest.raises(ResultsError, match="3 rows"):
        evaluate_sequence(short, anno, "lasot")
    padded = evaluate_sequence(short, anno, "otb")  # zero-padded: the missing frame fails
    assert padded.success[0] == pytest.approx(3 / 4)
    longer = evaluate_sequence(np.array([BOX] * 6, float), anno, "lasot")
    assert longer.success[0] == pytest.approx(1.0)
    with pytest.raises(ResultsError, match="NaN or a negative"):
        evaluate_sequence(np.array([BOX, BOX, [0, 0, -1, 3], BOX], float), anno, "otb")
    with pytest.raises(ResultsError, match="only the first frame"):
        evaluate_sequence(np.array([BOX], float), np.array([BOX], float), "got10k")


def test_op75_uses_an_integer_index_with_the_original_thresholds():
    thr = overlap_thresholds()
    assert thr[15] == 0.7500000000000001 and threshold_index(thr, 0.75) == 15 and threshold_index(thr, 0.5) == 10
    # inclusive IoU of [0,0,4,3] and [0,0,4,4] is exactly 0.75: matches OSTrack, not above the 0.75 threshold
    ev = evaluate_sequence(np.array([BOX, [0, 0, 4, 3]], float), np.array([BOX, [0, 0, 4, 4]], float), "otb")
    scores = compute_scores(scores_of([ev], "pytracking"))[0]
    assert scores["OP75"] == pytest.approx(50.0) and scores["OP50"] == pytest.approx(100.0)
    assert scores["AUC"] == pytest.approx(100 * ev.success.mean())


def test_got10k_toolkit_definitions():
    # sequence A: frame 0 skipped; IoU 1 and 1/3; frame 3 has cover 0 and is not evaluated
    anno_a = np.array([BOX] * 4, float)
    pred_a = np.array([[70, 70, 5, 5], BOX, [5, 0, 10, 10], [80, 80, 1, 1]], float)
    ev_a = evaluate_sequence(pred_a, anno_a, "got10k", mode="got10k", cover=np.array([8, 8, 8, 0]),
                             resolution=(100, 100))
    # sequence B: a prediction reaching out of the 100 px wide image is clipped to it first ([95,0,5,10]) -> 0.5
    anno_b = np.array([BOX, [90, 0, 10, 10], BOX, BOX], float)
    pred_b = np.array([BOX, [95, 0, 10, 10], BOX, [50, 50, 10, 10]], float)
    ev_b = evaluate_sequence(pred_b, anno_b, "got10k", mode="got10k", cover=np.array([8, 8, 8, 8]),
                             resolution=(100, 100))
    assert (ev_a.frames, ev_b.frames) == (2, 3)
    assert ev_a.iou_sum == pytest.approx(1 + 1 / 3) and ev_b.iou_sum == pytest.approx(1.5)
    times = [[np.array([1.0, 0.1, 0.2, 0.5])], [np.array([1.0, 0.25, 0.5, 0.1])]]
    scores = compute_scores(scores_of([ev_a, ev_b], "got10k", times=times))[0]
    # AO and SR pool all evaluated frames (ious 1, 1/3, 0.5, 1, 0), as the toolkit's report
    assert scores["AO"] == pytest.approx(100 * (2 + 1 / 3 + 0.5) / 5)
    assert scores["SR0.5"] == pytest.approx(100 * 2 / 5)  # IoU 0.5 is not > 0.5
    assert scores["SR0.75"] == pytest.approx(100 * 2 / 5)
    assert scores["FPS"] == pytest.approx(np.mean([1, 10, 5, 2, 1, 4, 2, 10]))  # mean of 1/t
    assert scores["AUC"] == pytest.approx(scores["AO"], abs=1.0)  # 101-bin success curve area ~ AO
    # the pytracking convention averages per sequence instead (and frames/seconds for FPS)
    pyt = compute_scores(scores_of([ev_a, ev_b], "pytracking", times=times))[0]
    assert pyt["AO"] == pytest.approx(100 * ((1 + 1 / 3) / 2 + 1.5 / 3) / 2)
    assert pyt["FPS"] == pytest.approx(8 / 3.65)
    with pytest.raises(ResultsError, match="equal lengths"):
        evaluate_sequence(pred_a[:3], anno_a, "got10k", mode="got10k")


def test_pysot_lasot_toolkit_definitions():
    anno = np.array([BOX] * 5, float)
    pred = np.array([[1, 1, 10, 10],  # no frame-0 override: continuous IoU 81/119
                     BOX, [40, 40, 3, 3],  # frame 2 is absent: dropped from the numerator only
                     [5, 0, 10, 10], [0, 5, 10, 10]], float)
    visible = np.array([True, True, False, True, True])
    ev = evaluate_sequence(pred, anno, "lasot", mode="pysot", target_visible=visible)
    assert ev.frames == 5
    assert ev.success[0] == pytest.approx(4 / 5) and ev.success[10] == pytest.approx(2 / 5)  # 81/119 and 1 > .5
    assert ev.success[14] == pytest.approx(1 / 5)  # 81/119 = 0.68 < 0.70
    assert ev.precision[1] == pytest.approx(1 / 5) and ev.precision[2] == pytest.approx(2 / 5)  # sqrt(2) px
    assert ev.precision[20] == pytest.approx(4 / 5)
    # ground-truth centres <= 0 get distance -1, which the toolkit counts as a success
    odd = evaluate_sequence(np.array([BOX, [60, 60, 5, 5]], float), np.array([BOX, [-10, 0, 5, 5]], float),
                            "otb", mode="pysot")
    assert odd.precision[0] == pytest.approx(1.0) and odd.success[0] == pytest.approx(0.5)


def test_merge_runs_averages_runs_of_the_same_tracker():
    anno = np.array([BOX] * 3, float)
    good = evaluate_sequence(np.array([BOX] * 3, float), anno, "otb")
    bad = evaluate_sequence(np.array([BOX, [50, 50, 5, 5], BOX], float), anno, "otb")
    data = scores_of([[good, bad]], "pytracking", names=("a", "a"))
    merged = merge_runs(data)
    assert len(merged["trackers"]) == 1
    assert compute_scores(merged)[0]["AUC"] == pytest.approx(
        (compute_scores(data)[0]["AUC"] + compute_scores(data)[1]["AUC"]) / 2)
