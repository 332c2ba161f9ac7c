"""SiamFC++'s training script (video_analyst's ``main/train.py`` recipe on the framework's trainer):

* data: TrackPairSampler (negative pairs, pair filter) -> RandomCropTransformer -> DenseboxTarget, fed from the
  framework's datasets with a per-sample random stream (video_analyst's per-worker RNG fixed);
* network: SiamTrack with its losses (focal / sigmoid CE, centerness, IoU) and the backbone's pretrained file;
* SGD with the ``lr_multiplier`` groups, the LR set before every iteration (LinearLR warm-up then CosineLR), the
  DynamicFreezer schedule applied at every epoch start; no gradient clipping unless
  ``train.track.framework.grad_clip_norm`` is set (video_analyst has none);
* the framework's checkpoints (``SiamTrack_ep%04d.pth.tar``, atomic, exact resume: the original resumed one
  epoch late from ``epoch-N.pkl``) and monitors (per-step LR, losses, IoU, times, peak memory).

``train.track.trainer`` gives the length (``max_epoch``) and the samples per epoch (``nr_image_per_epoch``);
``train.track.device`` is replaced by ``--device``; DistributedRegularTrainer is the same loop under torchrun.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from lib.models.siamfcpp.build import build_siamfcpp_model
from lib.train.actors.siamfcpp import SiamFCppActor
from lib.train.admin.multigpu import unwrap_model
from lib.train.admin.settings import Settings
from lib.train.train_script import prepare_synthetic_data, wrap_distributed
from lib.train.trainers.eval_hook import build_eval_hook
from lib.train.trainers.hooks import HookBase
from lib.train.trainers.ltr_trainer import LTRTrainer

__all__ = ["settings_from_cfg", "build_trainer", "num_epochs", "IterationLRHook", "FreezerHook"]

logger = logging.getLogger(__name__)


def _trainer_node(cfg: Any) -> Any:
    trainer = cfg.train.track.trainer
    return trainer[trainer.name]


def settings_from_cfg(settings: Settings, cfg: Any) -> Settings:
    """Trainer settings of a SiamFC++ train config (every epoch is checkpointed, as video_analyst's snapshots)."""
    track = cfg.train.track
    framework = track.framework
    return dataclasses.replace(
        settings, print_interval=int(framework.print_interval), grad_clip_norm=float(framework.grad_clip_norm),
        batchsize=int(track.data.minibatch), amp=bool(track.optim.optimizer.SGD.amp), amp_dtype="float16",
        max_nonfinite_steps=int(framework.max_nonfinite_steps), save_interval=0, save_epochs=(), save_last=0,
        save_every_epoch=True, scheduler_type="siamfcpp")


def num_epochs(cfg: Any) -> int:
    return int(_trainer_node(cfg).max_epoch)


class IterationLRHook(HookBase):
    """Set the LR before every training iteration from (0-based epoch, iteration), as video_analyst's
    ``optimizer.schedule(epoch, i)``."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler

    def before_step(self) -> None:
        storage = self.trainer.storage
        if storage.training:
            self.scheduler.step(self.trainer.epoch - 1, storage.iter_in_epoch - 1)


class FreezerHook(HookBase):
    """Apply the DynamicFreezer at each epoch start (and after a resume); re-wrap DDP when the set changed."""

    def __init__(self, freezer: Any):
        self.freezer = freezer

    def _apply(self, epoch_index: int) -> None:
        trainer = self.trainer
        changed = self.freezer.apply(unwrap_model(trainer.actor.net), epoch_index)
        if changed and trainer.settings.world_size > 1:  # DDP registers the trainable parameters at construction
            trainer.actor.net = wrap_distributed(unwrap_model(trainer.actor.net), trainer.settings,
                                                 find_unused_parameters=True)

    def before_train(self) -> None:
        self._apply(max(self.trainer.epoch, 0))

    def before_epoch(self) -> None:
        self._apply(self.trainer.epoch - 1)


def build_trainer(cfg: Any, settings: Settings) -> LTRTrainer:
    """Compose SiamFC++ training from a ``train.track`` config."""
    from lib.train.data.siamfcpp.build import build_siamfcpp_loader, framework_dataset_name
    from lib.train.siamfcpp_optim import build_dynamic_freezer, build_siamfcpp_lr_scheduler, build_siamfcpp_optimizer

    track = cfg.train.track
    eval_hook = build_eval_hook(track.framework.eval, settings, "train.track.framework.eval")  # None unless set
    dataset_node = track.data.sampler.submodules.dataset
    prepare_synthetic_data([framework_dataset_name(name, dataset_node[name]) for name in dataset_node.names], settings)
    pretrained_dir = settings.env.pretrained_dir if settings.env is not None else None
    model = build_siamfcpp_model(cfg, training=True, pretrained_dir=pretrained_dir)
    freezer = build_dynamic_freezer(track.optim)
    if freezer is not None:
        freezer.apply(model, 0)
    optimizer = build_siamfcpp_optimizer(track.optim, model)
    scheduler = build_siamfcpp_lr_scheduler(track.optim, optimizer)
    net = wrap_distributed(model, settings, find_unused_parameters=True)
    trainer_node = _trainer_node(cfg)
    loader = build_siamfcpp_loader(track.data, settings.env, seed=settings.seed, distributed=settings.world_size > 1,
                                   use_lmdb=settings.use_lmdb,
                                   samples_per_epoch=int(trainer_node.nr_image_per_epoch))
    hooks: list[HookBase | None] = [IterationLRHook(scheduler)]
    if freezer is not None:
        hooks.append(FreezerHook(freezer))
    hooks.append(eval_hook)
    # The LR is a function of (epoch, iteration) set by the hook before each step, so the trainer holds no
    # epoch scheduler and a resumed run continues with the right LR.
    return LTRTrainer(SiamFCppActor(net), [loader], optimizer, settings, None, cfg=cfg.to_dict(),
                      extra_hooks=hooks)
