"""CenterNet's penalty-reduced focal loss on the centre heatmap (spec 4.5).

Zhou et al., "Objects as Points", 2019 (alpha = 2, beta = 4).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FocalLoss"]


class FocalLoss(nn.Module):
    """Focal loss between a predicted score map and a Gaussian target map.

    loss = -(sum_pos log(p) (1-p)^alpha + sum_neg log(1-p) p^alpha (1-y)^beta) / N_pos, where positives are the
    cells with y == 1 and N_pos counts them over the whole batch; with no positive, loss = -sum_neg.

    Args:
        alpha: focusing exponent on the prediction.
        beta: exponent of the (1 - y) penalty reduction around positives.
    """

    def __init__(self, alpha: float = 2, beta: float = 4):
        super().__init__()
        self.alpha = alpha
        self.beta = beta

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss.

        Args:
            prediction: score map in (0, 1), e.g. (B, 1, fs, fs) (already sigmoid-clamped by the head).
            target: Gaussian map of the same shape with peaks exactly 1.
        """
        positive = target.eq(1).float()
        negative = target.lt(1).float()
        negative_weights = torch.pow(1 - target, self.beta)
        # matches OSTrack: clamp at 1e-12 for the log (the head already clamps to [1e-4, 1 - 1e-4]).
        prediction = torch.clamp(prediction, min=1e-12)
        pos_loss = (torch.log(prediction) * torch.pow(1 - prediction, self.alpha) * positive).sum()
        neg_loss = (torch.log(1 - prediction) * torch.pow(prediction, self.alpha) * negative_weights
                    * negative).sum()
        num_pos = positive.sum()
        # With no positive pos_loss is 0, so dividing by max(N, 1) gives -neg_loss without a host sync.
        return -(pos_loss + neg_loss) / num_pos.clamp(min=1)
