"""A user's own test sequences, in the layout the custom training dataset reads (lib/train/dataset/custom.py).

Layout: ``<root>/<sequence>/groundtruth.txt`` plus the frames, as image files (.jpg, .jpeg, .png, .bmp) in the
sequence folder or in its ``img/`` sub-folder, in natural name order (``frame2.jpg`` before ``frame10.jpg``).
Numbered frames are matched to ground-truth lines by number, as the training dataset does, so a missing file fails
that sequence with its name instead of shifting every later box by one frame.
``groundtruth.txt`` holds one x,y,w,h box per frame (commas, tabs or spaces); an empty or non-numeric line is a
frame without a box (not dropped, so later boxes stay on their frames). Optional ``absence.label`` (1 = target
absent, one flag per line) marks frames where the target is not visible. A ground truth with only the first box
(a test split) is run but cannot be scored here.

Evaluate one with ``tracking/test.py TRACKER PARAM --dataset custom --data_dir PATH`` (PATH holds the sequence
folders), or set the ``custom_dir`` path setting (settings file, ``OSTRACK_CUSTOM_DIR``) and give
``--dataset custom`` alone. Results go straight into the tracker's results folder (tag 'custom').
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.evaluation.datasets import get_dataset
from lib.utils.errors import DatasetNotFoundError, OSTrackError

__all__ = ["CustomTestDataset", "CUSTOM_NAME", "IMAGE_EXTENSIONS", "read_groundtruth", "path_overrides",
           "load_test_sequences"]

logger = logging.getLogger(__name__)

CUSTOM_NAME = "custom"
#: the custom training dataset's frame extensions
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_LAYOUT = ("<root>/<sequence>/{groundtruth.txt, frames as *.jpg/*.png or img/*.jpg, optional absence.label}")


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _frame_slots(folder: str, names: list[str]) -> list[str]:
    """Frame paths indexed by frame number (the lowest number is frame 0); a hole names the missing frame.

    Names without distinct numbers, or whose numbers are mostly gaps (e.g. timestamps), keep their sorted order.
    """
    numbers = []
    for name in names:
        match = re.search(r"(\d+)\D*$", name)
        if match is None:
            return [folder + n for n in names]
        numbers.append(int(match.group(1)))
    first, span = min(numbers), max(numbers) - min(numbers) + 1
    if len(set(numbers)) != len(numbers) or span > 2 * len(numbers):
        return [folder + n for n in names]
    # a missing file gets a path that does not exist: reading it fails the sequence with a FrameReadError
    slots = [f"{folder}<missing frame number {first + k}>" for k in range(span)]
    for number, name in zip(numbers, names):
        slots[number - first] = folder + name
    return slots


def read_groundtruth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) boxes and (N,) presence of a groundtruth.txt, one entry per line.

    A line that is empty or not four numbers (e.g. ``NaN`` or ``none`` for a frame where the target was not
    annotated) gives a zero box marked absent, so later boxes stay paired with their frames.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    boxes = np.zeros((len(lines), 4))
    present = np.zeros(len(lines), dtype=bool)
    for i, line in enumerate(lines):
        tokens = line.replace(",", " ").replace("\t", " ").split()
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            continue
        if len(values) == 4 and np.isfinite(values).all():
            boxes[i], present[i] = values, values[2] > 0 and values[3] > 0
    return boxes, present


def _read_absence(path: Path, count: int) -> np.ndarray | None:
    """Absence flags (True = absent), or None when the file is missing or too short (reported)."""
    if not path.is_file():
        return None
    tokens = path.read_text(encoding="utf-8", errors="replace").split()
    try:
        flags = np.array([float(t) for t in tokens]) > 0
    except ValueError:
        logger.warning("%s: not a list of 0/1 flags; ignored", path)
        return None
    if len(flags) < count:
        logger.warning("%s: %d flags for %d frames; ignored", path, len(flags), count)
        return None
    return flags[:count]


class CustomTestDataset(BaseDataset):
    """Every sub-folder of ``root`` with a groundtruth.txt is a sequence (tag 'custom').

    Args:
        root: the folder holding one sub-folder per sequence.
    """

    tag = CUSTOM_NAME

    def __init__(self, root: str | os.PathLike):
        super().__init__(root)
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"custom test set {self.root} does not exist; pass --data_dir PATH with the "
                                       f"folder of sequences, or set custom_dir in the settings file (or "
                                       f"OSTRACK_CUSTOM_DIR). Expected layout: {_LAYOUT}.")
        folders = sorted((p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: _natural_key(p.name))
        self._folders = [p for p in folders if (p / "groundtruth.txt").is_file()]
        skipped = [p.name for p in folders if p not in self._folders]
        if skipped:
            logger.warning("custom test set %s: %d folder(s) without groundtruth.txt skipped (%s)", self.root,
                           len(skipped), ", ".join(skipped[:5]))
        if not self._folders:
            raise DatasetNotFoundError(f"custom test set {self.root}: no sequence folder with a groundtruth.txt; "
                                       f"expected layout: {_LAYOUT}.")

    def sequence_names(self) -> list[str]:
        return [p.name for p in self._folders]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(p) for p in self._folders)

    def _construct_sequence(self, folder: Path) -> Sequence:
        frame_dir = folder / "img" if (folder / "img").is_dir() else folder
        names = sorted((n for n in os.listdir(frame_dir) if n.lower().endswith(IMAGE_EXTENSIONS)), key=_natural_key)
        if not names:
            raise DatasetNotFoundError(f"custom sequence {folder.name}: no frames (*.jpg, *.jpeg, *.png, *.bmp) in "
                                       f"{frame_dir}; expected layout: {_LAYOUT}.")
        frames = _frame_slots(os.path.join(frame_dir, ""), names)
        boxes, present = read_groundtruth(folder / "groundtruth.txt")
        if len(boxes) == 0 or not present[0]:
            raise OSTrackError(f"custom sequence {folder.name}: the first line of {folder / 'groundtruth.txt'} must "
                               f"be the x,y,w,h box (w, h > 0) that initialises the tracker.")
        trimmed = None
        if len(boxes) > 1 and len(boxes) != len(frames):
            # one count warning per sequence; the shorter side decides what is run and scored
            count = min(len(boxes), len(frames))
            logger.warning("custom sequence %s: %d frames but %d ground-truth lines; using the first %d", folder.name,
                           len(frames), len(boxes), count)
            trimmed = {"frames": len(frames), "boxes": len(boxes)}
            frames, boxes, present = frames[:count], boxes[:count], present[:count]
        visible = present
        absent = _read_absence(folder / "absence.label", len(boxes))
        if absent is not None:
            visible = present & ~absent
        seq = Sequence(folder.name, frames, self.tag, boxes, target_visible=visible if len(boxes) > 1 else None)
        if trimmed is not None:
            seq.trimmed = trimmed  # counted like the registered datasets' trimmed sequences
        return seq


def path_overrides(datasets: list[str], save_dir: str | None, data_dir: str | None) -> dict:
    """Path-setting overrides of a command line: with ``--dataset custom``, ``--data_dir`` is the test set's folder.

    Args:
        datasets: the dataset names given.
        save_dir: --save_dir.
        data_dir: --data_dir.
    """
    if data_dir is not None and any(d.strip().lower() == CUSTOM_NAME for d in datasets):
        if len(datasets) > 1:
            raise OSTrackError(f"--dataset custom with --data_dir PATH takes PATH as the custom test set, so it "
                               f"cannot be combined with other datasets ({', '.join(datasets)}); set custom_dir in "
                               f"the settings file (or OSTRACK_CUSTOM_DIR) instead.")
        return {"save_dir": save_dir, "custom_dir": data_dir}
    return {"save_dir": save_dir, "data_dir": data_dir}


def load_test_sequences(names: list[str], env) -> SequenceList:
    """Sequences of the named evaluation datasets, concatenated; 'custom' reads the ``custom_dir`` setting.

    Args:
        names: dataset names (registered ones, or 'custom').
        env: path settings (EnvSettings).
    """
    sequences = SequenceList()
    for name in names:
        if name.strip().lower() == CUSTOM_NAME:
            sequences += CustomTestDataset(Path(env.custom_dir)).get_sequence_list()
        else:
            sequences += get_dataset(name, env=env)
    return sequences
