"""PySOT's learning-rate schedules (SiamRPN++, SiamBAN): a per-epoch table of nominal LRs.

Spec: pysot-spec.md sections 7.2 and 7.3 (``pysot/utils/lr_scheduler.py``). Every schedule is a precomputed
array ``lr_spaces`` with one nominal LR per epoch; a parameter group trains at
``lr_spaces[epoch] * group["initial_lr"] / start_lr`` (quirk 26), so the groups keep their ratios (backbone at
LAYERS_LR * BASE_LR) while the table sets the shape. With warm-up, the warm-up table is followed by the main
table and ``start_lr`` is the main table's first value.

Stepping: the framework calls ``scheduler.step()`` once per finished epoch, and the scheduler starts at epoch 0
when built, so 0-based epoch ``e`` trains with ``lr_spaces[e]``. ``step(epoch)`` jumps to an epoch, as PySOT's
training loop does at each epoch start. Past the table's end the last value is held (the original raised
IndexError; the framework steps once more after the final epoch).
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler

from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["LR_SCHEDULES", "PySOTLRScheduler", "schedule_lr_spaces", "pysot_lr_spaces", "build_pysot_scheduler"]

logger = logging.getLogger(__name__)


def _log_spaces(epochs: int, start_lr: float = 0.03, end_lr: float = 5e-4) -> tuple[np.ndarray, float]:
    if start_lr <= 0 or end_lr <= 0:
        raise ConfigError(f"the 'log' LR schedule needs positive start_lr and end_lr, got {start_lr} and {end_lr}.")
    return np.logspace(math.log10(start_lr), math.log10(end_lr), epochs), start_lr


def _step_spaces(epochs: int, start_lr: float | None = 0.01, end_lr: float | None = None, step: int = 10,
                 mult: float = 0.1) -> tuple[np.ndarray, float]:
    if int(step) != step or step < 1:
        raise ConfigError(f"the 'step' LR schedule needs a positive integer step (epochs per decay), got {step!r}.")
    if end_lr is not None:
        drops = epochs // step
        if drops == 0:
            raise ConfigError(f"the 'step' LR schedule with end_lr {end_lr} needs at least one decay, but step "
                              f"{step} is longer than its {epochs} epochs; lower step or drop end_lr.")
        if start_lr is None:
            start_lr = end_lr / (mult ** drops)
        else:
            # matches PySOT: mult is derived so that start * mult^(epochs // step) = end_lr, but the last
            # decay happens after the table ends, so a warm-up never reaches end_lr (quirk 27).
            mult = math.pow(end_lr * 1.0 / start_lr, 1.0 / drops)
    if start_lr is None:
        raise ConfigError("the 'step' LR schedule needs start_lr, or end_lr to derive it from.")
    return start_lr * (mult ** (np.arange(epochs) // step)), start_lr


def _multi_step_spaces(epochs: int, start_lr: float | None = 0.01, end_lr: float | None = None,
                       steps: Sequence[int] = (10, 20, 30, 40), mult: float = 0.5) -> tuple[np.ndarray, float]:
    steps = [int(s) for s in steps]
    if end_lr is not None:
        if not steps:
            raise ConfigError(f"the 'multi-step' LR schedule with end_lr {end_lr} needs at least one step epoch.")
        if start_lr is None:
            start_lr = end_lr / (mult ** len(steps))
        else:
            mult = math.pow(end_lr / start_lr, 1.0 / len(steps))
    if start_lr is None:
        raise ConfigError("the 'multi-step' LR schedule needs start_lr, or end_lr to derive it from.")
    values = [start_lr]
    for epoch in range(1, epochs):
        values.append(values[-1] * (mult if epoch in steps else 1))
    # matches PySOT: this table is float32.
    return np.asarray(values[:epochs], dtype=np.float32), start_lr


def _linear_spaces(epochs: int, start_lr: float = 0.01, end_lr: float = 0.005) -> tuple[np.ndarray, float]:
    return np.linspace(start_lr, end_lr, epochs), start_lr


def _cos_spaces(epochs: int, start_lr: float = 0.01, end_lr: float = 0.005) -> tuple[np.ndarray, float]:
    # matches PySOT: float32, and e / epochs < 1 so end_lr itself is never reached.
    phase = np.pi * np.arange(epochs) / epochs
    return (end_lr + (start_lr - end_lr) * (1.0 + np.cos(phase)) * 0.5).astype(np.float32), start_lr


# Each entry: (the original's class name, a function of (epochs, **kwargs) -> (lr_spaces, start_lr)).
LR_SCHEDULES: dict[str, tuple[str, Callable[..., tuple[np.ndarray, float]]]] = {
    "log": ("LogScheduler", _log_spaces),
    "step": ("StepScheduler", _step_spaces),
    "multi-step": ("MultiStepScheduler", _multi_step_spaces),
    "linear": ("LinearStepScheduler", _linear_spaces),
    "cos": ("CosStepScheduler", _cos_spaces),
}


def schedule_lr_spaces(lr_type: str, epochs: int, kwargs: dict[str, Any] | None = None,
                       key: str = "TRAIN.LR") -> tuple[np.ndarray, float, str]:
    """One schedule's per-epoch table.

    Args:
        lr_type: a key of :data:`LR_SCHEDULES` (``log``, ``step``, ``multi-step``, ``linear``, ``cos``).
        epochs: the table's length.
        kwargs: the schedule's keyword arguments (``<key>.KWARGS``); unknown names are ignored as in the
            original, with a warning that names them.
        key: the config node the values come from, for messages.

    Returns:
        ``(lr_spaces, start_lr, class_name)``; ``start_lr`` is the schedule's start value (given or derived).
    """
    if lr_type not in LR_SCHEDULES:
        raise ConfigError(f"unknown LR schedule type {lr_type!r} in {key}.TYPE; PySOT knows "
                          f"{', '.join(repr(k) for k in LR_SCHEDULES)}.")
    if int(epochs) != epochs or epochs < 1:
        raise ConfigError(f"the {key} schedule ({lr_type!r}) must span at least one epoch, got {epochs!r} "
                          f"(with warm-up the main schedule gets TRAIN.EPOCH - TRAIN.LR_WARMUP.EPOCH epochs).")
    name, function = LR_SCHEDULES[lr_type]
    kwargs = dict(kwargs or {})
    reserved = sorted(set(kwargs) & {"epochs", "last_epoch", "optimizer"})
    if reserved:
        raise ConfigError(f"{key}.KWARGS must not set {', '.join(reserved)}: the number of epochs comes from "
                          f"TRAIN.EPOCH / TRAIN.LR_WARMUP.EPOCH (the original failed with a TypeError).")
    accepted = [p for p in inspect.signature(function).parameters if p != "epochs"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        # matches PySOT: unknown keyword arguments are swallowed; we at least say so.
        logger.warning("%s.KWARGS: the %r schedule ignores unknown keyword argument(s) %s (it accepts %s)",
                       key, lr_type, ", ".join(unknown), ", ".join(accepted))
    spaces, start_lr = function(int(epochs), **{k: v for k, v in kwargs.items() if k in accepted})
    return spaces, start_lr, name


def _compose(epochs: int, lr_type: str, lr_kwargs: dict[str, Any] | None, warmup: bool, warmup_type: str,
             warmup_epoch: int, warmup_kwargs: dict[str, Any] | None) -> tuple[np.ndarray, Any, str]:
    """(lr_spaces, start_lr, name) of PySOT's ``build_lr_scheduler``."""
    if not warmup:
        return schedule_lr_spaces(lr_type, epochs, lr_kwargs, "TRAIN.LR")
    if int(warmup_epoch) != warmup_epoch or not 0 <= warmup_epoch < epochs:
        raise ConfigError(f"TRAIN.LR_WARMUP.EPOCH must be an integer between 0 and TRAIN.EPOCH - 1 ({epochs - 1}) "
                          f"when TRAIN.LR_WARMUP.WARMUP is true, got {warmup_epoch!r}.")
    main, _, _ = schedule_lr_spaces(lr_type, epochs - warmup_epoch, lr_kwargs, "TRAIN.LR")
    if warmup_epoch == 0:  # an empty warm-up table, as the original; start_lr is still the main table's first value
        head = main[:0]
    else:
        head, _, _ = schedule_lr_spaces(warmup_type, warmup_epoch, warmup_kwargs, "TRAIN.LR_WARMUP")
    # matches PySOT: group LRs are scaled by the MAIN table's first value (quirk 26), so with the plain configs'
    # empty KWARGS a group at 0.005 warms up at 0.005 * 0.01 / 0.03.
    return np.concatenate([head, main]), main[0], "WarmUPScheduler"


