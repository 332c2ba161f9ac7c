"""Optimizers and learning-rate schedules from one registry each (spec 6.4 for OSTrack's recipe).

* :data:`OPTIMIZERS`: ``ADAMW`` and ``SGD`` (momentum, Nesterov, weight decay), built from parameter groups by
  :func:`build_optimizer_from_groups`; the families' training scripts make their own groups.
* :data:`SCHEDULERS`: the epoch schedules ``step``, ``Mstep``, ``cosine`` (each with a linear warm-up) and
  PySOT's ``pysot`` (its log / step / multi-step / linear / cos schedules behind a step warm-up,
  :mod:`lib.train.pysot_lr`).

OSTrack's recipe:

* AdamW over the parameters that require gradients, in two groups as the original: group 0 = parameters whose
  name does not contain ``backbone`` (the head) at ``TRAIN.LR``; group 1 = backbone parameters at
  ``TRAIN.LR * TRAIN.BACKBONE_MULTIPLIER``. Weight decay applies to every parameter (matches OSTrack, spec 8.5
  item 31). Unused parameters (``cls_token``, the 224-grid ``pos_embed``) have ``requires_grad=False`` and are
  left out.
* One epoch-based scheduler, :class:`EpochLRScheduler`, stepped once after each training epoch. Its LR is a
  closed-form function of the number of finished epochs, so resuming needs nothing but ``last_epoch`` and
  the state is plain data:

  - ``step``: ``DECAY_RATE ** (k // LR_DROP_EPOCH)`` (the original's StepLR; it ignored DECAY_RATE and always
    used 0.1, which is DECAY_RATE's default);
  - ``Mstep``: ``GAMMA ** (number of MILESTONES <= k)`` (MultiStepLR);
  - ``cosine``: from 1 down to ``MIN_LR / LR`` over the epochs after warm-up (eta_min scaled per group);
  - optional linear warm-up (``WARMUP_EPOCH`` > 0, as PySOT's WarmUPScheduler): the factor rises linearly
    from ``WARMUP_FACTOR`` to 1 over the first WARMUP_EPOCH epochs. Step/Mstep drop epochs stay absolute.

  Here k is the number of finished epochs, so epoch e (1-based) trains with factor(e - 1).
"""

from __future__ import annotations

import bisect
import logging
import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from lib.utils.errors import ConfigError
from lib.utils.registry import Registry

__all__ = ["freeze_backbone_layers", "get_param_groups", "EpochLRScheduler", "build_optimizer", "build_scheduler",
           "build_optimizer_scheduler", "build_optimizer_from_groups", "SCHEDULE_TYPES", "OPTIMIZERS", "SCHEDULERS"]

logger = logging.getLogger(__name__)

SCHEDULE_TYPES = ("step", "Mstep", "cosine")


def freeze_backbone_layers(net: nn.Module, freeze_layers: Sequence[int]) -> list[str]:
    """Apply TRAIN.FREEZE_LAYERS: ``[n]`` freezes the backbone's input embedding and its first ``n`` blocks.

    The input embedding is the patch embedding plus the position (and segment) embeddings, i.e. everything of
    the backbone before block 0. ``[0]``, the default, freezes nothing: the original declared the key but never
    read it, so every parameter trained (spec 6.5), and the default keeps that. Frozen parameters get
    ``requires_grad=False`` and are left out of the optimizer.

    Args:
        net: the (unwrapped) network with ``backbone.patch_embed`` and ``backbone.blocks``.
        freeze_layers: a one-element list, the number of leading blocks to freeze.

    Returns:
        The names of the parameters that were frozen.
    """
    if len(freeze_layers) != 1 or int(freeze_layers[0]) < 0:
        raise ConfigError(f"TRAIN.FREEZE_LAYERS must be a one-element list [n] (freeze the backbone's patch/position "
                          f"embedding and its first n blocks; [0] trains everything), got {list(freeze_layers)}.")
    count = int(freeze_layers[0])
    if count == 0:
        return []
    blocks = getattr(getattr(net, "backbone", None), "blocks", None)
    if blocks is None or count > len(blocks):
        depth = "no backbone.blocks" if blocks is None else f"{len(blocks)} blocks"
        raise ConfigError(f"TRAIN.FREEZE_LAYERS [{count}] asks for more blocks than the backbone has ({depth}).")
    block_prefixes = tuple(f"backbone.blocks.{i}." for i in range(count))
    frozen = []
    for name, param in net.named_parameters():
        in_embedding = name.startswith("backbone.") and not name.startswith(("backbone.blocks.", "backbone.norm"))
        if in_embedding or name.startswith(block_prefixes):
            if param.requires_grad:
                frozen.append(name)
            param.requires_grad_(False)
    logger.info("TRAIN.FREEZE_LAYERS [%d]: froze the backbone's input embedding and blocks 0-%d (%d tensors)",
                count, count - 1, len(frozen))
    return frozen


