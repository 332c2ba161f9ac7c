"""PySOT anchors / SiamBAN points and the training targets (AnchorTarget, PointTarget) against the original's outputs.

The references (../shared/reference/siamese/<config>_reference.pt, groups `anchors`, `targets`, `train.labels`)
were made by the original code with `np.random.seed(np_seed)` right before each target call.
"""

import numpy as np
import pytest
import torch

from lib.config.core import CfgNode
from lib.train.data.siamese.anchor_target import AnchorTarget, build_anchor_target, select_positions
from lib.train.data.siamese.anchors import Anchors, generate_points
from lib.train.data.siamese.point_target import PointTarget, build_point_target
from lib.utils.errors import ConfigError
from tests.siamese_reference import load_reference

RPN_CONFIGS = ["siamrpn_r50_l234_dwxcorr", "siamrpn_alex_dwxcorr"]
ALL_CONFIGS = RPN_CONFIGS + ["siamban_r50_l234"]
FLOAT_ATOL = 1e-6


def _reference(config):
    return load_reference(f"{config}_reference.pt")


def _build_target(ref):
    """The config's target maker, built from the reference's stored config (alex: OUTPUT_SIZE 17, BASE_SIZE 0)."""
    cfg = CfgNode(ref["cfg"])
    return build_point_target(cfg) if ref["family"] == "siamban" else build_anchor_target(cfg)


def _assert_outputs_equal(outputs, entry, names):
    for name, value in zip(names, outputs):
        expected = entry[name].numpy()
        assert value.dtype == expected.dtype and value.shape == expected.shape, name
        if np.issubdtype(expected.dtype, np.integer):
            np.testing.assert_array_equal(value, expected, err_msg=name)
        else:
            np.testing.assert_allclose(value, expected, rtol=0, atol=FLOAT_ATOL, err_msg=name)


def _names(ref):
    return ("cls", "delta") if ref["family"] == "siamban" else ("cls", "delta", "delta_weight", "overlap")


@pytest.mark.parametrize("config", RPN_CONFIGS)
def test_anchors_match_reference(config):
    ref = _reference(config)
    groups = ref["anchors"]
    size = int(ref["cfg"]["TRAIN"]["OUTPUT_SIZE"])
    assert size == groups["target_output_size"]
    anchors = Anchors(8, [0.33, 0.5, 1, 2, 3], [8])
    np.testing.assert_array_equal(anchors.anchors, groups["base_anchors"].numpy())
    assert anchors.generate_all_anchors(127, size) is True
    corner, center = anchors.all_anchors
    assert corner.dtype == center.dtype == np.float32 and corner.shape == (4, 5, size, size)
    np.testing.assert_array_equal(corner, groups["target_anchors_corner"].numpy())
    np.testing.assert_array_equal(center, groups["target_anchors_center"].numpy())
    # The target maker lays out the same grid.
    target = _build_target(ref)
    np.testing.assert_array_equal(target.anchors.all_anchors[0], corner)


def test_anchor_shapes_are_truncated_quirk_12():
    """matches PySOT (quirk 12): int() truncation gives 104x32, 88x40, 64x64, 40x80, 32x96, not exact ratios."""
    anchors = Anchors(8, [0.33, 0.5, 1, 2, 3], [8]).anchors
    widths, heights = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    assert widths.tolist() == [104, 88, 64, 40, 32]
    assert heights.tolist() == [32, 40, 64, 80, 96]


def test_generate_all_anchors_skips_the_stored_grid():
    anchors = Anchors(8, [1], [8])
    assert anchors.generate_all_anchors(0, 0) is False  # the initial pair, as the original
    assert anchors.generate_all_anchors(127, 17) is True
    first = anchors.all_anchors
    assert anchors.generate_all_anchors(127, 17) is False and anchors.all_anchors is first
    centres = anchors.all_anchors[1][0, 0, 0]  # x centres of the first row
    assert centres.tolist() == list(range(63, 192, 8))


