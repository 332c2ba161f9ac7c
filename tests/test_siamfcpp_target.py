"""The SiamFC++ densebox target maker against video_analyst's (siamfcpp-spec 5, README-siamfcpp.md section 2 (c))."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.config.siamfcpp import load_config
from lib.train.data.siamfcpp import DenseboxTarget, make_densebox_target
from lib.utils.errors import ConfigError
from tests.siamfcpp_reference import BACKBONES, load_siamfcpp_reference

CASES = ("centred", "small", "edges_on_grid_points", "border_partly_outside", "whole_patch", "thin_wide",
         "no_grid_point_inside", "negative_pair")


def _target_from_config(backbone: str) -> DenseboxTarget:
    hps = load_config(f"siamfcpp_{backbone}-trn").train.track.data.target.DenseboxTarget
    return DenseboxTarget(z_size=hps.z_size, x_size=hps.x_size, total_stride=hps.total_stride,
                          num_conv3x3=hps.num_conv3x3)


def _assert_targets(got, cls_gt, ctr_gt, box_gt):
    cls, ctr, box = got
    assert cls.dtype == ctr.dtype == box.dtype == torch.float32
    assert torch.equal(cls, cls_gt)
    torch.testing.assert_close(ctr, ctr_gt, rtol=0, atol=1e-6)
    assert torch.equal(box, box_gt)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_sizes_derived_from_the_train_config_match_reference(backbone):
    """Quirk Q10: score_size / score_offset are recomputed from x_size, z_size, stride and head depth."""
    target = _target_from_config(backbone)
    hps = load_siamfcpp_reference(backbone)["target_maker"]["hps"]
    assert (target.score_size, target.score_offset) == (hps["score_size"], hps["score_offset"])
    assert (target.x_size, target.z_size, target.total_stride, target.num_conv3x3) == (
        hps["x_size"], hps["z_size"], hps["total_stride"], hps["num_conv3x3"])


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("case", CASES)
def test_cases_match_reference(backbone, case):
    """Quirk Q11 (strict inside, edges outside, zeros outside) and Q1 (negative pairs relabel cls only)."""
    ref = {c["name"]: c for c in load_siamfcpp_reference(backbone)["target_maker"]["cases"]}[case]
    got = _target_from_config(backbone).targets(ref["bbox"], ref["is_negative_pair"])
    _assert_targets(got, ref["cls_gt"], ref["ctr_gt"], ref["box_gt"])


@pytest.mark.parametrize("backbone", BACKBONES)
def test_overlapping_boxes_match_reference(backbone):
    """Quirk Q11: where boxes overlap, the smaller box (area without +1) labels the position."""
    ref = load_siamfcpp_reference(backbone)["target_maker"]["multi_box"]
    target = _target_from_config(backbone)
    got = make_densebox_target(ref["boxes"], target.score_size, target.score_offset, target.total_stride)
    _assert_targets(got, ref["cls_gt"], ref["ctr_gt"], ref["box_gt"])
    boxes = ref["boxes"]
    smaller = boxes[((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).argmin()]
    coords = target.score_offset + torch.arange(target.score_size) * target.total_stride
    y, x = torch.meshgrid(coords.float(), coords.float(), indexing="ij")
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    inside = (x > boxes[:, 0]) & (y > boxes[:, 1]) & (x < boxes[:, 2]) & (y < boxes[:, 3])  # (S*S, 2)
    both = inside.all(1)
    assert both.any() and (got[2][both] == smaller).all()


@pytest.mark.parametrize("backbone", BACKBONES)
def test_training_batch_targets_match_reference(backbone):
    """The targets of the reference batch (pair 0 positive, pair 1 negative) from their search boxes."""
    ref = load_siamfcpp_reference(backbone)["train"]["targets"]
    target = _target_from_config(backbone)
    for i in range(2):
        got = target.targets(ref["bbox_x"][i], bool(ref["is_negative_pair"][i]))
        _assert_targets(got, ref["cls_gt"][i], ref["ctr_gt"][i], ref["box_gt"][i])


def test_negative_pair_keeps_centerness_and_box_targets():
    """Quirk Q1: inside the box 0 (negative), outside -1 (ignored); ctr and box as for a positive pair."""
    target = DenseboxTarget()
    box = np.array([101.0, 111.0, 201.0, 191.0])
    pos_cls, pos_ctr, pos_box = target.targets(box, False)
    neg_cls, neg_ctr, neg_box = target.targets(box, True)
    assert torch.equal(neg_cls, torch.where(pos_cls == 1, 0.0, -1.0))
    assert torch.equal(neg_ctr, pos_ctr) and torch.equal(neg_box, pos_box)
    assert (neg_ctr > 0).sum() == (pos_cls == 1).sum() > 0


def test_call_returns_the_original_sample_layout():
    target = DenseboxTarget()
    sample = {"data1": {"image": np.zeros((127, 127, 3), np.uint8), "anno": [30.0, 30.0, 90.0, 90.0]},
              "data2": {"image": np.ones((303, 303, 3), np.uint8), "anno": [101.0, 111.0, 201.0, 191.0]},
              "is_negative_pair": False}
    out = target(sample)
    assert set(out) == {"im_z", "im_x", "bbox_z", "bbox_x", "cls_gt", "ctr_gt", "box_gt", "is_negative_pair"}
    assert out["im_z"].shape == (3, 127, 127) and out["im_x"].shape == (3, 303, 303)
    assert out["im_x"].dtype == np.uint8 and out["is_negative_pair"] == 0
    assert out["cls_gt"].shape == (289, 1) and out["box_gt"].shape == (289, 4)
    assert out["bbox_x"].dtype == np.float32


@pytest.mark.parametrize("x_size, num_conv3x3, size, offset", [(303, 3, 17, 87), (289, 2, 17, 80), (303, 2, 19, 79),
                                                               (335, 2, 23, 79)])
def test_score_map_geometry(x_size, num_conv3x3, size, offset):
    target = DenseboxTarget(x_size=x_size, num_conv3x3=num_conv3x3)
    assert (target.score_size, target.score_offset) == (size, offset)


def test_centerness_formula_at_one_position():
    """sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)) with + 1e-5 in the denominator."""
    cls, ctr, box = make_densebox_target(np.array([[80.0, 90.0, 120.0, 100.0]]), score_size=17, score_offset=87,
                                         total_stride=8)
    k = 1 * 17 + 1  # position (i=1, j=1) at pixel (95, 95)
    left, top, right, bottom = 15.0, 5.0, 25.0, 5.0
    expected = np.sqrt(min(left, right) * min(top, bottom) / (max(left, right) * max(top, bottom) + 1e-5))
    assert cls[k, 0] == 1 and ctr[k, 0].item() == pytest.approx(expected, rel=1e-6)
    assert box[k].tolist() == [80.0, 90.0, 120.0, 100.0]


def test_too_small_search_size_is_refused():
    with pytest.raises(ConfigError, match="score map of side"):
        DenseboxTarget(z_size=127, x_size=150, num_conv3x3=3)


def test_boxes_of_wrong_width_are_refused():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        make_densebox_target(np.zeros((2, 3)), 17, 87, 8)
