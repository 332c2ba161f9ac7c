"""PySOT's 511 context crop (spec 6.1), computed on the fly from a frame and its box, and the box in it (spec 6.2).

PySOT crops every training object once, offline, into a 511x511 JPEG (``crop_like_SiamFC``: an affine warp of a
square of side s_x = s_z * 511 / 127 around the object, padded with the image's channel mean) and the training
loader then finds the object in that crop from the original box alone (``_get_bbox``: centred, scaled by
EXEMPLAR_SIZE / s_z). :class:`FrameSource` does the same from a framework dataset's frames while training, so no
pre-cropping pass and no crop511 copy of the data are needed.

What is computed, and how often (the data pipeline's hot path):

* each distinct frame of a pair is decoded once, and warped to 511 once: template and search share the crop
  when they come from the same frame (always for image datasets such as COCO);
* the padding value is the frame's channel mean, computed with ``cv2.sumElems`` (an exact integer sum, so the
  value equals PySOT's ``np.mean(image, axis=(0, 1))`` bit for bit, about 400x faster on a 720p frame);
* frames stay RGB as decoded: the warp treats channels independently, so the RGB crop is exactly the channel
  reversal of PySOT's BGR crop; the augmentation writes its output in BGR order at no cost.

Why not warp straight from the frame to the final 127/255 crop: PySOT interpolates twice (frame -> 511 -> 255);
one warp would interpolate once and give different (sharper) pixels, and even warping only the part of the 511
crop that the augmentation reads is not bit-identical with OpenCV 5 (its vectorised warp rounds some pixels
differently near the end of a shorter row). So the 511 crop is made whole, exactly as the pre-cropping script
did, minus its JPEG re-encoding. Tests check the crop and the box against a direct two-stage implementation.
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import cv2
import numpy as np

from lib.train.dataset.base_video_dataset import AnnotationError, BaseVideoDataset

__all__ = ["center_to_corner", "corner_to_center", "context_sizes", "context_region", "channel_mean", "crop_hwc",
           "crop_like_siamfc", "box_in_context_crop", "xywh_to_corner", "FrameSource"]

logger = logging.getLogger(__name__)


def corner_to_center(box: Sequence[float]) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) -> (cx, cy, w, h), with PySOT's arithmetic ((x1 + x2) * 0.5, x2 - x1)."""
    x1, y1, x2, y2 = box
    return (x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1


def center_to_corner(box: Sequence[float]) -> tuple[float, float, float, float]:
    """(cx, cy, w, h) -> (x1, y1, x2, y2), with PySOT's arithmetic (cx - w * 0.5, ...)."""
    cx, cy, w, h = box
    return cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5


def xywh_to_corner(box_xywh: Sequence[float]) -> np.ndarray:
    """(x, y, w, h) -> float64 (x1, y1, x2, y2) = (x, y, x + w, y + h), as PySOT's json conversion scripts."""
    x, y, w, h = (float(v) for v in box_xywh)
    return np.array([x, y, x + w, y + h], dtype=np.float64)


def _box_size(box: Sequence[float]) -> tuple[float, float]:
    """(w, h) of a corner box (4 values) or of a (w, h) pair, as PySOT's annotations may hold either."""
    if len(box) == 4:
        return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    if len(box) == 2:
        return float(box[0]), float(box[1])
    raise AnnotationError(f"a box must hold 4 values (x1, y1, x2, y2) or 2 values (w, h), got {list(box)!r}")


def _check_size(w: float, h: float, box) -> None:
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        raise AnnotationError(f"invalid box {list(box)!r}: width and height must be finite and positive")


def context_sizes(box_corner: Sequence[float], context_amount: float = 0.5, exemplar_size: int = 127,
                  instance_size: int = 511) -> tuple[float, float]:
    """(s_z, s_x): sides in frame pixels of the template context square and of the 511 context crop.

    Args:
        box_corner: the object (x1, y1, x2, y2) in the frame.
        context_amount: context added around the object (PySOT: 0.5).
        exemplar_size: template side the context square maps to (the crop scripts' 127).
        instance_size: side of the context crop (the crop scripts' 511).
    """
    w, h = _box_size(box_corner)
    # matches PySOT: crop_like_SiamFC swaps w and h here (quirk 18); only the product is used, so s_z is equal
    wc_z = h + context_amount * (w + h)
    hc_z = w + context_amount * (w + h)
    s_z = float(np.sqrt(wc_z * hc_z))
    scale_z = exemplar_size / s_z
    pad = (instance_size - exemplar_size) / 2 / scale_z
    return s_z, s_z + 2 * pad


def context_region(box_corner: Sequence[float], context_amount: float = 0.5, exemplar_size: int = 127,
                   instance_size: int = 511) -> tuple[float, float, float, float]:
    """The square (x1, y1, x2, y2) of side s_x around the object centre that becomes the context crop."""
    x1, y1, x2, y2 = (float(v) for v in box_corner)
    cx, cy = (x2 + x1) / 2.0, (y2 + y1) / 2.0
    _, s_x = context_sizes(box_corner, context_amount, exemplar_size, instance_size)
    return cx - s_x / 2, cy - s_x / 2, cx + s_x / 2, cy + s_x / 2


def channel_mean(image: np.ndarray) -> tuple[float, ...]:
    """Per-channel mean of an (H, W, C) uint8 image, equal bit for bit to ``np.mean(image, axis=(0, 1))``.

    Both divide the exact integer sum (below 2**53) by the pixel count; ``cv2.sumElems`` gets it in one fast pass.
    """
    channels = image.shape[2]
    sums = cv2.sumElems(image)[:channels]
    count = image.shape[0] * image.shape[1]
    return tuple(float(s) / count for s in sums)


def crop_hwc(image: np.ndarray, region: Sequence[float], out_size: int,
             padding: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Warp ``region`` (x1, y1, x2, y2) of ``image`` to an ``out_size`` square (PySOT's crop_hwc / _crop_roi).

    The affine map sends x1 -> 0 and x2 -> out_size - 1 (likewise in y); bilinear, constant ``padding`` outside.
    """
    x1, y1, x2, y2 = (float(v) for v in region)
    a = (out_size - 1) / (x2 - x1)
    b = (out_size - 1) / (y2 - y1)
    # fixes PySOT quirk 20: the matrix is float64 (PySOT cast it with np.float, removed from numpy 1.24)
    mapping = np.array([[a, 0.0, -a * x1], [0.0, b, -b * y1]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(p) for p in padding))


def crop_like_siamfc(image: np.ndarray, box_corner: Sequence[float], context_amount: float = 0.5,
                     exemplar_size: int = 127, instance_size: int = 511,
                     padding: Sequence[float] | None = None) -> np.ndarray:
    """The context crop of PySOT's pre-cropping (``crop_like_SiamFC``'s x crop, spec 6.1).

    Args:
        image: (H, W, 3) uint8 frame, any channel order (the crop keeps it).
        box_corner: the object (x1, y1, x2, y2) in the frame.
        context_amount: PySOT: 0.5.
        exemplar_size: PySOT's crop scripts: 127.
        instance_size: side of the output (PySOT's crop scripts: 511).
        padding: value outside the frame; default the frame's channel mean (as the crop scripts).

    Returns:
        (instance_size, instance_size, 3) uint8. The object centre maps to the crop centre and the object is
        scaled by (instance_size - 1) / s_x, i.e. 510/511 of the exemplar_size / s_z that
        :func:`box_in_context_crop` assumes (PySOT quirk 18, kept).
    """
    region = context_region(box_corner, context_amount, exemplar_size, instance_size)
    if padding is None:
        padding = channel_mean(image)
    return crop_hwc(image, region, instance_size, padding)


def box_in_context_crop(box: Sequence[float], crop_shape: Sequence[int], exemplar_size: int = 127,
                        context_amount: float = 0.5) -> np.ndarray:
    """The object's corner box in a context crop, from its original box alone (PySOT's ``_get_bbox``).

    Args:
        box: the object's box in the original frame: (x1, y1, x2, y2), or (w, h); only w and h are used.
        crop_shape: shape of the context crop (rows, cols, ...).
        exemplar_size: TRAIN.EXEMPLAR_SIZE.
        context_amount: PySOT: 0.5.

    Returns:
        float64 (x1, y1, x2, y2): centred at (cols // 2, rows // 2), size (w, h) * exemplar_size / s_z.

    Raises:
        AnnotationError: the box has no positive finite size.
    """
    w, h = _box_size(box)
    _check_size(w, h, box)
    wc_z = w + context_amount * (w + h)
    hc_z = h + context_amount * (w + h)
    scale_z = exemplar_size / np.sqrt(wc_z * hc_z)
    rows, cols = int(crop_shape[0]), int(crop_shape[1])
    return np.array(center_to_corner((cols // 2, rows // 2, w * scale_z, h * scale_z)), dtype=np.float64)


class FrameSource:
    """Context crops made on the fly from a framework dataset (a video source for the Siamese pair dataset).

    Each sequence of the dataset is one video with one track; its usable frames are the visible ones with a
    finite positive box (PySOT's json lists only such frames). An image dataset (``is_video_sequence()`` False,
    e.g. COCO17) has one frame per sequence, usable when its box has w, h > 0 (as PySOT's COCO json; the OSTrack
    rule w, h > 50 is not applied). Note that a framework sequence is one object track, so NUM_USE counts tracks,
    where PySOT picks a video (or image) and then one of its tracks.

    Args:
        dataset: a :class:`BaseVideoDataset` (frames are decoded RGB by its storage).
        name: name in logs and batches (default: the dataset's).
        context_amount: PySOT's crop scripts: 0.5.
        exemplar_size: PySOT's crop scripts: 127 (hard-coded there, not TRAIN.EXEMPLAR_SIZE).
        instance_size: side of the context crops (PySOT: 511).
    """

    def __init__(self, dataset: BaseVideoDataset, name: str | None = None, context_amount: float = 0.5,
                 exemplar_size: int = 127, instance_size: int = 511):
        self.dataset = dataset
        self.name = name or dataset.get_name()
        self.context_amount = float(context_amount)
        self.exemplar_size = int(exemplar_size)
        self.instance_size = int(instance_size)

    def __repr__(self) -> str:
        return f"FrameSource({self.name!r}, {self.dataset!r})"

    def describe(self) -> str:
        return f"{self.name} (framework dataset {self.dataset.get_name()} under {self.dataset.root})"

    def num_videos(self) -> int:
        return self.dataset.get_num_sequences()

    def tracks(self, video: int) -> list[np.ndarray]:
        """[usable frame indices] for the one track of sequence ``video``; [] when none is usable."""
        info = self.dataset.get_sequence_info(video)
        bbox = np.asarray(info["bbox"], dtype=np.float64).reshape(-1, 4)
        good = np.isfinite(bbox).all(axis=1) & (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        if not self.dataset.is_video_sequence():
            return [np.zeros(1, np.int64)] if len(good) and good[0] else []
        frames = np.flatnonzero(good & np.asarray(info["visible"], dtype=bool))
        return [frames] if len(frames) else []

    def crops(self, video: int, track: int, frames: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(RGB context crop, original corner box) per requested frame; each distinct frame is read once."""
        info = self.dataset.get_sequence_info(video)
        distinct = list(dict.fromkeys(int(f) for f in frames))
        images, anno, _ = self.dataset.get_frames(video, distinct, info)
        made = {}
        for frame, image, box_xywh in zip(distinct, images, anno["bbox"]):
            corner = xywh_to_corner(np.asarray(box_xywh, dtype=np.float64))
            _check_size(corner[2] - corner[0], corner[3] - corner[1], corner)
            crop = crop_like_siamfc(image, corner, self.context_amount, self.exemplar_size, self.instance_size)
            made[frame] = (crop, corner)
        return [made[int(f)] for f in frames]
