"""Set up a VOT toolkit workspace for any registered tracker, so the official ``vot`` command runs it over TraX.

Examples::

    # an official stack; `vot evaluate` downloads its dataset on first use
    python tracking/vot_setup.py ostrack vitb_256_mae_ce_32x4_ep300 --workspace vot_ws --stack vot2018/shortterm
    # offline: a dataset this framework reads, written into the workspace, with a local reset-protocol stack
    python tracking/vot_setup.py siamrpn siamrpn_alex_synthetic --workspace vot_ws --dataset synthetic_val
    # then, with the toolkit (packages vot-toolkit and vot-trax):
    vot evaluate --workspace vot_ws siamrpn_siamrpn_alex_synthetic
    vot analysis --workspace vot_ws siamrpn_siamrpn_alex_synthetic

The tracker's entry in ``<workspace>/trackers.ini`` starts ``python -m lib.test.vot.trax_tracker TRACKER PARAM``
with this interpreter and the given checkpoint, device and ``--opts``; running the script again for another
tracker adds its entry. The parameters are resolved here first, so a missing checkpoint is reported now, not by
the toolkit.
"""

from __future__ import annotations

import argparse
import logging

from lib.test.evaluation.customdataset import CUSTOM_NAME, load_test_sequences, path_overrides
from lib.test.evaluation.datasets import known_datasets
from lib.test.evaluation.tracker import Tracker
from lib.test.evaluation.tuning import merge_overrides, read_override_file
from lib.test.vot.workspace import setup_workspace, tracker_command
from lib.utils.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.errors import ConfigError
from lib.utils.opts import parse_opts

logger = logging.getLogger("tracking.vot_setup")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a VOT toolkit workspace entry (trackers.ini) for a tracker.")
    parser.add_argument("tracker_name", help="tracker name, e.g. ostrack")
    parser.add_argument("tracker_param", help="config name under experiments/<tracker>/ (or a YAML path)")
    parser.add_argument("--workspace", required=True, help="the toolkit workspace folder")
    parser.add_argument("--stack", default=None, help="official stack (vot2018/shortterm, vot2022/shorttermbox, ...) "
                                                      "or a stack file, for a new workspace")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset_name", default=None,
                        help=f"write this dataset into the workspace ({', '.join(known_datasets())}, or "
                             f"{CUSTOM_NAME}) with a local reset-protocol stack (unless --stack)")
    parser.add_argument("--num_sequences", type=int, default=0, help="with --dataset: the first N sequences (0: all)")
    parser.add_argument("--eao_interval", type=int, nargs=2, default=(100, 356), metavar=("LOW", "HIGH"),
                        help="EAO interval of the local stack (VOT2018's by default)")
    parser.add_argument("--replace", action="store_true", help="rewrite the stack of an existing workspace")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: as tracking/test.py)")
    parser.add_argument("--device", default="auto", help="device of the tracker: auto, cpu, cuda, cuda:<i>")
    parser.add_argument("--threads", type=int, default=0, help="torch threads of the tracker process (0: default)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE", help="config overrides")
    parser.add_argument("--cfg_override", default=None, metavar="FILE", help="YAML config overrides (tune.py)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds the toolkit waits for each answer")
    parser.add_argument("--label", default=None, help="the tracker's name in the toolkit's reports")
    parser.add_argument("--save_dir", default=None, help="output folder (where the checkpoints are)")
    parser.add_argument("--data_dir", default=None, help="folder holding the datasets (--dataset custom: the "
                                                         "folder of sequences)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.num_sequences < 0:
        raise ConfigError(f"--num_sequences must be 0 (all) or positive, got {args.num_sequences}.")
    config_overrides = parse_opts(args.opts)
    if args.cfg_override is not None:
        config_overrides = merge_overrides(read_override_file(args.cfg_override), config_overrides)
    overrides = path_overrides([args.dataset_name or ""], args.save_dir, args.data_dir)
    env = env_settings(**overrides)
    tracker = Tracker(args.tracker_name, args.tracker_param, "vot", checkpoint=args.checkpoint,
                      env_overrides=overrides, overrides=config_overrides)
    params = tracker.get_parameters()  # a missing checkpoint or a bad key fails here, not inside the toolkit
    sequences = None
    if args.dataset_name is not None:
        sequences = load_test_sequences([args.dataset_name], env)
        if args.num_sequences:
            sequences = sequences[:args.num_sequences]
    checkpoint = params.get("checkpoint", None)
    command = tracker_command(args.tracker_name, args.tracker_param, str(checkpoint) if checkpoint else None,
                              args.device, args.opts, save_dir=str(env.save_dir), threads=args.threads,
                              cfg_override=args.cfg_override)
    identifier = setup_workspace(args.workspace, args.tracker_name, args.tracker_param, command=command,
                                 stack=args.stack, sequences=sequences, eao_interval=tuple(args.eao_interval),
                                 timeout=args.timeout, label=args.label, replace_stack=args.replace)
    print(f"tracker {identifier} written to {args.workspace}/trackers.ini; run it with the VOT toolkit:\n"
          f"  vot evaluate --workspace {args.workspace} {identifier}\n"
          f"  vot analysis --workspace {args.workspace} {identifier}")
    return 0


if __name__ == "__main__":
    run_cli(main)
