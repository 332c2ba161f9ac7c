"""Bad-data accounting that works across DataLoader worker processes.

How it works: when the sampler has to give up on a drawn sample (a missing or corrupt image, a bad box, a
sequence too short to sample from, a crop the processing rejects, ...) it adds one to a per-sampler counter under
the reason and draws again. Every sample it finally returns carries the counts accumulated since the previous
sample returned by the same process, under the key ``skipped`` as a LongTensor aligned with :data:`SKIP_REASONS`,
and the counter is reset. The counts thus travel inside the batches (``batch['skipped']`` has shape (R, B) after
collation along dim 1), every skip is counted exactly once whatever the number of workers, and nothing has to
be shared between processes. The trainer adds up :func:`count_skips` of each batch and logs
:func:`summarize_skips` of the total once per epoch.

The retry loop itself is shared by the samplers: :func:`draw_with_retries` runs a sampler's draw function until it
returns a sample, and :func:`load_errors_as_skips` turns the errors of loading a frame or an annotation into counted
skips.

The original instead swallowed every exception inside the sampler and silently drew again (spec 8.3 item 18).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from lib.train.dataset.base_video_dataset import AnnotationError
from lib.utils.errors import OSTrackError
from lib.utils.image import CorruptImageError

__all__ = ["SKIP_REASONS", "LOAD_ERRORS", "SampleSkip", "SkipCounter", "count_skips", "summarize_skips",
           "load_errors_as_skips", "draw_with_retries"]

SKIP_REASONS = (
    "missing_image",       # a frame file (or LMDB key) named by the annotations does not exist
    "corrupt_image",       # a frame exists but cannot be decoded
    "bad_box",             # a template/search box is NaN/inf or has w <= 0 or h <= 0, or an annotation file is broken
    "too_short",           # a drawn sequence has < 20 frames or too few visible frames to draw from
    "no_frame_pair",       # no template/search frame pair could be drawn from a sequence within the retry bound
    "processing_invalid",  # the processing rejected the crops (crop side < 1 or a crop is all padding)
    "error",               # any other exception while loading or processing a sample (logged once per type)
)

# the errors of reading a frame or an annotation, each with the reason it is counted under
LOAD_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (FileNotFoundError, "missing_image"),
    (CorruptImageError, "corrupt_image"),  # a ValueError, like AnnotationError: neither is caught as the other
    (AnnotationError, "bad_box"),
)


class SampleSkip(Exception):
    """Raised inside the sampling pipeline to give up on the current draw for a counted reason.

    Args:
        reason: one of :data:`SKIP_REASONS`.
        message: details for the debug log.
    """

    def __init__(self, reason: str, message: str = ""):
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}; known: {SKIP_REASONS}")
        super().__init__(message or reason)
        self.reason = reason


class SkipCounter:
    """Counts skips by reason; ``take()`` returns the counts as a LongTensor and resets them.

    It also remembers, in ``logged_errors``, the types of the unexpected errors already logged, so that each type is
    logged once per sampler and process.
    """

    def __init__(self):
        self.counts = [0] * len(SKIP_REASONS)
        self.logged_errors: set[str] = set()

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[SKIP_REASONS.index(reason)] += n

    def total(self) -> int:
        return sum(self.counts)

    def take(self) -> torch.Tensor:
        out = torch.from_numpy(np.array(self.counts, dtype=np.int64))
        self.counts = [0] * len(SKIP_REASONS)
        return out


def count_skips(batch: Mapping, stack_dim: int = 1) -> torch.Tensor:
    """The skip counts carried by a collated batch, summed over its samples: LongTensor (R,).

    Args:
        batch: the collated batch.
        stack_dim: the dim its samples were stacked along (the loader's): 1 gives (R, B), 0 gives (B, R).
    """
    skipped = batch.get("skipped")
    if skipped is None:
        return torch.zeros(len(SKIP_REASONS), dtype=torch.long)
    skipped = torch.as_tensor(skipped)
    # a single sample gives (R,)
    return skipped.sum(dim=stack_dim) if skipped.dim() == 2 else skipped


def summarize_skips(total_counts: torch.Tensor | Sequence[int], samples: int | None = None) -> str:
    """One log line: e.g. 'skipped 12 draws: missing_image 3, too_short 9' (or 'skipped no draws').

    Args:
        total_counts: counts aligned with :data:`SKIP_REASONS` (e.g. the sum of :func:`count_skips` over an epoch).
        samples: samples returned in the same period, to also report the skip rate.
    """
    counts = [int(c) for c in (total_counts.tolist() if torch.is_tensor(total_counts) else total_counts)]
    total = sum(counts)
    if total == 0:
        return "skipped no draws"
    parts = ", ".join(f"{name} {n}" for name, n in zip(SKIP_REASONS, counts) if n)
    rate = f" ({100.0 * total / (total + samples):.2f}% of draws)" if samples else ""
    return f"skipped {total} draws{rate}: {parts}"


def _load_error_reason(err: Exception, types: Sequence[type[Exception]]) -> str | None:
    """The reason a load error of one of ``types`` is counted under, None for any other exception."""
    for error_type, reason in LOAD_ERRORS:
        if error_type in types and isinstance(err, error_type):
            return reason
    return None


@contextmanager
def load_errors_as_skips(*types: type[Exception]) -> Iterator[None]:
    """Within the block, an error of one of ``types`` (the types of :data:`LOAD_ERRORS`; all of them by default)
    gives up the draw as a :class:`SampleSkip` under its reason; any other exception passes unchanged."""
    types = types or tuple(t for t, _ in LOAD_ERRORS)
    try:
        yield
    except Exception as err:
        reason = _load_error_reason(err, types)
        if reason is None:
            raise
        raise SampleSkip(reason, str(err)) from None


def draw_with_retries(draw: Callable[[int], dict], max_attempts: int, skips: SkipCounter, log: logging.Logger,
                      give_up: Callable[[str], Exception], counted: Sequence[type[Exception]] = (),
                      what: str = "a sample draw", debug_errors: bool = False) -> dict:
    """The samplers' retry loop: call ``draw(attempt)`` until it returns a sample, counting every failed draw.

    A draw that raises :class:`SampleSkip` is counted under its reason; an :class:`OSTrackError` (a user error such as
    a bad setting or a missing dataset root) is raised at once, even where it is also a FileNotFoundError; an error
    of one of the types ``counted`` (see :data:`LOAD_ERRORS`) is counted under its reason; any other exception is
    counted as 'error' and logged with its traceback once per type, so that a bad sample never kills the worker.
    The returned sample gets ``skipped``, the counts taken from ``skips`` (which are then reset).

    Args:
        draw: the sampler's draw function, given the attempt number (0 for the first draw).
        max_attempts: draws before giving up.
        skips: the sampler's counter.
        log: the sampler's logger (skips are logged at debug level).
        give_up: makes the error raised after ``max_attempts`` failed draws, given :func:`summarize_skips` of the
            counts.
        counted: load-error types counted under their reason instead of as 'error'.
        what: names the draw in the warning, e.g. 'a sample draw failed with KeyError ...'.
        debug_errors: also log every unexpected error at debug level, not only the first of each type as a warning.

    Raises:
        Exception: ``give_up``'s error when no draw succeeded.
    """
    for attempt in range(max_attempts):
        try:
            sample = draw(attempt)
        except SampleSkip as skip:
            skips.add(skip.reason)
            log.debug("skipped a draw (%s): %s", skip.reason, skip)
            continue
        except OSTrackError:
            raise  # the user has to fix something: stop with the message instead of drawing again
        except Exception as err:
            reason = _load_error_reason(err, counted) or "error"
            skips.add(reason)
            if reason != "error" or debug_errors:
                log.debug("skipped a draw (%s): %s", reason, err)
            key = type(err).__name__
            if reason == "error" and key not in skips.logged_errors:
                skips.logged_errors.add(key)
                log.warning("%s failed with %s (counted as 'error'; logged once per type)", what, key, exc_info=True)
            continue
        sample["skipped"] = skips.take()
        return sample
    raise give_up(summarize_skips(skips.counts))
