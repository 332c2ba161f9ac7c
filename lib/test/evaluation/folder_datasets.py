"""Benchmarks whose sequences are found by scanning folders: TC128 (and its TC128-CE subset), TNL2K and ITB.

Layouts:
* TC128: ``<root>/<seq>/{<seq>_gt.txt, <seq>_frames.txt ("start,end"), img/%04d.jpg}``.
* TNL2K: ``<root>/<seq>/{groundtruth.txt, language.txt, imgs/*}`` (frames sorted by name).
* ITB: ``<root>/<scene>/<video>/{*.jpg (zero-padded numbers), groundtruth.txt}``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.utils.load_text import TextFileError, load_ground_truth, load_str, load_values

__all__ = ["TC128Dataset", "TNL2kDataset", "ITBDataset"]


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


class TC128Dataset(BaseDataset):
    """Temple Color 128 (tag 'tc128'); with ``ce_only`` the 78 sequences whose name contains "_ce"."""

    tag = "tc128"

    def __init__(self, root: str | Path, ce_only: bool = False):
        super().__init__(root)
        anno_files = sorted(self.root.glob("*/*_gt.txt"))
        self._dirs = [f.parent for f in anno_files]
        self._anno = dict(zip((d.name for d in self._dirs), anno_files))
        if ce_only:
            self._dirs = [d for d in self._dirs if "_ce" in d.name]

    def sequence_names(self) -> list[str]:
        return [d.name for d in self._dirs]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(d) for d in self._dirs)

    def _construct_sequence(self, folder: Path) -> Sequence:
        range_files = sorted(folder.glob("*_frames.txt"))
        if not range_files:
            raise TextFileError(f"TC128 sequence {folder.name}: no *_frames.txt with the 'start,end' frame range.")
        start, end = (int(v) for v in load_values(range_files[0])[:2])
        prefix = os.path.join(folder, "img", "")
        frames = [f"{prefix}{i:04d}.jpg" for i in range(start, end + 1)]
        gt = load_ground_truth(self._anno[folder.name])
        # a frame range and an annotation of different lengths are reported and trimmed by Sequence
        return Sequence(folder.name, frames, self.tag, gt)


class TNL2kDataset(BaseDataset):
    """TNL2K (tag 'tnl2k'); the language description is kept on the sequence (the original crashed here)."""

    tag = "tnl2k"

    def sequence_names(self) -> list[str]:
        return [d.name for d in _subdirs(self.root)]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(d) for d in _subdirs(self.root))

    def _construct_sequence(self, folder: Path) -> Sequence:
        gt = load_ground_truth(folder / "groundtruth.txt")
        language_file = folder / "language.txt"
        language = load_str(language_file) if language_file.is_file() else None
        frames = sorted(os.listdir(folder / "imgs"))
        prefix = os.path.join(folder, "imgs", "")
        return Sequence(folder.name, [prefix + f for f in frames], self.tag, gt, language=language)


class ITBDataset(BaseDataset):
    """ITB (tag 'itb'): frames ``1..count`` with the zero padding of the first file name."""

    tag = "itb"

    def _videos(self) -> list[Path]:
        videos = []
        for scene in _subdirs(self.root):
            if "." in scene.name:
                continue
            videos += _subdirs(scene)
        return videos

    def sequence_names(self) -> list[str]:
        return [v.name for v in self._videos()]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(v) for v in self._videos())

    def _construct_sequence(self, folder: Path) -> Sequence:
        images = sorted((f for f in os.listdir(folder) if f.endswith(".jpg")), key=lambda f: (len(f), f))
        if not images:
            raise TextFileError(f"ITB sequence {folder}: no .jpg frames.")
        nz = len(images[0].rsplit(".", 1)[0])
        prefix = os.path.join(folder, "")
        frames = [f"{prefix}{i:0{nz}d}.jpg" for i in range(1, len(images) + 1)]
        return Sequence(folder.name, frames, self.tag, load_ground_truth(folder / "groundtruth.txt"))
