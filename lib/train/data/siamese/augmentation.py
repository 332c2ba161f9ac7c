"""PySOT's training augmentation of a context crop (spec 6.4): scale, shift, grayscale, colour, blur, flip.

:class:`Augmentation` turns a context crop (PySOT's 511 crop) and the object's box in it into the network input of
side ``size`` and the object's box in that input. Formulas, draw order and numerics are PySOT's; the differences:

* randomness comes only from the ``np.random.RandomState`` passed in (PySOT used the global numpy RNG), and every
  number is drawn before any pixel work, in PySOT's order (scale x, scale y, shift x, shift y, colour, blur, flip);
* the output is written once, straight into the (3, size, size) float32 BGR layout the network takes (PySOT
  returned HWC, float64 after the colour offset, and the dataset transposed and cast it): the values are PySOT's
  float64 results rounded to float32, bit for bit;
* the input may be RGB (``rgb=True``, the framework's decoded frames): every step treats channels alike except
  the colour offset and grayscale, which use the matching channel order, so the result is exactly PySOT's on the
  BGR image;
* the motion blur is computed as two 1-D box means (:func:`cross_blur`) instead of a 2-D filter2D with PySOT's
  cross-shaped kernel (which OpenCV runs through a DFT for the larger kernels): the same function, about 5x
  faster, equal up to rounding. Everything else is bit-identical to PySOT (tests compare with a direct
  implementation of the spec).
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from lib.train.data.siamese.crop import center_to_corner, corner_to_center, crop_hwc
from lib.utils.errors import ConfigError

__all__ = ["Augmentation", "RGB_VAR", "BLUR_KERNEL_SIZES", "blur_kernel", "cross_blur"]

# PySOT's rgbVar: PCA colour directions scaled by their eigenvalues (rows in RGB order)
RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627],
                    [1.72091413, 0.19879334, -1.82968581],
                    [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)

BLUR_KERNEL_SIZES = np.arange(5, 46, 2)  # odd sizes 5..45


def blur_kernel(size: int, wx: float) -> np.ndarray:
    """PySOT's motion-blur kernel: (size, size) float64, centre column weighted wx/size, centre row (1-wx)/size."""
    kernel = np.zeros((size, size))
    c = int(size / 2)
    kernel[:, c] += 1.0 / size * wx
    kernel[c, :] += 1.0 / size * (1 - wx)
    return kernel


def cross_blur(image: np.ndarray, kernel_size: int, wx: float) -> np.ndarray:
    """PySOT's motion blur, ``cv2.filter2D(image, -1, blur_kernel(kernel_size, wx))``, as two 1-D box means.

    The kernel is a centre column of weight wx/size plus a centre row of weight (1 - wx)/size, so the correlation
    is wx * (vertical box mean) + (1 - wx) * (horizontal box mean), with filter2D's reflect-101 border. Equal to
    filter2D up to rounding: below 1e-12 on float64 images, at most one grey level on uint8 images (a result at a
    rounding half; filter2D's own DFT rounding decides those arbitrarily).
    """
    src = image if image.dtype == np.float64 else image.astype(np.float64)
    out = cv2.boxFilter(src, -1, (1, kernel_size), borderType=cv2.BORDER_REFLECT_101)
    out *= wx
    out += (1 - wx) * cv2.boxFilter(src, -1, (kernel_size, 1), borderType=cv2.BORDER_REFLECT_101)
    if image.dtype == np.float64:
        return out
    return np.clip(np.rint(out), 0, 255).astype(image.dtype)  # rounded and saturated as filter2D's uint8 output


