"""COCO 2017 as one-frame "sequences" (spec 5.2), read with pycocotools, folder or LMDB.

Layout: ``<root>/annotations/instances_train2017.json`` and ``<root>/images/train2017/<file_name>``. Every
non-crowd annotation is a sequence of one frame; the sampler uses its image as template and search alike.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from pycocotools.coco import COCO

from lib.train.dataset.base_video_dataset import BaseVideoDataset, EmptyDatasetError, empty_meta, read_json
from lib.train.dataset.storage import ImageDecoder, Storage, make_storage

__all__ = ["MSCOCOSeq"]


class MSCOCOSeq(BaseVideoDataset):
    """COCO object annotations as single-frame sequences.

    Args:
        root: the COCO folder (or the LMDB folder with ``use_lmdb``).
        version: dataset year ('2017').
        split: 'train' or 'val'.
        storage: a ready storage backend (overrides root/use_lmdb).
        image_loader: image decoder (bytes -> RGB uint8).
        use_lmdb: read the original's LMDB layout.
        name: dataset name reported in batches.
    """

    def __init__(self, root: str | os.PathLike | None = None, version: str = "2017", split: str = "train",
                 storage: Storage | None = None, image_loader: ImageDecoder | None = None, use_lmdb: bool = False,
                 name: str = "coco"):
        storage = storage or make_storage(root, use_lmdb, decoder=image_loader)
        # masks are full-image arrays: keep only a few sequence infos in memory
        super().__init__(name, storage, info_cache_size=16)
        self.anno_key = f"annotations/instances_{split}{version}.json"
        self.image_dir = f"images/{split}{version}"
        if not storage.exists(self.anno_key):
            raise EmptyDatasetError(f"dataset {name}: no annotation file {storage.describe(self.anno_key)}. Expected "
                                    f"<root>/annotations/instances_{split}{version}.json and <root>/{self.image_dir}/.")
        self.coco_set = COCO()
        self.coco_set.dataset = read_json(storage.read_bytes(self.anno_key), storage.describe(self.anno_key),
                                          "COCO's instances annotation JSON")
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            self.coco_set.createIndex()
        self.cats = self.coco_set.cats
        self.sequence_list = [a for a, anno in self.coco_set.anns.items() if anno.get("iscrowd", 0) == 0]
        if not self.sequence_list:
            raise EmptyDatasetError(f"dataset {name}: {storage.describe(self.anno_key)} has no non-crowd annotation.")
        self.class_list = sorted({cat["name"] for cat in self.cats.values()})

    def is_video_sequence(self) -> bool:
        return False

    def has_class_info(self) -> bool:
        return True

    def get_class_name(self, seq_id: int) -> str:
        anno = self.coco_set.anns[self.sequence_list[seq_id]]
        return self.cats[anno["category_id"]]["name"]

    def _load_sequence_info(self, seq_id: int) -> dict:
        anno = self.coco_set.anns[self.sequence_list[seq_id]]
        bbox = torch.tensor(anno["bbox"], dtype=torch.float32).view(1, 4)
        mask = torch.from_numpy(self.coco_set.annToMask(anno).astype(np.float32)).unsqueeze(0)  # (1, H, W)
        # matches OSTrack: valid = visible = w > 50 and h > 50 (the sampler ignores it for image datasets, 8.3 #15)
        valid = (bbox[:, 2] > 50) & (bbox[:, 3] > 50)
        return {"bbox": bbox, "mask": mask, "valid": valid, "visible": valid.clone()}

    def _read_frame(self, seq_id: int, frame_id: int = 0) -> np.ndarray:
        anno = self.coco_set.anns[self.sequence_list[seq_id]]
        file_name = self.coco_set.imgs[anno["image_id"]]["file_name"]
        return self.storage.read_image(f"{self.image_dir}/{file_name}")

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None):
        """The one image, once per requested id (decoded once), with annotation index 0 for every id."""
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        frame = self._read_frame(seq_id)
        frames = [frame for _ in frame_ids]  # shared, never modified in place downstream
        anno_frames = {key: [value[0] for _ in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta_info(seq_id)

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        meta = empty_meta()
        try:
            cat = self.cats[self.coco_set.anns[self.sequence_list[seq_id]]["category_id"]]
            meta["object_class_name"] = cat["name"]
            meta["major_class"] = cat.get("supercategory")
        except KeyError:
            pass
        return meta
