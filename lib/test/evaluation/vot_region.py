"""VOT ground-truth regions: parsing (rectangles, polygons, RLE masks), box conversions and region overlap.

A VOT ``groundtruth.txt`` holds one region per line, comma-separated (whitespace is accepted too):

* ``x,y,w,h``: an axis-aligned rectangle (VOT2022 short-term box, GOT-10k-style files);
* ``x1,y1,x2,y2,x3,y3,x4,y4`` (or more points): a polygon, e.g. VOT2016-2019's rotated rectangles;
* ``m<x0>,<y0>,<w>,<h>,<run>,<run>,...``: a binary mask (VOT2020 on), ``w x h`` pixels at offset ``(x0, y0)``,
  run-length encoded in row-major order, runs alternating 0s and 1s, starting with 0s;
* a single number (the toolkit's special codes, ``0`` = unknown) or a rectangle without a positive size (e.g.
  ``-1,-1,-1,-1`` where a GOT-10k-style annotation marks an absent target): no region, an empty mask.

Box conversions:

* :func:`region_to_box_minmax`: the axis-aligned min/max box; what OSTrack's (pytracking's) VOT dataset gives the
  tracker for one-pass evaluation (ostrack-spec 7.5).
* :func:`pysot_init_box`: PySOT's ``get_axis_aligned_bbox`` (pysot-spec 10.4): the box centred on the corners' mean
  whose area equals the polygon's, grown by one pixel, then turned into ``[cx - (w-1)/2, cy - (h-1)/2, w, h]``;
  for a rectangle that is ``[x + 0.5, y + 0.5, w, h]``. The reset protocol initialises with it.

:func:`region_overlap` is the IoU of a predicted rectangle and a ground-truth region, both clipped to the image
(PySOT's ``vot_overlap(pred, gt, (W, H))``). It is computed exactly in continuous coordinates (polygon clipping
and the shoelace formula; a mask pixel ``(i, j)`` is the unit square ``[j, j+1] x [i, i+1]``), where the VOT C
library rasterises; the two agree up to the rasterisation of the region borders.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from lib.utils.errors import OSTrackError

__all__ = ["RegionFormatError", "Polygon", "Mask", "Region", "parse_region", "format_region", "rect_polygon",
           "pysot_rect_polygon", "decode_rle", "encode_rle", "EMPTY", "region_is_empty", "region_bounds",
           "region_to_box_minmax", "pysot_init_box", "polygon_area", "clip_polygon", "region_overlap"]


class RegionFormatError(OSTrackError):
    """A line of a VOT ground-truth file is not a rectangle, a polygon or a mask."""


@dataclass(frozen=True)
class Polygon:
    """A polygon region; a rectangle is a 4-point polygon.

    Attributes:
        points: (K, 2) float64 x, y vertices, K >= 3 (consecutive vertices are joined, the last to the first).
        is_rect: the region was given as an ``x,y,w,h`` rectangle.
    """

    points: np.ndarray
    is_rect: bool = False


@dataclass(frozen=True)
class Mask:
    """A binary mask region.

    Attributes:
        offset: (x0, y0) of the mask's top-left pixel in the image.
        mask: (h, w) bool array.
    """

    offset: tuple[int, int]
    mask: np.ndarray


Region = Polygon | Mask

#: no region (the target is not visible, or its position is unknown)
EMPTY = Mask((0, 0), np.zeros((0, 0), dtype=bool))


def rect_polygon(x: float, y: float, w: float, h: float) -> np.ndarray:
    """(4, 2) corners of the rectangle ``[x, x + w] x [y, y + h]`` (continuous coordinates)."""
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)


def pysot_rect_polygon(x: float, y: float, w: float, h: float) -> np.ndarray:
    """A rectangle ground truth as PySOT's VOT branch converts it: ``[x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y]``.

    matches PySOT: the corners are the inclusive pixel indices, so the polygon is one pixel narrower and shorter
    than the rectangle (pysot-spec 10.5).
    """
    return np.array([[x, y], [x, y + h - 1], [x + w - 1, y + h - 1], [x + w - 1, y]], dtype=np.float64)


def decode_rle(runs: list[int], width: int, height: int) -> np.ndarray:
    """(height, width) bool mask of VOT's run-length encoding (row-major, runs of 0s and 1s, 0s first)."""
    runs_arr = np.asarray(runs, dtype=np.int64)
    if (runs_arr < 0).any() or runs_arr.sum() > width * height:
        raise RegionFormatError(f"mask runs {runs[:8]}... do not fit a {width}x{height} mask (runs must be >= 0 and "
                                f"sum to at most {width * height}).")
    values = np.arange(len(runs_arr)) % 2 == 1
    flat = np.repeat(values, runs_arr)
    flat = np.concatenate([flat, np.zeros(width * height - flat.size, dtype=bool)])
    return flat.reshape(height, width)


