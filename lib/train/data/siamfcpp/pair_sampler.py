"""TrackPairSampler: SiamFC++'s training pairs drawn from the framework's datasets (spec 7.2).

Sampling rules as video_analyst: a coin with probability ``negative_pair_ratio`` decides, once per sample,
whether the pair is negative. A positive pair is a dataset drawn by ratio, a sequence uniformly, a template
frame uniformly and a search frame uniformly in [max(0, idx1 - max_diff), L - 1] (quirk Q6: the limit applies
only backwards, the search frame may equal or precede the template frame). An image dataset (COCO) pairs its
image with itself. A negative pair is two frames drawn independently (dataset, sequence and frame each). The
frames come to the processing as BGR uint8 images with xyxy boxes (video_analyst's conventions, spec 1).

Differences from the original, each deliberate:

* Randomness comes from a numpy ``RandomState`` seeded from (seed, epoch, index) for each sample, and the same
  stream drives the augmentation. The original seeded sampling per worker from torch's initial seed and
  augmented with ``RandomState(0)`` in every worker (quirks Q5, Q25), so its data depended on the number of
  workers and two runs differed; here the same seed gives the same samples whatever the number of workers.
* Retries are bounded (``max_attempts``, then :class:`~lib.train.data.sampler.SamplingError`); a rejected draw is
  counted by reason in the sample's ``skipped`` counts (:mod:`lib.train.data.skips`): missing or corrupt frames,
  and boxes the filter rejects ('bad_box': not finite, no area, or beyond the filter's aspect-ratio bound).
* No filter (``pair_filter=None``) works: only invalid boxes are rejected (the original crashed, quirk Q37).
* Epochs: the original was one long dataset of num_epochs * nr_image_per_epoch items; here an epoch is
  ``samples_per_epoch`` items and :meth:`set_epoch` selects the epoch's streams.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Callable, Sequence

import numpy as np
import torch.utils.data

from lib.utils.image import CorruptImageError
from lib.train.data.sampler import NoUsableSequenceError, SamplingError
from lib.train.data.siamfcpp.pair_filter import TrackPairFilter
from lib.utils.subwindow import xywh2xyxy
from lib.train.data.skips import SampleSkip, SkipCounter, draw_with_retries, load_errors_as_skips
from lib.train.dataset.base_video_dataset import AnnotationError
from lib.utils.errors import ConfigError

__all__ = ["TrackPairSampler", "sample_rng"]

logger = logging.getLogger(__name__)

# rejects only boxes that cannot be cropped (not finite, no area): an infinite ratio bound never applies
_VALID_ONLY = TrackPairFilter(max_ratio=math.inf)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.RandomState:
    """The numpy random stream of sample ``index`` of ``epoch`` (independent of worker and call order)."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(4)
    return np.random.RandomState(state)


