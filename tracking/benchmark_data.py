"""Samples per second of the training data pipeline, next to a direct implementation of the original recipe.

    python tracking/benchmark_data.py --config vitb_256_mae_ce_32x4_ep300 --workers 0 2
    python tracking/benchmark_data.py --script siamrpn --workers 0 2 [--precropped]

Measures the full pipeline of the family chosen with ``--script`` (:data:`lib.train.data.benchmark.DATA_PIPELINES`)
on a dataset in the GOT-10k layout (default: a synthetic one with 640x360 JPEG frames, generated into a temporary
folder unless --data_dir is given), for each number of DataLoader workers:

* ostrack (default config vitb_256_mae_ce_32x4_ep300): sampler + decode + processing + augmentation + collation
  into batches; in the same run it times the original recipe implemented directly, in this process
  (lib.train.data.ostrack_benchmark), with and without the rest of the original's processing.
* siamrpn, siamban (siamrpn_r50_l234_dwxcorr_8gpu / siamban_r50_l234): pair drawing, decode, the 511 context crop
  made on the fly, PySOT's augmentation, the anchor (point) labels and collation; ``--precropped`` also writes the
  dataset in PySOT's pre-cropped layout (511 JPEGs + train.json) and times reading that, as PySOT trains.
* siamfcpp (siamfcpp_alexnet-trn): pair sampler, filter, random crop transformer, densebox target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import torch

from lib.train.data.benchmark import DATA_PIPELINES, PipelineBenchmark, PipelineOptions, timed_batches
from lib.train.dataset.got10k import Got10k
from lib.utils.cli import run_cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--script", default="ostrack",
                        help=f"the tracker family whose pipeline is timed: {', '.join(DATA_PIPELINES)}")
    parser.add_argument("--config", default=None, help="default: vitb_256_mae_ce_32x4_ep300 (ostrack), "
                        "siamrpn_r50_l234_dwxcorr_8gpu (siamrpn), siamban_r50_l234 (siamban), "
                        "siamfcpp_alexnet-trn (siamfcpp)")
    parser.add_argument("--precropped", action="store_true", help="siamrpn/siamban: also time PySOT's "
                        "pre-cropped layout (written from the dataset first)")
    parser.add_argument("--data_dir", default=None, help="a GOT-10k-layout split folder (holding list.txt), e.g. "
                        "<synthetic_dir>/train; default: generate a synthetic one with 640x360 frames")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--samples", type=int, default=1024, help="samples timed per measurement")
    parser.add_argument("--batch_size", type=int, default=None, help="default: the config's batch size")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def report(bench: PipelineBenchmark, workers: list[int], samples: int) -> None:
    """Time the baselines, then every loader for each number of workers, and print the rates."""
    print("samples/s by wall clock, and per CPU-second of this process in [] (robust to a busy machine)")
    width = max((len(b.title) for b in bench.baselines), default=0) + 1
    baselines = []
    for b in bench.baselines:
        rate, cpu_rate = b.rate()
        baselines.append((b.short, rate, cpu_rate))
        print(f"{b.title + ':':<{width}} {rate:7.1f} [{cpu_rate:.1f}]")
    for label, build in bench.loaders:
        for count in workers:
            steady, overall, cpu = timed_batches(build(count), samples, bench.batch)
            line = f"{label}, {count} workers: {steady:7.1f} samples/s steady state ({overall:.1f} including start-up)"
            if baselines:
                line += "; " + ", ".join(f"{steady / rate:.2f}x {short}" for short, rate, _ in baselines)
            if count == 0:  # the CPU time is this process's: meaningful without workers only
                line += (f" [{cpu:.1f}; {' / '.join(f'{cpu / c:.2f}x' for _, _, c in baselines)} by CPU time]"
                         if baselines else f" [{cpu:.1f} per CPU-second]")
            print(line)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup = DATA_PIPELINES.get(args.script)  # an unknown family names the known ones, before any data is made
    # one thread each, as in a DataLoader worker (torch sets 1 there): thread pools on a busy 2-core machine
    # make small ops erratic, and the comparison is about per-sample work
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir
        if root is None:
            from lib.train.dataset.synthetic_generator import generate_dataset
            generate_dataset(Path(tmp) / "synthetic", layout="got10k", num_train=40, num_val=1, num_test=1,
                             frames=60, size=(640, 360), seed=args.seed)
            root = Path(tmp) / "synthetic" / "train"
        dataset = Got10k(root, split=None, name="benchmark")
        print(f"torch threads {torch.get_num_threads()}, OpenCV threads {cv2.getNumThreads()}, "
              f"python {sys.version.split()[0]}")
        bench = setup(PipelineOptions(args.config, args.samples, args.batch_size, args.seed, Path(tmp),
                                      args.precropped), dataset)
        print(f"{bench.description}; data {root} ({dataset.get_num_sequences()} sequences, frame "
              f"{'x'.join(map(str, dataset.get_frames(0, [0])[0][0].shape[1::-1]))})")
        report(bench, args.workers, args.samples)
    return 0


if __name__ == "__main__":
    run_cli(main)
