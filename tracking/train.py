"""Train a tracker: ``python tracking/train.py --script ostrack --config NAME --save_dir ./output --mode single``.

``--script`` selects the tracker family (ostrack, siamrpn, siamban, siamfcpp); ``--config`` an experiment under
``experiments/<script>/`` or a YAML path.

``--mode single`` trains in this process (one GPU, or the CPU). ``--mode multiple --nproc_per_node N`` starts N
processes on this machine and ``--mode multi_node`` joins a multi-machine job (``--world-size`` nodes, this one
being ``--rank``, rendezvous at ``--ip:--port``); both go through torchrun's Python API (NCCL on GPUs, gloo on
the CPU). A run resumes from its newest readable checkpoint unless ``--fresh 1`` is given.
"""

from __future__ import annotations

import argparse

from lib.train.admin.multigpu import launch_torchrun, torchrun_arguments
from lib.utils.device import resolve_device
from lib.train.run_training import DISTILL_ERROR, add_training_arguments, check_script_and_config, run_training
from lib.utils.cli import run_cli
from lib.utils.errors import ConfigError

_FORWARDED = ("script", "config", "save_dir", "data_dir", "pretrained_dir", "use_lmdb", "script_prv", "config_prv",
              "use_wandb", "device", "seed", "fresh")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a tracker (OSTrack's arguments, plus --device, --seed, "
                                                 "--fresh, --data_dir and --pretrained_dir).")
    add_training_arguments(parser)
    parser.add_argument("--mode", type=str, choices=["single", "multiple", "multi_node"], default="multiple",
                        help="single: this process; multiple: N processes on this machine; multi_node: several")
    parser.add_argument("--nproc_per_node", type=int, default=None, help="processes (GPUs) per node")
    parser.add_argument("--rank", type=int, default=0, help="node rank (multi_node)")
    parser.add_argument("--world-size", dest="world_size", type=int, default=1, help="number of nodes (multi_node)")
    parser.add_argument("--ip", type=str, default="127.0.0.1", help="master address (multi_node)")
    parser.add_argument("--port", type=int, default=20000, help="master port (multi_node)")
    return parser


def _forwarded_arguments(args: argparse.Namespace) -> list[str]:
    # Absent optional arguments are left out (the original passed the literal string "None").
    out = []
    for name in _FORWARDED:
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name}", str(value)]
    if args.opts:
        out += ["--opts", *args.opts]
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.distill:
        raise ConfigError(DISTILL_ERROR)
    check_script_and_config(args.script, args.config, args.opts)  # fail before starting processes
    if args.mode == "single":
        run_training(args)
        return 0
    if not args.nproc_per_node or args.nproc_per_node < 1:
        raise ConfigError(f"--mode {args.mode} needs --nproc_per_node N (processes per machine, usually its GPU "
                          f"count); use --mode single for one process.")
    device = resolve_device(args.device)
    if device.type == "cuda":
        import torch
        if args.nproc_per_node > torch.cuda.device_count():
            raise ConfigError(f"--nproc_per_node {args.nproc_per_node} exceeds the {torch.cuda.device_count()} "
                              f"visible GPUs; lower it, or use --device cpu for gloo processes on the CPU.")
    if args.mode == "multiple":
        launcher = torchrun_arguments(args.nproc_per_node)
    else:
        launcher = torchrun_arguments(args.nproc_per_node, nnodes=args.world_size, node_rank=args.rank,
                                      master_addr=args.ip, master_port=args.port)
    return launch_torchrun(launcher, "lib.train.run_training", _forwarded_arguments(args))


if __name__ == "__main__":
    run_cli(main)
