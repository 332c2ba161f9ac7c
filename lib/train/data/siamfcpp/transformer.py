"""RandomCropTransformer: SiamFC++'s template/search crops with random scale and shift (spec 7.4).

One training pair (template frame and search frame, each an image with an xyxy box) becomes a ``z_size`` template
crop and an ``x_size`` search crop around the two targets. The search crop is rescaled by a factor uniform in
[1 / (1 + max_scale), 1 + max_scale] and shifted by up to ``max_shift`` times half its side; a try whose boxes
leave a crop is drawn again, and after ``max_tries`` failures the pair is cropped without augmentation.

Conventions are video_analyst's (spec 1): BGR uint8 HWC images, inclusive-pixel boxes (w = x1 - x0 + 1), the
box arithmetic in float32 as NumPy 2 runs the original, and the crops made with OpenCV's ``warpAffine`` so they
are bit-identical to the original's for the same random draws.

The random stream is the caller's: the training sampler passes the per-sample stream it seeds from
(seed, epoch, index), so augmentation does not depend on the number of DataLoader workers. The original always
used ``RandomState(0)`` in every worker (quirk Q5, fixed here); passing ``numpy.random.RandomState(0)`` reproduces
its draws for a given order of pairs.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from lib.train.data.skips import SampleSkip
from lib.utils.subwindow import cxywh2xyxy, get_subwindow_tracking, xyxy2cxywh

__all__ = ["RandomCropTransformer", "crop_track_pair"]

logger = logging.getLogger(__name__)


def _context_side(w: np.float32, h: np.float32, context_amount: float) -> np.float32:
    """sqrt((w + c (w + h)) (h + c (w + h))): the side of the square that holds the target with context."""
    wc = w + context_amount * (w + h)
    hc = h + context_amount * (w + h)
    return np.sqrt(wc * hc)


def crop_track_pair(im_temp: np.ndarray, bbox_temp: Sequence[float], im_curr: np.ndarray,
                    bbox_curr: Sequence[float], rng, context_amount: float = 0.5, max_scale: float = 0.3,
                    max_shift: float = 0.4, max_scale_temp: float = 0.0, max_shift_temp: float = 0.0,
                    z_size: int = 127, x_size: int = 303, max_tries: int = 50
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Crop a template/search pair with random scale and shift (video_analyst's ``crop_track_pair``).

    Args:
        im_temp: template frame (H, W, 3) uint8 BGR.
        bbox_temp: target box in the template frame, xyxy.
        im_curr: search frame (H', W', 3) uint8 BGR.
        bbox_curr: target box in the search frame, xyxy.
        rng: numpy ``RandomState`` (or ``Generator``) the six draws per try come from.
        context_amount: context added around the target, as a fraction of w + h.
        max_scale: search scale jitter: the factor is uniform in [1 / (1 + max_scale), 1 + max_scale].
        max_shift: search shift jitter, as a fraction of half the crop side.
        max_scale_temp: template scale jitter (log-uniform).
        max_shift_temp: template shift jitter.
        z_size: template crop side.
        x_size: search crop side.
        max_tries: augmented tries before falling back to no augmentation.

    Returns:
        (im_z (z, z, 3) uint8, bbox_z (4,) float32 xyxy, im_x (x, x, 3) uint8, bbox_x (4,) float32 xyxy).

    Raises:
        SampleSkip: ('bad_box') a box has a non-positive context side (the original asserted).
    """
    # matches video_analyst: both crops are padded with the template frame's mean, also for a negative pair whose
    # search frame is another image (quirk Q8)
    avg_chans = np.mean(im_temp, axis=(0, 1))
    box_temp = xyxy2cxywh(bbox_temp)
    box_curr = xyxy2cxywh(bbox_curr)
    side_temp = _context_side(box_temp[2], box_temp[3], context_amount)
    side_curr = _context_side(box_curr[2], box_curr[3], context_amount)
    if not (side_temp > 0 and side_curr > 0):
        raise SampleSkip("bad_box", f"crop_track_pair: non-positive context side for boxes {list(bbox_temp)}, "
                                    f"{list(bbox_curr)}")
    # matches video_analyst: both base scales use z_size, so the search crop shows x_size / z_size times the context
    scale_temp0 = z_size / side_temp
    scale_curr0 = z_size / side_curr
    for i in range(max_tries + 1):
        if i < max_tries:
            # matches video_analyst: the search scale factor is uniform, not log-uniform, and all six draws happen
            # even when the template jitter is zero (quirk Q9)
            scale_rand = rng.uniform(1 / (1 + max_scale), 1 + max_scale)
            scale_rand_temp = np.exp(rng.uniform(np.log(1 / (1 + max_scale_temp)), np.log(1 + max_scale_temp)))
        else:
            scale_rand, scale_rand_temp = 1.0, 1.0
        scale_curr = scale_curr0 / scale_rand
        scale_temp = scale_temp0 / scale_rand_temp
        s_curr = x_size / scale_curr
        s_temp = z_size / scale_temp
        if i < max_tries:
            dx = rng.uniform(-max_shift, max_shift) * s_curr / 2
            dy = rng.uniform(-max_shift, max_shift) * s_curr / 2
            dx_t = rng.uniform(-max_shift_temp, max_shift_temp) * s_temp / 2
            dy_t = rng.uniform(-max_shift_temp, max_shift_temp) * s_temp / 2
        else:
            dx = dy = dx_t = dy_t = 0.0
        bbox_z = cxywh2xyxy([(z_size - 1) / 2 + dx_t * scale_temp, (z_size - 1) / 2 + dy_t * scale_temp,
                             box_temp[2] * scale_temp, box_temp[3] * scale_temp])
        bbox_x = cxywh2xyxy([(x_size - 1) / 2 + dx * scale_curr, (x_size - 1) / 2 + dy * scale_curr,
                             box_curr[2] * scale_curr, box_curr[3] * scale_curr])
        inside = (np.all(bbox_z >= 0) and np.all(bbox_z <= z_size - 1)
                  and np.all(bbox_x >= 0) and np.all(bbox_x <= x_size - 1))
        if inside or i == max_tries:
            break
    pos_temp = box_temp[:2] - np.array([dx_t, dy_t])
    pos_curr = box_curr[:2] - np.array([dx, dy])
    im_z = get_subwindow_tracking(im_temp, pos_temp, z_size, s_temp, avg_chans)
    im_x = get_subwindow_tracking(im_curr, pos_curr, x_size, s_curr, avg_chans)
    return im_z, bbox_z, im_x, bbox_x