def test_points_match_reference():
    ref = _reference("siamban_r50_l234")
    points = generate_points(8, ref["anchors"]["target_output_size"], 127)
    assert points.dtype == np.float32 and points.shape == (2, 25, 25)
    np.testing.assert_array_equal(points, ref["anchors"]["target_points"].numpy())
    np.testing.assert_array_equal(_build_target(ref).points, points)


@pytest.mark.parametrize("index", range(9))
@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_targets_match_reference(config, index):
    ref = _reference(config)
    entry = ref["targets"][index]
    target = _build_target(ref)
    np.random.seed(entry["np_seed"])
    outputs = target(entry["box"], entry["size"], entry["neg"])
    _assert_outputs_equal(outputs, entry, _names(ref))
    # The same labels from an explicit RandomState, whatever the global state, which is left untouched.
    np.random.seed(12345)
    before = np.random.get_state()[1].copy()
    outputs = target(entry["box"], entry["size"], entry["neg"], rng=np.random.RandomState(entry["np_seed"]))
    _assert_outputs_equal(outputs, entry, _names(ref))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_train_labels_match_reference(config):
    ref = _reference(config)
    train = ref["train"]
    target = _build_target(ref)
    size = int(ref["cfg"]["TRAIN"]["OUTPUT_SIZE"])
    per_sample = []
    for box, neg, seed in zip(train["boxes"], train["neg"], train["np_seeds"]):
        np.random.seed(seed)
        per_sample.append(target(box, size, neg))
    stacked = [np.stack(parts) for parts in zip(*per_sample)]
    labels = {"label_cls": stacked[0], "label_loc": stacked[1]}
    if ref["family"] != "siamban":
        labels["label_loc_weight"] = stacked[2]
    assert set(labels) == set(train["labels"])
    _assert_outputs_equal(labels.values(), train["labels"], list(labels))


def test_negative_window_is_offset_and_clipped_quirk_13():
    """matches PySOT (quirk 13): the 7x7 window uses ceil(d / stride + 0.5), one cell past a centred target,
    and is clipped (or empty) at the border."""
    target = AnchorTarget(output_size=25)
    cls, delta, weight, overlap = target([111.0, 111.0, 143.0, 143.0], 25, neg=True, rng=np.random.RandomState(0))
    _, rows, cols = np.where(cls == 0)
    assert len(rows) == 16 and (cls == 1).sum() == 0
    assert rows.min() >= 10 and rows.max() <= 16 and cols.min() >= 10 and cols.max() <= 16
    assert not delta.any() and not weight.any() and not overlap.any()
    # With a budget above the window, every anchor of rows/columns 10..16 (centre 13, not 12) is negative.
    cls, *_ = AnchorTarget(output_size=25, neg_num=1000)([111.0, 111.0, 143.0, 143.0], 25, neg=True)
    cells = {(int(r), int(c)) for _, r, c in zip(*np.where(cls == 0))}
    assert cells == {(r, c) for r in range(10, 17) for c in range(10, 17)} and (cls == 0).sum() == 5 * 49
    # Bottom-right corner: only the last cell survives the clipping (5 anchors), on alex's 17x17 map none.
    box = [225.0, 230.0, 254.0, 254.0]
    cls, *_ = target(box, 25, neg=True, rng=np.random.RandomState(0))
    assert {(int(r), int(c)) for _, r, c in zip(*np.where(cls == 0))} == {(24, 24)} and (cls == 0).sum() == 5
    cls, *_ = AnchorTarget(output_size=17)(box, 17, neg=True, rng=np.random.RandomState(0))
    assert (cls == -1).all()


