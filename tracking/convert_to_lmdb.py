"""Convert a training dataset folder into the original's LMDB layout (then train with --use_lmdb 1).

    python tracking/convert_to_lmdb.py --dataset got10k --src data/got10k --dst data/got10k_lmdb
"""

from __future__ import annotations

import argparse

from lib.train.dataset.lmdb_convert import CONVERTIBLE, convert_dataset
from lib.utils.cli import run_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, choices=CONVERTIBLE,
                        help="got10k: the GOT-10k root holding train/ (or the train folder itself); trackingnet: the "
                             "root holding TRAIN_<k>; lasot, coco, vid, custom: the dataset root")
    parser.add_argument("--src", required=True, help="dataset folder")
    parser.add_argument("--dst", required=True, help="output folder (new or empty), e.g. data/got10k_lmdb")
    parser.add_argument("--no_progress", action="store_true",
                        help="no progress bar (there is none anyway when stderr is not a terminal)")
    args = parser.parse_args(argv)
    count = convert_dataset(args.dataset, args.src, args.dst, progress_bar=False if args.no_progress else None)
    print(f"wrote {count} files into {args.dst}")
    return 0


if __name__ == "__main__":
    run_cli(main)