def get_param_groups(net: nn.Module, lr: float, backbone_multiplier: float) -> list[dict[str, Any]]:
    """Head (group 0) and backbone (group 1) parameter groups; frozen parameters are excluded."""
    head, backbone = [], []
    for name, param in net.named_parameters():
        if not param.requires_grad:
            continue
        (backbone if "backbone" in name else head).append(param)
    # Both groups are kept even when one is empty, so LearningRate/group0 is always the head, group1 the backbone.
    return [{"params": head, "lr": lr}, {"params": backbone, "lr": lr * backbone_multiplier}]


class EpochLRScheduler(LRScheduler):
    """LR factor as a closed-form function of finished epochs: step / Mstep / cosine, with optional warm-up.

    Args:
        optimizer: the optimizer whose groups' ``initial_lr`` are scaled.
        schedule: ``step``, ``Mstep`` or ``cosine``.
        total_epochs: the run's length (cosine ends there).
        step_size: epochs between drops (``step``).
        gamma: drop factor (``step`` and ``Mstep``).
        milestones: finished-epoch counts at which the LR drops (``Mstep``).
        min_lr_ratio: final factor of the cosine schedule.
        warmup_epochs: linear warm-up length (0 = none).
        warmup_factor: factor at the first warm-up epoch.
        last_epoch: -1 for a new schedule.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: str, *, total_epochs: int,
                 step_size: int = 1, gamma: float = 0.1, milestones: Sequence[int] = (),
                 min_lr_ratio: float = 0.0, warmup_epochs: int = 0, warmup_factor: float = 0.001,
                 last_epoch: int = -1):
        if schedule not in SCHEDULE_TYPES:
            raise ConfigError(f"unknown LR schedule {schedule!r}; TRAIN.SCHEDULER.TYPE must be one of "
                              f"{', '.join(SCHEDULE_TYPES)}.")
        if schedule == "step" and step_size < 1:
            raise ConfigError(f"TRAIN.LR_DROP_EPOCH must be at least 1 for the step schedule, got {step_size}.")
        self.schedule = schedule
        self.total_epochs = int(total_epochs)
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        self.milestones = sorted(int(m) for m in milestones)
        self.min_lr_ratio = float(min_lr_ratio)
        self.warmup_epochs = int(warmup_epochs)
        self.warmup_factor = float(warmup_factor)
        super().__init__(optimizer, last_epoch)

    def factor(self, finished_epochs: int) -> float:
        """LR multiplier for the epoch that follows ``finished_epochs`` finished epochs."""
        k = max(int(finished_epochs), 0)
        if self.schedule == "step":
            main = self.gamma ** (k // self.step_size)
        elif self.schedule == "Mstep":
            main = self.gamma ** bisect.bisect_right(self.milestones, k)
        else:
            span = max(self.total_epochs - self.warmup_epochs, 1)
            progress = min(max(k - self.warmup_epochs, 0) / span, 1.0)
            main = self.min_lr_ratio + (1.0 - self.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if k < self.warmup_epochs:
            main *= self.warmup_factor + (1.0 - self.warmup_factor) * k / self.warmup_epochs
        return main

    def get_lr(self) -> list[float]:
        factor = self.factor(self.last_epoch)
        return [group["initial_lr"] * factor for group in self.optimizer.param_groups]


def _adamw(groups: list[dict[str, Any]], lr: float, weight_decay: float, **_: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def _sgd(groups: list[dict[str, Any]], lr: float, weight_decay: float, momentum: float = 0.0,
         nesterov: bool = False, **_: Any) -> torch.optim.Optimizer:
    if nesterov and momentum <= 0:
        raise ConfigError(f"SGD with Nesterov momentum needs a positive momentum, got {momentum}.")
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


#: optimizer name -> builder(groups, lr, weight_decay, momentum=, nesterov=)
OPTIMIZERS = Registry("optimizer", "TRAIN.OPTIMIZER", {"ADAMW": _adamw, "SGD": _sgd})


def build_optimizer_from_groups(name: str, groups: list[dict[str, Any]], lr: float, weight_decay: float,
                                momentum: float = 0.0, nesterov: bool = False,
                                where: str | None = None) -> torch.optim.Optimizer:
    """The optimizer ``name`` of :data:`OPTIMIZERS` over parameter groups (unknown names list the known ones)."""
    return OPTIMIZERS.get(name, where)(groups, lr=lr, weight_decay=weight_decay, momentum=momentum,
                                       nesterov=nesterov)


def build_optimizer(cfg: Any, net: nn.Module) -> torch.optim.Optimizer:
    """OSTrack's optimizer (TRAIN.OPTIMIZER: ADAMW as the original, or SGD) with the head/backbone groups."""
    if cfg.TRAIN.TRAIN_CLS:
        raise ConfigError("TRAIN.TRAIN_CLS is true, but OSTrack has no classification head to train (the "
                          "original's TRAIN_CLS branch is a STARK leftover). Set it to false.")
    groups = get_param_groups(net, float(cfg.TRAIN.LR), float(cfg.TRAIN.BACKBONE_MULTIPLIER))
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    logger.debug("learnable parameters: %s", ", ".join(names))
    logger.info("optimizer %s: %d head tensors at lr %g, %d backbone tensors at lr %g (%d frozen tensors left out)",
                cfg.TRAIN.OPTIMIZER, len(groups[0]["params"]), groups[0]["lr"], len(groups[1]["params"]),
                groups[1]["lr"], sum(1 for p in net.parameters() if not p.requires_grad))
    return build_optimizer_from_groups(cfg.TRAIN.OPTIMIZER, groups, float(cfg.TRAIN.LR),
                                       float(cfg.TRAIN.WEIGHT_DECAY), momentum=float(cfg.TRAIN.MOMENTUM),
                                       nesterov=bool(cfg.TRAIN.NESTEROV), where="TRAIN.OPTIMIZER")


