"""The SiamFC++ training losses (video_analyst's loss_impl), spec 6.

Every loss takes the model's training outputs and the batch targets, returns ``(loss, extras)`` with its weight
already applied, and has a ``name`` (the key of the loss in the trainer's loss dict: "cls", "ctr", "reg" in the
shipped configs). Shapes: cls / ctr logits and targets (B, HW, 1), boxes (B, HW, 4) xyxy.
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["FocalLoss", "SigmoidCrossEntropyRetina", "SigmoidCrossEntropyCenterness", "IOULoss", "TINY"]

# The smallest positive normal float32: the log clamp of the original losses.
TINY = float(torch.finfo(torch.float32).tiny)


class _SiamLoss(nn.Module):
    """Shared arguments: the loss name, its weight and the background / ignore labels."""

    def __init__(self, name: str, weight: float, background: int = 0, ignore_label: int = -1):
        super().__init__()
        if weight < 0:
            raise ConfigError(f"loss {name!r}: weight {weight} is negative; expected a weight >= 0.")
        self.name = name
        self.weight = float(weight)
        self.background = background
        self.ignore_label = ignore_label


def _classification_terms(pred: torch.Tensor, label: torch.Tensor, ignore_label: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mask = (label != ignore_label).to(pred.dtype)
    target = (label == 1).to(pred.dtype)  # ignored positions become 0 and are masked out
    # matches video_analyst: normalised by the positives of the whole batch, at least 1
    num_pos = (label > 0).sum().to(pred.dtype).clamp(min=1.0)
    return mask, target, num_pos


class _SigmoidFocal(_SiamLoss):
    """The two sigmoid focal losses: checked alpha / gamma, masking and the batch positive normaliser.

    Subclasses give the per-position loss (:meth:`position_loss`). Arguments as :class:`FocalLoss`.
    """

    def __init__(self, name: str, weight: float, alpha: float, gamma: float, background: int, ignore_label: int):
        super().__init__(name, weight, background, ignore_label)
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"loss {name!r}: alpha {alpha} is outside [0, 1]; it weights positives by alpha and "
                              f"negatives by 1 - alpha.")
        if gamma < 0:
            raise ConfigError(f"loss {name!r}: gamma {gamma} is negative; expected a focusing exponent >= 0.")
        self.alpha = float(alpha)
        self.gamma = float(gamma)

    def position_loss(self, pred: torch.Tensor, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-position loss from the logits, their sigmoid and the 0/1 target (all (B, HW, 1))."""
        raise NotImplementedError

    def forward(self, pred_data: Mapping[str, torch.Tensor], target_data: Mapping[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict]:
        pred = pred_data["cls_pred"]  # (B, HW, 1) logits
        mask, target, num_pos = _classification_terms(pred, target_data["cls_gt"], self.ignore_label)
        loss = self.position_loss(pred, pred.sigmoid(), target)
        return (loss * mask).sum() / num_pos * self.weight, {}


class FocalLoss(_SigmoidFocal):
    """Sigmoid focal loss over the classification logits, normalised by the batch's positive count.

    Args:
        name: key of this loss in the loss dict.
        weight: multiplier of the loss.
        alpha: weight of positives (negatives get 1 - alpha).
        gamma: focusing exponent.
        background: background label.
        ignore_label: label of positions that do not count.
    """

    def __init__(self, name: str = "focal_loss", weight: float = 1.0, alpha: float = 0.5, gamma: float = 0.0,
                 background: int = 0, ignore_label: int = -1):
        super().__init__(name, weight, alpha, gamma, background, ignore_label)

    def position_loss(self, pred: torch.Tensor, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
        p_t = prob * target + (1 - prob) * (1 - target)
        loss = ce * (1 - p_t) ** self.gamma
        return loss * (self.alpha * target + (1 - self.alpha) * (1 - target))


class SigmoidCrossEntropyRetina(_SigmoidFocal):
    """The focal loss written with clamped logs (video_analyst's ``SigmoidCrossEntropyRetina``).

    Equal to :class:`FocalLoss` up to the clamping of log(p) and log(1 - p) at the smallest float32.
    Arguments as :class:`FocalLoss`.
    """

    def __init__(self, name: str = "focal_ce", weight: float = 1.0, alpha: float = 0.5, gamma: float = 0.0,
                 background: int = 0, ignore_label: int = -1):
        super().__init__(name, weight, alpha, gamma, background, ignore_label)

    def position_loss(self, pred: torch.Tensor, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pos = self.alpha * (1 - prob) ** self.gamma * target * torch.log(prob.clamp(min=TINY))
        neg = (1 - self.alpha) * prob ** self.gamma * (1 - target) * torch.log((1 - prob).clamp(min=TINY))
        return -(pos + neg)


class SigmoidCrossEntropyCenterness(_SiamLoss):
    """Binary cross-entropy of the centerness logits minus the target's own entropy (0 when exact).

    Positions count where the centerness target is non-zero. Arguments as :class:`FocalLoss` without
    alpha / gamma.
    """

    def __init__(self, name: str = "centerness", weight: float = 1.0, background: int = 0,
                 ignore_label: int = -1):
        super().__init__(name, weight, background, ignore_label)

    def forward(self, pred_data: Mapping[str, torch.Tensor], target_data: Mapping[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict]:
        pred = pred_data["ctr_pred"]  # (B, HW, 1) logits
        label = target_data["ctr_gt"]  # (B, HW, 1) in [0, 1]
        # matches video_analyst (quirks Q1, Q2): every non-zero target counts, the in-box positions of
        # negative pairs included, and the normaliser is their number over the batch
        mask = (label != self.background).to(pred.dtype)
        loss = F.binary_cross_entropy_with_logits(pred, label, reduction="none")
        loss = loss - F.binary_cross_entropy(label, label, reduction="none").detach()
        return (loss * mask).sum() / mask.sum().clamp(min=1.0) * self.weight, {}


class IOULoss(_SiamLoss):
    """-log IoU of predicted and target boxes at the positive positions of positive pairs.

    The extras hold ``iou``, the mean IoU of those positions (detached). Arguments as
    :class:`SigmoidCrossEntropyCenterness`.
    """

    def __init__(self, name: str = "iou_loss", weight: float = 1.0, background: int = 0, ignore_label: int = -1):
        super().__init__(name, weight, background, ignore_label)

    def forward(self, pred_data: Mapping[str, torch.Tensor], target_data: Mapping[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict]:
        pred = pred_data["box_pred"]  # (B, HW, 4) xyxy
        gt = target_data["box_gt"]  # (B, HW, 4) xyxy
        label = target_data["cls_gt"]  # (B, HW, 1)
        mask = ((label != self.background) & (label != self.ignore_label)).to(pred.dtype)
        # matches video_analyst (quirk Q4): inclusive-pixel areas (+1) although the predictions are continuous
        area_gt = (gt[..., 2:3] - gt[..., 0:1] + 1).abs() * (gt[..., 3:4] - gt[..., 1:2] + 1).abs()
        area_pred = (pred[..., 2:3] - pred[..., 0:1] + 1).abs() * (pred[..., 3:4] - pred[..., 1:2] + 1).abs()
        inter_w = torch.min(pred[..., 2:3], gt[..., 2:3]) - torch.max(pred[..., 0:1], gt[..., 0:1]) + 1
        inter_h = torch.min(pred[..., 3:4], gt[..., 3:4]) - torch.max(pred[..., 1:2], gt[..., 1:2]) + 1
        inter = inter_w.clamp(min=0) * inter_h.clamp(min=0)
        iou = (inter / (area_gt + area_pred - inter)).clamp(min=0)  # (B, HW, 1)
        loss = -torch.log(iou.clamp(min=TINY))
        count = mask.sum().clamp(min=1.0)
        mean_iou = ((iou * mask).sum() / count).detach()
        return (loss * mask).sum() / count * self.weight, {"iou": mean_iou}
