"""Centre heatmap, focal loss, GIoU loss and box conversions (spec 4.4-4.6)."""

import math

import pytest
import torch

from lib.models.layers.head import CenterPredictor
from lib.utils.box_ops import (box_cxcywh_to_xyxy, box_xywh_to_xyxy, box_xyxy_to_cxcywh, box_xyxy_to_xywh,
                               clip_box, giou_loss)
from lib.utils.focal_loss import FocalLoss
from lib.utils.heatmap import gaussian_radius, generate_heatmap


def original_radius(w: float, h: float, m: float = 0.7) -> int:
    """The original's three 'roots', each divided by 2 (spec 4.4), written out by hand."""
    r1 = ((h + w) + math.sqrt((h + w) ** 2 - 4 * w * h * (1 - m) / (1 + m))) / 2
    r2 = (2 * (h + w) + math.sqrt((2 * (h + w)) ** 2 - 16 * (1 - m) * w * h)) / 2
    r3 = (-2 * m * (h + w) + math.sqrt((2 * m * (h + w)) ** 2 - 16 * m * (m - 1) * w * h)) / 2
    return int(max(min(r1, r2, r3), 0))


@pytest.mark.parametrize("w,h", [(8.0, 8.0), (2.0, 5.0), (0.5, 0.5), (12.0, 3.0), (0.0, 4.0)])
def test_gaussian_radius_follows_the_original_rule(w, h):
    assert gaussian_radius(torch.tensor([[w, h]]))[0].item() == original_radius(w, h)


def test_heatmap_peak_radius_and_values():
    box = torch.tensor([[0.25, 0.25, 0.5, 0.5]])  # 8x8 cells centred on (8, 8) of a 16x16 map
    heat = generate_heatmap(box, 256, 16)
    assert heat.shape == (1, 1, 16, 16) and heat.dtype == torch.float32
    heat = heat[0, 0]
    r = original_radius(8.0, 8.0)
    assert r == 2
    assert heat[8, 8] == 1.0 and (heat == 1.0).sum() == 1
    nonzero = heat.nonzero()
    assert nonzero.min(0).values.tolist() == [8 - r, 8 - r] and nonzero.max(0).values.tolist() == [8 + r, 8 + r]
    sigma = (2 * r + 1) / 6
    assert heat[8, 9].item() == pytest.approx(math.exp(-1 / (2 * sigma ** 2)), rel=1e-6)
    assert heat[10, 10].item() == pytest.approx(math.exp(-8 / (2 * sigma ** 2)), rel=1e-6)


def test_heatmap_centre_rounds_half_to_even_and_clips_at_the_border():
    # centre x = 2 + 1/2 = 2.5 cells -> torch.round gives 2 (half to even), y = 5.5 -> 6
    heat = generate_heatmap(torch.tensor([[0.125, 0.3125, 0.0625, 0.0625]]), 256, 16)[0, 0]
    assert (heat == 1).nonzero().tolist() == [[6, 2]]
    # an 8x8-cell box centred on cell (0, 0): its Gaussian is clipped at the top and left borders
    corner = generate_heatmap(torch.tensor([[-0.25, -0.25, 0.5, 0.5]]), 256, 16)[0, 0]
    r = original_radius(8.0, 8.0)
    assert (corner == 1).nonzero().tolist() == [[0, 0]]
    nonzero = corner.nonzero()
    assert nonzero.min(0).values.tolist() == [0, 0] and nonzero.max(0).values.tolist() == [r, r]


def test_heatmap_of_a_box_centred_outside_the_map_is_partial():
    r = original_radius(16.0, 8.0)
    box = torch.tensor([[-0.5 - 1 / 16, 0.25, 1.0, 0.5]])  # 16x8 cells, centre x = -1 cell, y = 8
    heat = generate_heatmap(box, 256, 16)[0, 0]
    cols = heat.sum(0).nonzero().flatten().tolist()
    assert cols == list(range(0, r))  # columns -1 + 1 .. -1 + r are inside the map
    assert heat.max() < 1


def test_heatmap_batch_and_frame_layouts():
    boxes = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.2, 0.2]])
    batch = generate_heatmap(boxes, 320, 16)
    assert batch.shape == (2, 1, 20, 20)
    frames = generate_heatmap(boxes[None], 320, 16)  # (num_frames, B, 4) as the original's search_anno
    assert isinstance(frames, list) and len(frames) == 1 and frames[0].shape == (2, 20, 20)
    assert torch.equal(frames[-1].unsqueeze(1), batch)


