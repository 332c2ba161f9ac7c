"""Render one synthetic tracking sequence from real photographs, with exact ground truth.

A sequence is a moving camera over a real photo (smooth pan, zoom and a slight roll) with one object cut from
another real photo (a patch with a soft, irregular elliptical or rounded-rectangle mask) that moves along a smooth
path, scales, rotates slightly, is sometimes crossed by an occluder patch and sometimes leaves the frame and comes
back. The photos are the ones scikit-image ships inside its wheel, so nothing is downloaded.

Every random choice of a sequence is drawn up front by :func:`plan_sequence` from a generator seeded by
``(seed, split, index)``, so a sequence does not depend on which worker renders it or in which order. The ground
truth is computed from the same warped object mask that is composited into the frame: the object is the set of
pixels where the warped mask is >= 0.5, and the box is the axis-aligned bounding box of those pixels inside the
image, in integer pixels (``x, y, w, h``; ``x + w`` is one past the last column).
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from lib.utils.errors import OSTrackError

__all__ = ["SyntheticDatasetError", "SyntheticConfig", "Photo", "SequencePlan", "SequenceAnnotation", "load_photos",
           "sequence_rng", "plan_sequence", "render_sequence", "annotate_sequence"]

logger = logging.getLogger(__name__)

# Colour photographs used for objects and backgrounds; grey ones only as backgrounds (a grey object on a grey
# background is too hard to tell apart for the small CPU trackers this data serves).
_COLOR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
                 "motorcycle_left", "motorcycle_right")
_GRAY_PHOTOS = ("camera", "coins", "moon", "brick", "grass", "gravel", "cell", "clock")
_MAX_PHOTO_SIDE = 800  # larger photos are shrunk once so the per-frame warps never alias badly
_SPLIT_CODES = {"train": 1, "val": 2, "test": 3}


class SyntheticDatasetError(OSTrackError):
    """The synthetic dataset cannot be generated as asked (bad argument, occupied output folder, no photos)."""


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the scene model. The defaults give data a small tracker learns in minutes on a CPU, while
    repeating the first box scores poorly (the object crosses a good part of the frame in 100 frames).

    Args:
        object_size: range of the object's size (square root of its area) as a fraction of min(width, height).
        exit_prob: probability that the object leaves the frame once and comes back.
        occlusion_prob: probability that an occluder patch passes in front of the object once.
        max_rotation_deg: largest in-plane rotation of the object away from its first-frame pose.
        speed: range of the main motion amplitude, as a fraction of the frame side (larger is faster).
        camera_zoom: largest camera zoom change (log scale).
    """

    object_size: tuple[float, float] = (0.18, 0.36)
    exit_prob: float = 0.25
    occlusion_prob: float = 0.5
    max_rotation_deg: float = 10.0
    speed: tuple[float, float] = (0.15, 0.32)
    camera_zoom: float = 0.12


@dataclass(frozen=True)
class Photo:
    """A source photograph: its scikit-image name and pixels (H, W, 3) uint8 BGR."""

    name: str
    image: np.ndarray
    color: bool


def _read_skimage_photo(name: str) -> np.ndarray:
    from skimage import data  # imported lazily: only the generator needs scikit-image

    if name.startswith("motorcycle_"):
        left, right, _ = data.stereo_motorcycle()
        return left if name.endswith("left") else right
    return getattr(data, name)()


@functools.lru_cache(maxsize=1)
def load_photos() -> tuple[Photo, ...]:
    """The real photographs available offline in the installed scikit-image wheel (cached per process).

    Photos that the installed version would have to download (it has no network here) are skipped.
    """
    photos = []
    for name in _COLOR_PHOTOS + _GRAY_PHOTOS:
        try:
            image = np.asarray(_read_skimage_photo(name))
        except (AttributeError, KeyError, OSError, ValueError, ImportError, ConnectionError) as err:
            logger.debug("scikit-image photo %s is not available offline (%s); skipped", name, err)
            continue
        if image.dtype != np.uint8:
            continue
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else cv2.cvtColor(image[..., :3],
                                                                                             cv2.COLOR_RGB2BGR)
        scale = _MAX_PHOTO_SIDE / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        photos.append(Photo(name, np.ascontiguousarray(image), name in _COLOR_PHOTOS))
    if sum(p.color for p in photos) < 2 or len(photos) < 3:
        raise SyntheticDatasetError(
            f"the synthetic dataset needs the photographs shipped with scikit-image, but only "
            f"{[p.name for p in photos]} could be loaded. Reinstall scikit-image (pip install scikit-image) so that "
            f"its skimage/data folder holds astronaut.png, coffee.png, chelsea.png and the others.")
    return tuple(photos)


