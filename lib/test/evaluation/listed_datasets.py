"""Benchmarks whose sequences are a fixed list of frame ranges: OTB-2015, UAV123 and NfS (30 fps).

Each sequence record (stored as data in ``sequence_lists/<name>.json``, the original lists) gives the image
folder, the first and last frame number, the zero padding, the annotation file and the object class; OTB's
Tiger1 drops its first 5 frames (``initOmit``), and some OTB sequences share an image folder with two annotation
files (Jogging_1/2, Skating2_1/2, Human4_2).

Layouts:
* OTB: ``<root>/<Seq>/img/%04d.jpg``, ``<root>/<Seq>/groundtruth_rect.txt`` (comma or whitespace).
* UAV123: ``<root>/data_seq/UAV123/<seq>/%06d.jpg``, ``<root>/anno/UAV123/<seq>.txt`` (comma; may hold NaN).
* NfS: ``<root>/sequences/<Name>/%05d.jpg``, ``<root>/anno/nfs_<Name>.txt`` (tab).
"""

from __future__ import annotations

import os
from pathlib import Path

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.evaluation.lasotdataset import sequence_list_data
from lib.test.utils.load_text import load_ground_truth

__all__ = ["ListedDataset", "OTBDataset", "UAVDataset", "NFSDataset"]


class ListedDataset(BaseDataset):
    """A dataset defined by a stored list of sequence records (see the module docstring)."""

    list_name = ""

    def __init__(self, root: str | Path):
        super().__init__(root)
        self.records = list(sequence_list_data(self.list_name))

    def sequence_names(self) -> list[str]:
        return [r["name"] for r in self.records]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(r) for r in self.records)

    def _construct_sequence(self, record: dict) -> Sequence:
        init_omit = record.get("initOmit", 0)
        nz, ext = record["nz"], record["ext"]
        folder = self.root / record["path"]
        prefix = os.path.join(folder, "")
        frames = [f"{prefix}{i:0{nz}d}.{ext}"
                  for i in range(record["startFrame"] + init_omit, record["endFrame"] + 1)]
        gt = load_ground_truth(self.root / record["anno_path"])
        return Sequence(record["name"], frames, self.tag, gt[init_omit:], object_class=record["object_class"])


class OTBDataset(ListedDataset):
    """OTB-2015 (100 sequences). Tag 'otb'."""

    tag = "otb"
    list_name = "otb"


class UAVDataset(ListedDataset):
    """UAV123 (123 sequences). Tag 'uav' (NaN annotations allowed; see the metrics)."""

    tag = "uav"
    list_name = "uav"


class NFSDataset(ListedDataset):
    """Need for Speed, 30 fps version (100 sequences). Tag 'nfs'."""

    tag = "nfs"
    list_name = "nfs"
