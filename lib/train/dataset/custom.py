"""A user's own sequences: ``<root>/<sequence>/{groundtruth.txt, frames}``, nothing else required.

Frames are the image files (.jpg, .jpeg, .png, .bmp) in the sequence folder, or in its ``img/`` sub-folder if
present, in natural name order (``frame2.jpg`` before ``frame10.jpg``). ``groundtruth.txt`` holds one x,y,w,h box
per frame (commas, tabs or spaces). Optional ``absence.label`` (1 = target absent, one flag per line) marks
frames where the target is not visible. Works with folders and with LMDB copies made by convert_to_lmdb.py.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np

from lib.train.dataset.base_video_dataset import (BaseVideoDataset, EmptyDatasetError, keep_present, make_info,
                                                  parse_boxes, parse_labels)
from lib.train.dataset.storage import ImageDecoder, Storage, make_storage

__all__ = ["CustomDataset", "IMAGE_EXTENSIONS"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class CustomDataset(BaseVideoDataset):
    """Sequences in a folder, one sub-folder each.

    Args:
        root: the folder holding one sub-folder per sequence (or the LMDB folder with ``use_lmdb``).
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read an LMDB copy.
        name: dataset name reported in batches.
    """

    def __init__(self, root: str | os.PathLike | None = None, storage: Storage | None = None,
                 image_loader: ImageDecoder | None = None, use_lmdb: bool = False, name: str = "custom"):
        storage = storage or make_storage(root, use_lmdb, decoder=image_loader)
        super().__init__(name, storage)
        if not storage.available():
            raise EmptyDatasetError(f"dataset {name}: {storage.describe()} does not exist.")
        candidates = [n for n in storage.list_dir() if not n.startswith(".") and storage.is_dir(n)]
        if not candidates:
            raise EmptyDatasetError(f"dataset {name}: no sequence folders under {storage.describe()}; expected "
                                    f"<root>/<sequence>/{{groundtruth.txt, frames}}.")
        self.sequence_list = keep_present(candidates, lambda n: storage.exists(f"{n}/groundtruth.txt"), name,
                                          "all", storage.describe())
        self._frames: dict[int, list[str]] = {}

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id]

    def _frame_keys(self, seq_id: int) -> list[str]:
        keys = self._frames.get(seq_id)
        if keys is None:
            seq = self.sequence_list[seq_id]
            folder = f"{seq}/img" if self.storage.is_dir(f"{seq}/img") else seq
            names = [n for n in self.storage.list_dir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
            keys = [f"{folder}/{n}" for n in sorted(names, key=_natural_key)]
            self._frames[seq_id] = keys
        return keys

    def _load_sequence_info(self, seq_id: int) -> dict:
        seq = self.sequence_list[seq_id]
        key = f"{seq}/groundtruth.txt"
        bbox = parse_boxes(self.storage.read_text(key), self.storage.describe(key))
        num_frames = len(self._frame_keys(seq_id))
        if num_frames != len(bbox):
            logger.warning("%s: %d frames but %d boxes in %s; using the first %d", self.name, num_frames, len(bbox),
                           self.storage.describe(key), min(num_frames, len(bbox)))
            bbox = bbox[:num_frames]
        visible = None
        if self.storage.exists(f"{seq}/absence.label"):
            absent = parse_labels(self.storage.read_text(f"{seq}/absence.label"))
            if len(absent) >= len(bbox):
                visible = absent[:len(bbox)] == 0
        return make_info(bbox, visible)

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        return self.storage.read_image(self._frame_keys(seq_id)[frame_id])
