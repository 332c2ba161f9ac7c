"""Losses of SiamRPN++ and SiamBAN (spec 5).

Classification: balanced cross-entropy over the sampled positive and negative anchors / points (labels 1
and 0; -1 is ignored). Regression: SiamRPN's weighted L1 on anchor deltas, SiamBAN's IoU loss on the
(left, top, right, bottom) distances of the positive points.

Two fixes relative to the originals (quirks 15 and 16, both change only corner cases): a set of exactly one
positive or negative counts as a set of one (the original's ``nonzero().squeeze()`` made it 0-dimensional
and then ignored it), and an empty selection gives a zero loss that is still part of the autograd graph
(SiamBAN asserted and stopped training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["select_cross_entropy_loss", "weight_l1_loss", "IOULoss", "select_iou_loss"]


def _zero_like_graph(t: torch.Tensor) -> torch.Tensor:
    """A 0-dim zero that depends on ``t`` (a sum over none of its elements), so backward() still works."""
    return t.reshape(-1)[:0].sum()


def _indices(mask: torch.Tensor) -> torch.Tensor:
    # fixes PySOT (quirk 15): flatten instead of squeeze, so a single index stays a set of one
    return mask.nonzero().reshape(-1)


def _cls_loss(pred: torch.Tensor, label: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
    if select.numel() == 0:
        return _zero_like_graph(pred)
    return F.nll_loss(torch.index_select(pred, 0, select), torch.index_select(label, 0, select))


def select_cross_entropy_loss(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Mean NLL over the positives and over the negatives, averaged: ``0.5 * pos + 0.5 * neg``.

    Args:
        pred: log-probabilities with the (background, foreground) pair last: (B, A, S, S, 2) for SiamRPN,
            (B, S, S, 2) for SiamBAN.
        label: int64 labels of the same leading shape: 1 positive, 0 negative, -1 ignored.

    Returns:
        0-dim loss; a half without any selected element contributes 0.
    """
    pred = pred.reshape(-1, 2)
    label = label.reshape(-1)
    pos = _indices(label == 1)
    neg = _indices(label == 0)
    loss_pos = _cls_loss(pred, label, pos)
    loss_neg = _cls_loss(pred, label, neg)
    return loss_pos * 0.5 + loss_neg * 0.5


def weight_l1_loss(pred_loc: torch.Tensor, label_loc: torch.Tensor, loss_weight: torch.Tensor) -> torch.Tensor:
    """SiamRPN's weighted L1 loss on the anchor deltas.

    matches PySOT (quirk 17): the weighted sum over everything is divided by the batch size; with the target
    weights 1 / (pos_num + 1e-6) this is, per image, the mean over its positives of the summed absolute
    delta errors, averaged over the batch (an image without positives counts as 0).

    Args:
        pred_loc: (B, 4A, S, S) in the (4, A) channel layout.
        label_loc: (B, 4, A, S, S) target deltas.
        loss_weight: (B, A, S, S) per-anchor weights.
    """
    b, _, sh, sw = pred_loc.size()
    pred_loc = pred_loc.view(b, 4, -1, sh, sw)  # (B, 4, A, S, S)
    diff = (pred_loc - label_loc).abs()
    diff = diff.sum(dim=1).view(b, -1, sh, sw)  # (B, A, S, S)
    loss = diff * loss_weight
    return loss.sum().div(b)


class IOULoss(nn.Module):
    """IoU loss on (left, top, right, bottom) distances from a common point.

    matches SiamBAN (quirk 39): IoU = (intersection + 1) / (union + 1).

    Args:
        loc_loss_type: 'linear_iou' (1 - IoU, SiamBAN's choice), 'iou' (-log IoU) or 'giou' (1 - GIoU).
    """

    TYPES = ("iou", "linear_iou", "giou")

    def __init__(self, loc_loss_type: str = "linear_iou"):
        super().__init__()
        if loc_loss_type not in self.TYPES:
            raise ConfigError(f"unknown IoU loss type {loc_loss_type!r}: expected one of {', '.join(self.TYPES)}.")
        self.loc_loss_type = loc_loss_type

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """pred, target (N, 4) distances -> 0-dim loss (weighted mean, or mean; 0 when N == 0)."""
        pred_left, pred_top, pred_right, pred_bottom = pred.unbind(1)
        target_left, target_top, target_right, target_bottom = target.unbind(1)
        target_area = (target_left + target_right) * (target_top + target_bottom)
        pred_area = (pred_left + pred_right) * (pred_top + pred_bottom)
        w_intersect = torch.min(pred_left, target_left) + torch.min(pred_right, target_right)
        h_intersect = torch.min(pred_bottom, target_bottom) + torch.min(pred_top, target_top)
        area_intersect = w_intersect * h_intersect
        area_union = target_area + pred_area - area_intersect
        ious = (area_intersect + 1.0) / (area_union + 1.0)
        if self.loc_loss_type == "iou":
            losses = -torch.log(ious)
        elif self.loc_loss_type == "linear_iou":
            losses = 1 - ious
        else:
            # the smallest box enclosing both, around the same point
            enclose_w = torch.max(pred_left, target_left) + torch.max(pred_right, target_right)
            enclose_h = torch.max(pred_bottom, target_bottom) + torch.max(pred_top, target_top)
            enclose_area = enclose_w * enclose_h + 1e-7
            losses = 1 - (ious - (enclose_area - area_union) / enclose_area)
        if weight is not None and weight.sum() > 0:
            return (losses * weight).sum() / weight.sum()
        if losses.numel() == 0:
            # fixes SiamBAN (quirk 16): a batch without positives gives 0 instead of an assertion error
            return _zero_like_graph(pred)
        return losses.mean()


_LINEAR_IOU = IOULoss("linear_iou")


def select_iou_loss(pred_loc: torch.Tensor, label_loc: torch.Tensor, label_cls: torch.Tensor) -> torch.Tensor:
    """SiamBAN's regression loss: linear IoU loss over the positive points.

    Args:
        pred_loc: (B, 4, S, S) predicted distances (positive, after exp).
        label_loc: (B, 4, S, S) target distances.
        label_cls: (B, S, S) labels; only points labelled 1 count.

    Returns:
        0-dim loss; 0 (still connected to ``pred_loc``) when the batch has no positive point.
    """
    pos = _indices(label_cls.reshape(-1) == 1)
    pred_loc = pred_loc.permute(0, 2, 3, 1).reshape(-1, 4)  # (B*S*S, 4) in (b, y, x) order
    label_loc = label_loc.permute(0, 2, 3, 1).reshape(-1, 4)
    pred_loc = torch.index_select(pred_loc, 0, pos)
    label_loc = torch.index_select(label_loc, 0, pos)
    return _LINEAR_IOU(pred_loc, label_loc)
