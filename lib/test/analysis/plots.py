"""Success, precision and normalised-precision plots as PNG (and optionally PDF) files.

Drawn with matplotlib's object API on the Agg canvas: no display, no LaTeX and no tikzplotlib needed (the
original required both, spec 8.6 item 45). Trackers are ordered by their score, which the legend shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lib.test.analysis.report import compute_scores, tracker_curves

__all__ = ["PLOT_TYPES", "plot_results"]

#: plot type -> (curve key, threshold key, score name, x label, y label, title, x range)
PLOT_TYPES = {
    "success": ("ave_success_rate_plot_overlap", "threshold_set_overlap", "AUC", "Overlap threshold",
                "Overlap Precision [%]", "Success plot", (0.0, 1.0)),
    "prec": ("ave_success_rate_plot_center", "threshold_set_center", "Precision", "Location error threshold [pixels]",
             "Distance Precision [%]", "Precision plot", (0.0, 50.0)),
    "norm_prec": ("ave_success_rate_plot_center_norm", "threshold_set_center_norm", "Norm Precision",
                  "Location error threshold", "Distance Precision [%]", "Normalized Precision plot", (0.0, 0.5)),
}
_STYLES = ["-", "--", "-.", ":"]
_COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#808000",
           "#000075", "#a9a9a9", "#000000"]


def plot_results(data: dict, out_dir: str | Path, report_title: str = "",
                 plot_types: tuple[str, ...] = ("success", "prec", "norm_prec"),
                 formats: tuple[str, ...] = ("png",), figsize: tuple[float, float] = (8, 8)) -> list[Path]:
    """Write one figure per plot type; returns the written files.

    Args:
        data: evaluation data (after merge_runs if wanted).
        out_dir: folder for ``<type>_plot.<format>``.
        report_title: shown in the titles (e.g. the dataset name).
        plot_types: any of 'success', 'prec', 'norm_prec'.
        formats: 'png' and/or 'pdf'.
        figsize: inches (the original used 8 x 8).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores = compute_scores(data)
    written = []
    for plot_type in plot_types:
        if plot_type not in PLOT_TYPES:
            raise ValueError(f"unknown plot type {plot_type!r}; expected one of {', '.join(PLOT_TYPES)}")
        curve_key, thr_key, score_name, xlabel, ylabel, title, xlim = PLOT_TYPES[plot_type]
        thresholds = np.asarray(data[thr_key])
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        order = sorted(range(len(scores)), key=lambda i: -np.nan_to_num(scores[i][score_name], nan=-1.0))
        for rank, t in enumerate(order):
            curve = 100.0 * tracker_curves(data, t)[curve_key]
            ax.plot(thresholds, curve, linestyle=_STYLES[(rank // len(_COLORS)) % len(_STYLES)],
                    color=_COLORS[rank % len(_COLORS)], linewidth=2.0,
                    label=f"{scores[t]['label']} [{scores[t][score_name]:.1f}]")
        ax.set_xlim(*xlim)
        ax.set_ylim(0, 100)
        ax.set_xlabel(xlabel, fontsize=14)
        ax.set_ylabel(ylabel, fontsize=14)
        ax.set_title(f"{title} ({report_title})" if report_title else title, fontsize=16)
        ax.grid(True, linestyle="--", alpha=0.5)
        ax.legend(loc="lower left" if plot_type == "success" else "lower right", fontsize=11)
        fig.tight_layout()
        for fmt in formats:
            path = out_dir / f"{plot_type}_plot.{fmt}"
            fig.savefig(path, dpi=150 if fmt == "png" else None)
            written.append(path)
    return written
