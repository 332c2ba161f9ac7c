"""``run(settings)``: build everything for one training process and train (spec 6.1).

Config -> settings -> loaders -> network (+ FREEZE_LAYERS, DDP) -> actor -> optimizer and scheduler -> trainer.
"""

from __future__ import annotations

import logging
from typing import Any

import yaml
from torch import nn

from lib.config.ostrack.config import load_config, save_config
from lib.models.ostrack import build_ostrack
from lib.train.actors.ostrack import build_ostrack_actor
from lib.train.admin.multigpu import barrier, unwrap_model
from lib.train.admin.run_log import attach_log_file, detach_log_file
from lib.train.admin.settings import Settings, settings_from_cfg
from lib.train.data.build import build_dataloaders
from lib.train.optim import build_optimizer_scheduler, freeze_backbone_layers
from lib.train.dataset.synthetic_generator import ensure_synthetic_dataset
from lib.train.trainers.checkpoint import Checkpointer
from lib.train.trainers.ltr_trainer import LTRTrainer
from lib.utils.checkpoint_io import load_net_state_dict
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["run", "build_network", "build_actor", "check_supported", "prepare_synthetic_data"]

logger = logging.getLogger(__name__)


def check_supported(cfg: Any) -> None:
    """Reject config switches that the original declared but this framework (like OSTrack) cannot serve."""
    for key in ("DEEP_SUPERVISION", "DISTILL"):
        if cfg.TRAIN[key]:
            raise ConfigError(f"TRAIN.{key} is true, but OSTrack training has no {key.lower().replace('_', ' ')} "
                              f"path (a STARK leftover in the original, spec 6.7 and 8.1). Set it to false.")


def prepare_synthetic_data(cfg: Any, settings: Settings) -> None:
    """Generate the synthetic dataset (once, on the main process) when the config trains or validates on it."""
    names = [*cfg.DATA.TRAIN.DATASETS_NAME, *cfg.DATA.VAL.DATASETS_NAME]
    if settings.env is None or not any(name.startswith("SYNTHETIC") for name in names):
        return
    root = settings.env.synthetic_dir
    if settings.is_main:
        if not (root.is_dir() and any(root.iterdir())):
            logger.info("the config uses the synthetic dataset, which is not in %s yet: generating it there "
                        "(tracking/make_synthetic_dataset.py does the same with more options)", root)
        ensure_synthetic_dataset(root)
    barrier()


def build_network(cfg: Any, settings: Settings) -> nn.Module:
    """The OSTrack network on the run's device, with FREEZE_LAYERS applied and DDP when distributed."""
    pretrained_dir = settings.env.pretrained_dir if settings.env is not None else None
    net = build_ostrack(cfg, training=True, pretrained_dir=pretrained_dir)
    freeze_backbone_layers(net, cfg.TRAIN.FREEZE_LAYERS)
    net.to(settings.device)
    if settings.world_size > 1:
        # matches OSTrack: find_unused_parameters=True (robust to parameters a config leaves unused, e.g.
        # RETURN_INTER's extra norms); SyncBN is not used, head BatchNorm statistics stay per process.
        device_ids = [settings.device.index] if settings.device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(net, device_ids=device_ids, find_unused_parameters=True)
    return net


def build_actor(cfg: Any, net: nn.Module, settings: Settings) -> Any:
    """OSTrackActor with the original objective and weights (spec 4.1)."""
    return build_ostrack_actor(cfg, net)


def _init_from_previous(net: nn.Module, settings: Settings, script_prv: str, config_prv: str) -> None:
    """--script_prv/--config_prv: start from the newest checkpoint of another run (non-strict), as the original."""
    folder = settings.checkpoint_dir.parents[1] / script_prv / config_prv
    found = Checkpointer(folder, type(unwrap_model(net)).__name__).list()
    if not found:
        raise CheckpointError(f"--script_prv {script_prv} --config_prv {config_prv}: no checkpoint in {folder}.")
    path = found[-1][1]
    missing, unexpected = unwrap_model(net).load_state_dict(load_net_state_dict(path), strict=False)
    logger.info("initialised the network from %s (%d missing, %d unexpected keys)", path, len(missing),
                len(unexpected))


def run(settings: Settings, script_prv: str | None = None, config_prv: str | None = None) -> LTRTrainer:
    """Train the config named in ``settings``; returns the trainer (after the last epoch)."""
    if settings.script_name != "ostrack":
        raise ConfigError(f"--script {settings.script_name!r} is not supported; this framework trains 'ostrack'.")
    cfg = load_config(str(settings.cfg_file or settings.config_name))
    check_supported(cfg)
    settings = settings_from_cfg(settings, cfg)
    log_handler = attach_log_file(settings.log_file) if settings.is_main else None
    try:
        if settings.is_main:
            save_config(cfg, settings.checkpoint_dir / "config.yaml")
            logger.info("config %s (merged, frozen; saved to %s):\n%s", settings.cfg_file,
                        settings.checkpoint_dir / "config.yaml",
                        yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None).rstrip())
        prepare_synthetic_data(cfg, settings)
        loader_train, loader_val = build_dataloaders(cfg, settings.env, use_lmdb=settings.use_lmdb,
                                                     distributed=settings.world_size > 1, seed=settings.seed)
        net = build_network(cfg, settings)
        if script_prv and config_prv:
            _init_from_previous(net, settings, script_prv, config_prv)
        actor = build_actor(cfg, net, settings)
        optimizer, scheduler = build_optimizer_scheduler(cfg, net)
        trainer = LTRTrainer(actor, [loader_train, loader_val], optimizer, settings, scheduler, cfg=cfg.to_dict())
        trainer.train(int(cfg.TRAIN.EPOCH))
        return trainer
    finally:
        if log_handler is not None:
            detach_log_file(log_handler)

