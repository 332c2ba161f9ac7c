"""The training composition shared by the PySOT-lineage scripts (``siamrpn``, ``siamban``), PySOT's recipe:

* data: PySOT's pair sampling and augmentation over this framework's datasets (511 context crops made on the fly)
  or PySOT's pre-cropped folders, with the family's target maker (anchors or points);
* network: the family's model, ``BACKBONE.PRETRAINED`` (backbone) and ``TRAIN.PRETRAINED`` (whole model) loaded
  with the missing / unused keys reported by name;
* SGD with PySOT's parameter groups (backbone ``TRAIN_LAYERS`` at ``LAYERS_LR x BASE_LR``, neck, head), weight
  decay on every parameter, gradients summed over ranks (spec quirk 31), clipping at ``GRAD_CLIP``, steps with an
  invalid loss (not finite, or above ``MAX_VALID_LOSS``) skipped;
* the warm-up + log schedule of :mod:`lib.train.pysot_lr`, one value per epoch;
* the backbone frozen (its BatchNorms in eval mode) until ``BACKBONE.TRAIN_EPOCH``, then ``TRAIN_LAYERS`` train
  and the optimizer's momentum is reset, as PySOT's new optimizer does (quirk 25).

Differences from PySOT: one optimizer for the whole run (its backbone group is empty of gradients until the
unfreezing, which SGD skips), so a checkpoint resumes exactly at any epoch (PySOT resumed with the previous
epoch's LRs and needed START_EPOCH set by hand); the last checkpoint is always written (quirk 29); a single
process needs no launcher (quirk 32).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from lib.config.core import PROJECT_ROOT
from lib.train.actors.siamese import SiameseActor
from lib.train.admin.multigpu import unwrap_model
from lib.train.admin.settings import Settings
from lib.train.data.loader import LTRLoader
from lib.train.optim import SCHEDULERS, build_optimizer_from_groups
from lib.train.train_script import prepare_synthetic_data, wrap_distributed
from lib.train.trainers.eval_hook import build_eval_hook
from lib.train.trainers.hooks import HookBase
from lib.train.trainers.ltr_trainer import LTRTrainer
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["settings_from_cfg", "num_epochs", "build_pysot_trainer", "BackboneSchedule", "BackboneScheduleHook",
           "resolve_pretrained", "param_groups", "check_trainable"]

logger = logging.getLogger(__name__)


def settings_from_cfg(settings: Settings, cfg: Any) -> Settings:
    """Trainer settings of a PySOT-lineage config: every epoch is checkpointed (PySOT's checkpoint_e%d)."""
    train = cfg.TRAIN
    return dataclasses.replace(
        settings, print_interval=int(train.PRINT_FREQ), grad_clip_norm=float(train.GRAD_CLIP),
        batchsize=int(train.BATCH_SIZE), amp=bool(train.AMP), amp_dtype=str(train.AMP_DTYPE),
        max_nonfinite_steps=int(train.MAX_NONFINITE_STEPS), max_valid_loss=float(train.MAX_VALID_LOSS),
        save_interval=0, save_epochs=(), save_last=0, save_every_epoch=True, scheduler_type="pysot")


def num_epochs(cfg: Any) -> int:
    return int(cfg.TRAIN.EPOCH)


def resolve_pretrained(name: str, settings: Settings, key: str) -> Path:
    """Find a pretrained file named in the config (PySOT joins it to the repository root).

    Tried in order: the path as given (absolute, or relative to the working directory), the pretrained-models
    directory of the path settings (the file name), the project root.
    """
    given = Path(os.path.expanduser(name))
    candidates = [given]
    if settings.env is not None:
        candidates.append(Path(settings.env.pretrained_dir) / given.name)
    candidates.append(PROJECT_ROOT / given)
    for path in candidates:
        if path.is_file():
            return path
    raise CheckpointError(f"{key} is {name!r}, but no such file exists (looked at {', '.join(map(str, candidates))}). "
                          f"Put the file in the pretrained-models directory (--pretrained_dir, OSTRACK_PRETRAINED_DIR) "
                          f"or give an absolute path; set {key} to '' to train without it.")


class BackboneSchedule:
    """Which backbone layers train at an epoch (PySOT's ``build_opt_lr``, spec 7.1).

    Before ``train_epoch`` (0-based) no backbone parameter trains and every backbone BatchNorm stays in eval
    mode; from ``train_epoch`` on, the modules named in ``train_layers`` train (their BatchNorms in train mode).

    Args:
        model: the unwrapped network (``model.backbone``).
        train_layers: attribute names of backbone children (BACKBONE.TRAIN_LAYERS).
        train_epoch: BACKBONE.TRAIN_EPOCH.
    """

    def __init__(self, model: nn.Module, train_layers: list[str], train_epoch: int):
        self.model = model
        self.train_layers = list(train_layers)
        self.train_epoch = int(train_epoch)
        self.active = False

    def layer_parameters(self) -> list[nn.Parameter]:
        return [p for name in self.train_layers for p in getattr(self.model.backbone, name).parameters()]

    def apply(self, epoch_index: int) -> bool:
        """Set ``requires_grad`` for the 0-based ``epoch_index``; returns whether that changed anything."""
        active = epoch_index >= self.train_epoch
        changed = active != self.active
        for param in self.model.backbone.parameters():
            param.requires_grad_(False)
        if active:
            for param in self.layer_parameters():
                param.requires_grad_(True)
        self.active = active
        return changed

    def frozen_batchnorms(self) -> list[nn.Module]:
        """The backbone BatchNorms that must stay in eval mode now."""
        trained = set()
        if self.active:
            trained = {id(m) for name in self.train_layers for m in getattr(self.model.backbone, name).modules()}
        return [m for m in self.model.backbone.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and id(m) not in trained]


class BackboneScheduleHook(HookBase):
    """Apply the :class:`BackboneSchedule` at every epoch start (and after a resume); at the unfreezing epoch
    reset the optimizer's state (PySOT builds a new optimizer there) and re-wrap DDP for the new parameters."""

    def __init__(self, schedule: BackboneSchedule):
        self.schedule = schedule

    def _apply(self, epoch_index: int, reset_state: bool) -> None:
        if not self.schedule.apply(epoch_index):
            return
        trainer = self.trainer
        if reset_state:
            trainer.optimizer.state = collections.defaultdict(dict)
            logger.info("start training backbone: %s from epoch %d (optimizer momentum reset, as PySOT's new "
                        "optimizer)", ", ".join(self.schedule.train_layers), epoch_index + 1)
        if trainer.settings.world_size > 1:  # DDP registers the parameters that need gradients at construction
            trainer.actor.net = wrap_distributed(unwrap_model(trainer.actor.net), trainer.settings,
                                                 gradient_reduction="sum")

    def before_train(self) -> None:
        # After the resume: a run resumed past TRAIN_EPOCH trains the backbone with the saved optimizer state; one
        # resumed right at TRAIN_EPOCH resets it, as the uninterrupted run does at the start of that epoch.
        epoch = self.trainer.epoch
        self._apply(epoch, reset_state=epoch == self.schedule.train_epoch)

    def before_epoch(self) -> None:
        self._apply(self.trainer.epoch - 1, reset_state=True)
        self.trainer.actor.train(True)


def check_trainable(model: nn.Module, cfg: Any) -> None:
    """Refuse configs that cannot train (spec quirk 9), before any data is read.

    TRAIN_LAYERS must name children of the backbone, and the network's score map must have the side of
    TRAIN.OUTPUT_SIZE (the label maps).
    """
    missing = [name for name in cfg.BACKBONE.TRAIN_LAYERS if not hasattr(model.backbone, name)]
    if missing:
        children = [name for name, _ in model.backbone.named_children()]
        raise ConfigError(f"BACKBONE.TRAIN_LAYERS names {missing}, which the {cfg.BACKBONE.TYPE} backbone does not have "
                          f"(its layers: {', '.join(children)}). The plain AlexNet configs are test configs of "
                          f"released models; train with siamrpn_alex_dwxcorr_16gpu or set TRAIN_LAYERS.")
    train = cfg.TRAIN
    model.eval()
    with torch.no_grad():
        cls, _ = model.forward_train(torch.zeros(1, 3, train.EXEMPLAR_SIZE, train.EXEMPLAR_SIZE),
                                     torch.zeros(1, 3, train.SEARCH_SIZE, train.SEARCH_SIZE))
    side = int(cls.shape[-1])
    if side != train.OUTPUT_SIZE:
        raise ConfigError(f"TRAIN.OUTPUT_SIZE is {train.OUTPUT_SIZE}, but this network gives a {side}x{side} score map "
                          f"for {train.EXEMPLAR_SIZE}/{train.SEARCH_SIZE} crops; set TRAIN.OUTPUT_SIZE {side} (and "
                          f"TRAIN.BASE_SIZE to match: AlexNet trains with BASE_SIZE 0, OUTPUT_SIZE 17). The plain "
                          f"AlexNet configs are test configs of released models (spec quirk 9).")


def param_groups(model: nn.Module, schedule: BackboneSchedule, base_lr: float, layers_lr: float) -> list[dict]:
    """PySOT's groups, in order: backbone TRAIN_LAYERS (LAYERS_LR x BASE_LR), the neck (if any), the head."""
    groups = [{"params": schedule.layer_parameters(), "lr": layers_lr * base_lr, "name": "backbone"}]
    if getattr(model, "neck", None) is not None:
        groups.append({"params": list(model.neck.parameters()), "lr": base_lr, "name": "neck"})
    groups.append({"params": list(getattr(model, model.head_attr).parameters()), "lr": base_lr, "name": "head"})
    return groups


def build_pysot_trainer(cfg: Any, settings: Settings, build_model: Callable[[Any], nn.Module],
                        build_target: Callable[[Any], Any], label_keys: tuple[str, ...]) -> LTRTrainer:
    """Compose a PySOT-lineage training run.

    Args:
        cfg: the family's config (PySOT key names).
        settings: run settings.
        build_model: ``build_model(cfg)`` -> the family's network.
        build_target: ``build_target(cfg)`` -> the target maker, ``target(box, size, neg, rng) -> tuple``.
        label_keys: batch names of the target maker's outputs, in order (e.g. label_cls, label_loc, ...).
    """
    from lib.models.siamese.weights import load_pretrain
    from lib.train.data.siamese.build import PYSOT_TO_FRAMEWORK, build_siamese_datasets, build_siamese_pair_dataset

    eval_hook = build_eval_hook(cfg.TRAIN.EVAL, settings, "TRAIN.EVAL")  # None unless TRAIN.EVAL.DATASETS is set
    model = build_model(cfg)
    check_trainable(model, cfg)
    if cfg.BACKBONE.PRETRAINED:
        load_pretrain(model.backbone, resolve_pretrained(cfg.BACKBONE.PRETRAINED, settings, "BACKBONE.PRETRAINED"))
    if cfg.TRAIN.PRETRAINED:
        load_pretrain(model, resolve_pretrained(cfg.TRAIN.PRETRAINED, settings, "TRAIN.PRETRAINED"))
    schedule = BackboneSchedule(model, list(cfg.BACKBONE.TRAIN_LAYERS), cfg.BACKBONE.TRAIN_EPOCH)
    schedule.apply(0)
    train = cfg.TRAIN
    groups = param_groups(model, schedule, float(train.BASE_LR), float(cfg.BACKBONE.LAYERS_LR))
    optimizer = build_optimizer_from_groups("SGD", groups, float(train.BASE_LR), float(train.WEIGHT_DECAY),
                                            momentum=float(train.MOMENTUM))
    scheduler = SCHEDULERS.get("pysot")(
        optimizer, epochs=int(train.EPOCH), lr_type=train.LR.TYPE, lr_kwargs=train.LR.KWARGS.to_dict(),
        warmup=bool(train.LR_WARMUP.WARMUP), warmup_type=train.LR_WARMUP.TYPE,
        warmup_epoch=int(train.LR_WARMUP.EPOCH), warmup_kwargs=train.LR_WARMUP.KWARGS.to_dict())
    logger.info("optimizer SGD (momentum %g, weight decay %g): %s; %r", train.MOMENTUM, train.WEIGHT_DECAY,
                ", ".join(f"{g['name']} {len(g['params'])} tensors at lr {g['lr']:g}" for g in groups), scheduler)
    net = wrap_distributed(model, settings, gradient_reduction="sum")

    data = cfg.DATASET
    prepare_synthetic_data([data[name].get("DATASET") or PYSOT_TO_FRAMEWORK.get(name, name)
                            for name in data.NAMES], settings)
    datasets = build_siamese_datasets(cfg, settings.env, use_lmdb=settings.use_lmdb)
    pairs = build_siamese_pair_dataset(cfg, datasets, TargetAdapter(build_target(cfg), label_keys),
                                       seed=settings.seed)
    sampler = None
    if settings.world_size > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(pairs, num_replicas=settings.world_size,
                                                                  rank=settings.rank, shuffle=False)
    loader = LTRLoader("train", pairs, training=True, batch_size=int(train.BATCH_SIZE), shuffle=False,
                       num_workers=int(train.NUM_WORKERS), drop_last=True, stack_dim=0, sampler=sampler,
                       seed=settings.seed, persistent_workers=False)
    actor = SiameseActor(net, frozen_batchnorms=schedule.frozen_batchnorms)
    return LTRTrainer(actor, [loader], optimizer, settings, scheduler, cfg=cfg.to_dict(),
                      extra_hooks=[BackboneScheduleHook(schedule), eval_hook])


class TargetAdapter:
    """Names the outputs of a target maker for the batch (picklable, for loader workers)."""

    def __init__(self, target: Any, keys: tuple[str, ...]):
        self.target = target
        self.keys = keys

    def __call__(self, box: Any, size: int, neg: bool, rng: Any) -> dict:
        return dict(zip(self.keys, self.target(box, size, neg, rng)))
