"""TrackingNet (spec 5.2): any subset of the TRAIN_0..TRAIN_11 chunks that is present, folder or LMDB.

Layout: ``<root>/TRAIN_<k>/{anno/<video>.txt, frames/<video>/<i>.jpg}`` (0-based frame names without padding).
LMDB layout of the original: ``<root>/seq_list.json`` (a plain file listing [chunk, video]) and one environment per
chunk, ``<root>/TRAIN_<k>_lmdb``, with the same keys. Missing chunks are skipped with one warning, as are videos
whose frames are missing. The class map ``data_specs/trackingnet_classmap.txt`` is optional (class info is only
used for the batches' ``test_class``).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict

import numpy as np

from lib.train.dataset.base_video_dataset import (BaseVideoDataset, DatasetFileError, EmptyDatasetError,
                                                  frame_number_span, keep_present, make_info, parse_boxes, empty_meta,
                                                  read_json)
from lib.train.dataset.got10k import DATA_SPECS_DIR
from lib.train.dataset.storage import ImageDecoder, LmdbStorage, Storage, make_storage

__all__ = ["TrackingNet"]

logger = logging.getLogger(__name__)


class TrackingNet(BaseVideoDataset):
    """TrackingNet training videos.

    Args:
        root: the TrackingNet folder (holding TRAIN_<k>), or the LMDB folder with ``use_lmdb``.
        set_ids: chunk numbers to use (default 0..11; absent ones are skipped).
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read the original's LMDB layout.
        name: dataset name reported in batches.
    """

    def __init__(self, root: str | os.PathLike | None = None, set_ids: list[int] | None = None,
                 storage: Storage | None = None, image_loader: ImageDecoder | None = None, use_lmdb: bool = False,
                 name: str = "trackingnet", data_specs: str | os.PathLike = DATA_SPECS_DIR):
        storage = storage or make_storage(root, use_lmdb, decoder=image_loader)
        super().__init__(name, storage)
        set_ids = list(range(12)) if set_ids is None else [int(s) for s in set_ids]
        self._chunks: dict[int, Storage] = {}
        candidates = self._list_videos(set_ids)
        if not self._chunks:
            raise EmptyDatasetError(
                f"dataset {name}: none of the chunks TRAIN_{set_ids[0]}..TRAIN_{set_ids[-1]} is under "
                f"{storage.describe()}. Expected <root>/TRAIN_<k>/{{anno,frames}} (or TRAIN_<k>_lmdb with --use_lmdb).")
        absent = [k for k in set_ids if k not in self._chunks]
        if absent:
            logger.warning("%s: chunks %s are not under %s (partial download?); using chunks %s", name,
                           ", ".join(f"TRAIN_{k}" for k in absent), storage.describe(),
                           ", ".join(str(k) for k in sorted(self._chunks)))
        names = [f"TRAIN_{k}/{video}" for k, video in candidates]
        present = set(keep_present(names, lambda n: self._has_frames(n), name, "train", storage.describe()))
        self.sequence_list = [(k, v) for (k, v), n in zip(candidates, names) if n in present]
        self._class_of = self._read_class_map(data_specs)
        self.class_list = sorted(set(self._class_of.values()))

    def _list_videos(self, set_ids: list[int]) -> list[tuple[int, str]]:
        seq_list = None
        if isinstance(self.storage, LmdbStorage) and (self.storage.root / "seq_list.json").is_file():
            where = str(self.storage.root / "seq_list.json")
            entries = read_json(self.storage.read_plain_file("seq_list.json"), where, "a list of [chunk, video] pairs")
            try:
                seq_list = [(int(k), str(v)) for k, v in entries]
            except (TypeError, ValueError):
                raise DatasetFileError(f"{where}: expected a list of [chunk, video] pairs.") from None
        videos = []
        for k in set_ids:
            chunk = self.storage.child(f"TRAIN_{k}")
            if not chunk.available() or not chunk.is_dir("anno"):
                continue
            self._chunks[k] = chunk
            if seq_list is not None:
                videos += [(k, v) for s, v in seq_list if s == k]
            else:
                videos += [(k, f[:-4]) for f in chunk.list_dir("anno") if f.endswith(".txt")]
        return videos

    def _has_frames(self, name: str) -> bool:
        chunk_name, video = name.split("/", 1)
        chunk = self._chunks[int(chunk_name.split("_")[1])]
        return chunk.exists(f"anno/{video}.txt") and chunk.exists(f"frames/{video}/0.jpg")

    @staticmethod
    def _read_class_map(data_specs) -> dict[str, str]:
        path = os.path.join(data_specs, "trackingnet_classmap.txt")
        if not os.path.isfile(path):
            return {}
        with open(path, encoding="utf-8") as f:
            pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        return {p[0]: p[1] for p in pairs if len(p) >= 2}

    def has_class_info(self) -> bool:
        return bool(self._class_of)

    def get_class_name(self, seq_id: int) -> str | None:
        return self._class_of.get(self.sequence_list[seq_id][1])

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[seq_id][1]

    def _load_sequence_info(self, seq_id: int) -> dict:
        k, video = self.sequence_list[seq_id]
        chunk = self._chunks[k]
        where = chunk.describe(f"anno/{video}.txt")
        bbox = parse_boxes(chunk.read_text(f"anno/{video}.txt"), where)
        frames = frame_number_span(chunk.list_dir(f"frames/{video}"), r"(\d+)\.jpg", 0)
        n = self.align_lengths(f"TRAIN_{k}/{video}", where, frames=frames, boxes=len(bbox))
        return make_info(bbox[:n])  # matches OSTrack: visible = valid

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        k, video = self.sequence_list[seq_id]
        return self._chunks[k].read_image(f"frames/{video}/{frame_id}.jpg")

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        meta = empty_meta()
        meta["object_class_name"] = self.get_class_name(seq_id)
        return meta
