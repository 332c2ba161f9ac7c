"""The CENTER box head: score, offset and size maps on the search feature grid, and box decoding (spec 3.7).

Only the CENTER head is provided. The original's MLP and CORNER heads could not run in OSTrack (spec 8.4
item 26: MLP is not handled by the model's forward, CORNER needs a missing config key, allocates CUDA tensors
and returns the wrong arity); they are not registered, so a config naming them fails with the list of known
heads.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

__all__ = ["conv_bn_relu", "CenterPredictor"]


def conv_bn_relu(in_planes: int, out_planes: int, freeze_bn: bool = False) -> nn.Sequential:
    """3x3 conv (bias) -> BatchNorm -> ReLU; indices 0/1/2 give the original state-dict names."""
    norm = FrozenBatchNorm2d(out_planes) if freeze_bn else nn.BatchNorm2d(out_planes)
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=True), norm,
                         nn.ReLU(inplace=True))


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # matches OSTrack: sigmoid clamped to [1e-4, 1 - 1e-4] (the original applies sigmoid in place).
    # Computed in float32 (a no-op for float32 input): under float16/bfloat16 autocast 1 - 1e-4 rounds to 1, so
    # a saturated cell would reach exactly 1 and the focal loss's log(1 - p) would make the loss inf or NaN.
    return torch.clamp(x.float().sigmoid(), min=1e-4, max=1 - 1e-4)


class CenterPredictor(nn.Module):
    """Three conv towers (center score, sub-cell offset, box size) over the search feature map.

    Args:
        inplanes: backbone width D.
        channel: width of the first conv of each tower (MODEL.HEAD.NUM_CHANNELS); later convs halve it.
        feat_sz: search feature-map side fs = SEARCH.SIZE / STRIDE.
        stride: backbone stride (kept for reference; decoding works in normalised units).
        freeze_bn: use FrozenBatchNorm2d (no ``num_batches_tracked`` buffer) instead of BatchNorm2d.
    """

    def __init__(self, inplanes: int = 64, channel: int = 256, feat_sz: int = 20, stride: int = 16,
                 freeze_bn: bool = False):
        super().__init__()
        self.feat_sz = feat_sz
        self.stride = stride
        self.img_sz = feat_sz * stride
        widths = [inplanes, channel, channel // 2, channel // 4, channel // 8]
        out_channels = {"ctr": 1, "offset": 2, "size": 2}
        for branch, n_out in out_channels.items():
            for i in range(4):
                self.add_module(f"conv{i + 1}_{branch}", conv_bn_relu(widths[i], widths[i + 1], freeze_bn))
            self.add_module(f"conv5_{branch}", nn.Conv2d(widths[4], n_out, kernel_size=1))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def _tower(self, x: torch.Tensor, branch: str) -> torch.Tensor:
        for i in range(1, 6):
            x = getattr(self, f"conv{i}_{branch}")(x)
        return x

    def get_score_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Feature map (B, D, fs, fs) -> (score (B,1,fs,fs), size (B,2,fs,fs), offset (B,2,fs,fs))."""
        score = _clamped_sigmoid(self._tower(x, "ctr"))
        size = _clamped_sigmoid(self._tower(x, "size"))
        offset = self._tower(x, "offset")
        return score, size, offset

    def cal_bbox(self, score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
                 return_score: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Decode the box at the score-map peak.

        Args:
            score_map: (B, 1, fs, fs) (the tracker passes the Hann-windowed map).
            size_map: (B, 2, fs, fs) normalised (w, h).
            offset_map: (B, 2, fs, fs) sub-cell (x, y) offsets.
            return_score: also return the peak score (B, 1).

        Returns:
            (B, 4) normalised cxcywh box in search-crop coordinates (and the peak score).
        """
        max_score, idx = torch.max(score_map.flatten(1), dim=1, keepdim=True)  # (B, 1): first maximum
        idx_y = torch.div(idx, self.feat_sz, rounding_mode="floor")
        idx_x = idx % self.feat_sz
        gather_idx = idx.unsqueeze(1).expand(-1, 2, 1)  # (B, 2, 1)
        size = size_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)  # (B, 2)
        offset = offset_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)  # (B, 2)
        # matches OSTrack: the cell index maps to the cell's corner (col / fs), not its centre.
        bbox = torch.cat([(idx_x.float() + offset[:, :1]) / self.feat_sz,
                          (idx_y.float() + offset[:, 1:]) / self.feat_sz,
                          size], dim=1)  # float32 (type promotion, as the original), also under autocast
        return (bbox, max_score) if return_score else bbox

    def forward(self, x: torch.Tensor, gt_score_map: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Feature map (B, D, fs, fs) -> (score_map, bbox (B, 4) cxcywh, size_map, offset_map).

        Args:
            x: search features.
            gt_score_map: if given (B, fs, fs), the box is decoded at its peak instead (unused by OSTrack).
        """
        score, size, offset = self.get_score_map(x)
        peak_map = score if gt_score_map is None else gt_score_map.unsqueeze(1)
        return score, self.cal_bbox(peak_map, size, offset), size, offset
