"""Run a tracker over an evaluation dataset and write result files (original arguments, plus --device etc.).

Example: ``python tracking/test.py ostrack vitb_256_mae_ce_32x4_ep300 --dataset lasot --threads 16 --num_gpus 4``.
Sequences whose result files exist are skipped (rerun the same command to resume); failed sequences are listed
at the end and make the exit code 1. Each results folder records the checkpoint and config that produced it; a run
with another checkpoint, config, backend or precision into the same folder is refused (use a new --runid, or
--overwrite).

More:
* checkpoint sweep: ``--epochs 260 280 300`` (one results folder ``<param>_ep0260`` ... per epoch);
* config overrides: ``--opts TEST.SEARCH_FACTOR 4.5 TEST.EPOCH 280`` (validated as YAML values are);
* a folder of your own sequences: ``--dataset custom --data_dir PATH``;
* tuned test parameters: ``--cfg_override best.yaml`` (written by tracking/tune.py; --opts still win);
* VOT short-term (``--dataset vot18|vot20|vot22``): the reset-based protocol as PySOT runs it (re-initialise 5 frames
  after a failure), results ``<results>/<benchmark>/baseline/<seq>/<seq>_001.txt``, then accuracy, robustness and,
  with the vot-toolkit installed, its analysis with EAO; ``--protocol ope`` runs them one-pass instead;
* the network in ONNX Runtime: ``--backend onnxruntime [--onnx FILE]`` (written by tracking/export_onnx.py), or in
  another precision: ``--precision auto|fp32|bf16|fp16``.
"""

from __future__ import annotations

import argparse
import copy
import logging

from lib.test.evaluation.customdataset import CUSTOM_NAME, load_test_sequences, path_overrides
from lib.test.evaluation.data import SequenceNotFoundError
from lib.test.evaluation.datasets import known_datasets
from lib.test.evaluation.running import run_dataset
from lib.utils.device import resolve_device
from lib.test.evaluation.tracker import Tracker, parameter_stem
from lib.test.evaluation.tuning import merge_overrides, read_override_file
from lib.test.evaluation.vot_running import is_vot_dataset, run_vot_dataset, vot_report
from lib.test.tracker.backends import BACKENDS, default_onnx_path, set_runtime_options
from lib.test.tracker.precision import PRECISIONS, resolve_precision
from lib.utils.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.errors import OSTrackError
from lib.utils.opts import parse_opts

logger = logging.getLogger("tracking.test")


