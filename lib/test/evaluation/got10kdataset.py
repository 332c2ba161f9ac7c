"""GOT-10k evaluation splits (test, val, ltrval) and the synthetic dataset written in the same layout.

Layout: ``<root>/<split>/list.txt`` and ``<root>/<split>/<sequence>/{00000001.jpg, ..., groundtruth.txt}``
(comma-separated xywh; the test split holds only the first frame's box), plus optional ``cover.label``
and ``meta_info.ini`` used by the GOT-10k toolkit metric mode.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.utils.load_text import load_ground_truth, load_values
from lib.utils.errors import DatasetNotFoundError

__all__ = ["GOT10KDataset", "SyntheticDataset", "list_frames", "read_resolution"]

_RESOLUTION = re.compile(r"resolution\s*:\s*\(?\s*(\d+)\s*,\s*(\d+)")


def list_frames(folder: Path, ext: str = ".jpg") -> list[str]:
    """Image files of a folder sorted by their numeric name (``1.jpg`` < ``10.jpg``), as the original.

    When the names are frame numbers, the list runs from the lowest to the highest number without a gap: a file
    missing inside the sequence keeps its place (its path is listed and reading it fails with the sequence and frame
    named), instead of silently shifting every later frame against the ground truth.
    """
    try:
        names = [e.name for e in os.scandir(folder) if e.name.endswith(ext)]
    except FileNotFoundError:
        raise DatasetNotFoundError(f"sequence folder {folder} does not exist.") from None

    def key(name: str):
        stem = name[: -len(ext)]
        return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)

    prefix = os.path.join(folder, "")  # string joins: a Path per frame is slow for 2,500-frame sequences
    stems = [n[: -len(ext)] for n in names]
    if stems and all(s.isdigit() for s in stems):
        numbers = sorted(int(s) for s in stems)
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            widths = {len(s) for s in stems}
            # zero-padded names (00000001.jpg) all have one width; unpadded ones (TrackingNet: 0.jpg) vary
            pad = widths.pop() if len(widths) == 1 and any(s.startswith("0") and len(s) > 1 for s in stems) else 0
            return [f"{prefix}{i:0{pad}d}{ext}" for i in range(numbers[0], numbers[-1] + 1)]
    return [prefix + n for n in sorted(names, key=key)]


def read_resolution(meta_file: Path) -> tuple[int, int] | None:
    """(width, height) from a GOT-10k ``meta_info.ini`` (``resolution: (1280, 720)``), if present."""
    if not meta_file.is_file():
        return None
    match = _RESOLUTION.search(meta_file.read_text(encoding="utf-8", errors="replace"))
    return (int(match.group(1)), int(match.group(2))) if match else None


class GOT10KDataset(BaseDataset):
    """GOT-10k test / val / ltrval split (spec 7.5). Dataset tag 'got10k' (results go to a got10k/ sub-folder).

    Args:
        root: the GOT-10k root holding ``train``, ``val`` and ``test`` folders.
        split: 'test', 'val', or 'ltrval' (sequences of ``train`` named by ``val_split_file``).
        val_split_file: for 'ltrval', the split file (indices into train/list.txt, as the original's
            ``got10k_val_split.txt``, or sequence names).
    """

    tag = "got10k"

    def __init__(self, root: str | Path, split: str, val_split_file: str | Path | None = None):
        super().__init__(root)
        if split not in ("test", "val", "ltrval", "train"):
            raise ValueError(f"unknown GOT-10k split {split!r}; expected test, val or ltrval")
        self.split = split
        self.split_dir = self.root / ("train" if split == "ltrval" else split)
        self.val_split_file = None if val_split_file is None else Path(val_split_file)
        self._names = self._read_sequence_names()

    def _read_sequence_names(self) -> list[str]:
        list_file = self.split_dir / "list.txt"
        if not list_file.is_file():
            raise DatasetNotFoundError(
                f"{type(self).__name__} split {self.split!r}: {list_file} does not exist. Expected the GOT-10k "
                f"layout <root>/{self.split_dir.name}/list.txt with one sequence folder per line.")
        names = [line.strip() for line in list_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if self.split != "ltrval":
            return names
        if self.val_split_file is None or not self.val_split_file.is_file():
            raise DatasetNotFoundError(f"got10k_ltrval needs the split file {self.val_split_file} "
                                       f"(lib/train/data_specs/got10k_val_split.txt in the original).")
        entries = [e.strip() for e in self.val_split_file.read_text(encoding="utf-8").splitlines() if e.strip()]
        if all(e.isdigit() for e in entries):
            bad = [e for e in entries if int(e) >= len(names)]
            if bad:
                raise DatasetNotFoundError(
                    f"{self.val_split_file} holds indices into {list_file}, but index {bad[0]} is out of range "
                    f"for its {len(names)} entries; the split file expects the official train list (9335).")
            return [names[int(e)] for e in entries]
        return entries

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(name) for name in self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        folder = self.split_dir / name
        gt = load_ground_truth(folder / "groundtruth.txt")
        cover_file = folder / "cover.label"
        cover = load_values(cover_file) if cover_file.is_file() else None
        return Sequence(name, list_frames(folder), self.tag, gt, cover=cover,
                        resolution=read_resolution(folder / "meta_info.ini"))


class SyntheticDataset(GOT10KDataset):
    """The generated synthetic dataset (GOT-10k layout under ``env.synthetic_dir``). Tag 'synthetic'.

    Unlike GOT-10k, its results are written straight into the tracker's results folder (no sub-folder).
    """

    tag = "synthetic"

    def __init__(self, root: str | Path, split: str):
        super().__init__(root, "train" if split == "train" else split)
