"""The interface every training dataset implements (spec 5.1), plus the helpers they share.

A dataset is a list of sequences. ``get_sequence_info(seq_id)`` returns per-frame annotations: ``bbox`` (N, 4)
float32 xywh, ``valid`` (N,) bool (w > 0 and h > 0, so NaN boxes are invalid too) and ``visible`` (N,) bool, plus
dataset-specific keys. ``get_frames(seq_id, frame_ids, anno)`` returns the frames as (H, W, 3) RGB uint8 arrays,
the per-frame annotations of those frames, and the object meta data. Each distinct frame is decoded once per call,
so the sampler asks for template and search frames together (COCO's single image is decoded once, not twice).
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from lib.train.dataset.storage import Storage
from lib.utils.annotations import format_line_numbers, frame_lines, parse_box_lines
from lib.utils.errors import DatasetNotFoundError, OSTrackError

__all__ = ["BaseVideoDataset", "EmptyDatasetError", "AnnotationError", "DatasetFileError", "read_json",
           "parse_boxes", "parse_labels", "frame_number_span", "keep_present", "empty_meta"]

logger = logging.getLogger(__name__)


class EmptyDatasetError(DatasetNotFoundError):
    """A dataset root exists but yields no usable sequence."""


class AnnotationError(ValueError):
    """An annotation file cannot be parsed (the sampler counts it as ``bad_box``)."""


class DatasetFileError(OSTrackError):
    """A dataset index file (COCO annotations, VID cache.json, TrackingNet seq_list.json) cannot be read."""


def read_json(data: bytes | str, where: str, expected: str) -> Any:
    """Parse a dataset's JSON index file (plain data only: JSON cannot carry code).

    Args:
        data: the file contents.
        where: the file, for the message.
        expected: what the file should hold, for the message.

    Raises:
        DatasetFileError: the contents are not JSON text (e.g. truncated, binary or a pickle).
    """
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise DatasetFileError(f"{where} is not a readable JSON file ({err}); expected {expected}. Delete or "
                               f"regenerate it.") from None


def parse_boxes(text: str, name: str = "<annotation>") -> np.ndarray:
    """Parse one xywh box per line (separated by commas, tabs, semicolons or spaces) into an (N, 4) float32 array.

    Line k is frame k: a line that is empty or does not hold exactly four numbers is a missing box at that frame
    (a NaN row, so the frame is invalid), never dropped, so every later box stays paired with its own frame (the
    original dropped blank lines and shifted all later boxes). Trailing blank lines at the end of the file are
    ignored. Such lines are reported in one warning per file. Values such as ``nan`` parse to NaN.

    Raises:
        AnnotationError: the file holds no line with four numbers (empty, binary or another format).
    """
    lines = frame_lines(text)
    boxes, bad = parse_box_lines(lines, dtype=np.float32, separators=",\t;")
    if len(bad) == len(lines):
        what = "is empty" if not lines else "has no line with four numbers"
        raise AnnotationError(f"{name} {what}; expected one box x,y,w,h per line (one line per frame).")
    if bad:
        logger.warning("%s: %d line(s) are empty or do not hold four numbers x,y,w,h (line %s); those frames "
                       "count as having no box (invalid), later boxes keep their frames.", name, len(bad),
                       format_line_numbers(bad))
    return boxes


def parse_labels(text: str, name: str = "<labels>", missing: int = -1) -> np.ndarray:
    """Parse integer flags written one per line, or comma/space-separated on one line (int64 array).

    With one flag per line, line k is frame k: an empty or non-numeric line gives ``missing`` at that frame (callers
    treat it as "not visible") instead of shifting every later flag. Trailing blank lines are ignored.

    Raises:
        AnnotationError: a single-line file holds something other than numbers.
    """
    lines = frame_lines(text)
    if len(lines) <= 1:
        values = text.replace(",", " ").split()
        try:
            return np.array([int(float(v)) for v in values], dtype=np.int64)
        except ValueError:
            raise AnnotationError(f"{name}: expected integer flags separated by commas or spaces") from None
    flags = np.full(len(lines), missing, dtype=np.int64)
    bad = []
    for k, line in enumerate(lines):
        try:
            flags[k] = int(float(line.replace(",", " ").strip()))
        except ValueError:
            bad.append(k + 1)
    if bad:
        logger.warning("%s: %d line(s) hold no integer flag (line %s); those frames count as not visible.", name,
                       len(bad), ", ".join(map(str, bad[:5])))
    return flags


def frame_number_span(names: Iterable[str], pattern: str, first: int) -> int:
    """The number of frames a sequence folder spans: highest frame number - ``first`` + 1 (0 without frames).

    Frames are read by number (``00000007.jpg`` is frame 7 whatever else is on disk), so a file missing inside the
    span does not shift any box: that frame fails to load and the sampler counts it as ``missing_image``. Only the
    span is compared with the number of boxes.

    Args:
        names: file names in a sequence folder.
        pattern: regular expression whose group 1 is the frame number (e.g. ``r"(\\d{8})\\.jpg"``).
        first: the number of the first frame (1 for GOT-10k and LaSOT, 0 for TrackingNet).
    """
    regex = re.compile(pattern)
    numbers = [int(m.group(1)) for m in map(regex.fullmatch, names) if m]
    return max(numbers) - first + 1 if numbers else 0


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
        #: sequences whose frame, box and flag counts differ (reported once each, trimmed or skipped)
        self.misaligned: set[str] = set()

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

    def align_lengths(self, sequence: str, where: str, **lengths: int) -> int:
        """The number of frames a sequence can use: the shortest of its per-frame lengths.

        ``lengths`` gives the number of frames (see :func:`frame_number_span`), boxes and entries of each flag
        file. When they differ, one warning per sequence (per process) names them and the sequence is trimmed to
        the shortest, so box k always belongs to frame k; the sequence is counted in :attr:`misaligned`.

        Args:
            sequence: sequence name for the message.
            where: the annotation file, for the message.
            lengths: name -> length, e.g. ``frames=98, boxes=100``.

        Raises:
            AnnotationError: nothing is left (no frame or no box): the sequence is skipped (the sampler counts it).
        """
        n = min(lengths.values())
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in lengths.items())
        if len(set(lengths.values())) > 1 and sequence not in self.misaligned:
            self.misaligned.add(sequence)
            action = f"using its first {n} frames" if n > 0 else "skipping it"
            logger.warning("%s sequence %s: %s (%s) do not match; %s (%d misaligned sequence(s) so far in this "
                           "process).", self.name, sequence, counts, where, action, len(self.misaligned))
        if n <= 0:
            raise AnnotationError(f"{self.name} sequence {sequence}: no usable frame ({counts}; {where}).")
        return n

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