class ArgumentError(OSTrackError):
    """Inconsistent command-line arguments."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a tracker on an evaluation dataset.")
    parser.add_argument("tracker_name", type=str, help="tracker name, e.g. ostrack")
    parser.add_argument("tracker_param", type=str, help="config name under experiments/<tracker>/ (or a YAML path)")
    parser.add_argument("--runid", type=int, default=None, help="run id (results folder <param>_<runid:03d>)")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset_name", type=str, default="otb",
                        help=f"dataset: {', '.join(known_datasets())}, or {CUSTOM_NAME} (a folder of your own "
                             f"sequences: --data_dir PATH or the custom_dir setting)")
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
    parser.add_argument("--data_dir", type=str, default=None,
                        help="folder holding the datasets (with --dataset custom: the folder of sequences)")
    parser.add_argument("--epochs", type=int, nargs="+", default=None,
                        help="checkpoint sweep: evaluate the checkpoint of each epoch (results folder "
                             "<param>_ep<epoch:04d> each)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE",
                        help="config overrides, e.g. --opts TEST.SEARCH_FACTOR 4.5 (validated as YAML values)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the existing results in the results folder(s) first (needed to rerun with "
                             "another checkpoint, config, backend or precision into the same folder)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument("--cfg_override", type=str, default=None, metavar="FILE",
                        help="YAML of config overrides (e.g. the best.yaml of tracking/tune.py), merged before --opts")
    parser.add_argument("--protocol", choices=("auto", "reset", "ope"), default="auto",
                        help="auto: the reset-based VOT protocol for vot18/vot20/vot22, one-pass for the others; "
                             "reset / ope: force one")
    parser.add_argument("--no_toolkit", action="store_true",
                        help="reset protocol: skip the vot-toolkit analysis (accuracy and robustness only, no EAO)")
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch",
                        help="run the network in PyTorch or in ONNX Runtime (a graph from tracking/export_onnx.py)")
    parser.add_argument("--onnx", type=str, default=None,
                        help="with --backend onnxruntime: the ONNX file (default <save_dir>/onnx/<tracker>/<param>.onnx)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="network precision: fp32, bf16 (weights converted once at load), fp16 (CUDA only), or "
                             "auto (bf16 where the CPU/GPU runs it natively, else fp32)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.epochs is not None:
        if args.checkpoint is not None:
            raise ArgumentError("--epochs picks the training checkpoint of each epoch, so it cannot be combined with "
                                "--checkpoint; give one or the other.")
        bad = sorted({e for e in args.epochs if e <= 0} | {e for e in args.epochs if args.epochs.count(e) > 1})
        if bad:
            raise ArgumentError(f"--epochs takes distinct positive epoch numbers, got {args.epochs}.")
    config_overrides = parse_opts(args.opts)
    if args.cfg_override is not None:
        config_overrides = merge_overrides(read_override_file(args.cfg_override), config_overrides)
    overrides = path_overrides([args.dataset_name], args.save_dir, args.data_dir)
    env = env_settings(**overrides)
    dataset = load_test_sequences([args.dataset_name], env)
    if args.sequence is not None:
        if args.sequence.isdigit() and int(args.sequence) >= len(dataset):
            raise SequenceNotFoundError(f"--sequence {args.sequence}: {args.dataset_name} has {len(dataset)} "
                                        f"sequences (indices 0-{len(dataset) - 1}).")
        dataset = [dataset[int(args.sequence)] if args.sequence.isdigit() else dataset[args.sequence]]
    trackers = [Tracker(args.tracker_name, args.tracker_param, args.dataset_name, args.runid,
                        checkpoint=args.checkpoint, env_overrides=overrides, epoch=epoch, overrides=config_overrides)
                for epoch in (args.epochs or [None])]
    # Resolve parameters once here: a missing checkpoint or a bad config is one clear error before any work, and
    # so is a checkpoint that does not fit the config's model (building the tracker loads it; it names both configs).
    # 'auto' is resolved once, here, for the --device: the workers run that precision and the results folder's
    # provenance record names it (a run in another precision into the same folder is refused); fp16 on a CPU
    # fails now
    precision = resolve_precision(args.precision, resolve_device(args.device), args.backend)
    onnx = args.onnx
    if args.backend == "onnxruntime" and onnx is None:
        onnx = default_onnx_path(env.save_dir, args.tracker_name, parameter_stem(args.tracker_param))
    for tracker in trackers:
        params = set_runtime_options(tracker.get_parameters(), args.backend, precision, onnx)
        tracker.params = params  # the backend choice travels to the worker processes with the parameters
        tracker.create_tracker(set_runtime_options(copy.copy(params), args.backend, "fp32", onnx), device="cpu")
        logger.info("tracker %s, checkpoint %s, %d sequence(s) of %s, results in %s", tracker.label(),
                    params.get("checkpoint", None), len(dataset), args.dataset_name, tracker.results_dir)
    reset = args.protocol == "reset" or (args.protocol == "auto" and is_vot_dataset(args.dataset_name))
    run = run_vot_dataset if reset else run_dataset
    summary = run(dataset, trackers, debug=args.debug, threads=args.threads, num_gpus=args.num_gpus,
                  device=args.device, progress=not args.no_progress, overwrite=args.overwrite)
    print(summary.format())
    if reset and not summary.failed and not args.debug:
        for tracker in trackers:
            print(vot_report(dataset, tracker, use_toolkit=not args.no_toolkit, device=args.device))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    run_cli(main)
