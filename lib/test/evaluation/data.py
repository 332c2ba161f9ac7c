"""Evaluation sequences: frames, ground truth and the information a tracker is initialised with."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence as SequenceType

import numpy as np

from lib.utils.errors import OSTrackError

__all__ = ["Sequence", "SequenceList", "BaseDataset", "SequenceNotFoundError"]

logger = logging.getLogger(__name__)


class SequenceNotFoundError(OSTrackError, KeyError):
    """A sequence name or index does not exist in a dataset."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Sequence:
    """One evaluation sequence.

    Args:
        name: sequence name (also the result file name).
        frames: image paths in temporal order.
        dataset: the dataset tag ('otb', 'lasot', 'got10k', ...); it decides the results sub-folder and some
            metric conventions (spec 7.4, 7.6).
        ground_truth_rect: (N, 4) xywh boxes; test splits may hold only the first frame's box.
        init_data: {frame index: {'bbox': xywh}}; defaults to the first ground-truth row at frame 0. When the first
            init frame is > 0, frames, ground truth and visibility are trimmed to start there.
        object_class: class label, if the dataset has one.
        target_visible: (N,) bool visibility (LaSOT: not fully occluded and not out of view).
        language: language description (TNL2K).
        cover: (N,) GOT-10k cover labels (0 = fully occluded), used by the GOT-10k toolkit metric mode.
        resolution: (width, height) of the frames when the dataset states it (GOT-10k meta_info.ini).
    """

    def __init__(self, name: str, frames: list[str], dataset: str, ground_truth_rect: np.ndarray,
                 init_data: dict | None = None, object_class: str | None = None,
                 target_visible: np.ndarray | None = None, language: str | None = None,
                 cover: np.ndarray | None = None, resolution: tuple[int, int] | None = None):
        self.name = name
        self.frames = list(frames)
        self.dataset = dataset
        self.ground_truth_rect = np.asarray(ground_truth_rect, dtype=np.float64).reshape(-1, 4)
        self.object_class = object_class
        self.target_visible = None if target_visible is None else np.asarray(target_visible, dtype=bool)
        self.language = language
        self.cover = None if cover is None else np.asarray(cover)
        self.resolution = resolution
        #: (frames, boxes, flags...) before trimming when the counts did not match, else None
        self.trimmed: dict[str, int] | None = None
        self._align_lengths()
        if init_data is None:
            if len(self.ground_truth_rect) == 0:
                raise OSTrackError(f"sequence {name}: the ground-truth file is empty; the first frame's box is "
                                   f"needed to initialise the tracker.")
            init_data = {0: {"bbox": self.ground_truth_rect[0].tolist()}}
        self.init_data = OrderedDict(sorted(init_data.items()))
        self._trim_to_init_frame()

    def _align_lengths(self) -> None:
        """Trim frames, ground truth and flags to a common length when they differ (one warning, recorded in
        :attr:`trimmed`). A ground truth of a single row (test splits: the first frame only) is not compared."""
        if len(self.ground_truth_rect) <= 1:
            return
        lengths = {"frames": len(self.frames), "boxes": len(self.ground_truth_rect)}
        for name in ("target_visible", "cover"):
            value = getattr(self, name)
            if value is not None:
                lengths[name.replace("_", " ") + " flags"] = len(value)
        n = min(lengths.values())
        if len(set(lengths.values())) == 1:
            return
        self.trimmed = lengths
        logger.warning("sequence %s (%s): %s do not match; evaluating its first %d frames.", self.name, self.dataset,
                       ", ".join(f"{v} {k}" for k, v in lengths.items()), n)
        self.frames = self.frames[:n]
        if len(self.ground_truth_rect) > 1:
            self.ground_truth_rect = self.ground_truth_rect[:n]
        if self.target_visible is not None:
            self.target_visible = self.target_visible[:n]
        if self.cover is not None:
            self.cover = self.cover[:n]

    def _trim_to_init_frame(self) -> None:
        first = next(iter(self.init_data))
        if first <= 0:
            return
        self.frames = self.frames[first:]
        if len(self.ground_truth_rect) > first:
            self.ground_truth_rect = self.ground_truth_rect[first:]
        if self.target_visible is not None:
            self.target_visible = self.target_visible[first:]
        if self.cover is not None:
            self.cover = self.cover[first:]
        self.init_data = OrderedDict((k - first, v) for k, v in self.init_data.items())

    def init_bbox(self, frame_num: int = 0) -> list[float]:
        """The initial xywh box."""
        return list(self.init_data[frame_num]["bbox"])

    def init_info(self) -> dict:
        """What the tracker's initialize() receives: {'init_bbox': [x, y, w, h]}."""
        return {"init_bbox": self.init_bbox(next(iter(self.init_data)))}

    def frame_info(self, frame_num: int) -> dict:
        """Per-frame information passed to track() (the ground truth when the sequence has it, as the original)."""
        info = {}
        if len(self.ground_truth_rect) > 1 and frame_num < len(self.ground_truth_rect):
            info["gt_bbox"] = self.ground_truth_rect[frame_num].tolist()
        return info

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"Sequence({self.name!r}, dataset={self.dataset!r}, frames={len(self.frames)})"


class SequenceList(list):
    """A list of sequences that can also be indexed by sequence name (``seqs['airplane-1']``)."""

    def __getitem__(self, item):
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise SequenceNotFoundError(f"no sequence named {item!r} (this list has {len(self)} sequences"
                                        f"{', e.g. ' + ', '.join(s.name for s in list(self)[:5]) if self else ''}).")
        if isinstance(item, slice):
            return SequenceList(super().__getitem__(item))
        return super().__getitem__(item)

    def __add__(self, other: Iterable[Sequence]) -> "SequenceList":
        return SequenceList(list(self) + list(other))

    def copy(self) -> "SequenceList":
        return SequenceList(list(self))

    def names(self) -> list[str]:
        return [s.name for s in self]


class BaseDataset:
    """An evaluation dataset rooted at one folder; subclasses build the sequence list.

    Args:
        root: the dataset's root folder (from the path settings; see lib.test.evaluation.datasets).
    """

    #: tag written into each Sequence; decides the results sub-folder (spec 7.4)
    tag: str = ""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def get_sequence_list(self) -> SequenceList:
        raise NotImplementedError

    def sequence_names(self) -> SequenceType[str]:
        """Sequence names, in order, without loading annotations."""
        return self.get_sequence_list().names()

    def __len__(self) -> int:
        return len(self.sequence_names())
