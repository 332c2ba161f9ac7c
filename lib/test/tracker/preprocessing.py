"""Image to network-input conversion for trackers: uint8 HWC RGB -> normalised float NCHW on a device."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["Preprocessor"]


class Preprocessor:
    """Normalise crops with the training mean/std (DATA.MEAN / DATA.STD of the config).

    The original hard-coded the ImageNet statistics and allocated them on CUDA (spec 8.6 item 41); here they
    come from the config and live on the given device.

    Args:
        mean: per-channel mean in [0, 1] units, RGB order.
        std: per-channel standard deviation.
        device: where the tensors go.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.mean = torch.tensor(list(mean), dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    def process(self, image: np.ndarray, out: torch.Tensor | None = None) -> torch.Tensor:
        """(H, W, 3) uint8 RGB -> (1, 3, H, W) contiguous float32, ((x / 255) - mean) / std.

        Args:
            image: the crop.
            out: a (1, 3, H, W) float32 buffer on the device to write into (the tracker reuses one per frame);
                by default a new tensor. The same operations in the same order either way, so the same values.
        """
        tensor = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)  # uint8: the only host-device copy
        chw = tensor.permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W) view
        if out is None:
            out = torch.empty(chw.shape, dtype=torch.float32, device=self.device)
        out.copy_(chw)  # uint8 -> float32 into NCHW layout
        return out.div_(255.0).sub_(self.mean).div_(self.std)
