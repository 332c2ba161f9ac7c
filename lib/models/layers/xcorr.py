"""Cross-correlation of a template feature map over a search feature map (the Siamese trackers' matching op).

Both functions run the correlation as a grouped ``conv2d`` over the whole batch at once, with each sample's
template as its own kernel (PySOT's ``xcorr_fast`` / ``xcorr_depthwise``; SiamFC++ uses the depthwise form).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["xcorr_depthwise", "xcorr_fast"]


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Channel-wise correlation: (B, C, Hx, Wx) * (B, C, Hz, Wz) -> (B, C, Hx-Hz+1, Wx-Wz+1)."""
    batch, channels = kernel.shape[:2]
    x = search.reshape(1, batch * channels, search.shape[2], search.shape[3])
    k = kernel.reshape(batch * channels, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(x, k, groups=batch * channels)
    return out.reshape(batch, channels, out.shape[2], out.shape[3])


def xcorr_fast(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Full correlation with a kernel of K output maps per sample (UP-channel heads).

    Args:
        search: (B, C, Hx, Wx).
        kernel: (B, K*C, Hz, Wz), reshaped to K kernels of C channels per sample.

    Returns:
        (B, K, Hx-Hz+1, Wx-Wz+1).
    """
    batch = kernel.shape[0]
    channels = search.shape[1]
    k = kernel.reshape(-1, channels, kernel.shape[2], kernel.shape[3])  # (B*K, C, Hz, Wz)
    x = search.reshape(1, batch * channels, search.shape[2], search.shape[3])
    out = F.conv2d(x, k, groups=batch)
    return out.reshape(batch, -1, out.shape[2], out.shape[3])
