"""PySOT's square crop of the tracking frame: ``SiameseTracker.get_subwindow`` (pysot-spec 9.1, quirk 36).

A crop of ``original_sz`` frame pixels centred on the target is resized to ``model_sz`` and handed to the network
as raw 0..255 BGR values in float32. Parts of the window outside the frame take the first frame's channel mean,
truncated to uint8.

The original pads the whole frame and cuts the window from the padded copy; here only the window is allocated
(filled with the mean) and the part of the frame inside it is copied in. Every pixel is the same.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import cv2
import numpy as np
import torch

__all__ = ["CropArgs", "channel_average", "crop_corner", "crop_patch", "get_subwindow"]


class CropArgs(NamedTuple):
    """The arguments of one crop, in the form the references store them."""

    center_x: float
    center_y: float
    model_sz: int
    original_sz: int


def channel_average(image: np.ndarray) -> np.ndarray:
    """Per-channel mean of an (H, W, 3) uint8 image as float64 (3,), the padding value of every later crop."""
    return np.mean(image, axis=(0, 1))


def crop_corner(center: Sequence[float], original_sz: int) -> tuple[int, int]:
    """Top-left frame pixel (x, y) of the crop window.

    matches PySOT: the corner is ``floor(c - (sz + 1) / 2 + 0.5)``, i.e. rounded half up, unlike the sizes, which
    are rounded half to even by the tracker (quirk 36).
    """
    half = (original_sz + 1) / 2
    return int(math.floor(center[0] - half + 0.5)), int(math.floor(center[1] - half + 0.5))


def crop_patch(image: np.ndarray, center: Sequence[float], original_sz: int, avg_chans: np.ndarray) -> np.ndarray:
    """The (original_sz, original_sz, C) uint8 window of ``image`` around ``center``, padded with ``avg_chans``.

    Returns a view of ``image`` when the window lies inside the frame, else a new array.

    Args:
        image: (H, W, C) uint8 frame.
        center: window centre (x, y) in frame pixels.
        original_sz: window side in frame pixels.
        avg_chans: (C,) padding value in the image's channel order; matches PySOT: assigned to uint8, so it is
            truncated, not rounded.
    """
    height, width = image.shape[:2]
    x0, y0 = crop_corner(center, original_sz)
    x1, y1 = x0 + original_sz, y0 + original_sz  # exclusive
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return image[y0:y1, x0:x1]
    patch = np.empty((original_sz, original_sz, image.shape[2]), dtype=np.uint8)
    patch[...] = np.asarray(avg_chans, dtype=np.float64).astype(np.uint8)
    # the part of the frame inside the window (possibly empty when the window lies wholly outside)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if fx0 < fx1 and fy0 < fy1:
        patch[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] = image[fy0:fy1, fx0:fx1]
    return patch


def get_subwindow(image: np.ndarray, center: Sequence[float], model_sz: int, original_sz: int,
                  avg_chans: np.ndarray, device: str | torch.device = "cpu",
                  reverse_channels: bool = False, out: torch.Tensor | None = None) -> torch.Tensor:
    """Crop, pad and resize the search or template region: a float32 (1, C, model_sz, model_sz) tensor.

    Args:
        image: (H, W, C) uint8 frame.
        center: crop centre (x, y) in frame pixels (PySOT's ``center_pos``).
        model_sz: output side (127 for the template, TRACK.INSTANCE_SIZE for the search region).
        original_sz: crop side in frame pixels (an int: the tracker rounds it).
        avg_chans: (C,) padding value in the image's channel order (:func:`channel_average` of the first frame).
        device: where the tensor goes.
        reverse_channels: reverse the channel order on the way (an RGB frame gives the BGR tensor PySOT's networks
            expect); the resize treats channels independently, so this equals converting the frame first.
        out: a (1, C, model_sz, model_sz) float32 buffer on ``device`` to write into (the tracker reuses one for
            every search crop); by default a new tensor. The same values either way (uint8 -> float32 is exact).

    Returns:
        (1, C, model_sz, model_sz) float32 raw pixel values (no normalisation, as PySOT); ``out`` when given.
    """
    original_sz = int(original_sz)
    if original_sz < 1:
        raise ValueError(f"get_subwindow: the crop side must be a positive number of pixels, got {original_sz}.")
    patch = crop_patch(image, center, original_sz, avg_chans)  # (sz, sz, C) uint8
    if model_sz != original_sz:
        # matches PySOT: OpenCV's default bilinear resize on uint8 (the result is rounded to uint8)
        patch = cv2.resize(patch, (model_sz, model_sz))
    chw = patch.transpose(2, 0, 1)  # (C, S, S) view
    if reverse_channels:
        chw = chw[::-1]
    if out is not None and out.device.type == "cpu":
        # one pass: the interleaved uint8 pixels converted straight into the planar float32 buffer, no temporaries
        np.copyto(out.numpy()[0], chw)
        return out
    # one uint8 copy into a contiguous layout; the float conversion happens on the device
    chw = torch.from_numpy(np.ascontiguousarray(chw)).to(device)
    if out is not None:
        return out.copy_(chw.unsqueeze(0))
    return chw.to(torch.float32).unsqueeze(0)  # (1, C, S, S)
