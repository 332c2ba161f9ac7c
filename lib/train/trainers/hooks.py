"""Side effects of the training loop as small hooks (detectron2 style): validation, epoch statistics and
tensorboard, LR schedule, checkpoints, wandb.

A hook sees the trainer as ``self.trainer`` and may implement ``before_train``, ``after_train``,
``before_epoch``, ``after_epoch``, ``before_step`` and ``after_step``. The trainer calls them in list order;
the default list (see :meth:`LTRTrainer.build_hooks`) reproduces the original's order after an epoch:
validation, statistics/tensorboard, LR step, checkpoint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lib.train.admin.multigpu import barrier
from lib.train.trainers.checkpoint import Checkpointer, is_cadence_epoch

if TYPE_CHECKING:
    from lib.train.trainers.base_trainer import BaseTrainer

__all__ = ["HookBase", "ValidationHook", "EpochStatsHook", "StepMonitorHook", "LRSchedulerHook", "CheckpointHook",
           "WandbHook"]

logger = logging.getLogger(__name__)


class HookBase:
    """No-op base; ``trainer`` is set when the hook is registered.

    A hook knows only :class:`BaseTrainer` (its loop state, optimizer, scheduler, settings) and reads the run's
    statistics from ``trainer.storage``."""

    trainer: "BaseTrainer"

    def before_train(self) -> None: ...

    def after_train(self) -> None: ...

    def before_epoch(self) -> None: ...

    def after_epoch(self) -> None: ...

    def before_step(self) -> None: ...

    def after_step(self) -> None: ...


class ValidationHook(HookBase):
    """Cycle each non-training loader when ``epoch % loader.epoch_interval == 0`` (VAL_EPOCH_INTERVAL)."""

    def __init__(self, loaders: list[Any]):
        self.loaders = loaders

    def after_epoch(self) -> None:
        for loader in self.loaders:
            if self.trainer.epoch % loader.epoch_interval == 0:
                self.trainer.cycle_dataset(loader)


class EpochStatsHook(HookBase):
    """Close the epoch's statistics (reduced over ranks), log data-skip counts, write tensorboard (rank 0)."""

    def __init__(self, tensorboard_dir: str | None, loader_names: list[str]):
        self.tensorboard_dir = tensorboard_dir
        self.loader_names = loader_names
        self.writer = None

    def before_train(self) -> None:
        if self.tensorboard_dir is not None and self.trainer.settings.is_main:
            from lib.train.admin.tensorboard import TensorboardWriter
            self.writer = TensorboardWriter(self.tensorboard_dir, self.loader_names)

    def after_epoch(self) -> None:
        t = self.trainer
        lrs = t.lr_scheduler.get_last_lr() if t.lr_scheduler is not None else None
        t.storage.close_epoch(t.epoch, {l.name: lrs for l in t.loaders if l.training and lrs is not None},
                              t.settings.is_main)
        if self.writer is not None:
            if t.epoch == 1:
                self.writer.write_info(t.settings.script_name, t.settings.description)
            self.writer.write_epoch(t.storage.meters, t.epoch)

    def after_train(self) -> None:
        if self.writer is not None:
            self.writer.close()


class StepMonitorHook(HookBase):
    """What video_analyst's TextInfo and TensorboardLogger monitors report, for every family, per training step:
    the LR, each statistic of the actor (losses and extras such as IoU), the data / forward / backward / optimizer
    times and the peak memory, in the progress bar (its postfix), and as tensorboard scalars ``step/...`` at the
    global iteration every ``settings.print_interval`` steps (rank 0). The log keeps the statistics line of
    the print interval (which carries the same fields, averaged)."""

    _TIMES = {"data": "data", "fwd": "forward", "bwd": "backward", "optim": "optimizer"}

    def __init__(self, stats_hook: EpochStatsHook | None = None):
        self.stats_hook = stats_hook

    def step_report(self) -> tuple[list[float], dict[str, float], dict[str, float]]:
        """(LR of each parameter group, the step's statistics, the step's phase times in seconds)."""
        t = self.trainer
        lrs = [float(g["lr"]) for g in t.optimizer.param_groups] if t.optimizer is not None else []
        step_times = t.storage.step_times
        times = {short: step_times[phase] for short, phase in self._TIMES.items() if phase in step_times}
        return lrs, dict(t.storage.step_stats), times

    def after_step(self) -> None:
        t = self.trainer
        if not (t.storage.training and t.settings.is_main):
            return
        from lib.train.trainers.monitor import format_step_line, peak_memory_mib

        lrs, stats, times = self.step_report()
        t.storage.step_line = format_step_line(t.epoch, lrs, stats, times, peak_memory_mib(t.device))
        writer = self.stats_hook.writer if self.stats_hook is not None else None
        interval = max(int(t.settings.print_interval), 1)
        if writer is not None and t.iteration % interval == 0:
            scalars = {f"step/lr/group{k}": lr for k, lr in enumerate(lrs)}
            scalars.update({f"step/{name}": value for name, value in stats.items()})
            scalars.update({f"step/time/{name}": value for name, value in times.items()})
            writer.write_step("train", scalars, t.iteration)


