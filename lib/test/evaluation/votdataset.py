"""VOT short-term datasets (vot18, vot20, vot22) in the layout the VOT toolkit downloads.

Layout (``<root>`` is e.g. ``<data_dir>/vot2018``)::

    <root>/list.txt                      one sequence folder name per line
    <root>/<seq>/groundtruth.txt         one region per frame: x,y,w,h | x1,y1,...,x4,y4 | m<mask RLE>
    <root>/<seq>/color/00000001.jpg ...  the frames (``%08d.jpg``, from 1)
    <root>/<seq>/sequence                optional metadata (``channels.color=color/%08d.jpg``, ...)

Without ``list.txt`` every sub-folder with a ``groundtruth.txt`` is a sequence (sorted); without ``color/`` the
frames are looked for in the sequence folder itself (the toolkit's legacy layout). The frame count is the number
of ground-truth lines, as in VOT.

Each :class:`~lib.test.evaluation.data.Sequence` gets the min/max box of every region as ``ground_truth_rect``
(matches OSTrack: polygons become their axis-aligned min/max box, ostrack-spec 7.5), tag ``'vot'`` (one-pass
results go straight into the tracker's results folder, as the original), and two attributes for the reset
protocol (lib.test.evaluation.vot_protocol): ``vot_regions`` (the parsed regions: polygons, rectangles, masks)
and ``vot_benchmark`` (``vot2018``, ``vot2020``, ``vot2022``: the results sub-folder of that protocol).
VOT2020's masks are decoded here (the original needed the ``vot`` toolkit and numba for year 20 and did not
register it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.evaluation.vot_region import (Region, RegionFormatError, parse_region, region_is_empty,
                                            region_to_box_minmax)
from lib.utils.errors import DatasetNotFoundError

__all__ = ["VOTDataset", "VOT_YEARS", "read_vot_regions", "read_sequence_metadata", "vot_benchmark_name"]

logger = logging.getLogger(__name__)

#: years registered as evaluation datasets (vot18, vot20, vot22)
VOT_YEARS = (18, 20, 22)
_LAYOUT = ("<root>/list.txt and <root>/<sequence>/{groundtruth.txt, color/00000001.jpg, ...} (the layout the VOT "
           "toolkit downloads)")


def vot_benchmark_name(year: int) -> str:
    """``vot2018`` for 18: the folder name of the benchmark (results of the reset protocol, toolkit stacks)."""
    return f"vot20{year:02d}" if year < 100 else f"vot{year}"


def read_vot_regions(path: Path) -> list[Region]:
    """Every region of a VOT ``groundtruth.txt`` (trailing empty lines ignored).

    Raises:
        DatasetNotFoundError: the file does not exist.
        RegionFormatError: a line is not a region (the message names the file and the line).
    """
    if not path.is_file():
        raise DatasetNotFoundError(f"VOT sequence {path.parent.name}: {path} does not exist; expected {_LAYOUT}.")
    lines = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return [parse_region(line, f"{path}:{number}") for number, line in enumerate(lines, 1)]


def read_sequence_metadata(path: Path) -> dict[str, str]:
    """``key=value`` lines of a VOT ``sequence`` file ({} when there is none)."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _frame_pattern(folder: Path) -> str:
    """The color frames' path pattern: the ``sequence`` file's channel, else ``color/%08d.jpg``, else the legacy
    ``%08d.jpg`` in the sequence folder."""
    channel = read_sequence_metadata(folder / "sequence").get("channels.color")
    if channel:
        return os.path.join(folder, channel)
    if (folder / "color").is_dir():
        return os.path.join(folder, "color", "%08d.jpg")
    return os.path.join(folder, "%08d.jpg")


class VOTDataset(BaseDataset):
    """A VOT short-term dataset of one year (tag 'vot').

    Args:
        root: the dataset folder (holding list.txt and the sequence folders).
        year: 18, 20 or 22 (names the benchmark; the format of each line is read from the file itself).
    """

    tag = "vot"

    def __init__(self, root: str | os.PathLike, year: int):
        super().__init__(root)
        self.year = int(year)
        self.benchmark = vot_benchmark_name(self.year)
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"VOT{self.year} dataset {self.root} does not exist; expected {_LAYOUT}.")
        self._names = self._read_names()

    def _read_names(self) -> list[str]:
        list_file = self.root / "list.txt"
        if list_file.is_file():
            names = [line.strip() for line in list_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            names = sorted(p.name for p in self.root.iterdir() if (p / "groundtruth.txt").is_file())
        if not names:
            raise DatasetNotFoundError(f"VOT{self.year} dataset {self.root}: no sequences (no list.txt and no folder "
                                       f"with a groundtruth.txt); expected {_LAYOUT}.")
        return names

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(name) for name in self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        folder = self.root / name
        regions = read_vot_regions(folder / "groundtruth.txt")
        if not regions:
            raise RegionFormatError(f"VOT sequence {name}: {folder / 'groundtruth.txt'} is empty; it needs one region "
                                    f"per frame.")
        pattern = _frame_pattern(folder)
        frames = [pattern % i for i in range(1, len(regions) + 1)]
        boxes = np.array([region_to_box_minmax(r) for r in regions], dtype=np.float64)
        # an empty region (VOT2020 masks: the target is not visible) has no box
        visible = np.array([not region_is_empty(r) for r in regions], dtype=bool)
        init = next((i for i, v in enumerate(visible) if v), None)
        if init is None:
            raise RegionFormatError(f"VOT sequence {name}: no frame of {folder / 'groundtruth.txt'} holds a region "
                                    f"with a positive size.")
        seq = Sequence(name, frames, self.tag, boxes, target_visible=None if visible.all() else visible,
                       init_data={init: {"bbox": boxes[init].tolist()}} if init else None)
        seq.vot_regions = regions[init:]
        seq.vot_benchmark = self.benchmark
        return seq
