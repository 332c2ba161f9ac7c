"""LTRTrainer: the training step, AMP, clipping, non-finite-step handling and checkpoint state.

The step (``cycle_dataset`` + ``optimize``) reads top to bottom: batch to device, forward under autocast,
backward, unscale, clip, step. What a step produces goes to the shared :class:`TrainingStorage`
(``self.storage``): sample-weighted averages per epoch, summed over all ranks before they are printed (rank 0
only, every PRINT_INTERVAL iterations) and before each epoch closes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import sys
from collections.abc import Mapping
from typing import Any, Sequence

import torch
from torch.nn.utils import clip_grad_norm_, get_total_norm

from lib.train.admin.multigpu import any_rank, unwrap_model
from lib.train.admin.settings import Settings
from lib.train.actors.base_actor import BaseActor
from lib.train.trainers.base_trainer import BaseTrainer, NonFiniteLossError
from lib.train.trainers.checkpoint import Checkpointer, warn_config_changes
from lib.train.trainers.hooks import (CheckpointHook, EpochStatsHook, HookBase, LRSchedulerHook, StepMonitorHook,
                                      ValidationHook, WandbHook)
from lib.train.trainers.monitor import IterationTimer, format_stats_line, peak_memory_mib, progress_bar
from lib.train.trainers.rng import capture_rng_state, restore_rng_state
from lib.utils.errors import CheckpointError

__all__ = ["LTRTrainer", "move_to_device"]

logger = logging.getLogger(__name__)


def move_to_device(data: Any, device: torch.device) -> Any:
    """Tensors in (nested) mappings, lists and tuples to ``device``; other values unchanged."""
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=True)
    if isinstance(data, Mapping):
        return type(data)({k: move_to_device(v, device) for k, v in data.items()})
    if isinstance(data, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in data):
        return type(data)(move_to_device(v, device) for v in data)
    return data


class LTRTrainer(BaseTrainer):
    """Trains with the original's loop semantics (spec 6.3) and the fixes of spec 8.5.

    Args:
        actor: maps a batch to (loss, stats).
        loaders: training loaders (``training=True``) and validation loaders.
        optimizer: the optimizer.
        settings: run settings.
        lr_scheduler: the epoch scheduler.
        cfg: the merged config as a plain dict, stored in checkpoints.
        hooks: replaces the default hooks (:meth:`build_hooks`) when given.
        extra_hooks: a family's own hooks, run after the default ones (so after the resume in ``before_train``).
    """

    def __init__(self, actor: BaseActor, loaders: Sequence[Any], optimizer: torch.optim.Optimizer,
                 settings: Settings, lr_scheduler: Any = None, cfg: dict | None = None,
                 hooks: Sequence[HookBase] | None = None, extra_hooks: Sequence[HookBase] = ()):
        super().__init__(actor, loaders, optimizer, settings, lr_scheduler)
        self.cfg = cfg or {}
        self.amp_dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[settings.amp_dtype]
        if settings.amp and self.device.type == "cpu" and not _cpu_has_native(self.amp_dtype):
            name = "bfloat16" if self.amp_dtype == torch.bfloat16 else "float16"
            logger.warning("TRAIN.AMP with %s on a CPU without native %s instructions (%s): autocast is emulated "
                           "and usually slower than float32 here; consider TRAIN.AMP false.", name, name,
                           "/".join(_NATIVE_CPU_FLAGS[self.amp_dtype]))
        # float16 needs loss scaling (as the original's GradScaler); bfloat16 has float32's range and does not.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=settings.amp and self.amp_dtype == torch.float16)
        self.register_hooks([*(self.build_hooks() if hooks is None else hooks), *extra_hooks])

    def build_hooks(self) -> list[HookBase]:
        """Validation, epoch statistics + tensorboard, the per-step monitor, LR step, checkpoints (+ wandb): the
        original's order after an epoch."""
        s = self.settings
        net_type = type(unwrap_model(self.actor.net)).__name__
        stats_hook = EpochStatsHook(str(s.tensorboard_dir), [l.name for l in self.loaders])
        hooks: list[HookBase] = [
            ValidationHook([l for l in self.loaders if not l.training]),
            stats_hook,
            StepMonitorHook(stats_hook),
            LRSchedulerHook(),
            CheckpointHook(Checkpointer(s.checkpoint_dir, net_type)),
        ]
        if s.use_wandb:
            hooks.append(WandbHook(s.project_path.removeprefix("train/"), str(s.tensorboard_dir), self.cfg))
        return hooks

    def train_epoch(self) -> None:
        for loader in self.loaders:
            if loader.training and self.epoch % loader.epoch_interval == 0:
                self.cycle_dataset(loader)

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.settings.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def cycle_dataset(self, loader: Any) -> None:
        """One pass over ``loader``: train steps when ``loader.training``, else evaluation without gradients."""
        self.actor.train(loader.training)
        storage = self.storage
        storage.begin_loader(loader.training)
        timer = IterationTimer(self.device)
        show = self.settings.progress_bar if self.settings.progress_bar is not None else sys.stderr.isatty()
        bar = progress_bar(len(loader), f"{loader.name} {self.epoch}", enabled=show and self.settings.is_main)
        with torch.set_grad_enabled(loader.training), bar as pbar:
            for i, data in enumerate(loader, 1):
                storage.iter_in_epoch = i
                timer.mark("data")
                self._call_hooks("before_step")
                data = move_to_device(data, self.device)
                timer.mark("transfer")
                data["epoch"] = self.epoch
                data["settings"] = self.settings
                with self.autocast():
                    loss, stats = self.actor(data)
                timer.mark("forward")
                if loader.training:
                    finite = self.optimize(loss, timer)
                    self.iteration += 1
                else:
                    finite = bool(torch.isfinite(loss.detach()))
                batch_size = self._batch_size(data, loader)
                storage.put_step(loader.name, stats, batch_size, finite, timer.last)
                storage.put_samples(data, batch_size, getattr(loader, "stack_dim", 1))
                timer.end_iteration(batch_size)
                self._print_stats(i, loader, batch_size, timer)
                if pbar:
                    pbar.update(1)
                self._call_hooks("after_step")
                if pbar and storage.step_line:
                    pbar.set_postfix_str(storage.step_line)  # refreshes the bar, so its last state shows
        if self.settings.is_main and timer.num_frames:
            bs = batch_size
            logger.info("Epoch Time: %s", datetime.timedelta(seconds=timer.elapsed))
            logger.info("Avg Data Time: %.5f", timer.per_batch("data", bs))
            logger.info("Avg GPU Trans Time: %.5f", timer.per_batch("transfer", bs))
            logger.info("Avg Forward Time: %.5f", sum(timer.per_batch(p, bs) for p in ("forward", "backward",
                                                                                          "optimizer")))

    def optimize(self, loss: torch.Tensor, timer: IterationTimer) -> bool:
        """Backward, clip and step; a non-finite loss or gradient skips the update. Returns whether it stepped."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        timer.mark("backward")
        # The decision must be the same on every rank (gradients are already averaged, the loss is not).
        value = loss.detach()
        if any_rank(not bool(torch.isfinite(value))):
            return self._skip_nonfinite("non-finite loss", timer)
        if any_rank(bool(value > self.settings.max_valid_loss)):
            return self._skip_nonfinite(f"loss above {self.settings.max_valid_loss:g}", timer)
        self.scaler.unscale_(self.optimizer)
        params = [p for p in self.actor.net.parameters() if p.grad is not None]
        if self.settings.grad_clip_norm > 0:
            grad_norm = clip_grad_norm_(params, self.settings.grad_clip_norm)
        else:
            grad_norm = get_total_norm([p.grad for p in params])
        # With float16 the GradScaler itself skips steps with inf gradients and lowers the scale; that is routine.
        if not self.scaler.is_enabled() and not bool(torch.isfinite(grad_norm)):
            return self._skip_nonfinite("non-finite gradient", timer)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        timer.mark("optimizer")
        self.storage.put_finite()
        return True

    def _skip_nonfinite(self, what: str, timer: IterationTimer) -> bool:
        self.optimizer.zero_grad(set_to_none=True)
        timer.mark("optimizer")
        in_a_row = self.storage.put_nonfinite()
        where = (f"epoch {self.epoch}, iteration {self.storage.iter_in_epoch} (training iteration "
                 f"{self.iteration + 1})")
        logger.warning("%s at %s: step skipped, weights unchanged (%d in a row)", what, where, in_a_row)
        if in_a_row >= self.settings.max_nonfinite_steps:
            checkpoint = self.last_checkpoint or "none (no checkpoint was saved yet)"
            raise NonFiniteLossError(
                f"training stopped: the loss or gradient was not finite in {in_a_row} consecutive "
                f"training steps, the last at {where}; those steps were skipped. The last good checkpoint is "
                f"{checkpoint}; running the same command again resumes from it. Look for NaN/inf in the data, or "
                f"lower TRAIN.LR; with TRAIN.AMP try AMP_DTYPE bfloat16. TRAIN.MAX_NONFINITE_STEPS "
                f"(now {self.settings.max_nonfinite_steps}) sets how many in a row are tolerated.")
        return False

    @staticmethod
    def _batch_size(data: Mapping, loader: Any) -> int:
        stack_dim = getattr(loader, "stack_dim", 0)
        if "template_images" in data:
            return int(data["template_images"].shape[stack_dim])
        return int(next(v for v in data.values() if isinstance(v, torch.Tensor)).shape[stack_dim])

    def _print_stats(self, i: int, loader: Any, batch_size: int, timer: IterationTimer) -> None:
        num_iters = len(loader)
        if i % self.settings.print_interval != 0 and i != num_iters:
            return
        averages = self.storage.averages(loader.name)  # every rank takes part in the reduction
        if not self.settings.is_main:
            return
        if self.settings.print_stats is not None:
            averages = {k: v for k, v in averages.items() if k in self.settings.print_stats}
        eta = None
        if loader.training and timer.elapsed > 0:
            remaining = (num_iters - i) + (self.max_epochs - self.epoch) * num_iters
            eta = timer.elapsed / i * remaining
        logger.info(format_stats_line(loader.name, self.epoch, i, num_iters, timer, batch_size, averages, eta,
                                      peak_memory_mib(self.device)))

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs, as plain data (``torch.load(weights_only=True)``-loadable)."""
        net = unwrap_model(self.actor.net)
        return {
            "epoch": self.epoch,
            "iteration": self.iteration,
            "actor_type": type(self.actor).__name__,
            "net_type": type(net).__name__,
            "net": net.state_dict(),
            "net_info": None,
            "constructor": None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            **self.storage.state_dict(),  # "stats" and "nonfinite_steps", as the checkpoint always held them
            "rng": capture_rng_state(),
            "settings": self.settings.to_plain(),
            "cfg": self.cfg,
        }

    def load_state_dict(self, state: dict[str, Any], source: str = "checkpoint") -> None:
        """Restore a :meth:`state_dict` (resume); a checkpoint of another model is a CheckpointError."""
        net = unwrap_model(self.actor.net)
        advice = ("It was written by a run with a different model or config. Start fresh with --fresh 1, or use "
                  "another --save_dir.")
        if state.get("net_type") not in (None, type(net).__name__):
            raise CheckpointError(f"{source} holds a {state['net_type']} network, not {type(net).__name__}. {advice}")
        try:
            net.load_state_dict(state["net"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{source} does not fit the network/optimizer built from this config: "
                                  f"{str(err).strip()[:600]}. {advice}") from None
        if self.lr_scheduler is not None and state.get("scheduler"):
            self.lr_scheduler.load_state_dict(state["scheduler"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.iteration = int(state.get("iteration", 0))
        self.storage.load_state_dict(state)
        if state.get("rng"):
            restore_rng_state(state["rng"])
        warn_config_changes(state.get("cfg") or {}, self.cfg, source)


# /proc/cpuinfo flags of CPUs with native half-precision matrix arithmetic.
_NATIVE_CPU_FLAGS = {torch.bfloat16: ("avx512_bf16", "amx_bf16"), torch.float16: ("avx512_fp16", "amx_fp16")}


def _cpu_has_native(dtype: torch.dtype) -> bool:
    """Whether the CPU has native ``dtype`` arithmetic (Linux /proc/cpuinfo; True when unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return True
    return not flags or any(flag in flags.split() for flag in _NATIVE_CPU_FLAGS[dtype])
