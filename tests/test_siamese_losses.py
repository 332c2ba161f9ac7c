"""Losses of SiamRPN++ and SiamBAN: values, the fixed corner cases (quirks 15, 16) and the original's numbers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lib.models.siamese.losses import IOULoss, select_cross_entropy_loss, select_iou_loss, weight_l1_loss
from lib.models.siamese.model import SiamBAN, SiamRPN
from lib.utils.errors import ConfigError
from tests.siamese_reference import load_reference


def _log_probs(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.log_softmax(torch.randn(n, 2, generator=g), dim=1).requires_grad_(True)


def test_cross_entropy_balances_positives_and_negatives():
    pred = _log_probs(6)
    label = torch.tensor([1, 1, 0, 0, 0, -1])
    want = 0.5 * -(pred[0, 1] + pred[1, 1]) / 2 + 0.5 * -(pred[2, 0] + pred[3, 0] + pred[4, 0]) / 3
    torch.testing.assert_close(select_cross_entropy_loss(pred, label), want)


def test_cross_entropy_accepts_the_model_layouts():
    """(B, A, S, S, 2) log-probabilities with (B, A, S, S) labels, flattened in the same order."""
    logits = torch.randn(2, 10, 3, 3)
    label = torch.randint(-1, 2, (2, 5, 3, 3))
    pred = SiamRPN.log_softmax(logits)
    flat = pred.reshape(-1, 2)
    pos, neg = (label.reshape(-1) == 1), (label.reshape(-1) == 0)
    want = 0.5 * -flat[pos, 1].mean() + 0.5 * -flat[neg, 0].mean()
    torch.testing.assert_close(select_cross_entropy_loss(pred, label), want)


@pytest.mark.parametrize("single", [1, 0])
def test_cross_entropy_counts_a_set_of_one(single):
    """Quirk 15 (fixed): exactly one positive (or negative) in the batch is a set of one, not ignored.

    The original's nonzero().squeeze() made the single index 0-dimensional and dropped that half of the loss.
    """
    pred = _log_probs(5, seed=1)
    other = 1 - single
    label = torch.tensor([single, other, other, -1, other])
    want_single = -pred[0, single]
    want_other = -(pred[1, other] + pred[2, other] + pred[4, other]) / 3
    torch.testing.assert_close(select_cross_entropy_loss(pred, label), 0.5 * want_single + 0.5 * want_other)


def test_cross_entropy_without_labels_is_a_connected_zero():
    pred = _log_probs(4)
    loss = select_cross_entropy_loss(pred, torch.full((4,), -1))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()


def test_weight_l1_divides_by_the_batch():
    """Quirk 17: sum of weighted absolute delta errors over the batch / b (an image without positives adds 0)."""
    pred = torch.zeros(2, 4 * 5, 2, 2)
    label = torch.zeros(2, 4, 5, 2, 2)
    label[0, :, 3, 1, 0] = torch.tensor([0.1, -0.2, 0.3, 0.4])  # one positive in image 0, none in image 1
    label[0, :, 1, 0, 1] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    weight = torch.zeros(2, 5, 2, 2)
    weight[0, 3, 1, 0] = weight[0, 1, 0, 1] = 1 / (2 + 1e-6)
    want = (1.0 + 1.0) / (2 + 1e-6) / 2  # mean over image 0's two positives, averaged with image 1's 0
    torch.testing.assert_close(weight_l1_loss(pred, label, weight), torch.tensor(want))


def test_weight_l1_uses_the_four_by_anchor_layout():
    """Channel k*A + a of the prediction is coordinate k of anchor a (quirk 5's loc layout)."""
    pred = torch.zeros(1, 20, 1, 1)
    pred[0, 2 * 5 + 3] = 2.0  # coordinate 2 (dw) of anchor 3
    weight = torch.zeros(1, 5, 1, 1)
    weight[0, 3] = 1.0
    assert weight_l1_loss(pred, torch.zeros(1, 4, 5, 1, 1), weight).item() == 2.0
    weight[0, 3], weight[0, 2] = 0.0, 1.0
    assert weight_l1_loss(pred, torch.zeros(1, 4, 5, 1, 1), weight).item() == 0.0


def test_linear_iou_has_plus_one_smoothing():
    """Quirk 39: IoU = (intersection + 1) / (union + 1) on (left, top, right, bottom) distances."""
    pred = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 3.0, 4.0, 5.0]])
    target = torch.tensor([[2.0, 2.0, 2.0, 2.0], [2.0, 3.0, 4.0, 5.0]])
    # row 0: areas 4 and 16, intersection 4, union 16 -> IoU 5/17; row 1: identical -> IoU 1
    torch.testing.assert_close(IOULoss("linear_iou")(pred, target), torch.tensor((1 - 5 / 17 + 0) / 2))
    torch.testing.assert_close(IOULoss("iou")(pred[:1], target[:1]), -torch.log(torch.tensor(5 / 17)))
    # same centre point: the enclosing box is the target, so GIoU = IoU - (16 - 16) / 16
    torch.testing.assert_close(IOULoss("giou")(pred[:1], target[:1]), torch.tensor(1 - 5 / 17), atol=1e-6, rtol=0)


