"""PySOT's training pairs (spec 6.2-6.3): per-dataset picks, positive and negative pairs, augmentation, labels.

:class:`SiamesePairDataset` is PySOT's ``TrkDataset`` / ``BANDataset`` over any :class:`VideoSource` (context crops
made on the fly from a framework dataset, :class:`~lib.train.data.siamese.crop.FrameSource`, or read from PySOT's
pre-cropped layout, :class:`~lib.train.data.siamese.precropped.PrecroppedSource`).

Pick order, and how it relates to PySOT's (quirk 22). PySOT fixes, at construction, one pick list per dataset
(its video indices shuffled and repeated to NUM_USE entries), pools them, and builds the whole run's order as
repeated shuffles of the pool (passes), cut into epochs of VIDEOS_PER_EPOCH samples. Here the per-dataset picks
are fixed the same way (kept: a dataset with NUM_USE below its size uses the same subset of videos all run long),
and the run is the same sequence of passes, each an independent shuffle of the pool; but the shuffle of pass k is
a pure function of (seed, k) and sample ``index`` of epoch ``epoch`` sits at run position epoch * len + index.
Everything a sample draws after that (gray, negative, track, frames, augmentation, labels) comes from a
``np.random.RandomState`` seeded from (seed, epoch, index). So a sample is a pure function of (seed, epoch, index):
the same batches whatever the number of workers or ranks, and a resumed run continues exactly. PySOT instead
drew in each loader worker from numpy's global RNG as seeded by PyTorch (spec 6.5), so its samples depend on the
number of workers; the same seed does not reproduce PySOT's samples, only their distribution.

Bad data: a draw that hits a missing or corrupt frame, a bad box or a video without usable frames is counted
(:mod:`lib.train.data.skips`, under the sample's ``skipped``) and drawn again from the same stream; the first
retry and later ones use a random video of the same dataset. After ``max_attempts`` draws the sample fails with
:class:`~lib.train.data.sampler.SamplingError`; a dataset without any usable video is an error at construction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np
import torch
import torch.utils.data

from lib.utils.image import CorruptImageError
from lib.train.data.loader import new_batch_tensor
from lib.train.data.sampler import NoUsableSequenceError, SamplingError
from lib.train.data.siamese.augmentation import Augmentation
from lib.train.data.siamese.crop import box_in_context_crop
from lib.train.data.skips import SampleSkip, SkipCounter, draw_with_retries
from lib.train.dataset.base_video_dataset import AnnotationError
from lib.utils.errors import ConfigError

__all__ = ["VideoSource", "SubDatasetSpec", "SubDataset", "SiamesePairDataset", "TargetFn"]

logger = logging.getLogger(__name__)

TargetFn = Callable[[np.ndarray, int, bool, np.random.RandomState], Mapping[str, np.ndarray]]

# second word of the seed sequences, so that the streams never coincide
_SAMPLE_STREAM, _PASS_STREAM, _PICK_STREAM, _CHECK_STREAM = 0, 1, 2, 3


def _random_state(*words: int) -> np.random.RandomState:
    return np.random.RandomState(np.random.MT19937(np.random.SeedSequence([int(w) for w in words])))


class VideoSource(Protocol):
    """What the pair dataset reads: videos with tracks (objects), their frames, and context crops.

    ``tracks(video)`` lists, per track, the usable frame numbers (sorted; [] for a video without any);
    ``crops(video, track, frames)`` gives, per frame, the context crop as (H, W, 3) RGB uint8 and the object's box
    in the original frame, (x1, y1, x2, y2) or (w, h) (only its size is used, as by PySOT's ``_get_bbox``).
    Missing and undecodable frames raise FileNotFoundError / CorruptImageError, bad annotations AnnotationError.
    """

    name: str

    def describe(self) -> str: ...

    def num_videos(self) -> int: ...

    def tracks(self, video: int) -> list[np.ndarray]: ...

    def crops(self, video: int, track: int, frames: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]: ...


@dataclass(frozen=True)
class SubDatasetSpec:
    """One entry of DATASET.NAMES: a source with its FRAME_RANGE and NUM_USE (-1: every video once)."""

    name: str
    source: VideoSource
    frame_range: int
    num_use: int


class SubDataset:
    """PySOT's ``SubDataset``: a source, its frame range and its pick list (fixed at construction).

    Args:
        spec: the source and its settings.
        start: global index of its first video (datasets are numbered one after another, in DATASET.NAMES order).
        seed: base seed; the pick list is a function of (seed, position).
        position: the dataset's place in DATASET.NAMES.
    """

    def __init__(self, spec: SubDatasetSpec, start: int, seed: int, position: int):
        if int(spec.frame_range) != spec.frame_range or spec.frame_range < 0:
            raise ConfigError(f"dataset {spec.name}: FRAME_RANGE must be an integer >= 0, got {spec.frame_range!r}.")
        if int(spec.num_use) != spec.num_use or not (spec.num_use == -1 or spec.num_use > 0):
            raise ConfigError(f"dataset {spec.name}: NUM_USE must be -1 (every video once) or a positive integer, "
                              f"got {spec.num_use!r}.")
        self.name = spec.name
        self.source = spec.source
        self.frame_range = int(spec.frame_range)
        self.num = int(self.source.num_videos())
        if self.num == 0:
            raise NoUsableSequenceError(f"dataset {spec.name}: {self.source.describe()} has no videos; check the "
                                        f"dataset's path settings and files.")
        self.num_use = self.num if spec.num_use == -1 else int(spec.num_use)
        self.start = int(start)
        # matches PySOT: all video indices shuffled, repeated until NUM_USE entries, cut; fixed for the whole run
        rng = _random_state(seed, _PICK_STREAM, position)
        passes = -(-self.num_use // self.num)
        keys = rng.random_sample((passes, self.num))
        self.pick = np.argsort(keys, axis=1, kind="stable").reshape(-1)[:self.num_use].astype(np.int64)

    def check_usable(self, seed: int) -> None:
        """Raise NoUsableSequenceError unless some video has a usable frame (scanned in a seeded order)."""
        order = _random_state(seed, _CHECK_STREAM).permutation(self.num)
        for video in order:
            try:
                if self.source.tracks(int(video)):
                    return
            except (AnnotationError, FileNotFoundError, CorruptImageError):
                continue
        raise NoUsableSequenceError(
            f"dataset {self.name}: none of the {self.num} videos of {self.source.describe()} has a usable frame "
            f"(a visible frame with a box of positive width and height). Check the data and its annotations.")

    def _tracks(self, video: int) -> list[np.ndarray]:
        tracks = self.source.tracks(video)
        if not tracks:
            raise SampleSkip("too_short", f"{self.name} video {video} has no usable frame")
        return tracks

    def positive_pair(self, video: int, rng: np.random.RandomState) -> tuple[int, int, int]:
        """(track, template frame, search frame): the search within FRAME_RANGE list positions of the template."""
        tracks = self._tracks(video)
        track = rng.randint(len(tracks))
        frames = tracks[track]
        t = rng.randint(0, len(frames))
        # matches PySOT: the range is in positions of the usable-frame list, not in frame numbers
        search_range = frames[max(t - self.frame_range, 0):min(t + self.frame_range, len(frames) - 1) + 1]
        return track, int(frames[t]), int(search_range[rng.randint(len(search_range))])

    def random_target(self, video: int, rng: np.random.RandomState) -> tuple[int, int]:
        """(track, frame) drawn uniformly within ``video``."""
        tracks = self._tracks(video)
        track = rng.randint(len(tracks))
        frames = tracks[track]
        return track, int(frames[rng.randint(len(frames))])


class SiamesePairDataset(torch.utils.data.Dataset):
    """PySOT's ``TrkDataset`` (SiamRPN++) / ``BANDataset`` (SiamBAN): one template/search pair per index.

    Args:
        subsets: the datasets, in DATASET.NAMES order.
        template_aug: DATASET.TEMPLATE augmentation.
        search_aug: DATASET.SEARCH augmentation.
        target_fn: ``(bbox, output_size, neg, rng) -> dict of arrays`` (e.g. label_cls, label_loc,
            label_loc_weight), merged into each sample; None for no labels.
        exemplar_size: TRAIN.EXEMPLAR_SIZE (template side).
        search_size: TRAIN.SEARCH_SIZE.
        output_size: TRAIN.OUTPUT_SIZE, passed to ``target_fn``.
        videos_per_epoch: samples per epoch (DATASET.VIDEOS_PER_EPOCH); <= 0: the sum of the NUM_USE.
        neg: probability of a negative pair (DATASET.NEG).
        gray: probability of a grayscale pair (DATASET.GRAY).
        seed: base seed (>= 0) of the picks and of every sample's stream.
        max_attempts: draws per sample before :class:`SamplingError`.
        check_sources: verify at construction that every dataset has a usable video.
    """

    def __init__(self, subsets: Sequence[SubDatasetSpec], template_aug: Augmentation, search_aug: Augmentation,
                 target_fn: TargetFn | None = None, exemplar_size: int = 127, search_size: int = 255,
                 output_size: int = 25, videos_per_epoch: int = 0, neg: float = 0.2, gray: float = 0.0,
                 seed: int = 0, max_attempts: int = 100, check_sources: bool = True):
        if not subsets:
            raise ConfigError("SiamesePairDataset needs at least one dataset (DATASET.NAMES is empty).")
        for key, p in (("NEG", neg), ("GRAY", gray)):
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"DATASET.{key} must be a probability between 0 and 1, got {p!r}.")
        if int(seed) != seed or seed < 0:
            raise ConfigError(f"the data seed must be an integer >= 0, got {seed!r}.")
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts!r}.")
        self.seed = int(seed)
        self.subsets: list[SubDataset] = []
        start = 0
        for position, spec in enumerate(subsets):
            sub = SubDataset(spec, start, self.seed, position)
            if check_sources:
                sub.check_usable(self.seed)
            logger.info("%s start-index %d select [%d/%d] from %s", sub.name, start, sub.num_use, sub.num,
                        sub.source.describe())
            self.subsets.append(sub)
            start += sub.num
        self._starts = np.array([s.start for s in self.subsets], dtype=np.int64)
        self._pool = np.concatenate([s.start + s.pick for s in self.subsets])
        self.num = int(videos_per_epoch) if videos_per_epoch > 0 else len(self._pool)
        self.template_aug, self.search_aug = template_aug, search_aug
        self.target_fn = target_fn
        self.exemplar_size, self.search_size = int(exemplar_size), int(search_size)
        self.output_size = int(output_size)
        self.neg, self.gray = float(neg), float(gray)
        self.max_attempts = int(max_attempts)
        self.epoch = 0
        self.skips = SkipCounter()
        self.batch_stack_dim = 0  # set by LTRLoader to its stack_dim
        self._passes: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.num

    def set_epoch(self, epoch: int) -> None:
        """Select epoch ``epoch`` (>= 0) of the run; LTRLoader.set_epoch calls it."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def sample_rng(self, index: int) -> np.random.RandomState:
        """The random stream of sample ``index`` in the current epoch."""
        return _random_state(self.seed, _SAMPLE_STREAM, self.epoch, index)

    def _pass_order(self, k: int) -> np.ndarray:
        order = self._passes.get(k)
        if order is None:
            order = _random_state(self.seed, _PASS_STREAM, k).permutation(len(self._pool))
            if len(self._passes) >= 2:
                self._passes.pop(min(self._passes))
            self._passes[k] = order
        return order

    def video_of(self, index: int) -> tuple[int, int]:
        """(dataset position, video) picked for sample ``index`` of the current epoch."""
        if not 0 <= index < self.num:
            raise IndexError(f"sample index {index} out of range [0, {self.num})")
        k, r = divmod(self.epoch * self.num + int(index), len(self._pool))
        g = int(self._pool[self._pass_order(k)[r]])
        s = int(np.searchsorted(self._starts, g, side="right")) - 1
        return s, g - int(self._starts[s])

    def __getitem__(self, index: int) -> dict:
        return self._sample(index)

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        """The samples of a batch, their images written straight into one tensor per role (no copy at collation)."""
        dim = self.batch_stack_dim
        buffers = {}
        for role, side in (("template", self.exemplar_size), ("search", self.search_size)):
            shape = [3, side, side]
            shape.insert(dim, len(indices))
            buffers[role] = new_batch_tensor(shape)
        return [self._sample(i, {k: b.select(dim, j) for k, b in buffers.items()}) for j, i in enumerate(indices)]

    def _sample(self, index: int, out: dict | None = None) -> dict:
        s, video = self.video_of(index)
        rng = self.sample_rng(index)

        def draw(attempt: int) -> dict:
            # the pick failed: each retry draws a random video of the same dataset
            return self._draw(rng, s, rng.randint(self.subsets[s].num) if attempt else video, out)

        def give_up(skipped: str) -> SamplingError:
            return SamplingError(
                f"no valid Siamese training pair after {self.max_attempts} draws for sample {index} ({skipped}); "
                f"the data of {self.subsets[s].source.describe()} is mostly unusable (missing or corrupt frames, bad "
                f"boxes). Check the dataset paths and files.")

        # frames and annotations are read inside the draw, so their load errors are counted here
        return draw_with_retries(draw, self.max_attempts, self.skips, logger, give_up,
                                 counted=(FileNotFoundError, CorruptImageError, AnnotationError),
                                 what="a Siamese pair draw", debug_errors=True)

    def _draw(self, rng: np.random.RandomState, s: int, video: int, out: dict | None) -> dict:
        # matches PySOT: GRAY and NEG draw a number only when non-zero, gray first (quirk 21)
        gray = bool(self.gray) and self.gray > rng.random_sample()
        neg = bool(self.neg) and self.neg > rng.random_sample()
        sub = self.subsets[s]
        if neg:
            track, frame = sub.random_target(video, rng)
            # matches PySOT: the search comes from a uniformly drawn dataset and video (rarely the same video)
            other = self.subsets[rng.randint(len(self.subsets))]
            other_video = rng.randint(other.num)
            other_track, other_frame = other.random_target(other_video, rng)
            template = sub.source.crops(video, track, [frame])[0]
            search = other.source.crops(other_video, other_track, [other_frame])[0]
        else:
            track, t_frame, s_frame = sub.positive_pair(video, rng)
            template, search = sub.source.crops(video, track, [t_frame, s_frame])
        t_box = box_in_context_crop(template[1], template[0].shape, self.exemplar_size)
        s_box = box_in_context_crop(search[1], search[0].shape, self.exemplar_size)
        t_out = None if out is None else out["template"]
        s_out = None if out is None else out["search"]
        t_img, _ = self.template_aug(template[0], t_box, self.exemplar_size, rng, gray=gray, rgb=True,
                                     out=None if t_out is None else t_out.numpy())
        s_img, bbox = self.search_aug(search[0], s_box, self.search_size, rng, gray=gray, rgb=True,
                                      out=None if s_out is None else s_out.numpy())
        sample = {"template": torch.from_numpy(t_img) if t_out is None else t_out,
                  "search": torch.from_numpy(s_img) if s_out is None else s_out}
        if self.target_fn is not None:
            labels = self.target_fn(bbox, self.output_size, neg, rng)
            if not isinstance(labels, Mapping):
                raise ConfigError(f"the target function must return a dict of arrays (e.g. label_cls, label_loc), "
                                  f"got {type(labels).__name__}.")
            sample.update(labels)
        sample.update(bbox=bbox, neg=neg, dataset=sub.name)
        return sample
