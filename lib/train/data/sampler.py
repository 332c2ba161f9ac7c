"""TrackingSampler (spec 5.4): draws a dataset, a sequence, template and search frames, and processes them.

Sampling rules as the original: the dataset by the normalised DATASETS_RATIO; a sequence uniformly, accepted if
it has more than 2 * (num_template + num_search) visible frames and at least 20 frames (image datasets such as
COCO always); in 'causal' mode a visible base (template) frame and a visible search frame after it, at most
max_gap frames later, the gap widening by 5 after every failed try; COCO uses its one image for both.

Differences from the original, each deliberate (spec 8.3 item 18):

* Randomness comes from a ``random.Random`` seeded from (seed, epoch, index) for each sample, so the same seed
  gives the same samples whatever the number of DataLoader workers, and ranks draw different samples.
* Retries are bounded. Before training, every dataset must have at least one sequence that can qualify, else
  :class:`NoUsableSequenceError`; a sample that cannot be drawn within ``max_attempts`` raises
  :class:`SamplingError` instead of looping forever.
* A failed draw is never silent: the reason is counted (see :mod:`lib.train.data.skips`).
"""

from __future__ import annotations

import logging
import math
import random
from typing import Callable, Sequence

import numpy as np
import torch.utils.data

from lib.train.data.loader import new_batch_tensor
from lib.utils.crop import box_is_valid
from lib.train.data.skips import SampleSkip, SkipCounter, draw_with_retries, load_errors_as_skips
from lib.train.dataset.base_video_dataset import AnnotationError
from lib.utils.errors import ConfigError, OSTrackError

__all__ = ["TrackingSampler", "SamplingError", "NoUsableSequenceError", "sample_visible_ids"]

logger = logging.getLogger(__name__)

MIN_SEQUENCE_LENGTH = 20


class SamplingError(OSTrackError):
    """No valid sample could be drawn within the retry bound."""


class NoUsableSequenceError(OSTrackError):
    """A dataset has no sequence from which template and search frames can be drawn."""


def sample_visible_ids(visible: np.ndarray, rng: random.Random, num_ids: int = 1, min_id: int | None = None,
                       max_id: int | None = None, allow_invisible: bool = False,
                       force_invisible: bool = False) -> list[int] | None:
    """``num_ids`` frame ids drawn with replacement among the visible ids in [min_id, max_id) (spec 5.4).

    Returns [] for num_ids 0 and None when there is no candidate.
    """
    if num_ids == 0:
        return []
    n = len(visible)
    lo = 0 if min_id is None or min_id < 0 else min_id
    hi = n if max_id is None or max_id > n else max_id
    if hi <= lo:
        return None
    window = np.asarray(visible[lo:hi], dtype=bool)
    if force_invisible:
        cands = np.flatnonzero(~window)
    elif allow_invisible:
        cands = np.arange(hi - lo)
    else:
        cands = np.flatnonzero(window)
    if len(cands) == 0:
        return None
    # as random.choices(k=num_ids): floor(random() * n) per pick
    return [int(cands[math.floor(rng.random() * len(cands))]) + lo for _ in range(num_ids)]