def test_positives_are_sampled_before_negatives_quirk_14():
    """matches PySOT (quirk 14): one RNG, positives shuffled first, negatives (budget 48) second."""
    target = AnchorTarget(output_size=25)
    box = [99.0, 92.0, 155.0, 162.0]  # 18 anchors above 0.6
    cls, _, weight, overlap = target(box, 25, rng=np.random.RandomState(7))
    positives, negatives = np.where(overlap > 0.6), np.where(overlap < 0.3)
    assert len(positives[0]) == 18

    def expected(first, second, keep_first, keep_second):
        rng = np.random.RandomState(7)
        kept_first, _ = select_positions(first, keep_first, rng)
        kept_second, _ = select_positions(second, keep_second, rng)
        return kept_first, kept_second

    kept_pos, kept_neg = expected(positives, negatives, 16, 48)
    assert np.array_equal(np.where(cls == 1), np.stack(kept_pos)[:, np.lexsort(kept_pos[::-1])])
    assert np.array_equal(np.where(cls == 0), np.stack(kept_neg)[:, np.lexsort(kept_neg[::-1])])
    assert np.allclose(weight[cls == 1], 1 / (16 + 1e-6)) and not weight[cls != 1].any()
    swapped_neg, swapped_pos = expected(negatives, positives, 48, 16)
    assert not np.array_equal(np.where(cls == 0), np.stack(swapped_neg)[:, np.lexsort(swapped_neg[::-1])])


def test_point_target_regions():
    target = PointTarget()
    box = [95.0, 95.0, 159.0, 159.0]  # centred 64x64: inner semi-axes 16, outer 32
    cls, delta = target(box, 25, rng=np.random.RandomState(0))
    points = target.points
    inner = ((127 - points[0]) / 16) ** 2 + ((127 - points[1]) / 16) ** 2
    outer = ((127 - points[0]) / 32) ** 2 + ((127 - points[1]) / 32) ** 2
    assert (inner[cls == 1] < 1).all() and (cls == 1).sum() == min(16, (inner < 1).sum())
    assert (outer[cls == 0] > 1).all() and (cls == 0).sum() == 48
    assert (cls[(inner >= 1) & (outer <= 1)] == -1).all()  # the ring is ignored
    np.testing.assert_array_equal(delta[0], points[0] - 95.0)
    np.testing.assert_array_equal(delta[3], 159.0 - points[1])


@pytest.mark.parametrize("kwargs, message", [
    ({"thr_high": 0.3, "thr_low": 0.6}, "THR_LOW"),
    ({"total_num": 8, "pos_num": 16}, "TOTAL_NUM"),
    ({"neg_num": -1}, "NEG_NUM"),
    ({"stride": 0}, "stride"),
    ({"output_size": 0}, "OUTPUT_SIZE"),
    ({"ratios": []}, "RATIOS"),
    ({"scales": [0]}, "positive"),
])
def test_anchor_target_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AnchorTarget(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"total_num": 8}, "TOTAL_NUM"), ({"pos_num": 1.5}, "POS_NUM"), ({"stride": -8}, "stride"),
])
def test_point_target_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PointTarget(**kwargs)


@pytest.mark.parametrize("make", [lambda: AnchorTarget(output_size=25), lambda: PointTarget(output_size=25)])
def test_targets_reject_bad_calls(make):
    target = make()
    with pytest.raises(ConfigError, match="17"):
        target([95.0, 95.0, 159.0, 159.0], 17)
    with pytest.raises(ValueError, match="corner box"):
        target([95.0, 95.0, 159.0], 25)
    with pytest.raises(ValueError, match="x2 >= x1"):
        target([95.0, 95.0, 64.0, 64.0], 25)  # (x, y, w, h) passed by mistake


def test_targets_accept_tensors_and_namedtuple_like_boxes():
    target = AnchorTarget(output_size=25)
    box = [97.5, 87.25, 171.0, 160.5]
    results = [target(b, 25, rng=np.random.RandomState(3)) for b in
               (box, tuple(box), np.asarray(box), torch.tensor(box, dtype=torch.float64))]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