def _epoch_schedule(schedule: str) -> Any:
    def build(optimizer: torch.optim.Optimizer, **kwargs: Any) -> EpochLRScheduler:
        return EpochLRScheduler(optimizer, schedule, **kwargs)
    return build


#: schedule name -> builder(optimizer, **keyword arguments of that schedule)
SCHEDULERS = Registry("LR schedule", "TRAIN.SCHEDULER.TYPE", {
    "step": _epoch_schedule("step"),
    "Mstep": _epoch_schedule("Mstep"),
    "cosine": _epoch_schedule("cosine"),
    "pysot": "lib.train.pysot_lr:build_pysot_scheduler",
})


def build_scheduler(cfg: Any, optimizer: torch.optim.Optimizer) -> EpochLRScheduler:
    """OSTrack's epoch scheduler from TRAIN.SCHEDULER (TYPE, DECAY_RATE, MILESTONES, GAMMA, MIN_LR, WARMUP_*)."""
    sched = cfg.TRAIN.SCHEDULER
    base_lr = float(cfg.TRAIN.LR)
    return SCHEDULERS.get(sched.TYPE)(
        optimizer, total_epochs=int(cfg.TRAIN.EPOCH), step_size=int(cfg.TRAIN.LR_DROP_EPOCH),
        gamma=float(sched.DECAY_RATE if sched.TYPE == "step" else sched.GAMMA), milestones=sched.MILESTONES,
        min_lr_ratio=float(sched.MIN_LR) / base_lr if base_lr > 0 else 0.0,
        warmup_epochs=int(sched.WARMUP_EPOCH), warmup_factor=float(sched.WARMUP_FACTOR))


def build_optimizer_scheduler(cfg: Any, net: nn.Module) -> tuple[torch.optim.Optimizer, EpochLRScheduler]:
    """The original's ``get_optimizer_scheduler(net, cfg)``."""
    optimizer = build_optimizer(cfg, net)
    return optimizer, build_scheduler(cfg, optimizer)