class TrackingSampler(torch.utils.data.Dataset):
    """A torch Dataset of ``samples_per_epoch`` random training samples.

    Args:
        datasets: training datasets.
        p_datasets: sampling weights (normalised); None = proportional to the number of sequences.
        samples_per_epoch: length of an epoch.
        max_gap: DATA.MAX_SAMPLE_INTERVAL.
        num_search_frames: search frames per sample.
        num_template_frames: template frames per sample.
        processing: callable (data dict, rng) -> dict of tensors, e.g. :class:`STARKProcessing`.
        frame_sample_mode: 'causal' (OSTrack), or 'trident' / 'trident_pro' / 'stark' (max_gap as a list).
        seed: base seed of the per-sample random streams.
        max_attempts: draws per sample before giving up with :class:`SamplingError`.
        max_frame_tries: template/search draws per sequence before counting 'no_frame_pair'.
    """

    def __init__(self, datasets: Sequence, p_datasets: Sequence[float] | None, samples_per_epoch: int, max_gap,
                 num_search_frames: int, num_template_frames: int = 1, processing: Callable | None = None,
                 frame_sample_mode: str = "causal", seed: int = 0, max_attempts: int = 1000,
                 max_frame_tries: int = 1000, check_datasets: bool = True):
        if not datasets:
            raise ConfigError("TrackingSampler needs at least one dataset.")
        p = [len(d) for d in datasets] if p_datasets is None else [float(x) for x in p_datasets]
        if len(p) != len(datasets):
            raise ConfigError(f"{len(p)} sampling ratios for {len(datasets)} datasets; give one ratio per dataset.")
        if any(x < 0 for x in p) or sum(p) <= 0:
            raise ConfigError(f"sampling ratios must be non-negative with a positive sum, got {list(p)}.")
        if frame_sample_mode not in ("causal", "trident", "trident_pro", "stark"):
            raise ConfigError(f"unknown frame_sample_mode {frame_sample_mode!r}.")
        self.datasets = list(datasets)
        self.p_datasets = [x / sum(p) for x in p]
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = max_gap
        self.num_search_frames = num_search_frames
        self.num_template_frames = num_template_frames
        self.processing = processing or (lambda data, rng: data)
        self.frame_sample_mode = frame_sample_mode
        self.seed = int(seed)
        self.epoch = 0
        self.max_attempts = max_attempts
        self.max_frame_tries = max_frame_tries
        self.skips = SkipCounter()
        self.batch_stack_dim = 1  # set by LTRLoader to its stack_dim
        self._unusable: list[set[int]] = [set() for _ in self.datasets]
        self._usable: list[set[int]] = [set() for _ in self.datasets]
        if check_datasets:
            for dataset, weight in zip(self.datasets, self.p_datasets):
                if weight > 0:
                    self._check_usable(dataset)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next epoch's samples differ from this one's (call before creating the epoch's iterator)."""
        self.epoch = int(epoch)

    def sample_rng(self, index: int) -> random.Random:
        """The random stream of sample ``index`` in the current epoch."""
        return random.Random((self.seed << 64) ^ (self.epoch << 40) ^ int(index))

    def __getitem__(self, index: int) -> dict:
        return self._sample(index)

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        """The samples of a batch (the DataLoader calls this); their images are written straight into one batch
        tensor per role, laid out for collation along ``batch_stack_dim``, so collation does not copy them."""
        if not getattr(self.processing, "supports_out", False):
            return [self._sample(i) for i in indices]
        dim = self.batch_stack_dim
        buffers = {}
        for role, n in (("template", self.num_template_frames), ("search", self.num_search_frames)):
            shape = list(self.processing.image_shape(role, n))
            shape.insert(dim, len(indices))
            buffers[f"{role}_images"] = new_batch_tensor(shape)
        return [self._sample(i, {k: b.select(dim, j) for k, b in buffers.items()}) for j, i in enumerate(indices)]

    def _sample(self, index: int, out: dict | None = None) -> dict:
        rng = self.sample_rng(index)
        return draw_with_retries(lambda attempt: self._draw(rng, out), self.max_attempts, self.skips, logger,
                                 give_up=self._sampling_error)

    def _sampling_error(self, skipped: str) -> SamplingError:
        roots = ", ".join(f"{d.get_name()} ({d.root})" for d in self.datasets)
        return SamplingError(
            f"no valid sample after {self.max_attempts} draws ({skipped}). The training data of {roots} is mostly "
            f"unusable (missing or corrupt frames, bad boxes); check the dataset paths and files.")

    def _check_usable(self, dataset) -> None:
        """Raise NoUsableSequenceError unless some sequence of the dataset can qualify."""
        order = list(range(dataset.get_num_sequences()))
        random.Random(self.seed).shuffle(order)
        reasons: dict[str, int] = {}
        for seq_id in order:
            reason = self._qualifies(dataset, seq_id)
            if reason is None:
                return
            reasons[reason] = reasons.get(reason, 0) + 1
        found = ", ".join(f"{name} {n}" for name, n in sorted(reasons.items()))
        raise NoUsableSequenceError(
            f"dataset {dataset.get_name()} under {dataset.root}: none of its {len(order)} sequences can be sampled "
            f"(each needs at least {MIN_SEQUENCE_LENGTH} frames and more than "
            f"{2 * (self.num_search_frames + self.num_template_frames)} visible frames with valid boxes). "
            f"Sequences by reason: {found} (bad_box: an annotation file that cannot be parsed or has no frame to go "
            f"with, see the warnings above; missing_image: a sequence folder that cannot be listed).")

    def _qualifies(self, dataset, seq_id: int) -> str | None:
        """None if the sequence can be sampled, else the skip reason."""
        try:
            info = dataset.get_sequence_info(seq_id)
        except AnnotationError:
            return "bad_box"
        except FileNotFoundError:
            return "missing_image"
        if not dataset.is_video_sequence():
            return None
        visible = info["visible"]
        enough = int(visible.sum()) > 2 * (self.num_search_frames + self.num_template_frames)
        return None if enough and len(visible) >= MIN_SEQUENCE_LENGTH else "too_short"

    def _sample_sequence(self, d_index: int, rng: random.Random) -> tuple[int, dict]:
        dataset = self.datasets[d_index]
        n = dataset.get_num_sequences()
        unusable = self._unusable[d_index]
        for _ in range(100 * n + 1000):
            seq_id = rng.randint(0, n - 1)
            if seq_id in unusable:
                self.skips.add("too_short")
                continue
            if seq_id in self._usable[d_index]:
                return seq_id, dataset.get_sequence_info(seq_id)
            reason = self._qualifies(dataset, seq_id)
            if reason is None:
                self._usable[d_index].add(seq_id)
                return seq_id, dataset.get_sequence_info(seq_id)
            unusable.add(seq_id)
            self.skips.add(reason)
        raise SamplingError(f"dataset {dataset.get_name()}: no usable sequence found in {100 * n + 1000} draws.")

    def _frame_ids(self, visible: np.ndarray, rng: random.Random) -> tuple[list[int], list[int]]:
        nt, ns = self.num_template_frames, self.num_search_frames
        if self.frame_sample_mode != "causal":
            return self._frame_ids_multi_gap(visible, rng)
        gap_increase = 0
        for _ in range(self.max_frame_tries):
            base = sample_visible_ids(visible, rng, 1, min_id=nt - 1, max_id=len(visible) - ns)
            if base is None:
                break
            prev = sample_visible_ids(visible, rng, nt - 1, min_id=base[0] - self.max_gap - gap_increase,
                                      max_id=base[0])
            if prev is None:
                gap_increase += 5
                continue
            template_ids = base + prev
            search_ids = sample_visible_ids(visible, rng, ns, min_id=template_ids[0] + 1,
                                            max_id=template_ids[0] + self.max_gap + gap_increase)
            gap_increase += 5
            if search_ids is not None:
                return template_ids, search_ids
        raise SampleSkip("no_frame_pair", "no template/search pair within the retry bound")

    def _frame_ids_multi_gap(self, visible: np.ndarray, rng: random.Random) -> tuple[list[int], list[int]]:
        # trident / trident_pro / stark: max_gap is a list, one gap per extra template
        gaps = self.max_gap if isinstance(self.max_gap, (list, tuple)) else [self.max_gap]
        for _ in range(self.max_frame_tries):
            template1 = sample_visible_ids(visible, rng, 1)
            search = sample_visible_ids(visible, rng, 1)
            if template1 is None or search is None:
                break
            extra = []
            for gap in gaps:
                if template1[0] >= search[0]:
                    lo, hi = search[0], search[0] + gap
                else:
                    lo, hi = search[0] - gap, search[0]
                allow = self.frame_sample_mode in ("trident_pro", "stark")
                ids = sample_visible_ids(visible, rng, 1, min_id=lo, max_id=hi, allow_invisible=allow)
                if ids is None:
                    break
                extra += ids
            else:
                return template1 + extra, search
        raise SampleSkip("no_frame_pair", "no template/search frames within the retry bound")

    def _draw(self, rng: random.Random, out: dict | None = None) -> dict:
        d_index = rng.choices(range(len(self.datasets)), weights=self.p_datasets)[0]
        dataset = self.datasets[d_index]
        seq_id, info = self._sample_sequence(d_index, rng)
        if dataset.is_video_sequence():
            template_ids, search_ids = self._frame_ids(np.asarray(info["visible"]), rng)
        else:
            template_ids, search_ids = [1] * self.num_template_frames, [1] * self.num_search_frames
        with load_errors_as_skips():
            frames, annos, meta = dataset.get_frames(seq_id, template_ids + search_ids, info)
        boxes = annos["bbox"]
        if not all(box_is_valid(b) for b in boxes):
            raise SampleSkip("bad_box", f"{dataset.get_name()} sequence {seq_id}: invalid box")
        nt = len(template_ids)
        masks = annos.get("mask")
        data = {
            "template_images": frames[:nt], "template_anno": boxes[:nt],
            "template_masks": None if masks is None else masks[:nt],
            "search_images": frames[nt:], "search_anno": boxes[nt:],
            "search_masks": None if masks is None else masks[nt:],
            "dataset": dataset.get_name(), "test_class": meta.get("object_class_name"),
        }
        return self.processing(data, rng) if out is None else self.processing(data, rng, out)