def pysot_lr_spaces(epochs: int, lr_type: str = "log", lr_kwargs: dict[str, Any] | None = None, warmup: bool = True,
                    warmup_type: str = "step", warmup_epoch: int = 5,
                    warmup_kwargs: dict[str, Any] | None = None) -> np.ndarray:
    """The nominal LR of every epoch (what PySOT logs as ``cur_lr``), without an optimizer.

    Arguments as :func:`build_pysot_scheduler`.
    """
    return _compose(epochs, lr_type, lr_kwargs, warmup, warmup_type, warmup_epoch, warmup_kwargs)[0]


class PySOTLRScheduler(LRScheduler):
    """An epoch scheduler that reads a precomputed per-epoch table of nominal LRs.

    Args:
        optimizer: the optimizer; each group's ``initial_lr`` (its ``lr`` when the first scheduler was built
            on it) is scaled by ``lr_spaces[epoch] / start_lr``.
        lr_spaces: one nominal LR per epoch.
        start_lr: the nominal LR that maps to a group's ``initial_lr``.
        name: the original's class name (shown by ``repr``, as PySOT logs it).
        last_epoch: -1 for a new schedule (it then starts at epoch 0).

    Call ``step()`` once after each finished epoch (0-based epoch ``e`` trains with ``lr_spaces[e]``), or
    ``step(e)`` to jump to epoch ``e``, e.g. on a scheduler rebuilt with a new optimizer when the backbone
    starts training.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr_spaces: Sequence[float] | np.ndarray, start_lr: Any,
                 name: str = "LRScheduler", last_epoch: int = -1):
        self.lr_spaces = np.asarray(lr_spaces)
        if self.lr_spaces.ndim != 1 or self.lr_spaces.size == 0:
            raise ConfigError(f"{name}: lr_spaces must be a non-empty 1-D table, got shape {self.lr_spaces.shape}.")
        self.start_lr = start_lr
        self.name = name
        super().__init__(optimizer, last_epoch)

    def _nominal(self) -> Any:
        return self.lr_spaces[min(max(self.last_epoch, 0), len(self.lr_spaces) - 1)]

    def get_cur_lr(self) -> float:
        """The nominal LR of the current epoch (PySOT's logged ``cur_lr``)."""
        return float(self._nominal())

    def get_lr(self) -> list[float]:
        nominal = self._nominal()
        # The original's operation order (numpy scalars), so group LRs match it bit for bit.
        return [float(nominal * float(group["initial_lr"]) / self.start_lr) for group in self.optimizer.param_groups]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch, or jump to ``epoch`` (0-based) as PySOT's loop does with ``step(epoch)``."""
        if epoch is None:
            super().step()
            return
        # The table is closed-form in the epoch, so jumping is exact (no deprecation concern as in PyTorch).
        self._step_count += 1
        self.last_epoch = int(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Plain data (loads with ``torch.load(weights_only=True)``)."""
        state = super().state_dict()
        state["lr_spaces"] = [float(v) for v in self.lr_spaces]
        state["lr_spaces_dtype"] = self.lr_spaces.dtype.name
        state["start_lr"] = float(self.start_lr)
        state["start_lr_dtype"] = np.asarray(self.start_lr).dtype.name if isinstance(self.start_lr, np.generic) \
            else "float"
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (resume)."""
        missing = [k for k in ("lr_spaces", "lr_spaces_dtype", "start_lr", "last_epoch") if k not in state_dict]
        if missing:
            raise CheckpointError(f"the scheduler state is not a PySOT LR schedule (missing {', '.join(missing)}); "
                                  f"was the checkpoint written with another TRAIN.LR setup or tracker family?")
        state = dict(state_dict)
        state["lr_spaces"] = np.asarray(state["lr_spaces"], dtype=state.pop("lr_spaces_dtype"))
        start_dtype = state.pop("start_lr_dtype", "float")
        state["start_lr"] = float(state["start_lr"]) if start_dtype == "float" \
            else np.dtype(start_dtype).type(state["start_lr"])
        super().load_state_dict(state)

    def __repr__(self) -> str:
        return f"({self.name}) lr spaces: \n{self.lr_spaces}"


def build_pysot_scheduler(optimizer: torch.optim.Optimizer, epochs: int, lr_type: str = "log",
                          lr_kwargs: dict[str, Any] | None = None, warmup: bool = True, warmup_type: str = "step",
                          warmup_epoch: int = 5, warmup_kwargs: dict[str, Any] | None = None,
                          last_epoch: int = -1) -> PySOTLRScheduler:
    """PySOT's ``build_lr_scheduler``: the warm-up table then the main table, or the main table alone.

    Args:
        optimizer: the optimizer (groups at BASE_LR * LAYERS_LR for the backbone, BASE_LR for neck and head).
        epochs: TRAIN.EPOCH.
        lr_type: TRAIN.LR.TYPE (``log``, ``step``, ``multi-step``, ``linear``, ``cos``).
        lr_kwargs: TRAIN.LR.KWARGS (defaults per type as the original: log 0.03 -> 5e-4, ...).
        warmup: TRAIN.LR_WARMUP.WARMUP.
        warmup_type: TRAIN.LR_WARMUP.TYPE.
        warmup_epoch: TRAIN.LR_WARMUP.EPOCH (the main table gets ``epochs - warmup_epoch`` epochs).
        warmup_kwargs: TRAIN.LR_WARMUP.KWARGS.
        last_epoch: -1 for a new schedule.
    """
    spaces, start_lr, name = _compose(epochs, lr_type, lr_kwargs, warmup, warmup_type, warmup_epoch, warmup_kwargs)
    return PySOTLRScheduler(optimizer, spaces, start_lr, name=name, last_epoch=last_epoch)