def encode_rle(mask: np.ndarray) -> list[int]:
    """VOT's run-length encoding of a (h, w) mask (row-major, alternating runs, 0s first; the inverse of
    :func:`decode_rle`)."""
    flat = np.asarray(mask, dtype=bool).reshape(-1)
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0, *runs] if flat[0] else runs


_SEPARATORS = re.compile(r"[,\s]+")


def parse_region(line: str, where: str = "") -> Region:
    """One ground-truth line as a :data:`Region` (see the module docstring for the formats).

    Args:
        line: the text of the line.
        where: ``file:line`` for error messages.

    Raises:
        RegionFormatError: an empty line, non-numeric values, or a number of values that is neither 4 nor an even
            number >= 6.
    """
    text = line.strip()
    prefix = f"{where}: " if where else ""
    if text.startswith("m"):
        try:
            values = [int(float(v)) for v in _SEPARATORS.split(text[1:].strip()) if v]
        except ValueError:
            raise RegionFormatError(f"{prefix}a mask line must be 'm' followed by integers x0,y0,w,h,runs...; got "
                                    f"{text[:60]!r}.") from None
        if len(values) < 4 or values[2] < 0 or values[3] < 0:
            raise RegionFormatError(f"{prefix}a mask line needs x0,y0,w,h (w, h >= 0) before its runs; got "
                                    f"{text[:60]!r}.")
        x0, y0, w, h = values[:4]
        return Mask((x0, y0), decode_rle(values[4:], w, h))
    try:
        values = [float(v) for v in _SEPARATORS.split(text) if v]
    except ValueError:
        raise RegionFormatError(f"{prefix}expected numbers separated by commas (x,y,w,h or x1,y1,...,x4,y4) or a mask "
                                f"line 'm...'; got {text[:60]!r}.") from None
    if len(values) == 1:
        return EMPTY
    if len(values) == 4:
        if not (np.isfinite(values).all() and values[2] > 0 and values[3] > 0):
            return EMPTY
        return Polygon(rect_polygon(*values), is_rect=True)
    if len(values) >= 6 and len(values) % 2 == 0:
        return Polygon(np.asarray(values, dtype=np.float64).reshape(-1, 2))
    raise RegionFormatError(f"{prefix}{len(values)} values; a region is 4 values (x,y,w,h), an even number >= 6 "
                            f"(polygon x1,y1,x2,y2,...), a mask line 'm...' or a special code; got {text[:60]!r}.")


def format_region(region: Region) -> str:
    """A region as one line of a VOT ``groundtruth.txt`` (``x,y,w,h``, polygon points, or ``m...`` for a mask)."""
    if region_is_empty(region):
        return "0"
    if isinstance(region, Mask):
        h, w = region.mask.shape
        values = (region.offset[0], region.offset[1], w, h, *encode_rle(region.mask))
        return "m" + ",".join(str(int(v)) for v in values)
    if region.is_rect:
        return ",".join(f"{v:g}" for v in region_to_box_minmax(region))
    return ",".join(f"{v:g}" for v in region.points.reshape(-1))


def region_is_empty(region: Region) -> bool:
    """Whether a region holds nothing (an empty mask, or a polygon without area): no target to compare with."""
    if isinstance(region, Mask):
        return not region.mask.any()
    return not (np.isfinite(region.points).all() and polygon_area(region.points) > 0)


