"""Random-number state: seeding, per-epoch reseeding, and plain-data capture for checkpoints.

Every epoch starts by seeding python, numpy and torch (CPU and CUDA) from ``(seed, epoch, rank)``. The data
loader draws its shuffle order and its workers' seeds from torch's default generator when an epoch's iterator is
created, so sampling, augmentation and drop-path in an epoch are a function of (seed, epoch, rank) alone: a run
resumed at an epoch boundary repeats exactly what an uninterrupted run would have done.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["epoch_seed", "seed_everything", "capture_rng_state", "restore_rng_state"]


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A well-mixed 31-bit seed for one (run seed, epoch, rank)."""
    return int(np.random.SeedSequence([int(seed), int(epoch), int(rank)]).generate_state(1)[0] & 0x7FFFFFFF)


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """The RNG states as plain data (loadable with ``torch.load(weights_only=True)``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": None,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`; CUDA states are restored when the device count matches."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