class TrackPairSampler(torch.utils.data.Dataset):
    """A torch Dataset of ``samples_per_epoch`` SiamFC++ training samples.

    Each item is ``processing({"data1": {"image", "anno"}, "data2": {...}, "is_negative_pair": bool}, rng)``
    (template frame, search frame, BGR uint8 (H, W, 3) images, xyxy float32 boxes) plus ``skipped``, the
    LongTensor of skip counts since the previous item of this process (see :mod:`lib.train.data.skips`).

    Args:
        datasets: framework training datasets (:class:`~lib.train.dataset.base_video_dataset.BaseVideoDataset`).
        ratios: sampling weight of each dataset (normalised to sum 1).
        max_diffs: per dataset, how many frames the search frame may precede the template frame (>= 0).
        samples_per_epoch: length of an epoch.
        negative_pair_ratio: probability of a negative pair (template and search show different targets).
        pair_filter: frame filter (video_analyst's TrackPairFilter); None rejects only invalid boxes.
        processing: callable (sample, rng) -> dict, e.g. crop, target and tensor conversion; None returns the
            raw sample.
        seed: base seed of the per-sample random streams.
        max_attempts: draws per sample before giving up with SamplingError.
        check_datasets: before training, make sure each weighted dataset has a sequence with a usable box.
    """

    def __init__(self, datasets: Sequence, ratios: Sequence[float], max_diffs: Sequence[int], samples_per_epoch: int,
                 negative_pair_ratio: float = 0.0, pair_filter: TrackPairFilter | None = None,
                 processing: Callable[[dict, np.random.RandomState], dict] | None = None, seed: int = 0,
                 max_attempts: int = 100, check_datasets: bool = True):
        if not datasets:
            raise ConfigError("TrackPairSampler needs at least one dataset.")
        if len(ratios) != len(datasets) or len(max_diffs) != len(datasets):
            raise ConfigError(f"TrackPairSampler: {len(datasets)} datasets but {len(ratios)} ratios and "
                              f"{len(max_diffs)} max_diff values; give one ratio and one max_diff per dataset.")
        ratios = [float(r) for r in ratios]
        if any(not math.isfinite(r) or r < 0 for r in ratios) or sum(ratios) <= 0:
            raise ConfigError(f"TrackPairSampler: dataset ratios must be non-negative with a positive sum, got "
                              f"{ratios}.")
        if any(int(m) < 0 for m in max_diffs):
            raise ConfigError(f"TrackPairSampler: max_diff must be >= 0 for every dataset, got {list(max_diffs)}.")
        if not 0.0 <= negative_pair_ratio <= 1.0:
            raise ConfigError(f"TrackPairSampler: negative_pair_ratio must be in [0, 1], got {negative_pair_ratio}.")
        if samples_per_epoch < 1 or seed < 0 or max_attempts < 1:
            raise ConfigError(f"TrackPairSampler: samples_per_epoch and max_attempts must be >= 1 and seed >= 0, got "
                              f"{samples_per_epoch}, {max_attempts} and {seed}.")
        self.datasets = list(datasets)
        self.ratios = np.array(ratios) / sum(ratios)
        self.max_diffs = [int(m) for m in max_diffs]
        self.samples_per_epoch = int(samples_per_epoch)
        self.negative_pair_ratio = float(negative_pair_ratio)
        self.pair_filter = pair_filter
        self.processing = processing or (lambda sample, rng: sample)
        self.seed = int(seed)
        self.epoch = 0
        self.max_attempts = int(max_attempts)
        self.skips = SkipCounter()
        if check_datasets:
            for dataset, weight in zip(self.datasets, self.ratios):
                if weight > 0:
                    self._check_usable(dataset)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the random streams of ``epoch`` (call before creating the epoch's iterator)."""
        self.epoch = int(epoch)

    def sample_rng(self, index: int) -> np.random.RandomState:
        """The random stream of sample ``index`` in the current epoch."""
        return sample_rng(self.seed, self.epoch, index)

    def __getitem__(self, index: int) -> dict:
        rng = self.sample_rng(index)
        # matches video_analyst: the pair type is drawn once and kept over retries
        is_negative = bool(rng.rand() < self.negative_pair_ratio)

        def draw(attempt: int) -> dict:
            data1, data2 = self._negative_pair(rng) if is_negative else self._positive_pair(rng)
            return self.processing({"data1": data1, "data2": data2, "is_negative_pair": is_negative}, rng)

        return draw_with_retries(draw, self.max_attempts, self.skips, logger, give_up=self._sampling_error)

    def _sampling_error(self, skipped: str) -> SamplingError:
        return SamplingError(
            f"TrackPairSampler: no valid sample after {self.max_attempts} draws ({skipped}). The training data is "
            f"mostly unusable (missing or corrupt frames, boxes rejected by the filter); check the dataset paths and "
            f"files.")

    def _pick_sequence(self, rng: np.random.RandomState) -> tuple[int, int, dict]:
        d_index = int(rng.choice(len(self.datasets), p=self.ratios))
        dataset = self.datasets[d_index]
        seq_id = int(rng.choice(dataset.get_num_sequences()))
        with load_errors_as_skips(AnnotationError, FileNotFoundError):
            info = dataset.get_sequence_info(seq_id)
        return d_index, seq_id, info

    def _boxes(self, info: dict, frame_ids: Sequence[int]) -> list[np.ndarray]:
        boxes = [xywh2xyxy(np.asarray(info["bbox"][f], dtype=np.float32)) for f in frame_ids]
        for box in boxes:
            # checked before decoding: the validity and aspect-ratio tests need no image
            if not self._box_usable(box):
                raise SampleSkip("bad_box", f"box {box.tolist()} is invalid or rejected by {self.pair_filter!r}")
        return boxes

    def _load(self, d_index: int, seq_id: int, info: dict, frame_ids: Sequence[int]) -> list[dict]:
        dataset = self.datasets[d_index]
        boxes = self._boxes(info, frame_ids)
        with load_errors_as_skips(FileNotFoundError, CorruptImageError):
            frames, _, _ = dataset.get_frames(seq_id, list(frame_ids), info)
        # RGB -> BGR as a view: the crop reads it directly, no full-frame copy
        out = [{"image": frame[..., ::-1], "anno": box} for frame, box in zip(frames, boxes)]
        if self.pair_filter is not None and self.pair_filter.check_area:
            for item in out:
                if self.pair_filter(item):  # the area test needs the frame size
                    raise SampleSkip("bad_box", f"box {item['anno'].tolist()} rejected by {self.pair_filter!r}")
        return out

    def _random_frame(self, rng: np.random.RandomState) -> dict:
        d_index, seq_id, info = self._pick_sequence(rng)
        frame_id = int(rng.choice(len(info["bbox"]))) if self.datasets[d_index].is_video_sequence() else 0
        return self._load(d_index, seq_id, info, [frame_id])[0]

    def _negative_pair(self, rng: np.random.RandomState) -> tuple[dict, dict]:
        # the two frames are drawn independently and may coincide (as the original)
        return self._random_frame(rng), self._random_frame(rng)

    def _positive_pair(self, rng: np.random.RandomState) -> tuple[dict, dict]:
        d_index, seq_id, info = self._pick_sequence(rng)
        if not self.datasets[d_index].is_video_sequence():
            frame = self._load(d_index, seq_id, info, [0])[0]
            return frame, {"image": frame["image"], "anno": frame["anno"].copy()}
        length = len(info["bbox"])
        idx1 = int(rng.choice(length))
        # matches video_analyst: the search frame is uniform in [max(0, idx1 - max_diff), L - 1], so max_diff only
        # limits how far back it goes, and it may be the template frame itself (quirk Q6)
        idx2 = int(rng.randint(max(0, idx1 - self.max_diffs[d_index]), length))
        template, search = self._load(d_index, seq_id, info, [idx1, idx2])
        return template, search

    def _box_usable(self, box: np.ndarray) -> bool:
        """Whether a box may pass (the area test, which needs the frame, is left to sampling)."""
        if _VALID_ONLY.box_filtered(box):
            return False
        return self.pair_filter is None or self.pair_filter.check_area or not self.pair_filter.box_filtered(box)

    def _check_usable(self, dataset) -> None:
        """Raise NoUsableSequenceError unless some sequence of ``dataset`` has a box the filter accepts."""
        order = list(range(dataset.get_num_sequences()))
        random.Random(self.seed).shuffle(order)
        for seq_id in order:
            try:
                bbox = np.asarray(dataset.get_sequence_info(seq_id)["bbox"], dtype=np.float32)
            except (AnnotationError, FileNotFoundError):
                continue
            if any(self._box_usable(xywh2xyxy(b)) for b in bbox):
                return
        raise NoUsableSequenceError(
            f"dataset {dataset.get_name()} under {dataset.root}: none of its {len(order)} sequences has a box that "
            f"can be used ({self.pair_filter!r} rejects them all, or they are invalid). Check the annotation files.")
