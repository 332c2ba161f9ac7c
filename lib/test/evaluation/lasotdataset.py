"""LaSOT test set (280 sequences, protocol II) and the LaSOT extension subset (150 sequences).

Layout: ``<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/00000001.jpg}``.
The sequence lists are data files in ``sequence_lists/`` with the original order.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.utils.load_text import load_ground_truth, load_values

__all__ = ["LaSOTDataset", "LaSOTExtensionSubsetDataset", "sequence_list_data"]

_LISTS_DIR = Path(__file__).resolve().parent / "sequence_lists"


@lru_cache(maxsize=None)
def sequence_list_data(name: str) -> tuple:
    """The stored sequence list ``sequence_lists/<name>.json`` (names, or per-sequence records)."""
    with open(_LISTS_DIR / f"{name}.json", encoding="utf-8") as f:
        return tuple(json.load(f)["sequences"])


class LaSOTDataset(BaseDataset):
    """LaSOT test set; target_visible = not fully occluded and not out of view (spec 7.5).

    Args:
        root: the LaSOT root holding one folder per class.
        names: sequence names (default: the 280 test sequences).
    """

    tag = "lasot"
    list_name = "lasot"

    def __init__(self, root: str | Path, names: list[str] | None = None):
        super().__init__(root)
        self._names = list(names) if names is not None else list(sequence_list_data(self.list_name))

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(name) for name in self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        class_name = name.rsplit("-", 1)[0]
        folder = self.root / class_name / name
        gt = load_ground_truth(folder / "groundtruth.txt")
        full_occlusion = load_values(folder / "full_occlusion.txt")
        out_of_view = load_values(folder / "out_of_view.txt")
        n = min(len(full_occlusion), len(out_of_view))  # files of other lengths are reported and trimmed by Sequence
        target_visible = np.logical_and(full_occlusion[:n] == 0, out_of_view[:n] == 0)
        # string formatting, not a Path per frame: LaSOT has 280 x ~2,500 frames
        prefix = os.path.join(folder, "img", "")
        frames = [f"{prefix}{i:08d}.jpg" for i in range(1, len(gt) + 1)]
        return Sequence(name, frames, self.tag, gt, object_class=class_name, target_visible=target_visible)


class LaSOTExtensionSubsetDataset(LaSOTDataset):
    """LaSOT extension subset (15 new classes x 10 sequences), same layout. Tag 'lasot_extension_subset'."""

    tag = "lasot_extension_subset"
    list_name = "lasot_extension_subset"
