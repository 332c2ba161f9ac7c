"""LaSOT (spec 5.2): one class for the folder and the LMDB layout; classes derived from the sequence names.

Layout: ``<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/00000001.jpg}``.
The train split comes from ``lib/train/data_specs/lasot_train_split.txt`` (1120 names). The classes are taken
from the split's names, not from whatever folders lie in the root (spec 8.3 item 14).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict

import numpy as np

from lib.train.dataset.base_video_dataset import (BaseVideoDataset, frame_number_span, keep_present,
                                                  make_info, parse_boxes, parse_labels, empty_meta)
from lib.train.dataset.got10k import DATA_SPECS_DIR, read_split_names
from lib.train.dataset.storage import ImageDecoder, Storage, make_storage
from lib.utils.errors import ConfigError

__all__ = ["Lasot", "LASOT_SPLIT_FILES"]

LASOT_SPLIT_FILES = {"train": "lasot_train_split.txt"}
_SEQ_NAME = re.compile(r"^(.+)-(\d+)$")


class Lasot(BaseVideoDataset):
    """LaSOT training sequences.

    Args:
        root: the LaSOT folder (class folders inside), or the LMDB folder with ``use_lmdb``.
        split: 'train' (the 1120-sequence split) or None (every ``<class>/<class>-<n>`` folder found).
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read the original's LMDB layout.
        vid_ids: with split None, keep ``<class>-<id>`` for these ids only (the original's vid_ids mode).
        seq_names: explicit sequence names (instead of a split).
        name: dataset name reported in batches.
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = "train",
                 storage: Storage | None = None, image_loader: ImageDecoder | None = None, use_lmdb: bool = False,
                 vid_ids: list[int] | None = None, seq_names: list[str] | None = None, name: str = "lasot",
                 data_specs: str | os.PathLike = DATA_SPECS_DIR):
        storage = storage or make_storage(root, use_lmdb, decoder=image_loader)
        super().__init__(name, storage)
        if split is not None and split not in LASOT_SPLIT_FILES:
            raise ConfigError(f"unknown LaSOT split {split!r}; expected 'train' or None.")
        if seq_names is None:
            if split is not None:
                seq_names = read_split_names(os.path.join(data_specs, LASOT_SPLIT_FILES[split]))
            else:
                seq_names = self._scan_sequences()
                if vid_ids is not None:
                    wanted = {int(v) for v in vid_ids}
                    seq_names = [n for n in seq_names if int(_SEQ_NAME.match(n).group(2)) in wanted]
        bad = [n for n in seq_names if not _SEQ_NAME.match(n)]
        if bad:
            raise ConfigError(f"LaSOT sequence names must look like <class>-<n>; got {bad[:3]}")
        self.sequence_list = keep_present(seq_names, lambda n: storage.exists(f"{self._seq_dir(n)}/groundtruth.txt"),
                                          name, split or "all", storage.describe())
        self.class_list = sorted({self._class_of(n) for n in self.sequence_list})
        self._seq_per_class: dict[str, list[int]] = {}
        for i, n in enumerate(self.sequence_list):
            self._seq_per_class.setdefault(self._class_of(n), []).append(i)

    @staticmethod
    def _class_of(seq_name: str) -> str:
        return _SEQ_NAME.match(seq_name).group(1)

    def _seq_dir(self, seq_name: str) -> str:
        return f"{self._class_of(seq_name)}/{seq_name}"

    def _scan_sequences(self) -> list[str]:
        if not self.storage.available():
            return []
        names = []
        for cls in self.storage.list_dir():
            if not self.storage.is_dir(cls):
                continue  # stray files in the root are not classes
            names += [s for s in self.storage.list_dir(cls) if s.startswith(cls + "-") and _SEQ_NAME.match(s)]
        return names

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        return list(self._seq_per_class.get(class_name, []))

    def get_class_name(self, seq_id: int) -> str:
        return self._class_of(self.sequence_list[seq_id])

    def _read_flags(self, key: str) -> np.ndarray | None:
        if not self.storage.exists(key):
            return None
        return parse_labels(self.storage.read_text(key), self.storage.describe(key))

    def _load_sequence_info(self, seq_id: int) -> dict:
        name = self.sequence_list[seq_id]
        seq_dir = self._seq_dir(name)
        where = self.storage.describe(f"{seq_dir}/groundtruth.txt")
        bbox = parse_boxes(self.storage.read_text(f"{seq_dir}/groundtruth.txt"), where)
        frames = frame_number_span(self.storage.list_dir(f"{seq_dir}/img"), r"(\d{8})\.jpg", 1)
        occlusion = self._read_flags(f"{seq_dir}/full_occlusion.txt")
        out_of_view = self._read_flags(f"{seq_dir}/out_of_view.txt")
        if occlusion is None or out_of_view is None:
            n = self.align_lengths(name, where, frames=frames, boxes=len(bbox))
            return make_info(bbox[:n])
        n = self.align_lengths(name, where, frames=frames, boxes=len(bbox), occlusion_flags=len(occlusion),
                               out_of_view_flags=len(out_of_view))
        # matches OSTrack: visible = not fully occluded and not out of view (and valid)
        return make_info(bbox[:n], (occlusion[:n] == 0) & (out_of_view[:n] == 0))

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        return self.storage.read_image(f"{self._seq_dir(self.sequence_list[seq_id])}/img/{frame_id + 1:08d}.jpg")

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        meta = empty_meta()
        meta["object_class_name"] = self.get_class_name(seq_id)
        return meta
