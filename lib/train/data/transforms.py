"""Augmentations of the original training pipeline as small functions (spec 5.5 and 5.7).

The original composes ``Transform`` objects. Processing here calls these functions with rolls drawn from an
explicit ``random.Random``, with the same probabilities and the same sharing of rolls:

* joint transform, rolled once per sample and shared by the template and the search frames (the original's
  ``new_roll=False``): grayscale with p = 0.05 (:func:`to_grayscale`), then horizontal flip with p = 0.5 of the
  full frames (:func:`hflip_image`, boxes through :func:`hflip_box`, x -> (W - 1) - x);
* per crop, rolled independently for every template and search crop (the original's ``joint=False``), training
  only: brightness factor U(0.8, 1.2), then a horizontal flip with p = 0.5 (boxes through :func:`hflip_box_norm`,
  x -> 1 - x); then normalisation with DATA.MEAN/STD. :func:`image_to_normalized_tensor` does brightness,
  clamping and normalisation in one table look-up that reproduces the original's float32 arithmetic exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

__all__ = ["JointRoll", "CropRoll", "roll_joint", "roll_crop", "to_grayscale", "hflip_image", "hflip_box",
           "hflip_box_norm", "normalize_lut", "image_to_normalized_tensor"]


@dataclass(frozen=True)
class JointRoll:
    grayscale: bool
    flip: bool


@dataclass(frozen=True)
class CropRoll:
    brightness: float
    flip: bool


def roll_joint(rng: random.Random, grayscale_prob: float = 0.05, flip_prob: float = 0.5) -> JointRoll:
    """The shared roll for all frames of a sample (grayscale first, then flip, as the original's order)."""
    return JointRoll(grayscale=rng.random() < grayscale_prob, flip=rng.random() < flip_prob)


def roll_crop(rng: random.Random, brightness_jitter: float = 0.2, flip_prob: float = 0.5) -> CropRoll:
    """The roll of one crop: brightness factor U(1 - j, 1 + j), then the flip."""
    brightness = rng.uniform(max(0.0, 1.0 - brightness_jitter), 1.0 + brightness_jitter)
    return CropRoll(brightness=brightness, flip=rng.random() < flip_prob)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """RGB -> gray (OpenCV weights) -> 3 equal channels, as the original's ToGrayscale."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.merge([gray, gray, gray])


def hflip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an (H, W, ...) array left-right (a new array)."""
    return cv2.flip(image, 1) if image.dtype != np.bool_ else np.ascontiguousarray(image[:, ::-1])


def hflip_box(box: Sequence[float], image_width: int) -> np.ndarray:
    """Mirror an xywh box in an image of the given width: x1' = (W - 1) - (x1 + w) (matches OSTrack)."""
    x, y, w, h = (float(v) for v in box[:4])
    return np.array([image_width - 1 - (x + w), y, w, h], np.float64)


def hflip_box_norm(box: Sequence[float]) -> np.ndarray:
    """Mirror a normalized xywh box: x1' = 1 - (x1 + w) (matches OSTrack's RandomHorizontalFlip_Norm)."""
    x, y, w, h = (float(v) for v in box[:4])
    return np.array([1.0 - x - w, y, w, h], np.float64)


def normalize_lut(mean: Sequence[float], std: Sequence[float], brightness: float | None) -> np.ndarray:
    """Per-channel (3, 256) float32 table: uint8 value -> normalized float, as the original computed it.

    With ``brightness`` the original's ToTensorAndJitter: float32(v) * (b / 255) clamped to [0, 1]; without it
    ToTensor: float32(v) / 255. Then torchvision's normalize: (x - mean) / std. Every step is one float32 IEEE
    operation as in torch, so the table reproduces the original's values bit for bit (a test checks this).
    """
    values = np.arange(256, dtype=np.float32)
    if brightness is None:
        scaled = values / np.float32(255)
    else:
        scaled = np.clip(values * np.float32(brightness / 255.0), np.float32(0), np.float32(1))
    m = np.asarray(mean, np.float32)[:, None]
    s = np.asarray(std, np.float32)[:, None]
    return (scaled[None] - m) / s


def image_to_normalized_tensor(image: np.ndarray, lut: np.ndarray, out: torch.Tensor | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 tensor through a table from :func:`normalize_lut`.

    Args:
        image: the crop.
        lut: from :func:`normalize_lut`.
        out: optional contiguous (3, H, W) float32 tensor to write into.
    """
    h, w = image.shape[:2]
    if out is None:
        out = torch.empty((3, h, w), dtype=torch.float32)
    elif not out.is_contiguous() or out.shape != (3, h, w) or out.dtype != torch.float32:
        raise ValueError(f"out must be a contiguous float32 (3, {h}, {w}) tensor")
    planes = cv2.split(image)
    dst = out.numpy()
    for c in range(3):
        cv2.LUT(planes[c], lut[c], dst=dst[c])
    return out
