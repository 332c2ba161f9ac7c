"""The actor contract (pytracking/OSTrack): a callable that turns one batch into ``(loss, stats)``."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

__all__ = ["BaseActor"]


class BaseActor:
    """Base class of actors: owns the network and the loss functions, not the optimisation.

    Args:
        net: the network (possibly wrapped in DistributedDataParallel).
        objective: loss functions by name (e.g. ``{"giou": ..., "l1": ..., "focal": ...}``).
    """

    def __init__(self, net: nn.Module, objective: Mapping[str, Any] | None = None):
        self.net = net
        self.objective = dict(objective or {})

    def __call__(self, data: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Run the network on a batch and return the scalar loss and a dict of float statistics."""
        raise NotImplementedError

    def to(self, device: torch.device) -> "BaseActor":
        self.net.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        """Put the network in training (``mode=True``) or evaluation mode."""
        self.net.train(mode)

    def eval(self) -> None:
        self.train(False)
