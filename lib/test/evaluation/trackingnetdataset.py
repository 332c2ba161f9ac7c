"""TrackingNet test set (511 sequences; only the first frame is annotated).

Layout: ``<root>/TEST/anno/<video>.txt`` (comma-separated xywh) and ``<root>/TEST/frames/<video>/<i>.jpg``
with frames numbered from 0 and sorted numerically. Dataset tag 'trackingnet' (results go to a trackingnet/
sub-folder).
"""

from __future__ import annotations

from pathlib import Path

from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.evaluation.got10kdataset import list_frames
from lib.test.utils.load_text import load_ground_truth
from lib.utils.errors import DatasetNotFoundError

__all__ = ["TrackingNetDataset"]


class TrackingNetDataset(BaseDataset):
    """TrackingNet evaluation split (default TEST).

    Args:
        root: the TrackingNet root holding ``TEST`` (and ``TRAIN_<k>``) folders.
        sets: sub-folders to read, default ("TEST",).
    """

    tag = "trackingnet"

    def __init__(self, root: str | Path, sets: tuple[str, ...] = ("TEST",)):
        super().__init__(root)
        self.sets = sets
        self._entries: list[tuple[str, str]] = []
        for set_name in sets:
            anno_dir = self.root / set_name / "anno"
            if not anno_dir.is_dir():
                raise DatasetNotFoundError(f"TrackingNet: {anno_dir} does not exist. Expected the layout "
                                           f"<root>/{set_name}/anno/<video>.txt and <root>/{set_name}/frames/<video>/.")
            names = sorted(p.stem for p in anno_dir.glob("*.txt"))
            self._entries += [(set_name, n) for n in names]

    def sequence_names(self) -> list[str]:
        return [name for _, name in self._entries]

    def get_sequence_list(self) -> SequenceList:
        return SequenceList(self._construct_sequence(s, n) for s, n in self._entries)

    def _construct_sequence(self, set_name: str, name: str) -> Sequence:
        gt = load_ground_truth(self.root / set_name / "anno" / f"{name}.txt")
        frames = list_frames(self.root / set_name / "frames" / name)
        return Sequence(name, frames, self.tag, gt)
