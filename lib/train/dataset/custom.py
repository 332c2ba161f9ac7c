"""A user's own sequences: ``<root>/<sequence>/{groundtruth.txt, frames}``, nothing else required.

Frames are the image files (.jpg, .jpeg, .png, .bmp) in the sequence folder, or in its ``img/`` sub-folder if
present, in natural name order (``frame2.jpg`` before ``frame10.jpg``); numbered frames are matched to boxes by
number, so a missing file is a missing frame, not a shift of every later box. ``groundtruth.txt`` holds one x,y,w,h
box per frame (commas, tabs or spaces). Optional ``absence.label`` (1 = target absent, one flag per line) marks
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


def _by_number(keys: list[str]) -> list[str | None]:
    """Frame keys indexed by their number: entry k is the frame numbered first + k, None where that file is missing.

    Frames named with distinct numbers (``frame7.jpg``, ``0007.png``) are matched to boxes by number, so a missing
    file leaves a hole (that frame fails to load and is counted) instead of pairing every later box with the wrong
    frame. Names without distinct numbers, or whose numbers are mostly gaps (e.g. timestamps), keep their sorted
    order.
    """
    numbers = []
    for key in keys:
        match = re.search(r"(\d+)\D*$", key.rsplit("/", 1)[-1])
        if match is None:
            return list(keys)
        numbers.append(int(match.group(1)))
    first = min(numbers, default=0)
    span = max(numbers, default=-1) - first + 1
    if len(set(numbers)) != len(numbers) or span > 2 * len(numbers):
        return list(keys)
    slots: list[str | None] = [None] * span
    for number, key in zip(numbers, keys):
        slots[number - first] = key
    return slots


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
        self._frames: dict[int, list[str | None]] = {}

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id]

    def _frame_keys(self, seq_id: int) -> list[str | None]:
        keys = self._frames.get(seq_id)
        if keys is None:
            seq = self.sequence_list[seq_id]
            folder = f"{seq}/img" if self.storage.is_dir(f"{seq}/img") else seq
            names = [n for n in self.storage.list_dir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
            keys = _by_number([f"{folder}/{n}" for n in sorted(names, key=_natural_key)])
            self._frames[seq_id] = keys
        return keys

    def _load_sequence_info(self, seq_id: int) -> dict:
        seq = self.sequence_list[seq_id]
        key = f"{seq}/groundtruth.txt"
        where = self.storage.describe(key)
        bbox = parse_boxes(self.storage.read_text(key), where)
        lengths = {"frames": len(self._frame_keys(seq_id)), "boxes": len(bbox)}
        absent = None
        if self.storage.exists(f"{seq}/absence.label"):
            absent = parse_labels(self.storage.read_text(f"{seq}/absence.label"),
                                  self.storage.describe(f"{seq}/absence.label"))
            lengths["absence_flags"] = len(absent)
        n = self.align_lengths(seq, where, **lengths)
        return make_info(bbox[:n], None if absent is None else absent[:n] == 0)

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        key = self._frame_keys(seq_id)[frame_id]
        if key is None:
            raise FileNotFoundError(f"{self.name} sequence {self.sequence_list[seq_id]}: frame {frame_id} (counted "
                                    f"from the lowest-numbered frame file) is missing.")
        return self.storage.read_image(key)
