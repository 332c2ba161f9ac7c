"""The SiamBAN tracker: PySOT's tracking loop with one point per score-map position instead of A anchors.

Each position predicts its distances (l, t, r, b) to the box sides (the network already applied exp), decoded
around the position's offset from the search-crop centre (spec 9.3). Crop, penalties, window, smoothing, clip and
output are those of lib.test.tracker.siamrpn. Paper: SiamBAN, https://arxiv.org/abs/2003.06761.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib.test.tracker.siamrpn import PySOTTracker, cfg_value, pysot_calls, tracker_window
from lib.utils.errors import ConfigError

__all__ = ["SiamBANTracker", "generate_points", "SIAMBAN_CALLS"]

logger = logging.getLogger(__name__)


def generate_points(stride: int, score_size: int) -> np.ndarray:
    """Point positions float32 (S*S, 2) as (x, y) offsets from the search-crop centre, row-major (y * S + x)."""
    offsets = (-(score_size // 2) * stride + stride * np.arange(score_size)).astype(np.float32)
    points = np.zeros((score_size * score_size, 2), dtype=np.float32)
    points[:, 0] = np.tile(offsets, score_size)  # x varies fastest
    points[:, 1] = np.repeat(offsets, score_size)
    return points


SIAMBAN_CALLS = pysot_calls("siamban", "BAN")


class SiamBANTracker(PySOTTracker):
    """SiamBAN's tracker (hqucv/siamban ``SiamBANTracker``).

    Reads POINT.STRIDE and BAN.KWARGS.cls_out_channels (1: sigmoid score, 2: softmax over background/foreground)
    besides TRACK.*.

    Args:
        params: test parameters with ``cfg`` (SiamBAN key names) and ``checkpoint``.
        device: where the network runs.
        network: an already built network (tests); by default built from ``params.cfg`` with the checkpoint
            loaded strictly.
    """

    family = "SiamBAN"
    calls = SIAMBAN_CALLS

    def _read_grid_config(self, cfg: Any) -> None:
        self.stride = int(cfg_value(cfg, "POINT.STRIDE"))
        self.cls_out_channels = int(cfg_value(cfg, "BAN.KWARGS.cls_out_channels"))
        if self.cls_out_channels not in (1, 2):
            raise ConfigError(f"BAN.KWARGS.cls_out_channels is {self.cls_out_channels}; the SiamBAN tracker decodes "
                              f"1 (sigmoid) or 2 (softmax) class channels.")

    def _grid(self, score_size: int) -> tuple[np.ndarray, np.ndarray]:
        return tracker_window(score_size), generate_points(self.stride, score_size)

    @property
    def points(self) -> np.ndarray:
        """float32 (S*S, 2) point offsets of the normal search size."""
        return self._grid_for(self.instance_size)[2]

    def _convert_score(self, cls: torch.Tensor) -> np.ndarray:
        if cls.shape[1] != self.cls_out_channels:
            raise ConfigError(f"the SiamBAN network gives {cls.shape[1]} class channels but "
                              f"BAN.KWARGS.cls_out_channels is {self.cls_out_channels}.")
        if self.cls_out_channels == 1:
            return cls.permute(1, 2, 3, 0).contiguous().view(-1).sigmoid().cpu().numpy()
        # (1, 2, S, S) -> (2, S*S) -> (S*S, 2) -> foreground probability
        score = cls.permute(1, 2, 3, 0).contiguous().view(2, -1).permute(1, 0)
        return F.softmax(score, dim=1)[:, 1].cpu().numpy()

    def _convert_bbox(self, loc: torch.Tensor, grid: np.ndarray) -> np.ndarray:
        delta = loc.permute(1, 2, 3, 0).contiguous().view(4, -1).cpu().numpy()  # (4, S*S): l, t, r, b
        x1 = grid[:, 0] - delta[0]
        y1 = grid[:, 1] - delta[1]
        x2 = grid[:, 0] + delta[2]
        y2 = grid[:, 1] + delta[3]
        out = np.empty_like(delta)  # corners -> (cx, cy, w, h), float32 as the original
        out[0] = (x1 + x2) * 0.5
        out[1] = (y1 + y2) * 0.5
        out[2] = x2 - x1
        out[3] = y2 - y1
        return out

    def _builder(self) -> Callable[[Any], nn.Module]:
        from lib.models.siamese import build_siamban

        return build_siamban
