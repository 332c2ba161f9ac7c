"""GOT-10k (spec 5.2): one class for the folder and the LMDB layout, splits matched by sequence name.

Layout: ``<root>/GOT-10k_Train_NNNNNN/{00000001.jpg, ..., groundtruth.txt, absence.label, cover.label,
meta_info.ini}`` and ``<root>/list.txt``, where root is GOT-10k's ``train`` (or ``val``) folder. In the LMDB
layout the same files sit under the key prefix ``train/``.

The split files in ``lib/train/data_specs`` list sequence names (the original's hold indices into list.txt,
which silently pick other sequences when list.txt has another order, spec 8.3 item 13). Sequences a split names
but the disk lacks (a partial download) are skipped with one warning.
"""

from __future__ import annotations

import logging
import os
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from lib.train.dataset.base_video_dataset import (BaseVideoDataset, frame_number_span, keep_present,
                                                  make_info, parse_boxes, parse_labels, empty_meta)
from lib.train.dataset.storage import ImageDecoder, Storage, make_storage
from lib.utils.errors import ConfigError

__all__ = ["Got10k", "GOT10K_SPLIT_FILES", "DATA_SPECS_DIR", "read_split_names"]

logger = logging.getLogger(__name__)

DATA_SPECS_DIR = Path(__file__).resolve().parents[1] / "data_specs"
GOT10K_SPLIT_FILES = {
    "train": "got10k_train_split.txt",
    "val": "got10k_val_split.txt",
    "train_full": "got10k_train_full_split.txt",
    "vottrain": "got10k_vot_train_split.txt",
    "votval": "got10k_vot_val_split.txt",
}
_META_KEYS = ("object_class_name", "motion_class", "major_class", "root_class", "motion_adverb")


def read_split_names(path: str | os.PathLike) -> list[str]:
    """Sequence names of a split file, one per line (blank lines ignored)."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


class Got10k(BaseVideoDataset):
    """GOT-10k training sequences.

    Args:
        root: the ``train`` folder (or ``val`` for the official val set), or the LMDB folder with ``use_lmdb``.
        split: None (every sequence), or one of train, val, train_full, vottrain, votval.
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read the original's LMDB layout (keys under ``train/``).
        seq_names: explicit sequence names (instead of a split).
        data_fraction: keep this random fraction of the sequences (fixed seed).
        name: dataset name reported in batches.
        data_specs: folder holding the split files.
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None, storage: Storage | None = None,
                 image_loader: ImageDecoder | None = None, use_lmdb: bool = False, seq_names: list[str] | None = None,
                 data_fraction: float | None = None, name: str = "got10k",
                 data_specs: str | os.PathLike = DATA_SPECS_DIR):
        storage = storage or make_storage(root, use_lmdb, prefix="train" if use_lmdb else "", decoder=image_loader)
        super().__init__(name, storage)
        if split is not None and split not in GOT10K_SPLIT_FILES:
            raise ConfigError(f"unknown GOT-10k split {split!r}; expected one of {', '.join(GOT10K_SPLIT_FILES)} "
                              f"or None for every sequence.")
        if seq_names is None:
            seq_names = (read_split_names(Path(data_specs) / GOT10K_SPLIT_FILES[split]) if split
                         else self._all_sequence_names())
        where = storage.describe()
        self.sequence_list = keep_present(seq_names, lambda n: storage.exists(f"{n}/groundtruth.txt"), name,
                                          split or "all", where)
        if data_fraction is not None:
            k = int(len(self.sequence_list) * data_fraction)
            self.sequence_list = random.Random(0).sample(self.sequence_list, k)
        self._meta: dict[int, OrderedDict] = {}

    def _all_sequence_names(self) -> list[str]:
        if self.storage.exists("list.txt"):
            lines = self.storage.read_text("list.txt").splitlines()
            # the first CSV column; blank lines (e.g. a trailing newline in the LMDB copy) are dropped
            return [line.split(",")[0].strip() for line in lines if line.strip()]
        if not self.storage.available():
            return []
        return [n for n in self.storage.list_dir() if not n.startswith(".") and "." not in n]

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def get_class_list(self) -> list[str]:
        if not self.class_list:
            names = {self.get_meta_info(i)["object_class_name"] for i in range(self.get_num_sequences())}
            self.class_list = sorted(n for n in names if n)
        return list(self.class_list)

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id]

    def _load_sequence_info(self, seq_id: int) -> dict:
        seq = self.sequence_list[seq_id]
        key = f"{seq}/groundtruth.txt"
        where = self.storage.describe(key)
        bbox = parse_boxes(self.storage.read_text(key), where)
        frames = frame_number_span(self.storage.list_dir(seq), r"(\d{8})\.jpg", 1)
        if not (self.storage.exists(f"{seq}/absence.label") and self.storage.exists(f"{seq}/cover.label")):
            n = self.align_lengths(seq, where, frames=frames, boxes=len(bbox))
            return make_info(bbox[:n])  # e.g. a val/test-style folder without occlusion labels: visible = valid
        absent, cover = (parse_labels(self.storage.read_text(f"{seq}/{f}"), self.storage.describe(f"{seq}/{f}"))
                         for f in ("absence.label", "cover.label"))
        n = self.align_lengths(seq, where, frames=frames, boxes=len(bbox), absence_flags=len(absent),
                               cover_flags=len(cover))
        bbox, absent, cover = bbox[:n], absent[:n], cover[:n]
        # matches OSTrack: visible = not absent and cover > 0 (boolean logic instead of ~ on uint8, spec 8.3 item 16);
        # a missing flag (-1) is not visible
        visible = (absent == 0) & (cover > 0)
        return make_info(bbox, visible, visible_ratio=torch.from_numpy(cover.clip(min=0).astype(np.float32) / 8.0))

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        return self.storage.read_image(f"{self.sequence_list[seq_id]}/{frame_id + 1:08d}.jpg")

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        meta = self._meta.get(seq_id)
        if meta is None:
            meta = empty_meta()
            try:
                lines = self.storage.read_text(f"{self.sequence_list[seq_id]}/meta_info.ini").splitlines()
                # matches OSTrack: lines 6-10 (1-based) hold "key: value" for the five meta fields
                for key, line in zip(_META_KEYS, lines[5:10]):
                    meta[key] = line.split(": ", 1)[-1].strip()
            except (OSError, UnicodeDecodeError):  # no or unreadable meta file: all None, as the original
                pass
            self._meta[seq_id] = meta
        return meta
