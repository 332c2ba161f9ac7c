"""Run trackers over a VOT dataset with the reset protocol, resumably, and score the results.

``tracking/test.py TRACKER PARAM --dataset vot18`` comes here (``--protocol ope`` runs the one-pass evaluation of
the original instead). As the one-pass runner (lib.test.evaluation.running): the results folder's provenance
is checked first, finished sequences (a complete trajectory file) are skipped, a failing sequence is reported
in the summary while the others go on, and worker processes get explicit devices.

Scores: accuracy and robustness computed here as the toolkit defines them (lib.test.evaluation.vot_protocol), and,
when the VOT toolkit is installed, its own analysis (accuracy, robustness, EAO) on a workspace built next to the
results (``<results_dir>/<benchmark>/vot_workspace``), which can also run ``vot evaluate`` for the tracker.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Sequence as SequenceType

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.running import (RunSummary, SequenceOutcome, failed_outcome, run_sequences, warn_unfinished)
from lib.test.evaluation.tracker import FrameReadError, Tracker, read_frame
from lib.test.evaluation.vot_protocol import (SequenceAR, VOTResultError, accuracy_robustness, read_trajectory,
                                              run_supervised, sequence_regions, summarize, trajectory_file,
                                              write_trajectory)

__all__ = ["VOT_DATASETS", "EAO_INTERVALS", "is_vot_dataset", "benchmark_of", "run_vot_sequence", "run_vot_dataset",
           "vot_scores", "toolkit_scores", "format_scores", "vot_report"]

logger = logging.getLogger(__name__)

#: evaluation datasets that tracking/test.py runs with the reset protocol
VOT_DATASETS = ("vot18", "vot20", "vot22")
#: the EAO interval (shortest, longest sequence length) of a benchmark's official reset-based stack; others use
#: VOT2018's
EAO_INTERVALS = {"vot2016": (108, 371), "vot2017": (100, 356), "vot2018": (100, 356), "vot2019": (46, 291)}


def is_vot_dataset(name: str) -> bool:
    return name.strip().lower() in VOT_DATASETS


def benchmark_of(seq: Sequence) -> str:
    """The results sub-folder of a sequence's reset-protocol run (``vot2018``, ...; the dataset tag otherwise)."""
    return getattr(seq, "vot_benchmark", None) or seq.dataset


def run_vot_sequence(seq: Sequence, tracker: Tracker, debug: int = 0, device: str = "cpu") -> SequenceOutcome:
    """Run the reset protocol of one sequence and write its trajectory (skipped when a complete one exists)."""
    path = trajectory_file(tracker.results_dir, benchmark_of(seq), seq.name)
    label = tracker.label()
    if not debug and path.is_file():
        try:
            read_trajectory(path, len(seq.frames))
            return SequenceOutcome(seq.name, label, "skipped", device=device)
        except (VOTResultError, OSError, UnicodeDecodeError) as err:
            warn_unfinished(label, seq, err)
    try:
        params = tracker.get_parameters()
        params.debug = debug
        run = run_supervised(tracker.create_tracker(params, device=device), seq, read_frame)
    except Exception as err:  # noqa: BLE001 - reported in the summary; the other sequences go on
        if debug:
            raise
        return failed_outcome(seq, label, err, device)
    logger.debug("%s on %s: %d failure(s)", label, seq.name, run.failures)
    if not debug:
        write_trajectory(tracker.results_dir, benchmark_of(seq), seq.name, run)
    return SequenceOutcome(seq.name, label, "done", frames=len(run.times), seconds=float(sum(run.times)),
                           device=device)


def run_vot_dataset(dataset: SequenceType[Sequence], trackers: SequenceType[Tracker], debug: int = 0,
                    threads: int = 0, num_gpus: int = 8, device: str | None = "auto", progress: bool = True,
                    overwrite: bool = False) -> RunSummary:
    """Run every tracker on every sequence with the reset protocol (arguments as lib.test.evaluation.running's
    ``run_sequences``; ``overwrite`` also deletes the trackers' earlier reset-protocol results)."""
    if overwrite and not debug:
        for trk in trackers:
            for benchmark in sorted({benchmark_of(s) for s in dataset}):
                shutil.rmtree(Path(trk.results_dir) / benchmark / "baseline", ignore_errors=True)
    return run_sequences(run_vot_sequence, dataset, trackers, debug, threads, num_gpus, device, progress, overwrite)


def _image_size(seq: Sequence) -> tuple[int, int] | None:
    if seq.resolution is not None:
        return tuple(seq.resolution)
    try:
        image = read_frame(seq, 0)
    except FrameReadError:
        return None
    return int(image.shape[1]), int(image.shape[0])


