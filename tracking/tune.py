"""Search a tracker's test-time parameters with optuna on a validation set; resumable; writes the best as a config
override file for tracking/test.py.

Example::

    python tracking/tune.py siamrpn siamrpn_alex_synthetic --dataset synthetic_val --trials 50 \\
        --space TRACK.WINDOW_INFLUENCE 0.1 0.6 --space TRACK.PENALTY_K 0 0.5 --space TRACK.LR 0.1 0.8
    python tracking/test.py siamrpn siamrpn_alex_synthetic --dataset synthetic_test \\
        --cfg_override output/tune/siamrpn/siamrpn_alex_synthetic/synthetic_val/best.yaml

The study is kept in ``<output>/study.db`` (default output: ``<save_dir>/tune/<tracker>/<param>/<dataset>``);
running the same command again continues it until ``--trials`` trials have finished. ``--space_file FILE`` reads
the space from YAML (ranges, grids, choices; see lib/test/evaluation/tuning.py). ``--opts KEY VALUE ...`` fixes
other config keys for every trial. The metric (--metric, maximised) is AUC (pytracking), AO, SR0.5 or SR0.75
(GOT-10k toolkit).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lib.test.evaluation.customdataset import CUSTOM_NAME, load_test_sequences, path_overrides
from lib.test.evaluation.datasets import known_datasets
from lib.test.evaluation.results import parameter_stem
from lib.test.evaluation.scoring import METRICS
from lib.test.evaluation.tuning import (TuningSetup, best_overrides, parse_space_args, read_space_file, run_study,
                                        write_override_file)
from lib.utils.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.errors import ConfigError
from lib.utils.opts import parse_opts

logger = logging.getLogger("tracking.tune")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Tune a tracker's test parameters with optuna.")
    parser.add_argument("tracker_name", help="tracker name, e.g. siamrpn")
    parser.add_argument("tracker_param", help="config name under experiments/<tracker>/ (or a YAML path)")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset_name", required=True,
                        help=f"validation dataset: {', '.join(known_datasets())}, or {CUSTOM_NAME} (with --data_dir)")
    parser.add_argument("--trials", type=int, required=True, help="finished trials the study should hold")
    parser.add_argument("--space", nargs=3, action="append", metavar=("KEY", "LOW", "HIGH"), default=None,
                        help="a searched config key and its range (repeatable); integer bounds search integers")
    parser.add_argument("--space_file", default=None, help="YAML search space (ranges, steps, log scale, choices)")
    parser.add_argument("--metric", default="AUC", choices=METRICS, help="the score to maximise")
    parser.add_argument("--num_sequences", type=int, default=0, help="use the first N sequences (0: all)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE",
                        help="fixed config overrides for every trial (validated as YAML values)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: as tracking/test.py)")
    parser.add_argument("--output", default=None, help="study folder (default <save_dir>/tune/<tracker>/<param>/"
                                                       "<dataset>)")
    parser.add_argument("--study_name", default="tune", help="study name inside study.db")
    parser.add_argument("--seed", type=int, default=0, help="seed of optuna's TPE sampler")
    parser.add_argument("--threads", type=int, default=0, help="worker processes per trial (0: this process)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:<i>")
    parser.add_argument("--save_dir", default=None, help="output folder (checkpoints, default study folder)")
    parser.add_argument("--data_dir", default=None,
                        help="folder holding the datasets (with --dataset custom: the folder of sequences)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.trials <= 0:
        raise ConfigError(f"--trials must be a positive number of trials, got {args.trials}.")
    if args.num_sequences < 0:
        raise ConfigError(f"--num_sequences must be 0 (all) or positive, got {args.num_sequences}.")
    base = parse_opts(args.opts)
    dims = parse_space_args(args.space) + (read_space_file(args.space_file) if args.space_file else [])
    keys = [d.key for d in dims]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"search space: {', '.join(repeated)} given more than once; give each key once.")
    overrides = path_overrides([args.dataset_name], args.save_dir, args.data_dir)
    env = env_settings(**overrides)
    sequences = load_test_sequences([args.dataset_name], env)
    if args.num_sequences:
        sequences = sequences[:args.num_sequences]
    output = Path(args.output) if args.output else (
        env.save_dir / "tune" / args.tracker_name / parameter_stem(args.tracker_param) / args.dataset_name)
    setup = TuningSetup(args.tracker_name, args.tracker_param, sequences, dims, base, output.resolve(), args.metric,
                        args.checkpoint, overrides, args.device, args.threads)
    study = run_study(setup, args.trials, seed=args.seed, study_name=args.study_name)
    best = study.best_trial
    scores = ", ".join(f"{name} {best.user_attrs[name]:.2f}" for name in METRICS if name in best.user_attrs)
    path = write_override_file(
        output / "best.yaml", best_overrides(setup, study),
        f"best of {len(study.trials)} trials (trial {best.number}) of {args.tracker_name} {args.tracker_param} on "
        f"{args.dataset_name}: {scores}\nuse: python tracking/test.py {args.tracker_name} {args.tracker_param} "
        f"--cfg_override {output / 'best.yaml'}")
    print(f"best trial {best.number} of {len(study.trials)}: {args.metric} {best.value:.2f} ({scores}) with "
          f"{best.params}\nsaved as {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