class RandomCropTransformer:
    """The training pair's crops (video_analyst's RandomCropTransformer).

    Called on a sampler output ``{"data1": {"image", "anno"}, "data2": {...}, "is_negative_pair"}`` (template
    and search frame, BGR uint8 images, xyxy boxes) with the sample's random stream; returns the same dict with
    the images replaced by the crops and the boxes by the boxes in the crops.

    Args:
        context_amount: context around the target (fraction of w + h).
        max_scale: search scale jitter.
        max_shift: search shift jitter (fraction of half the crop side).
        max_scale_temp: template scale jitter.
        max_shift_temp: template shift jitter.
        z_size: template crop side.
        x_size: search crop side.
        max_tries: augmented tries before cropping without augmentation.
    """

    def __init__(self, context_amount: float = 0.5, max_scale: float = 0.3, max_shift: float = 0.4,
                 max_scale_temp: float = 0.0, max_shift_temp: float = 0.0, z_size: int = 127, x_size: int = 303,
                 max_tries: int = 50):
        self.context_amount = float(context_amount)
        self.max_scale = float(max_scale)
        self.max_shift = float(max_shift)
        self.max_scale_temp = float(max_scale_temp)
        self.max_shift_temp = float(max_shift_temp)
        self.z_size = int(z_size)
        self.x_size = int(x_size)
        self.max_tries = int(max_tries)

    def __repr__(self) -> str:
        return (f"RandomCropTransformer(z_size={self.z_size}, x_size={self.x_size}, max_scale={self.max_scale}, "
                f"max_shift={self.max_shift})")

    def __call__(self, sample: dict, rng) -> dict:
        """Crop ``sample``'s pair; ``rng`` is the sample's numpy random stream."""
        data1, data2 = sample["data1"], sample["data2"]
        im_z, bbox_z, im_x, bbox_x = crop_track_pair(
            data1["image"], data1["anno"], data2["image"], data2["anno"], rng,
            context_amount=self.context_amount, max_scale=self.max_scale, max_shift=self.max_shift,
            max_scale_temp=self.max_scale_temp, max_shift_temp=self.max_shift_temp, z_size=self.z_size,
            x_size=self.x_size, max_tries=self.max_tries)
        out = dict(sample)
        out["data1"] = {"image": im_z, "anno": bbox_z}
        out["data2"] = {"image": im_x, "anno": bbox_x}
        return out