def region_bounds(region: Region) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) of the region's extent; a mask's pixels count whole (None for an empty mask)."""
    if isinstance(region, Mask):
        rows, cols = np.nonzero(region.mask)
        if rows.size == 0:
            return None
        x0, y0 = region.offset
        return float(x0 + cols.min()), float(y0 + rows.min()), float(x0 + cols.max() + 1), float(y0 + rows.max() + 1)
    pts = region.points
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def region_to_box_minmax(region: Region) -> list[float]:
    """The axis-aligned min/max box ``[x, y, w, h]`` (OSTrack's VOT dataset; an empty mask gives zeros)."""
    bounds = region_bounds(region)
    if bounds is None:
        return [0.0, 0.0, 0.0, 0.0]
    x1, y1, x2, y2 = bounds
    return [x1, y1, x2 - x1, y2 - y1]


def pysot_init_box(region: Region) -> list[float]:
    """The box the reset protocol initialises with: PySOT's ``get_axis_aligned_bbox`` (pysot-spec 10.4).

    A rectangle ``x,y,w,h`` gives ``cx = x + w/2`` and keeps ``w, h``. A polygon (its first four points, as PySOT
    reads 8 values) gives ``cx, cy`` = the corners' mean and ``w = s (x2 - x1) + 1``, ``h = s (y2 - y1) + 1`` with
    ``s = sqrt(|p0 - p1| |p1 - p2| / ((x2 - x1)(y2 - y1)))``, so the box keeps the polygon's area. A mask uses its
    bounding rectangle. The result is ``[cx - (w-1)/2, cy - (h-1)/2, w, h]``.

    matches PySOT: the init box of a rectangle is [x+0.5, y+0.5, w, h] (pysot-spec quirk 35).
    """
    if isinstance(region, Mask) or region.is_rect:
        x, y, w, h = region_to_box_minmax(region)
        cx, cy = x + w / 2, y + h / 2
    else:
        pts = region.points[:4]
        cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
        x1, y1 = float(pts[:, 0].min()), float(pts[:, 1].min())
        x2, y2 = float(pts[:, 0].max()), float(pts[:, 1].max())
        a1 = float(np.linalg.norm(pts[0] - pts[1]) * np.linalg.norm(pts[1] - pts[2]))
        a2 = (x2 - x1) * (y2 - y1)
        s = math.sqrt(a1 / a2) if a2 > 0 else 1.0
        w, h = s * (x2 - x1) + 1, s * (y2 - y1) + 1
    return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula; either orientation)."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clip_half_plane(points: list[tuple[float, float]], axis: int, limit: float, keep_above: bool):
    out: list[tuple[float, float]] = []
    n = len(points)
    for k in range(n):
        cur, nxt = points[k], points[(k + 1) % n]
        cur_in = cur[axis] >= limit if keep_above else cur[axis] <= limit
        nxt_in = nxt[axis] >= limit if keep_above else nxt[axis] <= limit
        if cur_in:
            out.append(cur)
        if cur_in != nxt_in:
            t = (limit - cur[axis]) / (nxt[axis] - cur[axis])
            out.append((cur[0] + t * (nxt[0] - cur[0]), cur[1] + t * (nxt[1] - cur[1])))
    return out


def clip_polygon(points: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """The part of a polygon inside the rectangle ``[x1, x2] x [y1, y2]`` (Sutherland-Hodgman against its four
    sides; the area is exact also for a non-convex polygon). Returns (K, 2), possibly empty."""
    pts = [(float(x), float(y)) for x, y in points]
    for axis, limit, above in ((0, x1, True), (0, x2, False), (1, y1, True), (1, y2, False)):
        if not pts:
            break
        pts = _clip_half_plane(pts, axis, limit, above)
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def _mask_cover(region: Mask, rect: tuple[float, float, float, float]) -> float:
    """Area of the mask's pixels (unit squares) inside ``rect`` = (x1, y1, x2, y2)."""
    x0, y0 = region.offset
    h, w = region.mask.shape
    cols = np.arange(w, dtype=np.float64) + x0
    rows = np.arange(h, dtype=np.float64) + y0
    cover_x = np.clip(np.minimum(cols + 1, rect[2]) - np.maximum(cols, rect[0]), 0, 1)
    cover_y = np.clip(np.minimum(rows + 1, rect[3]) - np.maximum(rows, rect[1]), 0, 1)
    return float(cover_y @ region.mask.astype(np.float64) @ cover_x)


def region_overlap(box_xywh, region: Region, image_size: tuple[int, int] | None = None) -> float:
    """IoU of a predicted ``[x, y, w, h]`` rectangle and a ground-truth region, both clipped to the image.

    Args:
        box_xywh: the prediction (continuous coordinates, ``[x, x + w] x [y, y + h]``).
        region: the ground truth (:func:`parse_region`).
        image_size: (width, height) bounds; None: no clipping.

    Returns 0 when the union is empty (a ground truth outside the image, a zero-size box).
    """
    x, y, w, h = (float(v) for v in box_xywh)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return 0.0
    big = 1e12
    if image_size:
        bx1, by1, bx2, by2 = 0.0, 0.0, float(image_size[0]), float(image_size[1])
    else:
        bx1, by1, bx2, by2 = -big, -big, big, big
    px1, py1, px2, py2 = max(x, bx1), max(y, by1), min(x + w, bx2), min(y + h, by2)
    pred_area = max(px2 - px1, 0.0) * max(py2 - py1, 0.0)
    if isinstance(region, Mask):
        gt_area = _mask_cover(region, (bx1, by1, bx2, by2))
        inter = _mask_cover(region, (px1, py1, px2, py2)) if pred_area > 0 else 0.0
    else:
        gt = clip_polygon(region.points, bx1, by1, bx2, by2)
        gt_area = polygon_area(gt)
        inter = polygon_area(clip_polygon(gt, px1, py1, px2, py2)) if pred_area > 0 and len(gt) else 0.0
    union = pred_area + gt_area - inter
    return float(inter / union) if union > 0 else 0.0