def test_focal_loss_hand_computed_case():
    pred = torch.tensor([[[[0.9, 0.2], [0.1, 0.5]]], [[[0.3, 0.6], [0.7, 0.05]]]])
    target = torch.tensor([[[[1.0, 0.5], [0.0, 0.25]]], [[[0.0, 0.0], [1.0, 0.8]]]])
    pos = math.log(0.9) * 0.1 ** 2 + math.log(0.7) * 0.3 ** 2
    neg = (math.log(0.8) * 0.2 ** 2 * 0.5 ** 4 + math.log(0.9) * 0.1 ** 2 * 1.0 + math.log(0.5) * 0.5 ** 2 * 0.75 ** 4
           + math.log(0.7) * 0.3 ** 2 + math.log(0.4) * 0.6 ** 2 + math.log(0.95) * 0.05 ** 2 * 0.2 ** 4)
    expected = -(pos + neg) / 2  # two positives in the whole batch
    assert FocalLoss()(pred, target).item() == pytest.approx(expected, rel=1e-5)


def test_focal_loss_without_positives_is_the_negative_term():
    pred = torch.tensor([[[[0.2, 0.4]]]])
    target = torch.tensor([[[[0.5, 0.0]]]])
    expected = -(math.log(0.8) * 0.2 ** 2 * 0.5 ** 4 + math.log(0.6) * 0.4 ** 2)
    assert FocalLoss()(pred, target).item() == pytest.approx(expected, rel=1e-5)


def test_focal_loss_gradient_is_finite_at_clamped_scores():
    pred = torch.tensor([[[[1e-4, 1 - 1e-4]]]], requires_grad=True)
    FocalLoss()(pred, torch.tensor([[[[1.0, 0.0]]]])).backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_head_scores_stay_below_one_under_autocast_so_the_focal_loss_is_finite(dtype):
    # 1 - 1e-4 is not representable in half precision (it rounds to 1): the head clamps in float32 (a fix; the
    # original's AMP runs could reach score 1 and a NaN focal loss).
    torch.manual_seed(0)
    head = CenterPredictor(inplanes=8, channel=16, feat_sz=4, stride=16).eval()
    with torch.no_grad():
        head.conv5_ctr.bias.fill_(20.0)  # saturated centre logits
        head.conv5_size.bias.fill_(20.0)
    with torch.autocast("cpu", dtype=dtype):
        score, _, size, _ = head(torch.randn(2, 8, 4, 4))
    assert score.dtype == size.dtype == torch.float32
    assert score.max().item() == size.max().item() == pytest.approx(1 - 1e-4) and score.max().item() < 1
    target = torch.zeros(2, 1, 4, 4)
    target[:, :, 1, 2] = 1.0
    assert torch.isfinite(FocalLoss()(score, target))
    # In float32 the head is unchanged: the same clamp of the same sigmoid.
    with torch.no_grad():
        x = torch.randn(2, 8, 4, 4)
        logits = head._tower(x, "ctr")
        assert torch.equal(head(x)[0], torch.clamp(torch.sigmoid(logits), 1e-4, 1 - 1e-4))


def test_giou_loss_identical_disjoint_and_nested_boxes():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    loss, iou = giou_loss(a, b)
    # giou: 1; 0 - (3 - 2) / 3; 1/4 (enclosing box = union)
    assert iou.tolist() == pytest.approx([1.0, 0.0, 0.25])
    assert loss.item() == pytest.approx(((1 - 1) + (1 + 1 / 3) + (1 - 0.25)) / 3)


def test_giou_loss_rejects_invalid_boxes_and_has_gradients():
    with pytest.raises(ValueError):
        giou_loss(torch.tensor([[1.0, 0.0, 0.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    pred = torch.tensor([[0.1, 0.1, 0.6, 0.7]], requires_grad=True)
    loss, _ = giou_loss(pred, torch.tensor([[0.2, 0.2, 0.5, 0.5]]))
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_box_conversions_round_trip():
    xywh = torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    xyxy = box_xywh_to_xyxy(xywh)
    assert xyxy.tolist() == [[10.0, 20.0, 40.0, 60.0]]
    assert box_xyxy_to_xywh(xyxy).tolist() == xywh.tolist()
    assert box_xyxy_to_cxcywh(xyxy).tolist() == [[25.0, 40.0, 30.0, 40.0]]
    assert box_cxcywh_to_xyxy(box_xyxy_to_cxcywh(xyxy)).tolist() == xyxy.tolist()


def test_clip_box_keeps_a_margin():
    assert clip_box([-5, -5, 20, 20], 100, 100, margin=10) == [0, 0, 15, 15]
    assert clip_box([95, 95, 20, 20], 100, 100, margin=10) == [90, 90, 10, 10]