def vot_scores(dataset: SequenceType[Sequence], tracker: Tracker) -> tuple[dict, list[SequenceAR]]:
    """Accuracy and robustness of a tracker's finished reset-protocol results (see vot_protocol.summarize).

    Raises:
        VOTResultError: a sequence has no result or a malformed one.
    """
    per_sequence = []
    for seq in dataset:
        path = trajectory_file(tracker.results_dir, benchmark_of(seq), seq.name)
        if not path.is_file():
            raise VOTResultError(f"no reset-protocol result for sequence {seq.name}: {path} does not exist; run "
                                 f"tracking/test.py for this tracker and dataset first.")
        trajectory = read_trajectory(path, len(seq.frames))
        per_sequence.append(accuracy_robustness(trajectory, sequence_regions(seq), _image_size(seq), name=seq.name))
    return summarize(per_sequence), per_sequence


def toolkit_scores(dataset: SequenceType[Sequence], tracker: Tracker, eao_interval: tuple[int, int] | None = None,
                   device: str = "auto") -> dict:
    """The VOT toolkit's analysis of a tracker's reset-protocol results (one benchmark): measures by name.

    Builds ``<results_dir>/<benchmark>/vot_workspace`` (a local stack with the reset experiment, the dataset's
    sequences as links, the tracker's trackers.ini entry and a copy of the results) and runs ``vot analysis``.
    Raises VOTToolkitError when the toolkit is missing or fails.
    """
    from lib.test.vot.workspace import (export_sequences, toolkit_analysis, tracker_command, tracker_identifier,
                                        write_stack, write_trackers_ini, write_workspace_config)

    benchmarks = sorted({benchmark_of(s) for s in dataset})
    if len(benchmarks) != 1:
        raise VOTResultError(f"toolkit analysis takes one benchmark at a time, got {', '.join(benchmarks)}.")
    benchmark = benchmarks[0]
    low, high = eao_interval or EAO_INTERVALS.get(benchmark, EAO_INTERVALS["vot2018"])
    workspace = Path(tracker.results_dir) / benchmark / "vot_workspace"
    identifier = tracker_identifier(tracker.name, tracker.parameter_name)
    export_sequences(dataset, workspace / "sequences")
    write_stack(workspace / "stack.yaml", f"{benchmark}, reset-based protocol (tracking/test.py)", eao_low=low,
                eao_high=high)
    write_workspace_config(workspace, "stack.yaml")
    cfg_override = None
    if tracker.overrides:  # --opts / --cfg_override of the run: the toolkit's own runs use them too
        from lib.test.evaluation.tuning import write_override_file
        cfg_override = str(write_override_file(workspace / "overrides.yaml", tracker.overrides))
    command = tracker_command(tracker.name, tracker.parameter_name, tracker.checkpoint, device,
                              save_dir=tracker.env_overrides.get("save_dir"), cfg_override=cfg_override)
    write_trackers_ini(workspace, identifier, command)
    target = workspace / "results" / identifier / "baseline"
    shutil.rmtree(target, ignore_errors=True)
    for seq in dataset:
        source = trajectory_file(tracker.results_dir, benchmark, seq.name).parent
        shutil.copytree(source, target / seq.name)
    shutil.rmtree(workspace / "cache", ignore_errors=True)  # analysis cache of earlier results
    return toolkit_analysis(workspace, identifier, experiments=["baseline"]).get("baseline", {})


def format_scores(label: str, benchmark: str, local: dict, toolkit: dict | None = None,
                  toolkit_note: str = "") -> str:
    """One paragraph with a tracker's VOT scores (local accuracy / robustness, and the toolkit's measures)."""
    text = (f"{label} on {benchmark} (reset protocol, {local['sequences']} sequences): accuracy "
            f"{local['accuracy']:.4f}, robustness {local['robustness']:.4f} (failures per sequence, length-weighted), "
            f"lost {local['failures']}")
    if toolkit:
        text += "; vot-toolkit: " + ", ".join(f"{k} {v:.4f}" for k, v in toolkit.items())
    elif toolkit_note:
        text += f"; {toolkit_note}"
    return text + "."


def vot_report(dataset: SequenceType[Sequence], tracker: Tracker, use_toolkit: bool = True,
               device: str = "auto") -> str:
    """The scores paragraph of a tracker's finished reset-protocol run: local accuracy / robustness, and the VOT
    toolkit's analysis (with EAO) when it is installed; a toolkit failure is reported, not raised."""
    from lib.test.vot.workspace import VOTToolkitError, toolkit_import_error

    local, _ = vot_scores(dataset, tracker)
    benchmark = ", ".join(sorted({benchmark_of(s) for s in dataset}))
    toolkit, note = None, ""
    problem = toolkit_import_error() if use_toolkit else None
    if use_toolkit and problem is None:
        try:
            toolkit = toolkit_scores(dataset, tracker, device=device)
        except (VOTToolkitError, VOTResultError) as err:
            note = f"the vot-toolkit analysis failed: {' '.join(str(err).split())[:400]}"
    elif use_toolkit:
        note = f"no EAO: {problem}"
    return format_scores(tracker.label(), benchmark, local, toolkit, note)