class LRSchedulerHook(HookBase):
    """Step the epoch scheduler once after each epoch (matches OSTrack: after training and validation)."""

    def after_epoch(self) -> None:
        if self.trainer.lr_scheduler is not None:
            self.trainer.lr_scheduler.step()


class CheckpointHook(HookBase):
    """Resume before training; save on the configured cadence after each epoch (main process only).

    With ``settings.keep_resume_checkpoint`` every epoch is also saved, and the previous epoch's file is deleted
    once the new one is on disk unless it belongs to the cadence, so a killed run loses at most the epoch in
    progress while the folder ends up holding exactly the original's files.
    """

    def __init__(self, checkpointer: Checkpointer):
        self.checkpointer = checkpointer

    def _cadence(self, epoch: int) -> bool:
        s = self.trainer.settings
        return is_cadence_epoch(epoch, self.trainer.max_epochs, s.save_interval, s.save_epochs, s.save_last,
                                s.save_every_epoch)

    def before_train(self) -> None:
        settings = self.trainer.settings
        if settings.is_main:
            self.checkpointer.remove_stale_temp_files()
        barrier()
        if not settings.load_latest:
            # Older files must not mix with the new run's (a later resume would pick the highest epoch).
            moved = self.checkpointer.move_aside() if settings.is_main else None
            barrier()
            logger.info("starting fresh (--fresh 1)%s", f"; the previous run's checkpoints were moved to {moved}"
                        if moved else "")
            return
        found = self.checkpointer.load_latest()
        if found is None:
            logger.info("no checkpoint in %s; training from epoch 1", self.checkpointer.directory)
            return
        path, state = found
        self.trainer.load_state_dict(state, source=str(path))
        self.trainer.last_checkpoint = str(path)
        if self.trainer.epoch >= self.trainer.max_epochs:
            logger.info("resumed from %s: all %d epochs are done already (TRAIN.EPOCH is %d); nothing to train",
                        path, self.trainer.epoch, self.trainer.max_epochs)
        else:
            logger.info("resumed from %s: epoch %d done, continuing with epoch %d", path, self.trainer.epoch,
                        self.trainer.epoch + 1)

    def after_epoch(self) -> None:
        epoch = self.trainer.epoch
        keep = self._cadence(epoch)
        if not (keep or self.trainer.settings.keep_resume_checkpoint):
            return
        if self.trainer.settings.is_main:
            state = self.trainer.state_dict()
            path = self.checkpointer.save(state, epoch)
            logger.info("saved checkpoint %s", path)
            previous = epoch - 1
            if self.trainer.settings.keep_resume_checkpoint and previous >= 1 and not self._cadence(previous):
                self.checkpointer.path(previous).unlink(missing_ok=True)
            self.trainer.last_checkpoint = str(path)
        else:
            self.trainer.last_checkpoint = str(self.checkpointer.path(epoch))
        # Other ranks must not race ahead and, e.g., resume from a file that is still being written.
        barrier()


class WandbHook(HookBase):
    """Log the running averages to Weights & Biases every print interval (main process, ``--use_wandb 1``)."""

    def __init__(self, run_name: str, directory: str, config: dict | None = None):
        from lib.train.admin.wandb_writer import WandbWriter
        WandbWriter.check_available()  # fail before training starts, not after the first epoch
        self.run_name = run_name
        self.directory = directory
        self.config = config
        self.writer = None

    def before_train(self) -> None:
        if not self.trainer.settings.is_main:
            return
        from lib.train.admin.wandb_writer import WandbWriter
        # Created after resume, so the step continues from the checkpoint (the original restarted at 0).
        self.writer = WandbWriter(self.run_name, self.directory, self.config,
                                  resume_id=self.run_name.replace("/", "-"))

    def after_step(self) -> None:
        t = self.trainer
        storage = t.storage
        if self.writer is not None and storage.training and storage.iter_in_epoch % t.settings.print_interval == 0:
            samples = t.iteration * t.settings.batchsize * t.settings.world_size
            self.writer.write_log(storage.meters, t.epoch, step=samples)

    def after_train(self) -> None:
        if self.writer is not None:
            self.writer.close()
