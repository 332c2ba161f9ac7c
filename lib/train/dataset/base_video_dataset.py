"""The interface every training dataset implements (spec 5.1), plus the helpers they share.

A dataset is a list of sequences. ``get_sequence_info(seq_id)`` returns per-frame annotations: ``bbox`` (N, 4)
float32 xywh, ``valid`` (N,) bool (w > 0 and h > 0, so NaN boxes are invalid too) and ``visible`` (N,) bool, plus
dataset-specific keys. ``get_frames(seq_id, frame_ids, anno)`` returns the frames as (H, W, 3) RGB uint8 arrays,
the per-frame annotations of those frames, and the object meta data. Each distinct frame is decoded once per call,
so the sampler asks for template and search frames together (COCO's single image is decoded once, not twice).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Iterable, Sequence

import numpy as np
import torch

from lib.train.dataset.storage import Storage
from lib.utils.errors import DatasetNotFoundError

__all__ = ["BaseVideoDataset", "EmptyDatasetError", "AnnotationError", "parse_boxes", "parse_labels",
           "keep_present", "empty_meta"]

logger = logging.getLogger(__name__)


class EmptyDatasetError(DatasetNotFoundError):
    """A dataset root exists but yields no usable sequence."""


class AnnotationError(ValueError):
    """An annotation file cannot be parsed (the sampler counts it as ``bad_box``)."""


def parse_boxes(text: str, name: str = "<annotation>") -> np.ndarray:
    """Parse one xywh box per line (separated by commas, tabs or spaces) into an (N, 4) float32 array.

    Values such as ``nan`` parse to NaN; the frame is then invalid. A line without exactly four numbers raises
    :class:`AnnotationError`.
    """
    rows = [line.replace(",", " ").replace("\t", " ").replace(";", " ").split()
            for line in text.splitlines() if line.strip()]
    try:
        boxes = np.array(rows, dtype=np.float32)
    except ValueError:
        raise AnnotationError(f"{name}: every line must hold four numbers x,y,w,h") from None
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise AnnotationError(f"{name}: expected four numbers x,y,w,h per line, got shape {boxes.shape}")
    return boxes


def parse_labels(text: str, name: str = "<labels>") -> np.ndarray:
    """Parse integer flags written one per line or comma-separated on one line (int64 array)."""
    values = text.replace(",", " ").split()
    try:
        return np.array([int(float(v)) for v in values], dtype=np.int64)
    except ValueError:
        raise AnnotationError(f"{name}: expected integer flags") from None


def empty_meta() -> OrderedDict:
    return OrderedDict(object_class_name=None, motion_class=None, major_class=None, root_class=None,
                       motion_adverb=None)


def keep_present(names: Sequence[str], is_present, dataset: str, split: str, where: str) -> list[str]:
    """The names whose data is present; one warning for the missing ones (a partial download).

    Args:
        names: sequence names the split asks for.
        is_present: name -> bool.
        dataset: dataset name for messages.
        split: split name for messages.
        where: the dataset root, for messages.

    Raises:
        EmptyDatasetError: none of the names is present.
    """
    if not names:
        raise EmptyDatasetError(f"dataset {dataset} (split {split}): no sequences found under {where}. Check that the "
                                f"path setting points at the dataset folder and that the data is extracted there.")
    present = [n for n in names if is_present(n)]
    missing = [n for n in names if n not in set(present)] if len(present) != len(names) else []
    if not present:
        raise EmptyDatasetError(
            f"dataset {dataset} (split {split}) has none of its {len(names)} sequences under {where} "
            f"(first expected: {', '.join(names[:3])}). Check that the path setting points at the right folder "
            f"and that the data is extracted there.")
    if missing:
        logger.warning("%s split %s: %d of %d sequences are missing under %s (partial download?); using the %d "
                       "present. Missing, first few: %s", dataset, split, len(missing), len(names), where,
                       len(present), ", ".join(missing[:5]))
    return present


class BaseVideoDataset:
    """Base class of the training datasets.

    Args:
        name: dataset name (shown in batches as ``dataset``).
        storage: where frames and annotations are read from.
        info_cache_size: sequence infos kept in memory per process (annotation files are parsed once).
    """

    def __init__(self, name: str, storage: Storage, info_cache_size: int = 2048):
        self.name = name
        self.storage = storage
        self.root = storage.root
        self.sequence_list: list = []
        self.class_list: list[str] = []
        self._info_cache: OrderedDict[int, dict] = OrderedDict()
        self._info_cache_size = info_cache_size

    def __len__(self) -> int:
        return self.get_num_sequences()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sequences={self.get_num_sequences()}, {self.storage!r})"

    def get_name(self) -> str:
        return self.name

    def is_video_sequence(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        return len(self.sequence_list)

    def has_class_info(self) -> bool:
        return False

    def has_occlusion_info(self) -> bool:
        return False

    def get_num_classes(self) -> int:
        return len(self.class_list)

    def get_class_list(self) -> list[str]:
        return list(self.class_list)

    def get_class_name(self, seq_id: int) -> str | None:
        return self.get_meta_info(seq_id).get("object_class_name")

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        return [i for i in range(self.get_num_sequences()) if self.get_class_name(i) == class_name]

    def get_sequence_info(self, seq_id: int) -> dict:
        """Per-frame annotations of a sequence (cached; do not modify the returned tensors)."""
        info = self._info_cache.get(seq_id)
        if info is not None:
            self._info_cache.move_to_end(seq_id)
            return info
        info = self._load_sequence_info(seq_id)
        self._info_cache[seq_id] = info
        if len(self._info_cache) > self._info_cache_size:
            self._info_cache.popitem(last=False)
        return info

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        return empty_meta()

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None):
        """Frames, their annotations and the object meta data.

        Args:
            seq_id: sequence index.
            frame_ids: 0-based frame indices (may repeat; each distinct frame is decoded once).
            anno: the sequence info (read if None).

        Returns:
            (frames, anno_frames, meta): a list of (H, W, 3) RGB uint8 arrays; a dict mapping each per-frame
            annotation key to a list with one entry per requested frame; an OrderedDict of meta data.
        """
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        if not self.is_video_sequence():
            frame_ids = [0] * len(frame_ids)  # an image dataset: every requested id is its one image
        decoded: dict[int, np.ndarray] = {}
        for f in frame_ids:
            if f not in decoded:
                decoded[f] = self._read_frame(seq_id, int(f))
        frames = [decoded[f] for f in frame_ids]
        anno_frames = {key: [value[f] for f in frame_ids] for key, value in anno.items() if _per_frame(value)}
        return frames, anno_frames, self.get_meta_info(seq_id)

    def _load_sequence_info(self, seq_id: int) -> dict:
        raise NotImplementedError

    def _read_frame(self, seq_id: int, frame_id: int) -> np.ndarray:
        raise NotImplementedError


def _per_frame(value) -> bool:
    return (torch.is_tensor(value) or isinstance(value, np.ndarray)) and value.ndim >= 1


def make_info(bbox: np.ndarray, visible: Iterable | None = None, **extra) -> dict:
    """A sequence-info dict from boxes and optional visibility flags (AND-ed with validity)."""
    bbox_t = torch.from_numpy(np.ascontiguousarray(bbox, dtype=np.float32))
    # matches OSTrack: valid = w > 0 and h > 0; also False for NaN/inf coordinates, which the original let through
    valid = (bbox_t[:, 2] > 0) & (bbox_t[:, 3] > 0) & torch.isfinite(bbox_t).all(dim=1)
    if visible is None:
        return {"bbox": bbox_t, "valid": valid, "visible": valid.clone(), **extra}
    visible = np.asarray(visible)
    if len(visible) != len(valid):
        raise AnnotationError(f"{len(valid)} boxes but {len(visible)} visibility flags")
    vis = valid & torch.from_numpy(visible.astype(bool))
    return {"bbox": bbox_t, "valid": valid, "visible": vis, **extra}


__all__.append("make_info")
