"""Run a tracker over an evaluation dataset and write result files (original arguments, plus --device etc.).

Example: ``python tracking/test.py ostrack vitb_256_mae_ce_32x4_ep300 --dataset lasot --threads 16 --num_gpus 4``.
Sequences whose result files exist are skipped (rerun the same command to resume); failed sequences are listed
at the end and make the exit code 1.
"""

from __future__ import annotations

import argparse
import logging

from lib.test.evaluation.data import SequenceNotFoundError
from lib.test.evaluation.datasets import get_dataset, known_datasets
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import Tracker
from lib.train.admin.environment import env_settings
from lib.utils.cli import run_cli

logger = logging.getLogger("tracking.test")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a tracker on an evaluation dataset.")
    parser.add_argument("tracker_name", type=str, help="tracker name, e.g. ostrack")
    parser.add_argument("tracker_param", type=str, help="config name under experiments/<tracker>/ (or a YAML path)")
    parser.add_argument("--runid", type=int, default=None, help="run id (results folder <param>_<runid:03d>)")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset_name", type=str, default="otb",
                        help=f"dataset: {', '.join(known_datasets())}")
    parser.add_argument("--sequence", type=str, default=None, help="one sequence, by index or name")
    parser.add_argument("--debug", type=int, default=0, help="debug level (> 0: no worker processes, no results "
                                                             "written, errors raised)")
    parser.add_argument("--threads", type=int, default=0, help="worker processes (0: run in this process)")
    parser.add_argument("--num_gpus", type=int, default=8, help="GPUs to spread the workers over")
    parser.add_argument("--device", type=str, default="auto", help="auto (CUDA if available), cpu, cuda, cuda:<i>")
    parser.add_argument("--checkpoint", type=str, default=None,
                        help="checkpoint file (default: <save_dir>/checkpoints/train/<tracker>/<param>/"
                             "OSTrack_ep<TEST.EPOCH>.pth.tar)")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder (checkpoints, results)")
    parser.add_argument("--data_dir", type=str, default=None, help="folder holding the datasets")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {"save_dir": args.save_dir, "data_dir": args.data_dir}
    env = env_settings(**overrides)
    dataset = get_dataset(args.dataset_name, env=env)
    if args.sequence is not None:
        if args.sequence.isdigit() and int(args.sequence) >= len(dataset):
            raise SequenceNotFoundError(f"--sequence {args.sequence}: {args.dataset_name} has {len(dataset)} "
                                        f"sequences (indices 0-{len(dataset) - 1}).")
        dataset = [dataset[int(args.sequence)] if args.sequence.isdigit() else dataset[args.sequence]]
    tracker = Tracker(args.tracker_name, args.tracker_param, args.dataset_name, args.runid,
                      checkpoint=args.checkpoint, env_overrides=overrides)
    # Resolve parameters once here: a missing checkpoint or a bad config is one clear error before any work.
    params = tracker.get_parameters()
    logger.info("tracker %s, checkpoint %s, %d sequence(s) of %s, results in %s", tracker.label(),
                params.get("checkpoint", None), len(dataset), args.dataset_name, tracker.results_dir)
    summary = run_dataset(dataset, [tracker], debug=args.debug, threads=args.threads, num_gpus=args.num_gpus,
                          device=args.device, progress=not args.no_progress)
    print(summary.format())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    run_cli(main)
