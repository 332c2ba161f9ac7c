"""Generate the synthetic tracking dataset (real photographs, exact ground truth) in the GOT-10k, LaSOT or TrackingNet
layout. It is the framework's default data: objects cut from scikit-image's photos move, scale, rotate, get occluded
and leave the frame over real backgrounds with camera motion.

Example: python tracking/make_synthetic_dataset.py --num_train 300 --num_val 30 --frames 100
"""

import argparse
from pathlib import Path

from lib.utils.environment import env_settings
from lib.train.dataset.synthetic_generator import LAYOUTS, generate_dataset
from lib.utils.cli import run_cli


def _default_output(layout: str) -> Path:
    env = env_settings()
    # the got10k layout is the default training data (synthetic_dir); the others are loader fixtures
    return env.synthetic_dir if layout == "got10k" else env.data_dir / f"synthetic_{layout}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=str, default=None,
                        help="output folder (default: the synthetic_dir path setting, <data_dir>/synthetic, for "
                             "got10k; <data_dir>/synthetic_<layout> otherwise)")
    parser.add_argument("--layout", choices=LAYOUTS, default="got10k", help="on-disk layout (default %(default)s)")
    parser.add_argument("--num_train", type=int, default=300, help="train sequences (default %(default)s)")
    parser.add_argument("--num_val", type=int, default=30, help="val sequences (GOT-10k; LaSOT adds them) (default %(default)s)")
    parser.add_argument("--num_test", type=int, default=10, help="test sequences (first box only) (default %(default)s)")
    parser.add_argument("--frames", type=int, default=100, help="frames per sequence (default %(default)s)")
    parser.add_argument("--width", type=int, default=640, help="frame width (default %(default)s)")
    parser.add_argument("--height", type=int, default=360, help="frame height (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (same seed, same dataset) (default %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all usable cores)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default %(default)s)")
    parser.add_argument("--train_chunks", type=int, default=2, help="TRAIN_<k> folders (TrackingNet layout) (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace a synthetic dataset already at --output")
    parser.add_argument("--no_progress", action="store_true",
                        help="no progress bar (there is none anyway when stderr is not a terminal)")
    args = parser.parse_args(argv)

    output = Path(args.output) if args.output else _default_output(args.layout)
    summary = generate_dataset(output, layout=args.layout, num_train=args.num_train, num_val=args.num_val,
                               num_test=args.num_test, frames=args.frames, size=(args.width, args.height),
                               seed=args.seed, workers=args.workers, quality=args.quality,
                               train_chunks=args.train_chunks, overwrite=args.overwrite,
                               progress_bar=False if args.no_progress else None)
    print(f"wrote a synthetic {summary['layout']} dataset to {summary['root']}")
    for split, names in summary["sequences"].items():
        print(f"  {split}: {len(names)} sequences")
    print(f"  {summary['num_frames']} frames of {args.width}x{args.height}, {summary['bytes'] / 1e6:.1f} MB, "
          f"{summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    run_cli(main)