def sequence_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random generator of one sequence, independent of every other sequence and of worker order."""
    code = _SPLIT_CODES.get(split, sum(ord(c) * 31 ** i for i, c in enumerate(split)) % (2 ** 31))
    return np.random.default_rng(np.random.SeedSequence([int(seed), code, int(index)]))


@dataclass
class _Layer:
    """A patch pasted into every frame: pixels, mask and its pose per frame (centre, scale, angle)."""

    pixels: np.ndarray  # (h, w, 3) uint8 BGR
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    center: np.ndarray  # (N, 2) frame pixels
    scale: np.ndarray  # (N,) frame pixels per patch pixel
    angle: np.ndarray  # (N,) radians


@dataclass
class SequencePlan:
    """Everything random about one sequence, drawn before any frame is rendered."""

    width: int
    height: int
    num_frames: int
    background: int  # index into load_photos()
    camera: np.ndarray  # (N, 2, 3) inverse affine maps, frame -> background photo
    target: _Layer
    occluder: _Layer | None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class SequenceAnnotation:
    """Per-frame ground truth of one sequence (N frames).

    Attributes:
        boxes_xywh: (N, 4) int64 box of the object's pixels inside the image; zeros when none is inside.
        absent: (N,) 1 where no pixel of the object is visible (out of view or fully occluded).
        cover: (N,) 0..8, visible fraction of the object in eighths (8 only when fully visible, 0 iff absent).
        cut_by_image: (N,) 1 where part of the object lies outside the image.
        out_of_view: (N,) 1 where no pixel of the object lies inside the image.
        full_occlusion: (N,) 1 where the object is inside the image but hidden by the occluder.
        visible_ratio: (N,) float, visible pixels / object pixels.
        meta: class names and scene description (for meta_info.ini and nlp.txt).
    """

    boxes_xywh: np.ndarray
    absent: np.ndarray
    cover: np.ndarray
    cut_by_image: np.ndarray
    out_of_view: np.ndarray
    full_occlusion: np.ndarray
    visible_ratio: np.ndarray
    meta: dict[str, str]


def _wave(rng: np.random.Generator, n: int, amplitude: float, period: tuple[float, float]) -> np.ndarray:
    """A smooth random curve (one sinusoid) that is 0 at t=0."""
    t = np.arange(n, dtype=np.float64)
    p, phase = rng.uniform(*period), rng.uniform(0, 2 * math.pi)
    return amplitude * (np.sin(2 * math.pi * t / p + phase) - math.sin(phase))


def _reflect(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold values into [lo, hi] as a ball bouncing off walls (continuous, so motion stays smooth)."""
    span = max(hi - lo, 1e-6)
    u = np.mod(v - lo, 2 * span)
    return lo + np.where(u > span, 2 * span - u, u)


def _soft_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A soft mask with an irregular border: an ellipse or a rounded rectangle, (h, w) float32 in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (2 * x - (w - 1)) / w, (2 * y - (h - 1)) / h  # -1..1 across the patch
    theta = np.arctan2(v, u)
    wobble = np.zeros_like(theta)
    for k in range(2, 6):  # low-frequency ripples of the border make the outline irregular
        wobble += rng.uniform(0, 0.05) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    if rng.random() < 0.5:
        r = np.sqrt(u ** 2 + v ** 2)
    else:
        power = rng.uniform(4, 8)  # superellipse: a rectangle with rounded corners
        r = (np.abs(u) ** power + np.abs(v) ** power) ** (1 / power)
    edge = 0.88 * (1 + wobble)
    softness = 2.5 / min(h, w)  # about two patch pixels of feathering
    return np.clip((edge - r) / softness + 0.5, 0, 1).astype(np.float32)


