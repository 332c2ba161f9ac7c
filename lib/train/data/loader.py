"""LTRLoader: a torch DataLoader that collates samples into a TensorDict along dim 1 (spec 5.8).

With ``stack_dim=1`` a batch of B samples whose images are (1, 3, H, W) becomes (1, B, 3, H, W); numbers become
Long/Double tensors, strings and None stay lists. ``set_epoch(epoch)`` must be called before each epoch: it
reseeds the sampler's per-sample random streams and the DistributedSampler (if any), so two runs with the same
seed yield identical batches whatever the number of workers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.utils.data
from torch.utils.data import get_worker_info

from lib.utils.tensor import TensorDict, TensorList
from lib.utils.worker_errors import unwrap_worker_error

__all__ = ["LTRLoader", "ltr_collate", "ltr_collate_stack1", "worker_init_fn", "new_batch_tensor"]


def new_batch_tensor(shape: list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An uninitialised tensor for a batch; in a DataLoader worker it lives in shared memory, so sending the
    batch to the main process needs no copy."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = 1
    for n in shape:
        numel *= n
    storage = torch.UntypedStorage._new_shared(numel * torch.empty((), dtype=dtype).element_size())
    return torch.empty((), dtype=dtype).new(storage).resize_(shape)


def _slices_of_one_tensor(batch: list[torch.Tensor], dim: int) -> torch.Tensor | None:
    # The sampler writes the images of a batch straight into one tensor (TrackingSampler.__getitems__); if the
    # samples are exactly its consecutive slices along dim, that tensor already is the stacked batch.
    base = batch[0]._base
    if base is None or base.dim() != batch[0].dim() + 1 or base.shape[dim] != len(batch):
        return None
    for j, t in enumerate(batch):
        s = base.select(dim, j)
        if t._base is not base or t.data_ptr() != s.data_ptr() or t.shape != s.shape or t.stride() != s.stride():
            return None
    return base


def _stack(batch: list[torch.Tensor], dim: int) -> torch.Tensor:
    whole = _slices_of_one_tensor(batch, dim)
    if whole is not None:
        return whole
    elem = batch[0]
    out = None
    if get_worker_info() is not None and elem.device.type == "cpu":
        # in a worker, build the batch directly in shared memory to save a copy when it is sent to the main process
        shape = list(elem.shape)
        shape.insert(dim, len(batch))
        out = new_batch_tensor(shape, elem.dtype)
    return torch.stack(batch, dim, out=out)


def _collate(batch: list, dim: int):
    elem = batch[0]
    if isinstance(elem, torch.Tensor):
        return _stack(batch, dim)
    if type(elem).__module__ == "numpy" and not isinstance(elem, (np.str_, np.bytes_)):
        if isinstance(elem, np.ndarray):
            return _stack([torch.from_numpy(b) for b in batch], dim)
        return torch.as_tensor(np.array(batch))  # numpy scalars
    if isinstance(elem, bool) or isinstance(elem, int):
        return torch.LongTensor(batch)
    if isinstance(elem, float):
        return torch.DoubleTensor(batch)
    if isinstance(elem, (str, bytes)) or elem is None:
        return list(batch)
    if isinstance(elem, TensorDict):
        return TensorDict({key: _collate([d[key] for d in batch], dim) for key in elem})
    if isinstance(elem, Mapping):
        return {key: _collate([d[key] for d in batch], dim) for key in elem}
    if isinstance(elem, TensorList):
        return TensorList([_collate(list(samples), dim) for samples in zip(*batch)])
    if isinstance(elem, Sequence):
        return [_collate(list(samples), dim) for samples in zip(*batch)]
    raise TypeError(f"cannot collate values of type {type(elem).__name__}")


def ltr_collate(batch: list):
    """Collate along a new leading dim 0."""
    return _collate(batch, 0)


def ltr_collate_stack1(batch: list):
    """Collate along dim 1 (the original's stack_dim=1): (1, ...) per sample -> (1, B, ...)."""
    return _collate(batch, 1)


def worker_init_fn(worker_id: int) -> None:
    """Seed the global RNGs of a worker from torch's per-worker seed (itself derived from the loader's generator).

    The sampler does not use them (it has its own per-sample streams); this keeps any library code that does
    deterministic too.
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


class LTRLoader(torch.utils.data.DataLoader):
    """DataLoader with the original's extra attributes.

    Args:
        name: 'train' or 'val'.
        dataset: a TrackingSampler (or any map-style dataset).
        training: whether the trainer runs this loader in training mode.
        batch_size: samples per batch.
        shuffle: shuffle the indices (ignored with a sampler).
        num_workers: worker processes.
        epoch_interval: the trainer runs this loader every ``epoch_interval`` epochs.
        stack_dim: 0 or 1, the dim along which samples are stacked.
        seed: seeds the index shuffling (with the epoch) for reproducible runs.
        kwargs: passed to torch's DataLoader (sampler, drop_last, pin_memory, ...).
    """

    def __init__(self, name: str, dataset, training: bool = True, batch_size: int = 1, shuffle: bool = False,
                 num_workers: int = 0, epoch_interval: int = 1, stack_dim: int = 0, seed: int = 0, **kwargs):
        if "collate_fn" not in kwargs:
            kwargs["collate_fn"] = ltr_collate_stack1 if stack_dim == 1 else ltr_collate
        if stack_dim not in (0, 1):
            raise ValueError(f"stack_dim must be 0 or 1, got {stack_dim}")
        generator = torch.Generator()
        generator.manual_seed(seed)
        kwargs.setdefault("worker_init_fn", worker_init_fn)
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle if kwargs.get("sampler") is None else None,
                         num_workers=num_workers, generator=generator, **kwargs)
        if hasattr(dataset, "batch_stack_dim"):
            dataset.batch_stack_dim = stack_dim  # the sampler lays out its batch buffers for this collation
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = stack_dim
        self.seed = seed

    def __iter__(self):
        """Iterate the batches; a user error raised in a worker process comes out as itself (its one-paragraph
        message), not as torch's re-raise with the worker's traceback as the message."""
        iterator = super().__iter__()
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception as err:  # noqa: BLE001 - anything but a worker's OSTrackError is re-raised unchanged
                restored = unwrap_worker_error(err)
                if restored is err:
                    raise
                raise restored from None
            yield batch

    def set_epoch(self, epoch: int) -> None:
        """Prepare epoch ``epoch``: reseed shuffling, the DistributedSampler and the sampler's streams."""
        self.generator.manual_seed(self.seed * 100003 + int(epoch))
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
