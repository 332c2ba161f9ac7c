"""``run(settings)``: load the config of ``--script``, then let that family's training script build and train.

One module per family (pytracking's train_settings idea) lives in :mod:`lib.train.scripts` and is found through
:data:`TRAIN_SCRIPTS`. A script module provides:

* ``settings_from_cfg(settings, cfg) -> Settings``: the trainer settings its config implies;
* ``build_trainer(cfg, settings) -> LTRTrainer``: datasets, sampler, processing, network, actor, optimizer and
  scheduler composed and handed to the shared trainer;
* ``num_epochs(cfg) -> int``.

Everything else of a run is shared and lives here: the config (merged, validated, frozen, saved into the run
folder and logged), the log file, initialising from another run (``--script_prv``/``--config_prv``) and training.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

import torch.distributed as dist
import yaml
from torch import nn

from lib.config import load_script_config
from lib.config.core import save_config
from lib.train.admin.multigpu import barrier, unwrap_model
from lib.train.admin.run_log import attach_log_file, detach_log_file
from lib.train.admin.settings import Settings
from lib.train.dataset.synthetic_generator import ensure_synthetic_dataset
from lib.train.trainers.checkpoint import Checkpointer
from lib.train.trainers.ltr_trainer import LTRTrainer
from lib.utils.checkpoint_io import load_net_state_dict
from lib.utils.errors import CheckpointError
from lib.utils.registry import Registry

__all__ = ["run", "TRAIN_SCRIPTS", "prepare_synthetic_data", "wrap_distributed"]

logger = logging.getLogger(__name__)

#: --script name -> the family's training-script module
TRAIN_SCRIPTS = Registry("training script", "--script", {
    "ostrack": "lib.train.scripts.ostrack",
    "siamrpn": "lib.train.scripts.siamrpn",
    "siamban": "lib.train.scripts.siamban",
    "siamfcpp": "lib.train.scripts.siamfcpp",
})


def prepare_synthetic_data(dataset_names: Iterable[str], settings: Settings) -> None:
    """Generate the synthetic dataset (once, on the main process) when a run trains or validates on it.

    Args:
        dataset_names: the framework dataset names the run reads (e.g. ``SYNTHETIC_train``).
        settings: the run settings (the data root comes from ``settings.env``).
    """
    if settings.env is None or not any(str(name).startswith("SYNTHETIC") for name in dataset_names):
        return
    root = settings.env.synthetic_dir
    if settings.is_main:
        if not (root.is_dir() and any(root.iterdir())):
            logger.info("the config uses the synthetic dataset, which is not in %s yet: generating it there "
                        "(tracking/make_synthetic_dataset.py does the same with more options)", root)
        ensure_synthetic_dataset(root)
    barrier()


def _sum_allreduce_hook(process_group, bucket):  # no annotations: DDP checks them against dist.GradBucket
    """DDP communication hook that sums gradients over ranks instead of averaging them."""
    group = process_group if process_group is not None else dist.group.WORLD
    future = dist.all_reduce(bucket.buffer(), group=group, async_op=True).get_future()
    return future.then(lambda fut: fut.value()[0])


def wrap_distributed(net: nn.Module, settings: Settings, find_unused_parameters: bool = False,
                     gradient_reduction: str = "mean") -> nn.Module:
    """Move the network to the run's device and wrap it in DistributedDataParallel when there are several ranks.

    Args:
        net: the (unwrapped) network.
        settings: the run settings (device, world size).
        find_unused_parameters: passed to DDP.
        gradient_reduction: ``mean`` (DDP's default) or ``sum`` (PySOT's ``reduce_gradients``: the published
            learning rates assume gradients summed over GPUs, spec quirk 31).
    """
    if gradient_reduction not in ("mean", "sum"):
        raise ValueError(f"gradient_reduction must be 'mean' or 'sum', got {gradient_reduction!r}")
    net.to(settings.device)
    if settings.world_size > 1:
        device_ids = [settings.device.index] if settings.device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(net, device_ids=device_ids,
                                                  find_unused_parameters=find_unused_parameters)
        if gradient_reduction == "sum":
            net.register_comm_hook(None, _sum_allreduce_hook)
    return net


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


def run(settings: Settings, script_prv: str | None = None, config_prv: str | None = None,
        overrides: dict | None = None) -> LTRTrainer:
    """Train the config named in ``settings`` with the training script of ``settings.script_name``.

    Args:
        settings: the run settings.
        script_prv, config_prv: start from the newest checkpoint of that run.
        overrides: nested config overrides (``--opts``), merged after the YAML and validated the same way.

    Returns the trainer (after the last epoch).
    """
    script: Any = TRAIN_SCRIPTS.get(settings.script_name)
    cfg = load_script_config(settings.script_name, str(settings.cfg_file or settings.config_name), overrides)
    settings = script.settings_from_cfg(settings, cfg)
    log_handler = attach_log_file(settings.log_file) if settings.is_main else None
    try:
        if settings.is_main:
            save_config(cfg, settings.checkpoint_dir / "config.yaml")
            logger.info("config %s (merged, frozen; saved to %s):\n%s", settings.cfg_file,
                        settings.checkpoint_dir / "config.yaml",
                        yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None).rstrip())
        trainer = script.build_trainer(cfg, settings)
        if script_prv and config_prv:
            _init_from_previous(trainer.actor.net, settings, script_prv, config_prv)
        trainer.train(script.num_epochs(cfg))
        return trainer
    finally:
        if log_handler is not None:
            detach_log_file(log_handler)
