"""OSTrack's training script (spec 6.1): loaders, network (+ FREEZE_LAYERS, DDP), actor, AdamW, epoch schedule."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from lib.models.ostrack import build_ostrack
from lib.train.actors.ostrack import build_ostrack_actor
from lib.train.admin.settings import Settings
from lib.train.data.build import build_dataloaders
from lib.train.optim import build_optimizer_scheduler, freeze_backbone_layers
from lib.train.train_script import prepare_synthetic_data, wrap_distributed
from lib.train.trainers.eval_hook import build_eval_hook
from lib.train.trainers.ltr_trainer import LTRTrainer
from lib.utils.errors import ConfigError

__all__ = ["settings_from_cfg", "build_trainer", "num_epochs", "build_network", "check_supported"]


def check_supported(cfg: Any) -> None:
    """Reject config switches that the original declared but this framework (like OSTrack) cannot serve."""
    for key in ("DEEP_SUPERVISION", "DISTILL"):
        if cfg.TRAIN[key]:
            raise ConfigError(f"TRAIN.{key} is true, but OSTrack training has no {key.lower().replace('_', ' ')} "
                              f"path (a STARK leftover in the original, spec 6.7 and 8.1). Set it to false.")


def settings_from_cfg(settings: Settings, cfg: Any) -> Settings:
    """Copy the trainer-relevant TRAIN keys of a config into the settings (spec 6.9 ``update_settings``)."""
    train = cfg.TRAIN
    return dataclasses.replace(
        settings,
        print_interval=int(train.PRINT_INTERVAL),
        grad_clip_norm=float(train.GRAD_CLIP_NORM),
        batchsize=int(train.BATCH_SIZE),
        amp=bool(train.AMP),
        amp_dtype=str(train.AMP_DTYPE),
        max_nonfinite_steps=int(train.MAX_NONFINITE_STEPS),
        save_interval=int(train.SAVE_INTERVAL),
        save_epochs=tuple(int(e) for e in train.SAVE_EPOCHS),
        save_last=int(train.SAVE_LAST),
        save_every_epoch=bool(train.SAVE_EVERY_EPOCH),
        scheduler_type=str(train.SCHEDULER.TYPE),
    )


def num_epochs(cfg: Any) -> int:
    return int(cfg.TRAIN.EPOCH)


def build_network(cfg: Any, settings: Settings) -> nn.Module:
    """The OSTrack network on the run's device, with FREEZE_LAYERS applied and DDP when distributed."""
    pretrained_dir = settings.env.pretrained_dir if settings.env is not None else None
    net = build_ostrack(cfg, training=True, pretrained_dir=pretrained_dir)
    freeze_backbone_layers(net, cfg.TRAIN.FREEZE_LAYERS)
    # matches OSTrack: find_unused_parameters=True (robust to parameters a config leaves unused, e.g.
    # RETURN_INTER's extra norms); SyncBN is not used, head BatchNorm statistics stay per process.
    return wrap_distributed(net, settings, find_unused_parameters=True)


def build_trainer(cfg: Any, settings: Settings) -> LTRTrainer:
    """Compose OSTrack's training: data, network, actor (focal + GIoU + L1, CE schedule), AdamW, schedule."""
    check_supported(cfg)
    eval_hook = build_eval_hook(cfg.TRAIN.EVAL, settings, "TRAIN.EVAL")  # None unless TRAIN.EVAL.DATASETS is set
    prepare_synthetic_data([*cfg.DATA.TRAIN.DATASETS_NAME, *cfg.DATA.VAL.DATASETS_NAME], settings)
    loader_train, loader_val = build_dataloaders(cfg, settings.env, use_lmdb=settings.use_lmdb,
                                                 distributed=settings.world_size > 1, seed=settings.seed)
    net = build_network(cfg, settings)
    actor = build_ostrack_actor(cfg, net)
    optimizer, scheduler = build_optimizer_scheduler(cfg, net)
    return LTRTrainer(actor, [loader_train, loader_val], optimizer, settings, scheduler, cfg=cfg.to_dict(),
                      extra_hooks=[eval_hook])
