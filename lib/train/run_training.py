"""The per-process training entry (spec 1.2): ``python -m lib.train.run_training --script NAME --config NAME``.

``tracking/train.py`` calls :func:`run_training` directly for ``--mode single`` and starts this module once per
process through torchrun for ``multiple``/``multi_node``. Ranks come from torchrun's LOCAL_RANK/RANK/WORLD_SIZE
environment (a legacy ``--local_rank``/``--local-rank`` argument is accepted too).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from lib.config import load_script_config, script_config_path
from lib.utils.environment import env_settings
from lib.train.admin.multigpu import barrier, cleanup_distributed, dist_info_from_env, init_distributed
from lib.utils.device import resolve_device
from lib.train.admin.settings import Settings
from lib.train.trainers.rng import seed_everything
from lib.utils.cli import int_flag, run_cli, setup_logging
from lib.utils.errors import ConfigError
from lib.utils.opts import parse_opts

__all__ = ["build_parser", "run_training", "main", "DISTILL_ERROR", "check_script_and_config"]

logger = logging.getLogger(__name__)

DISTILL_ERROR = ("--distill 1 is not supported: the original's distillation script imports STARK modules that "
                 "do not exist in OSTrack (spec 6.7), so it never ran. Train without --distill (the default 0).")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by this entry and tracking/train.py (the original's, plus the framework's)."""
    parser.add_argument("--script", type=str, required=True,
                        help="training script (tracker family): ostrack, siamrpn, siamban, siamfcpp")
    parser.add_argument("--config", type=str, default="baseline",
                        help="experiment name under experiments/<script>/ (without .yaml), or a YAML path")
    parser.add_argument("--save_dir", type=str, default=None,
                        help="root of checkpoints/, logs/ and tensorboard/ (default: path settings, ./output)")
    parser.add_argument("--data_dir", type=str, default=None, help="root of the datasets (overrides path settings)")
    parser.add_argument("--pretrained_dir", type=str, default=None,
                        help="folder of pretrained weights such as mae_pretrain_vit_base.pth")
    parser.add_argument("--use_lmdb", type=int_flag, default=0, help="read datasets from LMDB (0/1)")
    parser.add_argument("--script_prv", type=str, default=None, help="initialise from another run's checkpoint")
    parser.add_argument("--config_prv", type=str, default=None, help="config of that run")
    parser.add_argument("--use_wandb", type=int_flag, default=0, help="log to Weights & Biases (0/1)")
    parser.add_argument("--distill", type=int_flag, default=0, help="distillation (not supported; must be 0)")
    parser.add_argument("--script_teacher", type=str, default=None, help="distillation teacher (unused)")
    parser.add_argument("--config_teacher", type=str, default=None, help="distillation teacher config (unused)")
    parser.add_argument("--device", type=str, default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    parser.add_argument("--seed", type=int, default=42, help="random seed; rank r uses seed + r")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE",
                        help="config overrides, e.g. --opts TRAIN.EPOCH 2 TRAIN.BATCH_SIZE 8 (checked as YAML values)")
    parser.add_argument("--fresh", type=int_flag, default=0,
                        help="1: start from epoch 1 even if checkpoints exist (default 0: resume from the newest)")


def check_script_and_config(script: str, config: str, opts: list[str] | None = None) -> Path:
    """The config file of ``--script``/``--config``, loaded once with ``--opts`` so that an unknown script or
    config (the known ones are listed) or a bad override fails before any process starts."""
    from lib.train.train_script import TRAIN_SCRIPTS

    TRAIN_SCRIPTS.get(script)
    path = script_config_path(script, config)
    load_script_config(script, str(path), parse_opts(opts) if opts else None)
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train one process of a run (started by tracking/train.py).")
    add_training_arguments(parser)
    parser.add_argument("--cudnn_benchmark", type=int_flag, default=0,
                        help="1: cudnn.benchmark (non-deterministic); 0 (default): deterministic cuDNN")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=-1,
                        help="legacy torch.distributed.launch argument; torchrun's LOCAL_RANK wins")
    return parser


def run_training(args: argparse.Namespace) -> None:
    """Set up this process (ranks, device, seeds, paths, settings) and call ``train_script.run``."""
    if args.distill:
        raise ConfigError(DISTILL_ERROR)
    cfg_file = check_script_and_config(args.script, args.config, args.opts)  # fails here, before any process work
    info = dist_info_from_env(getattr(args, "local_rank", -1))
    # Only rank 0 reports progress (spec 8.5 item 32); the others log warnings and errors.
    setup_logging(logging.INFO if info.rank == 0 else logging.WARNING)
    if info.rank != 0:
        logging.getLogger().setLevel(logging.WARNING)
    device = resolve_device(args.device, info.local_rank)
    init_distributed(info, device)
    try:
        _configure_backends(bool(getattr(args, "cudnn_benchmark", 0)))
        seed_everything(args.seed + max(info.rank, 0))
        env = env_settings(save_dir=args.save_dir, data_dir=args.data_dir, pretrained_dir=args.pretrained_dir)
        settings = Settings(save_dir=env.save_dir, script_name=args.script, config_name=Path(cfg_file).stem,
                            env=env, cfg_file=cfg_file, local_rank=info.local_rank, rank=info.rank,
                            world_size=info.world_size, device=device, seed=args.seed,
                            use_lmdb=bool(args.use_lmdb), use_wandb=bool(args.use_wandb),
                            load_latest=not args.fresh)
        logger.info("training %s/%s on %s (%d process%s), output in %s", args.script, settings.config_name, device,
                    info.world_size, "" if info.world_size == 1 else "es", env.save_dir)
        from lib.train import train_script

        train_script.run(settings, script_prv=args.script_prv, config_prv=args.config_prv,
                         overrides=parse_opts(args.opts) if args.opts else None)
        barrier()  # leave together: a process exiting with a live process group can abort its peers
    finally:
        cleanup_distributed()


def _configure_backends(benchmark: bool) -> None:
    # The original set benchmark from a type=bool flag, then seeding forced benchmark off and deterministic on
    # (spec 8.1 item 5); here the 0/1 flag decides.
    torch.backends.cudnn.benchmark = benchmark
    torch.backends.cudnn.deterministic = not benchmark
    try:
        import cv2
        cv2.setNumThreads(0)  # matches OSTrack: OpenCV threads would oversubscribe the loader workers
    except ImportError:
        pass


def main(argv: list[str] | None = None) -> int:
    run_training(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    run_cli(main)
