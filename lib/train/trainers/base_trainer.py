"""The epoch loop with hooks (pytracking's BaseTrainer shape, detectron2's hook protocol).

``train(max_epochs)`` runs, for each epoch after the last finished one: reseed from (seed, epoch, rank),
``set_epoch`` on the loaders' samplers, hooks' ``before_epoch``, ``train_epoch()``, hooks' ``after_epoch``
(validation, statistics, LR step, checkpoint). The run's statistics live in :attr:`BaseTrainer.storage`
(a :class:`TrainingStorage`), which hooks read. A crash is logged with its epoch and re-raised, so the process
exits non-zero (the original's fail_safe printed the traceback and exited 0; spec 8.5 item 30).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import torch

from lib.train.admin.settings import Settings
from lib.train.actors.base_actor import BaseActor
from lib.train.trainers.hooks import HookBase
from lib.train.trainers.storage import TrainingStorage
from lib.train.trainers.rng import epoch_seed, seed_everything
from lib.utils.cli import user_error_message
from lib.utils.errors import OSTrackError

__all__ = ["BaseTrainer", "NonFiniteLossError"]

logger = logging.getLogger(__name__)


class NonFiniteLossError(OSTrackError):
    """Too many consecutive training steps had a non-finite loss or gradient."""


class BaseTrainer:
    """Owns the loop; subclasses implement ``train_epoch``, ``state_dict`` and ``load_state_dict``.

    Args:
        actor: maps a batch to (loss, stats); ``actor.net`` is the (possibly DDP-wrapped) network.
        loaders: the data loaders, e.g. [train_loader, val_loader]; each has ``name``, ``training``,
            ``epoch_interval`` and ``stack_dim``.
        optimizer: the optimizer.
        settings: run settings (device, ranks, paths, logging and checkpoint policy).
        lr_scheduler: stepped once per epoch by the LR hook (optional).
    """

    def __init__(self, actor: BaseActor, loaders: Sequence[Any], optimizer: torch.optim.Optimizer,
                 settings: Settings, lr_scheduler: Any = None):
        self.actor = actor
        self.loaders = list(loaders)
        self.optimizer = optimizer
        self.settings = settings
        self.lr_scheduler = lr_scheduler
        self.device = torch.device(settings.device)
        self.epoch = 0
        self.max_epochs = 0
        self.iteration = 0  # training iterations done, over all epochs
        self.last_checkpoint: str | None = None
        self.storage = TrainingStorage([loader.name for loader in self.loaders])
        self.hooks: list[HookBase] = []
        self.actor.to(self.device)

    def register_hooks(self, hooks: Sequence[HookBase | None]) -> None:
        for hook in hooks:
            if hook is not None:
                hook.trainer = self
                self.hooks.append(hook)

    def train(self, max_epochs: int) -> None:
        """Train until epoch ``max_epochs`` (1-based), resuming after the last finished epoch."""
        self.max_epochs = max_epochs
        try:
            self._call_hooks("before_train")
            for epoch in range(self.epoch + 1, max_epochs + 1):
                self.epoch = epoch
                self.before_epoch()
                self.train_epoch()
                self._call_hooks("after_epoch")
        except BaseException as err:
            # User errors (also file-system errors on a named path) carry their own message, printed by the CLI;
            # anything else gets the traceback.
            user_error = isinstance(err, KeyboardInterrupt) or (isinstance(err, Exception)
                                                                 and user_error_message(err) is not None)
            logger.error("Training crashed at epoch %d: %s", self.epoch, err or type(err).__name__,
                         exc_info=not user_error)
            raise
        finally:
            self._call_hooks("after_train")
        logger.info("Finished training!")

    def before_epoch(self) -> None:
        # Sampling and augmentation become a function of (seed, epoch, rank): exact resume at epoch boundaries.
        seed_everything(epoch_seed(self.settings.seed, self.epoch, self.settings.rank))
        for loader in self.loaders:
            if hasattr(loader, "set_epoch"):
                loader.set_epoch(self.epoch)  # LTRLoader: its generator, DistributedSampler and sampler epochs
                continue
            for holder in (getattr(loader, "sampler", None), getattr(loader, "dataset", None)):
                if hasattr(holder, "set_epoch"):
                    holder.set_epoch(self.epoch)
            generator = getattr(loader, "generator", None)
            if isinstance(generator, torch.Generator):
                generator.manual_seed(epoch_seed(self.settings.seed, self.epoch, self.settings.rank))
        self._call_hooks("before_epoch")

    def train_epoch(self) -> None:
        raise NotImplementedError

    def cycle_dataset(self, loader: Any) -> None:
        """One pass over ``loader``: training steps when ``loader.training``, else evaluation without gradients."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any], source: str = "") -> None:
        raise NotImplementedError

    def _call_hooks(self, stage: str) -> None:
        for hook in self.hooks:
            getattr(hook, stage)()
