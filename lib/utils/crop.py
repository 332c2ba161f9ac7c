"""Cropping and box arithmetic shared by training and tracking (spec 5.5-5.6): small pure functions.

:func:`sample_target` is the OSTrack/STARK crop, numerically as the original: crop side ceil(sqrt(w*h) * factor),
placement with Python's round (half to even), black padding with the "+1" on the right and bottom, then
cv2.resize (bilinear). :func:`crop_resize` produces the same pixels without building the padded crop when no
padding is needed and computes the attention mask from 1-D supports instead of resizing a full-size float mask;
training uses it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CropWindow", "crop_window", "sample_target", "crop_resize", "resized_att_mask",
           "transform_image_to_crop", "jitter_box", "box_is_valid"]


@dataclass(frozen=True)
class CropWindow:
    """A square crop of side ``crop_sz`` at (x1, y1) in an image, with the padding each side needs."""

    crop_sz: int
    x1: int
    y1: int
    pad_left: int
    pad_right: int
    pad_top: int
    pad_bottom: int

    @property
    def x2(self) -> int:
        return self.x1 + self.crop_sz

    @property
    def y2(self) -> int:
        return self.y1 + self.crop_sz

    @property
    def padded(self) -> bool:
        return bool(self.pad_left or self.pad_right or self.pad_top or self.pad_bottom)

    def image_slices(self) -> tuple[slice, slice]:
        """Rows and columns of the image that the crop shows (the rest is padding)."""
        return (slice(self.y1 + self.pad_top, self.y2 - self.pad_bottom),
                slice(self.x1 + self.pad_left, self.x2 - self.pad_right))


def crop_window(target_bb: Sequence[float], search_area_factor: float, image_hw: tuple[int, int]) -> CropWindow:
    """Where the crop around ``target_bb`` (xywh) lies in an image of size ``image_hw`` (spec 5.6).

    Raises:
        ValueError: the crop side would be < 1 (or the box is not finite).
    """
    x, y, w, h = (float(v) for v in target_bb[:4])
    area = w * h
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(area) and area > 0):
        raise ValueError(f"cannot crop around the box {[x, y, w, h]}")
    crop_sz = math.ceil(math.sqrt(area) * search_area_factor)
    if crop_sz < 1:
        raise ValueError("Too small bounding box.")
    # matches OSTrack: Python round (half to even) places the crop
    x1 = round(x + 0.5 * w - crop_sz * 0.5)
    y1 = round(y + 0.5 * h - crop_sz * 0.5)
    H, W = image_hw
    # matches OSTrack: the "+1" replaces the last image column/row by padding when the crop reaches it
    return CropWindow(crop_sz, x1, y1, max(0, -x1), max(x1 + crop_sz - W + 1, 0), max(0, -y1),
                      max(y1 + crop_sz - H + 1, 0))


def _check_overlap(win: CropWindow) -> None:
    rows, cols = win.image_slices()
    if rows.stop <= rows.start or cols.stop <= cols.start:
        raise ValueError("the crop lies entirely outside the image")


def sample_target(im: np.ndarray, target_bb: Sequence[float], search_area_factor: float,
                  output_sz: int | None = None, mask: torch.Tensor | None = None):
    """Crop a square region of side ceil(sqrt(w*h) * factor) centred on the box, pad with black, resize.

    Args:
        im: (H, W, 3) uint8 image.
        target_bb: xywh box to centre the crop on.
        search_area_factor: crop side / sqrt(box area).
        output_sz: side of the resized crop; None keeps the crop size.
        mask: optional (H, W) float tensor, cropped and resized the same way.

    Returns:
        (crop, resize_factor, att_mask) or (crop, resize_factor, att_mask, mask_crop): crop (S, S, 3) uint8,
        resize_factor = output_sz / crop_sz (1.0 without output_sz), att_mask (S, S) bool with True on padding,
        mask_crop (S, S) float tensor. The order is the same with and without output_sz (the original's differed).
    """
    win = crop_window(target_bb, search_area_factor, im.shape[:2])
    _check_overlap(win)
    rows, cols = win.image_slices()
    crop = cv2.copyMakeBorder(im[rows, cols], win.pad_top, win.pad_bottom, win.pad_left, win.pad_right,
                              cv2.BORDER_CONSTANT)
    att = np.ones((win.crop_sz, win.crop_sz))  # float64 as the original, so the resize below matches it
    att[win.pad_top:win.crop_sz - win.pad_bottom, win.pad_left:win.crop_sz - win.pad_right] = 0
    mask_crop = None
    if mask is not None:
        mask_crop = F.pad(mask[rows, cols], pad=(win.pad_left, win.pad_right, win.pad_top, win.pad_bottom),
                          mode="constant", value=0)
    if output_sz is None:
        out = (crop, 1.0, att.astype(np.bool_))
        return out if mask is None else (*out, mask_crop)
    resize_factor = output_sz / win.crop_sz
    crop = cv2.resize(crop, (output_sz, output_sz))
    att = cv2.resize(att, (output_sz, output_sz)).astype(np.bool_)
    if mask is None:
        return crop, resize_factor, att
    mask_crop = F.interpolate(mask_crop[None, None], (output_sz, output_sz), mode="bilinear",
                              align_corners=False)[0, 0]
    return crop, resize_factor, att, mask_crop


def _support_touches_padding(pad_before: int, pad_after: int, crop_sz: int, output_sz: int) -> np.ndarray:
    # cv2.resize is separable with non-negative weights, so a resized 0/1 mask is non-zero exactly where the 1-D
    # supports along either axis touch padding; resizing a 1 x crop_sz row uses the same coefficients.
    flags = np.zeros((1, crop_sz), np.float64)
    flags[0, :pad_before] = 1
    if pad_after:
        flags[0, crop_sz - pad_after:] = 1
    return cv2.resize(flags, (output_sz, 1))[0] > 0


_NO_PADDING: dict[int, np.ndarray] = {}


def _no_padding(size: int) -> np.ndarray:
    # shared all-False mask (never written to: flips and collation make new arrays)
    if size not in _NO_PADDING:
        _NO_PADDING[size] = np.zeros((size, size), np.bool_)
    return _NO_PADDING[size]


def resized_att_mask(win: CropWindow, output_sz: int) -> np.ndarray:
    """The (output_sz, output_sz) bool attention mask of :func:`sample_target` without a full-size resize."""
    if not win.padded:
        return _no_padding(output_sz)
    rows = _support_touches_padding(win.pad_top, win.pad_bottom, win.crop_sz, output_sz)
    cols = _support_touches_padding(win.pad_left, win.pad_right, win.crop_sz, output_sz)
    return rows[:, None] | cols[None, :]


def crop_resize(im: np.ndarray, win: CropWindow, output_sz: int, mask: np.ndarray | None = None,
                hflip: bool = False, transform=None):
    """The pixels, attention mask and mask crop of :func:`sample_target`, computed with less work.

    Args:
        im: (H, W, C) uint8 image.
        win: from :func:`crop_window` for this image (for the mirrored image when ``hflip``).
        output_sz: output side.
        mask: optional (H, W) float32 array.
        hflip: crop the left-right mirrored image (only the cropped region is mirrored, not the whole frame).
        transform: optional per-pixel function applied to the cropped image region (e.g. grayscale); applying it
            to the region gives the same pixels as applying it to the whole frame first.

    Returns:
        (crop (S, S, C) uint8, att_mask (S, S) bool, mask_crop (S, S) float32 or None).
    """
    _check_overlap(win)
    rows, cols = win.image_slices()
    if hflip:
        width = im.shape[1]
        cols = slice(width - cols.stop, width - cols.start)
    size = (output_sz, output_sz)

    def region(a: np.ndarray) -> np.ndarray:
        r = a[rows, cols]  # a view: cv2 reads it in place, giving the same pixels as a copy
        return cv2.flip(r, 1) if hflip else r

    src = region(im)
    if transform is not None:
        src = transform(src)
    if win.padded:
        src = cv2.copyMakeBorder(src, win.pad_top, win.pad_bottom, win.pad_left, win.pad_right, cv2.BORDER_CONSTANT)
    crop = cv2.resize(src, size)
    mask_crop = None
    if mask is not None:
        m = region(mask.astype(np.float32, copy=False))
        if win.padded:
            m = cv2.copyMakeBorder(m, win.pad_top, win.pad_bottom, win.pad_left, win.pad_right, cv2.BORDER_CONSTANT)
        # bilinear with half-pixel centres, as F.interpolate(align_corners=False)
        mask_crop = cv2.resize(m, size)
    return crop, resized_att_mask(win, output_sz), mask_crop


def transform_image_to_crop(box_in, box_extract, resize_factor: float, crop_sz, normalize: bool = False):
    """Map a box from image coordinates into the crop taken around ``box_extract`` (spec 5.6).

    matches OSTrack: the crop centre is (crop_sz - 1) / 2 and the crop is assumed centred exactly on the centre
    of ``box_extract`` (the rounding of the crop's corner is ignored).

    Args:
        box_in: xywh box to map (tensor or array).
        box_extract: xywh box the crop was centred on.
        resize_factor: output_sz / crop side.
        crop_sz: output side (a number, or a 2-element tensor as the original passed).
        normalize: divide by the crop side.

    Returns:
        The xywh box in the crop, of the same kind (tensor or array) as ``box_in``.
    """
    is_tensor = torch.is_tensor(box_in)
    b_in = box_in.double().numpy() if is_tensor else np.asarray(box_in, np.float64)
    b_ex = np.asarray(box_extract.tolist() if torch.is_tensor(box_extract) else box_extract, np.float64)
    side = float(crop_sz[0]) if isinstance(crop_sz, (torch.Tensor, np.ndarray, list, tuple)) else float(crop_sz)
    center = (side - 1) / 2 + ((b_in[:2] + 0.5 * b_in[2:4]) - (b_ex[:2] + 0.5 * b_ex[2:4])) * resize_factor
    wh = b_in[2:4] * resize_factor
    out = np.concatenate((center - 0.5 * wh, wh))
    if normalize:
        out = out / side
    return torch.from_numpy(out).to(box_in.dtype) if is_tensor else out.astype(np.float32)


def jitter_box(box: Sequence[float], scale_jitter: float, center_jitter: float, rng: random.Random) -> np.ndarray:
    """Randomly rescale and shift a box as the original processing (spec 5.5).

    size' = wh * exp(N(0,1) * scale_jitter); centre' = centre + sqrt(w'h') * center_jitter * (U(0,1) - 0.5).
    Draws two normals then two uniforms from ``rng``.
    """
    x, y, w, h = (float(v) for v in box[:4])
    sw = w * math.exp(rng.gauss(0.0, 1.0) * scale_jitter)
    sh = h * math.exp(rng.gauss(0.0, 1.0) * scale_jitter)
    max_offset = math.sqrt(sw * sh) * center_jitter
    cx = x + 0.5 * w + max_offset * (rng.random() - 0.5)
    cy = y + 0.5 * h + max_offset * (rng.random() - 0.5)
    return np.array([cx - 0.5 * sw, cy - 0.5 * sh, sw, sh], np.float64)


def box_is_valid(box: Sequence[float]) -> bool:
    """True for a finite xywh box with w > 0 and h > 0."""
    values = [float(v) for v in box[:4]]
    return all(math.isfinite(v) for v in values) and values[2] > 0 and values[3] > 0
