"""Draw tracking results (and ground truth) over a dataset's sequences into images or videos.

Example: ``python tracking/vis_results.py --dataset lasot --sequence airplane-1 --tracker ostrack
--param vitb_256_mae_ce_32x4_ep300 --video``. Output goes to ``<result_plot_path>/vis/<dataset>/`` by default.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lib.test.analysis.visualize import render_sequence
from lib.test.evaluation.datasets import get_dataset, known_datasets
from lib.test.evaluation.results import read_boxes, results_exist
from lib.test.evaluation.tracker import Tracker
from lib.utils.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.errors import OSTrackError


class VisArgumentError(OSTrackError):
    """Inconsistent command-line arguments."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Draw tracking results over sequences.")
    parser.add_argument("--tracker", action="append", default=[], help="tracker name (repeat with --param)")
    parser.add_argument("--param", action="append", default=[], help="parameter name of each tracker")
    parser.add_argument("--display_name", action="append", default=None, help="legend name of each tracker")
    parser.add_argument("--runid", action="append", type=int, default=None, help="run id of each tracker")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset", default="lasot",
                        help=f"dataset: {', '.join(known_datasets())}")
    parser.add_argument("--sequence", nargs="+", default=None, help="sequence names or indices (default: all)")
    parser.add_argument("--output", type=str, default=None, help="output folder")
    parser.add_argument("--video", action="store_true", help="one .mp4 per sequence instead of images")
    parser.add_argument("--stride", type=int, default=1, help="draw every n-th frame")
    parser.add_argument("--no_gt", action="store_true", help="do not draw the ground truth")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder (results)")
    parser.add_argument("--data_dir", type=str, default=None, help="folder holding the datasets")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {"save_dir": args.save_dir, "data_dir": args.data_dir}
    env = env_settings(**overrides)
    names = args.tracker * len(args.param) if len(args.tracker) == 1 else args.tracker
    if len(names) != len(args.param):
        raise VisArgumentError(f"give one --param per --tracker (got {len(names)} and {len(args.param)}).")
    display = args.display_name or [None] * len(names)
    runids = args.runid or [None] * len(names)
    if len(display) != len(names) or len(runids) != len(names):
        raise VisArgumentError("give --display_name and --runid once per tracker or not at all.")
    trackers = [Tracker(n, p, run_id=r, display_name=d, env_overrides=overrides)
                for n, p, d, r in zip(names, args.param, display, runids)]
    dataset = get_dataset(args.dataset, env=env)
    if args.sequence:
        dataset = [dataset[int(s)] if s.isdigit() else dataset[s] for s in args.sequence]
    out_root = Path(args.output) if args.output else Path(env.result_plot_path) / "vis" / args.dataset
    for seq in dataset:
        tracks = {}
        for trk in trackers:
            base = trk.result_base(seq)
            if results_exist(base):
                tracks[trk.label()] = read_boxes(base)
            else:
                print(f"no results of {trk.label()} for {seq.name} ({base}.txt); skipped")
        target = out_root / (f"{seq.name}.mp4" if args.video else seq.name)
        render_sequence(seq, tracks, target, as_video=args.video, show_gt=not args.no_gt, stride=args.stride)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    run_cli(main)
