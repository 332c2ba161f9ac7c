"""PySOT's pre-cropped training data (spec 6.1-6.2): ``crop511`` folders and the ``train.json`` of gen_json.py.

For users who already ran PySOT's preprocessing (or downloaded its crops). Layout::

    <root>/<video>/<frame:06d>.<track>.x.jpg      511x511 context crops (the .z.jpg files are not read)
    <anno>: {"<video>": {"<track>": {"<frame>": [x1, y1, x2, y2] or [w, h], ...}, ...}, ...}

:class:`PrecroppedSource` feeds these to :class:`~lib.train.data.siamese.pair_dataset.SiamesePairDataset`
through the same video interface as crops made on the fly, with PySOT's ``SubDataset`` loading rules: boxes
without a positive width and height are dropped, frames are the keys made of digits only, sorted as integers,
tracks without frames and videos without tracks disappear (one warning with the counts). Frames are looked up
by their integer value, so keys written without the 6-digit padding also work (PySOT would fail on them).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from lib.train.dataset.base_video_dataset import AnnotationError, EmptyDatasetError
from lib.train.dataset.storage import FolderStorage, ImageDecoder
from lib.utils.errors import DatasetNotFoundError, OSTrackError

__all__ = ["PrecroppedSource", "PrecroppedLayoutError", "crop_file_name"]

logger = logging.getLogger(__name__)


class PrecroppedLayoutError(OSTrackError):
    """A pre-cropped annotation file is not in the layout of PySOT's gen_json.py."""


def crop_file_name(frame: int, track: str, kind: str = "x") -> str:
    """The crop file of a frame and track: ``{frame:06d}.{track}.{kind}.jpg`` (kind 'x': 511, 'z': 127)."""
    return f"{int(frame):06d}.{track}.{kind}.jpg"


def _box_ok(value) -> bool:
    if not isinstance(value, (list, tuple)) or len(value) not in (2, 4):
        return False
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return False
    w, h = (numbers[2] - numbers[0], numbers[3] - numbers[1]) if len(numbers) == 4 else numbers
    return math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0


class PrecroppedSource:
    """Videos of a PySOT crop511 folder and its annotation json.

    Args:
        root: the crop511 folder.
        anno: the json written by gen_json.py.
        name: dataset name in logs and batches (e.g. 'VID').
        image_loader: image decoder (bytes -> RGB uint8); default the framework's.
    """

    def __init__(self, root: str | os.PathLike, anno: str | os.PathLike, name: str = "precropped",
                 image_loader: ImageDecoder | None = None):
        self.root, self.anno, self.name = Path(root), Path(anno), name
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"dataset {name}: the crop folder {self.root} does not exist. Give the crop511 "
                                       f"folder of PySOT's pre-cropping as DATASET.{name}.ROOT.")
        if not self.anno.is_file():
            raise DatasetNotFoundError(f"dataset {name}: the annotation file {self.anno} does not exist. Give the "
                                       f"json of PySOT's gen_json.py as DATASET.{name}.ANNO.")
        try:
            with open(self.anno, encoding="utf-8") as f:
                meta = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise PrecroppedLayoutError(f"dataset {name}: {self.anno} is not valid JSON ({err}). Expected the json "
                                        f"of PySOT's gen_json.py: {{video: {{track: {{frame: [x1, y1, x2, y2]}}}}}}.")
        if not isinstance(meta, dict):
            raise PrecroppedLayoutError(f"dataset {name}: {self.anno} holds a {type(meta).__name__}, expected a dict "
                                        f"{{video: {{track: {{frame: [x1, y1, x2, y2]}}}}}} as gen_json.py writes.")
        self.storage = FolderStorage(self.root, image_loader)
        self.videos: list[str] = []
        # per video: [(track key, frames (n,) int64 sorted, boxes (n, 4) float64 corners; (w, h) as (0, 0, w, h))]
        self._tracks: list[list[tuple[str, np.ndarray, np.ndarray]]] = []
        dropped = {"boxes": 0, "tracks": 0, "videos": 0}
        for video, tracks in meta.items():
            if not isinstance(tracks, dict):
                raise PrecroppedLayoutError(f"dataset {name}: in {self.anno}, video {video!r} maps to a "
                                            f"{type(tracks).__name__}, expected a dict of tracks.")
            kept = []
            for track, frames in tracks.items():
                parsed = self._parse_track(video, track, frames, dropped)
                if parsed is not None:
                    kept.append(parsed)
                else:
                    dropped["tracks"] += 1
            if kept:
                self.videos.append(str(video))
                self._tracks.append(kept)
            else:
                dropped["videos"] += 1
        if any(dropped.values()):
            logger.warning("%s (%s): dropped %d boxes without positive width and height, %d tracks without frames "
                           "and %d videos without tracks", name, self.anno, dropped["boxes"], dropped["tracks"],
                           dropped["videos"])
        if not self.videos:
            raise EmptyDatasetError(f"dataset {name}: {self.anno} lists no video with a usable box (w > 0 and h > 0); "
                                    f"check that it is the json of PySOT's gen_json.py for {self.root}.")

    def _parse_track(self, video: str, track: str, frames, dropped: dict) -> tuple | None:
        if not isinstance(frames, dict):
            raise PrecroppedLayoutError(f"dataset {self.name}: in {self.anno}, track {track!r} of video {video!r} "
                                        f"maps to a {type(frames).__name__}, expected a dict of frames.")
        numbers, boxes = [], []
        for key, value in frames.items():
            if not str(key).isdigit():
                continue  # matches PySOT: only keys made of digits are frames
            if not _box_ok(value):
                dropped["boxes"] += 1
                continue
            box = [float(v) for v in value]
            numbers.append(int(key))
            boxes.append(box if len(box) == 4 else [0.0, 0.0, box[0], box[1]])
        if not numbers:
            return None
        order = np.argsort(numbers, kind="stable")
        return str(track), np.asarray(numbers, np.int64)[order], np.asarray(boxes, np.float64)[order]

    def __repr__(self) -> str:
        return f"PrecroppedSource({self.name!r}, root={str(self.root)!r}, anno={str(self.anno)!r})"

    def describe(self) -> str:
        return f"{self.name} (pre-cropped: {self.root}, {self.anno})"

    def num_videos(self) -> int:
        return len(self.videos)

    def tracks(self, video: int) -> list[np.ndarray]:
        return [frames for _, frames, _ in self._tracks[video]]

    def crops(self, video: int, track: int, frames: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(RGB 511 crop, original corner box) per requested frame; each distinct file is read once."""
        key, numbers, boxes = self._tracks[video][track]
        made = {}
        for frame in dict.fromkeys(int(f) for f in frames):
            i = int(np.searchsorted(numbers, frame))
            if i == len(numbers) or numbers[i] != frame:
                raise AnnotationError(f"{self.name}: frame {frame} is not annotated in track {key} of "
                                      f"{self.videos[video]}")
            image = self.storage.read_image(f"{self.videos[video]}/{crop_file_name(frame, key)}")
            made[frame] = (image, boxes[i])
        return [made[int(f)] for f in frames]
