"""One call from trackers + dataset to a score table, per-sequence CSV and plots (the original's print_results)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence as SequenceType

from lib.test.analysis.extract_results import extract_results, report_dir
from lib.test.analysis.plots import plot_results
from lib.test.analysis.report import DEFAULT_COLUMNS, compute_scores, format_table, merge_runs, sequence_scores
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.tracker import Tracker

__all__ = ["AnalysisReport", "print_results"]


@dataclass
class AnalysisReport:
    """What an analysis produced."""

    table: str
    scores: list[dict]
    data: dict
    files: list[Path] = field(default_factory=list)


def print_results(trackers: SequenceType[Tracker], dataset: SequenceType[Sequence], report_name: str,
                  mode: str = "pytracking", merge_results: bool = True,
                  plot_types: tuple[str, ...] = ("success", "prec", "norm_prec"),
                  columns: tuple[str, ...] | None = None,
                  per_sequence: bool = False, skip_missing_seq: bool = False, exclude_invalid_frames: bool = False,
                  force_evaluation: bool = False, plot_bin_gap: float = 0.05, formats: tuple[str, ...] = ("png",),
                  result_plot_path: str | Path | None = None, pad_results: bool = False,
                  progress_bar: bool | None = None) -> AnalysisReport:
    """Evaluate, tabulate and plot.

    Args:
        trackers: evaluation Trackers.
        dataset: the sequences.
        report_name: report folder name under result_plot_path (cache, CSV, plots).
        mode: 'pytracking' (default, the published OSTrack numbers), 'pysot' or 'got10k'.
        merge_results: average runs that share name and parameter.
        plot_types: plots to draw ('success', 'prec', 'norm_prec'); empty for none.
        columns: table columns (default per mode, see report.DEFAULT_COLUMNS).
        per_sequence: also write per_sequence.csv (AUC, AO, precision, FPS per sequence and tracker).
        skip_missing_seq, exclude_invalid_frames, force_evaluation, plot_bin_gap, pad_results, progress_bar: see
            extract_results.
        formats: plot file formats.
        result_plot_path: root of report folders.
    """
    data = extract_results(trackers, dataset, report_name, mode=mode, skip_missing_seq=skip_missing_seq,
                           plot_bin_gap=plot_bin_gap, exclude_invalid_frames=exclude_invalid_frames,
                           force_evaluation=force_evaluation, result_plot_path=result_plot_path,
                           pad_results=pad_results, progress_bar=progress_bar)
    if merge_results:
        data = merge_runs(data)
    scores = compute_scores(data)
    n_valid = int(sum(bool(v) for v in data["valid_sequence"]))
    title = (f"{report_name}: {n_valid} / {len(data['sequences'])} sequences, metrics of the {mode} "
             f"convention")
    table = format_table(scores, tuple(columns or DEFAULT_COLUMNS[mode]), title=title)
    out_dir = report_dir(report_name, result_plot_path)
    files = []
    if plot_types:
        files += plot_results(data, out_dir, report_title=report_name, plot_types=tuple(plot_types),
                              formats=formats)
    if per_sequence:
        path = out_dir / "per_sequence.csv"
        rows = sequence_scores(data)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["sequence", "label", "AUC", "AO", "Precision", "FPS"])
            writer.writeheader()
            writer.writerows(rows)
        files.append(path)
    return AnalysisReport(table=table, scores=scores, data=data, files=files)
