"""Bad-data accounting that works across DataLoader worker processes.

How it works: when the sampler has to give up on a drawn sample (a missing or corrupt image, a bad box, a
sequence too short to sample from, a crop the processing rejects, ...) it adds one to a per-sampler counter under
the reason and draws again. Every sample it finally returns carries the counts accumulated since the previous
sample returned by the same process, under the key ``skipped`` as a LongTensor aligned with :data:`SKIP_REASONS`,
and the counter is reset. The counts thus travel inside the batches (``batch['skipped']`` has shape (R, B) after
collation along dim 1), every skip is counted exactly once whatever the number of workers, and nothing has to
be shared between processes. The trainer adds up :func:`count_skips` of each batch and logs
:func:`summarize_skips` of the total once per epoch.

The original instead swallowed every exception inside the sampler and silently drew again (spec 8.3 item 18).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

__all__ = ["SKIP_REASONS", "SampleSkip", "SkipCounter", "count_skips", "summarize_skips"]

SKIP_REASONS = (
    "missing_image",       # a frame file (or LMDB key) named by the annotations does not exist
    "corrupt_image",       # a frame exists but cannot be decoded
    "bad_box",             # a template/search box is NaN/inf or has w <= 0 or h <= 0, or an annotation file is broken
    "too_short",           # a drawn sequence has < 20 frames or too few visible frames to draw from
    "no_frame_pair",       # no template/search frame pair could be drawn from a sequence within the retry bound
    "processing_invalid",  # the processing rejected the crops (crop side < 1 or a crop is all padding)
    "error",               # any other exception while loading or processing a sample (logged once per type)
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
    """Counts skips by reason; ``take()`` returns the counts as a LongTensor and resets them."""

    def __init__(self):
        self.counts = [0] * len(SKIP_REASONS)

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
