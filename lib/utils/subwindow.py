"""SiamFC-style context crop and video_analyst's box conventions, shared by SiamFC++ training and tracking.

Conventions (SiamFC++ spec 1): inclusive-pixel boxes (w = x1 - x0 + 1), box arithmetic in float32 as NumPy 2
runs the original, and the crop made with OpenCV's ``warpAffine`` so it is bit-identical to the original's.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

__all__ = ["get_subwindow_tracking", "xyxy2cxywh", "cxywh2xyxy", "xywh2cxywh", "cxywh2xywh", "xywh2xyxy"]


def xyxy2cxywh(box: Sequence[float]) -> np.ndarray:
    """(x0, y0, x1, y1) -> (cx, cy, w, h), float32, inclusive pixels: w = x1 - x0 + 1."""
    b = np.asarray(box, dtype=np.float32)
    return np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0] + 1, b[3] - b[1] + 1], dtype=np.float32)


def cxywh2xyxy(box: Sequence[float]) -> np.ndarray:
    """(cx, cy, w, h) -> (x0, y0, x1, y1), float32: x0 = cx - (w - 1) / 2."""
    b = np.asarray(box, dtype=np.float32)
    return np.array([b[0] - (b[2] - 1) / 2, b[1] - (b[3] - 1) / 2, b[0] + (b[2] - 1) / 2, b[1] + (b[3] - 1) / 2],
                    dtype=np.float32)


def xywh2cxywh(rect: Sequence[float]) -> np.ndarray:
    """(x0, y0, w, h) -> (cx, cy, w, h), float32: cx = x0 + (w - 1) / 2."""
    r = np.asarray(rect, dtype=np.float32)
    return np.array([r[0] + (r[2] - 1) / 2, r[1] + (r[3] - 1) / 2, r[2], r[3]], dtype=np.float32)


def cxywh2xywh(box: Sequence[float]) -> np.ndarray:
    """(cx, cy, w, h) -> (x0, y0, w, h), float32: x0 = cx - (w - 1) / 2."""
    b = np.asarray(box, dtype=np.float32)
    return np.array([b[0] - (b[2] - 1) / 2, b[1] - (b[3] - 1) / 2, b[2], b[3]], dtype=np.float32)


def xywh2xyxy(rect: Sequence[float]) -> np.ndarray:
    """(x0, y0, w, h) -> (x0, y0, x1, y1), float32: x1 = x0 + w - 1 (how every dataset annotation is read)."""
    r = np.asarray(rect, dtype=np.float32)
    return np.array([r[0], r[1], r[0] + r[2] - 1, r[1] + r[3] - 1], dtype=np.float32)


def get_subwindow_tracking(image: np.ndarray, pos: Sequence[float], model_sz: int, original_sz: float,
                           avg_chans: Sequence[float]) -> np.ndarray:
    """A ``model_sz`` square crop of side ``original_sz`` centred at ``pos`` = (cx, cy), padded with ``avg_chans``.

    Output pixel (u, v) samples the image bilinearly at (x0 + u * (x1 - x0) / (model_sz - 1), ...), where
    (x0, y0, x1, y1) are the inclusive corners of the crop; pixels outside the image take the padding value.

    Args:
        image: (H, W, 3) uint8.
        pos: crop centre in image pixels.
        model_sz: output side in pixels.
        original_sz: crop side in image pixels (not rounded here; the tracker rounds it).
        avg_chans: per-channel padding value.

    Returns:
        (model_sz, model_sz, 3) uint8.
    """
    x0, y0, x1, y1 = cxywh2xyxy([pos[0], pos[1], original_sz, original_sz])
    step_x = (x1 - x0) / np.float32(model_sz - 1)
    step_y = (y1 - y0) / np.float32(model_sz - 1)
    matrix = np.array([[step_x, 0, x0], [0, step_y, y0]], dtype=np.float32)  # crop -> image coordinates
    # matches video_analyst: the padding value is the integer-truncated channel mean (quirk Q8)
    border = tuple(int(c) for c in avg_chans)
    return cv2.warpAffine(image, matrix, (model_sz, model_sz), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)
