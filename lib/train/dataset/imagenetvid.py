"""ImageNet VID (spec 5.2): every object track is a sequence; folder or LMDB.

Layout: ``<root>/Annotations/VID/train/<set>/<video>/<frame>.xml`` and
``<root>/Data/VID/train/ILSVRC2015_VID_train_<set:04d>/ILSVRC2015_train_<video:08d>/<frame:06d>.JPEG``.
The tracks are read from ``<root>/cache.json`` when it exists, else built from the XML files and written there
(the LMDB layout must hold ``cache.json``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import xml.etree.ElementTree as ET
from collections import OrderedDict

import numpy as np

from lib.train.dataset.base_video_dataset import (BaseVideoDataset, DatasetFileError, EmptyDatasetError,
                                                  frame_number_span, make_info, empty_meta, read_json)
from lib.train.dataset.storage import FolderStorage, ImageDecoder, Storage, make_storage

__all__ = ["ImagenetVID", "build_vid_tracks"]

logger = logging.getLogger(__name__)


def _tracks_of_video(storage: Storage, anno_dir: str, set_id: int, vid_id: int) -> list[dict]:
    files = sorted(f for f in storage.list_dir(anno_dir) if f.endswith(".xml"))
    if not files:
        return []
    trees = [ET.fromstring(storage.read_bytes(f"{anno_dir}/{f}")) for f in files]
    image_size = [int(trees[0].find("size/width").text), int(trees[0].find("size/height").text)]
    objects = [tree.findall("object") for tree in trees]
    starts: dict[str, int] = {}
    for f_id, targets in enumerate(objects):
        for target in targets:
            starts.setdefault(target.find("trackid").text, f_id)
    tracks = []
    for track_id, start in starts.items():
        anno, visible, class_name = [], [], None
        # a track runs from its first frame while the id is present in consecutive frames
        for f_id in range(start, len(objects)):
            target = next((t for t in objects[f_id] if t.find("trackid").text == track_id), None)
            if target is None:
                break
            class_name = class_name or target.find("name").text
            x1, y1 = int(target.find("bndbox/xmin").text), int(target.find("bndbox/ymin").text)
            x2, y2 = int(target.find("bndbox/xmax").text), int(target.find("bndbox/ymax").text)
            anno.append([x1, y1, x2 - x1, y2 - y1])
            visible.append(target.find("occluded").text == "0")
        tracks.append({"set_id": set_id, "vid_id": vid_id, "class_name": class_name, "start_frame": start,
                       "anno": anno, "target_visible": visible, "image_size": image_size})
    return tracks


def build_vid_tracks(storage: Storage) -> list[dict]:
    """Scan the XML annotations into the original's cache.json structure (a list of track dicts)."""
    base = "Annotations/VID/train"
    tracks = []
    for set_name in storage.list_dir(base):
        for vid_name in storage.list_dir(f"{base}/{set_name}"):
            tracks += _tracks_of_video(storage, f"{base}/{set_name}/{vid_name}", int(set_name.split("_")[-1]),
                                       int(vid_name.split("_")[-1]))
    return tracks


class ImagenetVID(BaseVideoDataset):
    """ImageNet VID object tracks.

    Args:
        root: the ILSVRC folder (or the LMDB folder with ``use_lmdb``).
        min_length: keep tracks longer than this.
        max_target_area: keep tracks whose first box has sqrt(box area / image area) below this.
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read the original's LMDB layout.
        name: dataset name reported in batches.
    """

    def __init__(self, root: str | os.PathLike | None = None, min_length: int = 0, max_target_area: float = 1,
                 storage: Storage | None = None, image_loader: ImageDecoder | None = None, use_lmdb: bool = False,
                 name: str = "imagenetvid"):
        storage = storage or make_storage(root, use_lmdb, decoder=image_loader)
        super().__init__(name, storage)
        if storage.exists("cache.json"):
            tracks = read_json(storage.read_bytes("cache.json"), storage.describe("cache.json"),
                               "the list of VID tracks written by this framework or the original")
            if not isinstance(tracks, list):
                raise DatasetFileError(f"{storage.describe('cache.json')} holds a {type(tracks).__name__}; expected "
                                       f"a list of VID tracks. Delete it to rebuild it from the XML annotations.")
        elif isinstance(storage, FolderStorage) and storage.is_dir("Annotations/VID/train"):
            tracks = build_vid_tracks(storage)
            try:
                with open(storage.path("cache.json"), "w", encoding="utf-8") as f:
                    json.dump(tracks, f)
            except OSError as err:
                logger.warning("cannot write the VID track cache %s: %s", storage.path("cache.json"), err)
        else:
            raise EmptyDatasetError(f"dataset {name}: neither {storage.describe('cache.json')} nor the XML "
                                    f"annotations under {storage.describe('Annotations/VID/train')} exist.")

        def area_ratio(t: dict) -> float:
            w, h = t["anno"][0][2], t["anno"][0][3]
            return math.sqrt(max(w * h, 0) / (t["image_size"][0] * t["image_size"][1]))

        self.sequence_list = [t for t in tracks if len(t["anno"]) > min_length and area_ratio(t) < max_target_area]
        if not self.sequence_list:
            raise EmptyDatasetError(f"dataset {name} under {storage.describe()} has no usable track.")
        self.class_list = sorted({t["class_name"] for t in self.sequence_list if t["class_name"]})

    def has_class_info(self) -> bool:
        return True

    def get_class_name(self, seq_id: int) -> str | None:
        return self.sequence_list[seq_id]["class_name"]

    @staticmethod
    def _video_dir(track: dict) -> str:
        return f"Data/VID/train/ILSVRC2015_VID_train_{track['set_id']:04d}/ILSVRC2015_train_{track['vid_id']:08d}"

    def _load_sequence_info(self, seq_id: int) -> dict:
        track = self.sequence_list[seq_id]
        bbox = np.array(track["anno"], dtype=np.float32).reshape(-1, 4)
        visible = np.array(track["target_visible"], dtype=bool)
        video = self._video_dir(track)
        name = f"{video.rsplit('/', 1)[-1]} (track {seq_id}, from frame {track['start_frame']})"
        names = self.storage.list_dir(video) if self.storage.is_dir(video) else []
        # the track's frames start at start_frame; the video may go on after the track ends (not a mismatch)
        frames = frame_number_span(names, r"(\d{6})\.JPEG", int(track["start_frame"]))
        n = self.align_lengths(name, self.storage.describe(video), frames=min(frames, len(bbox)),
                               boxes=len(bbox), visibility_flags=len(visible))
        return make_info(bbox[:n], visible[:n])

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        t = self.sequence_list[seq_id]
        return self.storage.read_image(f"{self._video_dir(t)}/{t['start_frame'] + frame_id:06d}.JPEG")

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        meta = empty_meta()
        del meta["object_class_name"]
        # matches OSTrack: the VID meta uses the key object_class, so the batch's test_class is None
        meta["object_class"] = self.get_class_name(seq_id)
        meta.move_to_end("object_class", last=False)
        return meta