def _cut_patch(rng: np.random.Generator, photo: Photo, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut a textured patch (pixels, mask) from a photo; `size` is its side in photo pixels before aspect."""
    ph, pw = photo.image.shape[:2]
    aspect = math.exp(rng.uniform(-0.5, 0.5))
    w = int(np.clip(size * math.sqrt(aspect), 16, pw - 2))
    h = int(np.clip(size / math.sqrt(aspect), 16, ph - 2))
    best, best_std = None, -1.0
    for _ in range(6):  # keep the most textured of a few candidates: a flat patch is hard to track
        x0, y0 = int(rng.integers(0, pw - w + 1)), int(rng.integers(0, ph - h + 1))
        std = float(photo.image[y0:y0 + h:4, x0:x0 + w:4].std())
        if std > best_std:
            best, best_std = (x0, y0), std
    x0, y0 = best
    pixels = photo.image[y0:y0 + h, x0:x0 + w].astype(np.float32)
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    pixels = pixels * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)  # gain and bias
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        hsv = cv2.cvtColor(pixels, cv2.COLOR_BGR2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(rng.integers(0, 180))) % 180
        pixels = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return np.ascontiguousarray(pixels), _soft_mask(rng, h, w)


def _half_extent(layer_w: int, layer_h: int, scale: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Half width and height (N, 2) of the rotated, scaled patch rectangle in frame pixels."""
    c, s = np.abs(np.cos(angle)), np.abs(np.sin(angle))
    return 0.5 * scale[:, None] * np.stack([layer_w * c + layer_h * s, layer_w * s + layer_h * c], axis=1)


def _exit_offset(rng: np.random.Generator, center: np.ndarray, half: np.ndarray, size: float, width: int,
                 height: int) -> np.ndarray:
    """Offsets (N, 2) that carry the object out of the nearest image side and back, once.

    The excursion starts where the object is close to a side (as a real object leaves a view), and lasts long
    enough that the object never moves faster than about a fifth of its size per frame.
    """
    n = len(center)
    first, last = max(1, int(0.15 * n)), max(2, int(0.65 * n))
    gaps = np.stack([center[:, 0], width - center[:, 0], center[:, 1], height - center[:, 1]], axis=1)  # (N, 4)
    nearest = gaps.min(axis=1)[first:last] * rng.uniform(1.0, 1.5, last - first)  # jitter varies the moment
    start = first + int(np.argmin(nearest))
    side = int(np.argmin(gaps[start]))  # left, right, top, bottom
    axis, sign = side // 2, (-1.0 if side % 2 == 0 else 1.0)
    limit = 0.0 if sign < 0 else (width if axis == 0 else height)
    need = np.abs(limit - center[:, axis]) + half[:, axis] + 2  # shift that puts the far edge past the side
    # ramp out over 40 %, stay out for 20 %, come back over 40 %: a smoothstep bump (peak slope 1.5 / ramp)
    stretch = rng.uniform(1.0, 1.3)
    length = 6
    for _ in range(2):  # the object drifts while it is out, so size the ramps by the largest shift needed
        largest = float(need[start:start + length + 1].max())
        length = int(np.clip(stretch * max(3.0, 1.5 * largest / (0.2 * size)) / 0.4, 6, max(6, 0.6 * n)))
    t = (np.arange(n) - start) / length
    ramp = np.clip(np.minimum(t, 1 - t) / 0.4, 0, 1)
    bump = ramp * ramp * (3 - 2 * ramp)
    offset = np.zeros_like(center)
    offset[:, axis] = sign * bump * need
    return offset


def _plan_target(rng: np.random.Generator, photo: Photo, n: int, width: int, height: int,
                 cfg: SyntheticConfig) -> tuple[_Layer, bool]:
    side = min(width, height)
    target_size = rng.uniform(*cfg.object_size) * side
    patch_side = rng.uniform(0.15, 0.45) * min(photo.image.shape[:2])
    pixels, alpha = _cut_patch(rng, photo, patch_side)
    ph, pw = alpha.shape
    s0 = target_size / math.sqrt(ph * pw)
    scale = s0 * np.exp(_wave(rng, n, rng.uniform(0.05, 0.3), (60, 200)))
    angle = _wave(rng, n, math.radians(rng.uniform(0, cfg.max_rotation_deg)) / 2, (50, 160))
    half = _half_extent(pw, ph, scale, angle)
    hx0, hy0 = half[0]
    start = np.array([rng.uniform(hx0 + 2, width - hx0 - 2), rng.uniform(hy0 + 2, height - hy0 - 2)])
    path = np.stack([_wave(rng, n, rng.uniform(*cfg.speed) * width, (90, 220))
                     + _wave(rng, n, rng.uniform(0.02, 0.06) * width, (30, 70)),
                     _wave(rng, n, rng.uniform(*cfg.speed) * height, (90, 220))
                     + _wave(rng, n, rng.uniform(0.02, 0.06) * height, (30, 70))], axis=1)
    # bounce inside the frame; the bounds let at most ~20 % of the object's half-size leave the image
    lo, hi = 0.8 * np.array([hx0, hy0]), np.array([width, height]) - 0.8 * np.array([hx0, hy0])
    lo, hi = np.minimum(lo, start), np.maximum(hi, start)
    center = np.stack([_reflect(start[k] + path[:, k], lo[k], hi[k]) for k in range(2)], axis=1)
    leaves = bool(rng.random() < cfg.exit_prob) and n >= 8
    if leaves:
        center = center + _exit_offset(rng, center, half, target_size, width, height)
    return _Layer(pixels, alpha, center, scale, angle), leaves


def _plan_occluder(rng: np.random.Generator, photo: Photo, target: _Layer, n: int, side: int) -> _Layer | None:
    th, tw = target.alpha.shape
    target_size = target.scale[0] * math.sqrt(th * tw)
    patch_side = rng.uniform(0.1, 0.35) * min(photo.image.shape[:2])
    pixels, alpha = _cut_patch(rng, photo, patch_side)
    oh, ow = alpha.shape
    # smaller than the object in both directions, so it hides part of it but never all of it
    s = rng.uniform(0.45, 0.8) * min(th, tw) * float(target.scale.min()) / max(oh, ow)
    r_target = 0.5 * target.scale.max() * math.hypot(tw, th)
    r_occ = 0.5 * s * math.hypot(ow, oh)
    for _ in range(10):
        t_cross = rng.uniform(0.25, 0.85) * (n - 1)
        heading = rng.uniform(0, 2 * math.pi)
        direction = np.array([math.cos(heading), math.sin(heading)])
        speed = rng.uniform(0.01, 0.03) * side
        lateral = rng.uniform(-0.35, 0.35) * target_size * np.array([-direction[1], direction[0]])
        cross = target.center[int(round(t_cross))] + lateral
        t = np.arange(n, dtype=np.float64)[:, None]
        center = cross + (t - t_cross) * speed * direction
        if np.linalg.norm(center[0] - target.center[0]) > r_target + r_occ + 2:  # first frame stays unoccluded
            angle = np.full(n, rng.uniform(-0.3, 0.3))
            return _Layer(pixels, alpha, center, np.full(n, s), angle)
    return None


def _camera(rng: np.random.Generator, photo: Photo, n: int, width: int, height: int,
            cfg: SyntheticConfig) -> np.ndarray:
    """Inverse affine maps (N, 2, 3) from frame pixels to background-photo pixels: a slow pan, zoom and roll."""
    ph, pw = photo.image.shape[:2]
    base = max(width / pw, height / ph) * rng.uniform(1.15, 1.6)  # frame pixels per photo pixel
    zoom = np.exp(_wave(rng, n, rng.uniform(0, cfg.camera_zoom), (100, 300)))
    roll = _wave(rng, n, math.radians(rng.uniform(0, 2.0)), (100, 300))
    min_scale = base * math.exp(-2 * cfg.camera_zoom)
    slack = np.maximum(np.array([pw, ph]) / 2 - np.array([width, height]) / (2 * min_scale), 0)
    middle = np.array([pw, ph]) / 2
    start = middle + rng.uniform(-1, 1, 2) * slack
    # the view centre pans smoothly and bounces inside the photo, so the frame rarely shows its mirrored border
    pan = np.stack([_reflect(start[k] + _wave(rng, n, rng.uniform(0.3, 1.0) * slack[k], (120, 300)),
                             middle[k] - slack[k], middle[k] + slack[k] + 1e-3) for k in range(2)], axis=1)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    fc = np.array([(width - 1) / 2, (height - 1) / 2])
    maps = np.zeros((n, 2, 3))
    for i in range(n):
        c, s = math.cos(roll[i]), math.sin(roll[i])
        a = np.array([[c * flip, -s], [s * flip, c]]) / (base * zoom[i])
        maps[i, :, :2] = a
        maps[i, :, 2] = pan[i] - a @ fc
    return maps


def plan_sequence(seed: int, split: str, index: int, num_frames: int, width: int, height: int,
                  config: SyntheticConfig | None = None) -> SequencePlan:
    """Draw every random choice of one sequence (photos, patches, motion, camera, occluder).

    Args:
        seed: dataset seed.
        split: split name ("train", "val", "test" or any tag); part of the sequence's random stream.
        index: sequence number within the split (1-based in the writers).
        num_frames: frames in the sequence.
        width: frame width in pixels.
        height: frame height in pixels.
        config: scene knobs (defaults when None).
    """
    cfg = config or SyntheticConfig()
    photos = load_photos()
    rng = sequence_rng(seed, split, index)
    color = [i for i, p in enumerate(photos) if p.color]
    obj = int(rng.choice(color))
    background = int(rng.choice([i for i in range(len(photos)) if i != obj]))
    occ_choices = [i for i in range(len(photos)) if i != obj]
    target, leaves = _plan_target(rng, photos[obj], num_frames, width, height, cfg)
    occluder, occluder_name = None, "none"
    if rng.random() < cfg.occlusion_prob:
        occ = int(rng.choice(occ_choices))
        occluder = _plan_occluder(rng, photos[occ], target, num_frames, min(width, height))
        occluder_name = photos[occ].name if occluder is not None else "none"
    camera = _camera(rng, photos[background], num_frames, width, height, cfg)
    th, tw = target.alpha.shape
    size = float(target.scale.mean()) * math.sqrt(th * tw)
    speed = float(np.median(np.linalg.norm(np.diff(target.center, axis=0), axis=1))) if num_frames > 1 else 0.0
    adverb = "slowly" if speed < 0.04 * size else ("quickly" if speed > 0.12 * size else "moderately")
    meta = {"photo": photos[obj].name, "object_class": f"{photos[obj].name} patch",
            "motion_class": "leaving and returning" if leaves else "moving", "major_class": "photo patch",
            "root_class": "synthetic object", "motion_adverb": adverb, "background": photos[background].name,
            "occluder": occluder_name}
    return SequencePlan(width, height, num_frames, background, camera, target, occluder, meta)


def _layer_affine(layer: _Layer, i: int) -> np.ndarray:
    """Forward map (2, 3) from patch pixels to frame pixels at frame i."""
    h, w = layer.alpha.shape
    c, s = math.cos(layer.angle[i]), math.sin(layer.angle[i])
    a = layer.scale[i] * np.array([[c, -s], [s, c]])
    m = np.zeros((2, 3))
    m[:, :2] = a
    m[:, 2] = layer.center[i] - a @ np.array([(w - 1) / 2, (h - 1) / 2])
    return m


def _warp_layer(layer: _Layer, i: int, with_pixels: bool) -> tuple[int, int, np.ndarray, np.ndarray | None]:
    """Warp a layer's mask (and pixels) into its own frame-aligned box: (x0, y0, alpha, pixels)."""
    h, w = layer.alpha.shape
    m = _layer_affine(layer, i)
    corners = m[:, :2] @ np.array([[0, w - 1, 0, w - 1], [0, 0, h - 1, h - 1]], dtype=np.float64) + m[:, 2:]
    x0, y0 = int(math.floor(corners[0].min())) - 1, int(math.floor(corners[1].min())) - 1
    x1, y1 = int(math.ceil(corners[0].max())) + 2, int(math.ceil(corners[1].max())) + 2
    m_roi = m.copy()
    m_roi[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(layer.alpha, m_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
    pixels = None
    if with_pixels:
        # replicate the border so the feathered edge blends with object colours, not black
        pixels = cv2.warpAffine(layer.pixels, m_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return x0, y0, alpha, pixels


def _clip_rect(x0: int, y0: int, shape: tuple[int, ...], width: int, height: int) -> tuple[int, int, int, int]:
    return max(x0, 0), max(y0, 0), min(x0 + shape[1], width), min(y0 + shape[0], height)


def _composite(frame: np.ndarray, x0: int, y0: int, alpha: np.ndarray, pixels: np.ndarray) -> None:
    """Alpha-blend a warped layer into the frame in place (only the part inside the image)."""
    fh, fw = frame.shape[:2]
    ix0, iy0, ix1, iy1 = _clip_rect(x0, y0, alpha.shape, fw, fh)
    if ix0 >= ix1 or iy0 >= iy1:
        return
    a = alpha[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0, None]  # (h, w, 1)
    p = pixels[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0].astype(np.float32)
    roi = frame[iy0:iy1, ix0:ix1]
    roi[:] = (roi.astype(np.float32) * (1 - a) + p * a + 0.5).astype(np.uint8)


def _frame_truth(plan: SequencePlan, i: int, target: tuple, occluder: tuple | None) -> tuple:
    """Ground truth of frame i from the warped masks: (box, in-image pixels, visible pixels, object pixels)."""
    x0, y0, alpha, _ = target
    mask = alpha >= 0.5  # (h, w) the object's pixels, in and out of the image
    total = int(mask.sum())
    ix0, iy0, ix1, iy1 = _clip_rect(x0, y0, mask.shape, plan.width, plan.height)
    if ix0 >= ix1 or iy0 >= iy1:
        return (0, 0, 0, 0), 0, 0, total
    inside = mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
    n_inside = int(inside.sum())
    if n_inside == 0:
        return (0, 0, 0, 0), 0, 0, total
    cols, rows = np.flatnonzero(inside.any(axis=0)), np.flatnonzero(inside.any(axis=1))
    box = (ix0 + int(cols[0]), iy0 + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    visible = inside
    if occluder is not None:
        ox0, oy0, oalpha, _ = occluder
        # the occluder's mask on the object's in-image rectangle
        cx0, cy0 = max(ix0, ox0), max(iy0, oy0)
        cx1, cy1 = min(ix1, ox0 + oalpha.shape[1]), min(iy1, oy0 + oalpha.shape[0])
        if cx0 < cx1 and cy0 < cy1:
            hidden = np.zeros_like(inside)
            hidden[cy0 - iy0:cy1 - iy0, cx0 - ix0:cx1 - ix0] = oalpha[cy0 - oy0:cy1 - oy0, cx0 - ox0:cx1 - ox0] >= 0.5
            visible = inside & ~hidden
    return box, n_inside, int(visible.sum()), total


def _cover(visible: int, total: int) -> int:
    """Visible fraction in eighths: 0 iff nothing is visible, 8 iff everything is, 1..7 otherwise."""
    if visible <= 0:
        return 0
    if visible >= total:
        return 8
    return int(min(7, max(1, math.ceil(8 * visible / total))))


def _iterate(plan: SequencePlan, render: bool) -> Iterator[tuple[np.ndarray | None, tuple]]:
    photos = load_photos() if render else None
    for i in range(plan.num_frames):
        target = _warp_layer(plan.target, i, render)
        occluder = _warp_layer(plan.occluder, i, render) if plan.occluder is not None else None
        truth = _frame_truth(plan, i, target, occluder)
        frame = None
        if render:
            frame = cv2.warpAffine(photos[plan.background].image, plan.camera[i], (plan.width, plan.height),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101)
            _composite(frame, target[0], target[1], target[2], target[3])
            if occluder is not None:
                _composite(frame, occluder[0], occluder[1], occluder[2], occluder[3])
        yield frame, truth


def _collect(plan: SequencePlan, truths: list[tuple]) -> SequenceAnnotation:
    boxes = np.array([t[0] for t in truths], dtype=np.int64).reshape(-1, 4)
    inside = np.array([t[1] for t in truths], dtype=np.int64)
    visible = np.array([t[2] for t in truths], dtype=np.int64)
    total = np.array([t[3] for t in truths], dtype=np.int64)
    cover = np.array([_cover(v, t) for v, t in zip(visible, total)], dtype=np.uint8)
    return SequenceAnnotation(
        boxes_xywh=boxes, absent=(visible == 0).astype(np.uint8), cover=cover,
        cut_by_image=(inside < total).astype(np.uint8), out_of_view=(inside == 0).astype(np.uint8),
        full_occlusion=((inside > 0) & (visible == 0)).astype(np.uint8),
        visible_ratio=visible / np.maximum(total, 1), meta=dict(plan.meta))


def render_sequence(plan: SequencePlan) -> Iterator[tuple[np.ndarray, tuple]]:
    """Yield (frame (H, W, 3) uint8 BGR, raw truth) per frame; feed the truths to :func:`annotate_sequence`."""
    yield from _iterate(plan, render=True)


def annotate_sequence(plan: SequencePlan, truths: list[tuple] | None = None) -> SequenceAnnotation:
    """The ground truth of a planned sequence; computed without rendering pixels when `truths` is None."""
    if truths is None:
        truths = [truth for _, truth in _iterate(plan, render=False)]
    return _collect(plan, truths)