def test_iou_loss_type_is_checked():
    with pytest.raises(ConfigError, match="linear_iou"):
        IOULoss("l1")


def test_select_iou_loss_uses_positive_points_in_batch_order():
    pred = torch.full((2, 4, 3, 3), 2.0)
    label_loc = torch.full((2, 4, 3, 3), 2.0)
    label_loc[1, :, 2, 0] = 1.0  # the only positive: image 1, row 2, column 0 -> IoU (4 + 1) / (16 + 1)
    label_loc[0, :, 0, 0] = 9.0  # a negative point with a bad box must not count
    label_cls = torch.zeros(2, 3, 3, dtype=torch.long)
    label_cls[1, 2, 0] = 1
    torch.testing.assert_close(select_iou_loss(pred, label_loc, label_cls), torch.tensor(1 - 5 / 17))


def test_select_iou_loss_without_positives_is_a_connected_zero():
    """Quirk 16 (fixed): a batch without positive points gives 0 that backward() accepts, not an assertion."""
    pred = torch.rand(2, 4, 3, 3, requires_grad=True)
    loss = select_iou_loss(pred, torch.rand(2, 4, 3, 3), torch.zeros(2, 3, 3, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()
    assert pred.grad is not None and not pred.grad.any()


@pytest.mark.parametrize("config", ["siamrpn_alex_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr",
                                    "siamrpn_r50_l234_dwxcorr", "siamban_r50_l234"])
@pytest.mark.parametrize("case", ["epoch0", "all_train"])
def test_losses_of_the_original_head_outputs(config, case):
    """The original's losses, recomputed from its stored raw head outputs and labels (no network involved)."""
    ref = load_reference(f"{config}_reference.pt")
    out, labels, train = ref["train"]["cases"][case], ref["train"]["labels"], ref["cfg"]["TRAIN"]
    if ref["family"] == "siamban":
        cls_loss = select_cross_entropy_loss(SiamBAN.log_softmax(out["cls"]), labels["label_cls"])
        loc_loss = select_iou_loss(out["loc"], labels["label_loc"], labels["label_cls"])
    else:
        cls_loss = select_cross_entropy_loss(SiamRPN.log_softmax(out["cls"]), labels["label_cls"])
        loc_loss = weight_l1_loss(out["loc"], labels["label_loc"], labels["label_loc_weight"])
    torch.testing.assert_close(cls_loss, out["cls_loss"], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(loc_loss, out["loc_loss"], atol=1e-6, rtol=1e-6)
    total = train["CLS_WEIGHT"] * cls_loss + train["LOC_WEIGHT"] * loc_loss
    torch.testing.assert_close(total, out["total_loss"], atol=1e-6, rtol=1e-6)
