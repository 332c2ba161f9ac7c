"""Score trackers' result files on a dataset: table, per-sequence CSV and PNG plots.

Example (the original script's hard-coded analysis, now as arguments)::

    python tracking/analysis_results.py --dataset lasot \\
        --tracker ostrack --param vitb_256_mae_ce_32x4_ep300 --display_name OSTrack256 \\
        --tracker ostrack --param vitb_384_mae_ce_32x4_ep300 --display_name OSTrack384

Metric conventions (--mode): pytracking (default; the numbers OSTrack published), pysot (the LaSOT/pysot
toolkit) and got10k (the GOT-10k toolkit). See README.md, "Evaluation".

Any ``<results_path>/<tracker>/<param>`` folder is scored, also of trackers not registered here (raw results
published with papers). ``--epochs 260 280 300`` scores the folders of a checkpoint sweep (``<param>_ep0260``, ...)
in one table. Every result file is checked (a row per frame, finite, sizes >= 0); ``--pad_results`` scores files
with a wrong row count anyway. A folder whose provenance records disagree is refused.
"""

from __future__ import annotations

import argparse

from lib.test.analysis.metrics import MODES
from lib.test.analysis.plots import PLOT_TYPES
from lib.test.analysis.print_results import print_results
from lib.test.analysis.report import METRICS
from lib.test.evaluation.customdataset import CUSTOM_NAME, load_test_sequences, path_overrides
from lib.test.evaluation.datasets import known_datasets
from lib.test.evaluation.results import TrackerResults
from lib.utils.environment import env_settings
from lib.utils.cli import int_flag, run_cli
from lib.utils.errors import OSTrackError


class ArgumentError(OSTrackError):
    """Inconsistent command-line arguments."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate tracking results (AUC, precision, AO, SR, FPS, plots).")
    parser.add_argument("--tracker", action="append", required=True,
                        help="tracker name (repeat --tracker/--param for each tracker to compare)")
    parser.add_argument("--param", action="append", required=True, help="parameter (config) name of each tracker")
    parser.add_argument("--display_name", action="append", default=None, help="legend name of each tracker")
    parser.add_argument("--runid", action="append", type=int, default=None,
                        help="run id of each tracker (results folder <param>_<runid:03d>)")
    parser.add_argument("--epochs", type=int, nargs="+", default=None,
                        help="score the checkpoint sweep folders <param>_ep<epoch:04d> of every tracker, one row each")
    parser.add_argument("--pad_results", action="store_true",
                        help="score result files whose row count differs from the frame count (missing frames count "
                             "as failures, extra rows are dropped; a warning per file)")
    parser.add_argument("--dataset_name", "--dataset", dest="dataset", nargs="+", default=["lasot"],
                        help=f"dataset(s), concatenated: {', '.join(known_datasets())}, or {CUSTOM_NAME} (with "
                             f"--data_dir PATH: the folder of sequences)")
    parser.add_argument("--report_name", type=str, default=None, help="report folder (default: the dataset names)")
    parser.add_argument("--mode", choices=MODES, default="pytracking", help="metric convention")
    parser.add_argument("--metrics", nargs="+", default=None,
                        help=f"table columns ({', '.join(METRICS)}, or 'all'; default per mode)")
    parser.add_argument("--plots", nargs="*", default=list(PLOT_TYPES),
                        help=f"plots to draw ({', '.join(PLOT_TYPES)}); give none for no plots")
    parser.add_argument("--formats", nargs="+", default=["png"], choices=["png", "pdf"], help="plot file formats")
    parser.add_argument("--per_sequence", action="store_true", help="also write per_sequence.csv")
    parser.add_argument("--merge_results", type=int_flag, default=1, help="average runs of the same tracker (0/1)")
    parser.add_argument("--skip_missing_seq", type=int_flag, default=0,
                        help="1: evaluate only sequences that every tracker finished")
    parser.add_argument("--exclude_invalid_frames", type=int_flag, default=0,
                        help="1: divide by the valid frames only (pytracking mode)")
    parser.add_argument("--force_evaluation", action="store_true", help="ignore the cached evaluation")
    parser.add_argument("--no_progress", action="store_true",
                        help="no progress bar (there is none anyway when stderr is not a terminal)")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder (results and plots)")
    parser.add_argument("--data_dir", type=str, default=None,
                        help="folder holding the datasets (with --dataset custom: the folder of sequences)")
    return parser.parse_args(argv)


def build_trackers(args: argparse.Namespace, results_path) -> list[TrackerResults]:
    """One results folder per (tracker, param[, runid], epoch); tracker names need not be registered."""
    names, params = args.tracker, args.param
    if len(names) == 1 and len(params) > 1:
        names = names * len(params)
    if len(names) != len(params):
        raise ArgumentError(f"give one --param per --tracker (got {len(names)} trackers and {len(params)} params).")
    for option in ("display_name", "runid"):
        values = getattr(args, option)
        if values is not None and len(values) != len(params):
            raise ArgumentError(f"give --{option} once per tracker or not at all (got {len(values)} for "
                                f"{len(params)} trackers).")
    display = args.display_name or [None] * len(params)
    runids = args.runid or [None] * len(params)
    epochs = args.epochs or [None]
    if args.epochs is not None and (len(set(epochs)) != len(epochs) or min(epochs) <= 0):
        raise ArgumentError(f"--epochs takes distinct positive epoch numbers, got {args.epochs}.")
    trackers = []
    for n, p, d, r in zip(names, params, display, runids):
        for e in epochs:
            # a display name is kept per epoch, so runs of different epochs are never averaged together
            shown = d if e is None or d is None else f"{d} ep{e}"
            trackers.append(TrackerResults(n, p, results_path, run_id=r, display_name=shown, epoch=e))
    return trackers


def best_line(scores: list[dict], metric: str) -> str:
    """'best AUC: <label> (xx.xx)' over the rows of a table."""
    rows = [r for r in scores if r.get(metric) == r.get(metric)]  # NaN-free
    if not rows:
        return ""
    best = max(rows, key=lambda r: r[metric])
    return f"best {metric}: {best['label']} ({best[metric]:.2f})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = env_settings(**path_overrides(args.dataset, args.save_dir, args.data_dir))
    trackers = build_trackers(args, env.results_path)
    dataset = load_test_sequences(args.dataset, env)
    columns = None
    if args.metrics:
        columns = METRICS if args.metrics == ["all"] else tuple(args.metrics)
        unknown = [c for c in columns if c not in METRICS]
        if unknown:
            raise ArgumentError(f"unknown metric(s) {unknown}; choose from {', '.join(METRICS)} or 'all'.")
    bad_plots = [p for p in args.plots if p not in PLOT_TYPES]
    if bad_plots:
        raise ArgumentError(f"unknown plot type(s) {bad_plots}; choose from {', '.join(PLOT_TYPES)}.")
    report = print_results(trackers, dataset, args.report_name or "_".join(args.dataset), mode=args.mode,
                           merge_results=bool(args.merge_results), plot_types=tuple(args.plots), columns=columns,
                           per_sequence=args.per_sequence, skip_missing_seq=bool(args.skip_missing_seq),
                           exclude_invalid_frames=bool(args.exclude_invalid_frames),
                           force_evaluation=args.force_evaluation, formats=tuple(args.formats),
                           result_plot_path=env.result_plot_path, pad_results=args.pad_results,
                           progress_bar=False if args.no_progress else None)
    print(report.table)
    if args.epochs is not None and len(report.scores) > 1:
        print(best_line(report.scores, "AO" if args.mode == "got10k" else "AUC"))
    for path in report.files:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