class Augmentation:
    """PySOT's ``Augmentation(shift, scale, blur, flip, color)`` (DATASET.TEMPLATE.* / DATASET.SEARCH.*).

    Args:
        shift: largest crop shift in context-crop pixels (uniform in [-shift, shift) per axis).
        scale: largest relative crop scale change (1 + uniform[-scale, scale) per axis).
        blur: probability of a random motion blur.
        flip: probability of a horizontal flip.
        color: probability of the PCA colour offset.
    """

    def __init__(self, shift: float = 0.0, scale: float = 0.0, blur: float = 0.0, flip: float = 0.0,
                 color: float = 0.0):
        for key, value in (("SHIFT", shift), ("SCALE", scale), ("BLUR", blur), ("FLIP", flip), ("COLOR", color)):
            if not np.isfinite(value) or value < 0:
                raise ConfigError(f"Augmentation: {key} must be a finite number >= 0, got {value!r} "
                                  f"(PySOT's DATASET.TEMPLATE/SEARCH.{key}).")
        self.shift, self.scale, self.blur = float(shift), float(scale), float(blur)
        self.flip, self.color = float(flip), float(color)

    def __repr__(self) -> str:
        return (f"Augmentation(shift={self.shift}, scale={self.scale}, blur={self.blur}, flip={self.flip}, "
                f"color={self.color})")

    @staticmethod
    def _uniform(rng: np.random.RandomState) -> float:
        return rng.random_sample() * 2 - 1  # PySOT's Augmentation.random(): uniform [-1, 1)

    def crop_box(self, image_shape: Sequence[int], bbox: Sequence[float], size: int,
                 rng: np.random.RandomState) -> tuple[tuple[float, float, float, float], np.ndarray]:
        """Draw scale and shift; the region of the input to warp and the object box in the output.

        Returns:
            (region (x1, y1, x2, y2) in input pixels, float64 object box (x1, y1, x2, y2) in output pixels).
        """
        im_h, im_w = int(image_shape[0]), int(image_shape[1])
        # matches PySOT: the centre is (rows // 2, cols // 2) taken as (x, y) (quirk 19; equal for square crops)
        cx, cy, w, h = corner_to_center(center_to_corner((im_h // 2, im_w // 2, size - 1, size - 1)))
        scale_x = scale_y = 1.0
        if self.scale:
            scale_x = 1.0 + self._uniform(rng) * self.scale
            scale_y = 1.0 + self._uniform(rng) * self.scale
            scale_x = min(scale_x, float(im_w) / w)
            scale_y = min(scale_y, float(im_h) / h)
            w, h = w * scale_x, h * scale_y
        x1, y1, x2, y2 = center_to_corner((cx, cy, w, h))
        if self.shift:
            sx = self._uniform(rng) * self.shift
            sy = self._uniform(rng) * self.shift
            # keep the crop inside the input
            sx = max(-x1, min(im_w - 1 - x2, sx))
            sy = max(-y1, min(im_h - 1 - y2, sy))
            x1, y1, x2, y2 = x1 + sx, y1 + sy, x2 + sx, y2 + sy
        box = np.array([bbox[0] - x1, bbox[1] - y1, bbox[2] - x1, bbox[3] - y1], dtype=np.float64)
        if self.scale:
            box /= np.array([scale_x, scale_y, scale_x, scale_y])
        return (x1, y1, x2, y2), box

    def __call__(self, image: np.ndarray, bbox: Sequence[float], size: int, rng: np.random.RandomState,
                 gray: bool = False, rgb: bool = False, out: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Augment a context crop.

        Args:
            image: (H, W, 3) uint8 context crop (BGR, or RGB with ``rgb``).
            bbox: the object's corner box (x1, y1, x2, y2) in ``image``.
            size: output side (TRAIN.EXEMPLAR_SIZE or TRAIN.SEARCH_SIZE).
            rng: the sample's random stream.
            gray: convert to grayscale first (DATASET.GRAY decided per pair).
            rgb: ``image`` is in RGB order.
            out: optional (3, size, size) float32 array to write into.

        Returns:
            (image (3, size, size) float32, raw 0..255 BGR values (not clipped after the colour offset), the object's
            float64 corner box in output pixels).
        """
        region, box = self.crop_box(image.shape, bbox, size, rng)
        offset = None
        if self.color > rng.random_sample():
            offset = np.dot(RGB_VAR, rng.randn(3, 1)).reshape(3)  # float64, RGB order
        blur = None
        if self.blur > rng.random_sample():
            kernel_size = int(rng.choice(BLUR_KERNEL_SIZES))
            blur = (kernel_size, rng.random_sample())
        flip = bool(self.flip) and self.flip > rng.random_sample()

        if gray:
            code = (cv2.COLOR_RGB2GRAY, cv2.COLOR_GRAY2RGB) if rgb else (cv2.COLOR_BGR2GRAY, cv2.COLOR_GRAY2BGR)
            image = cv2.cvtColor(cv2.cvtColor(image, code[0]), code[1])
        crop = crop_hwc(image, region, size)  # (size, size, 3) uint8, zero outside the input
        if offset is not None:
            offset = offset if rgb else offset[::-1]  # in the crop's channel order
        if blur is not None:
            # matches PySOT: the blur runs on the float64 image when the colour offset came first
            crop = cross_blur(crop - offset if offset is not None else crop, *blur)
            offset = None
        if flip:
            crop = crop[:, ::-1]
            width = crop.shape[1]
            box = np.array([width - 1 - box[2], box[1], width - 1 - box[0], box[3]], dtype=np.float64)
        chw = crop.transpose(2, 0, 1)
        if rgb:
            chw = chw[::-1]
            offset = None if offset is None else offset[::-1]
        if out is None:
            out = np.empty((3, size, size), dtype=np.float32)
        if offset is not None:
            # computed in float64 (uint8 - float64) and rounded once to float32, as PySOT's astype(np.float32)
            np.subtract(chw, offset[:, None, None], out=out)
        else:
            out[...] = chw
        return out, box
