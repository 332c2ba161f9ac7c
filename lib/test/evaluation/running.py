"""Run trackers over a dataset: worker processes with explicit devices, resumable, with a failure summary.

Fixes of the original runner (spec 7.4, 8.6 item 39): each worker gets its GPU from its worker index (not by
parsing the process name); a failing sequence is reported in a summary at the end (and makes the exit code
non-zero) while the other sequences still finish; finished sequences are skipped, so an interrupted run resumes;
a progress bar counts sequences.

A sequence counts as finished only when its result files pass the result-file checks (one row per frame, finite,
sizes >= 0); a file left short by a killed run of an older version or another tool is run again. Before any
work, each tracker's results folder is checked against its provenance record (lib.test.evaluation.provenance):
results of another checkpoint or config are never resumed from.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
import traceback
from dataclasses import dataclass, field
from itertools import product
from typing import Callable, Sequence as SequenceType

import torch
from tqdm import tqdm

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.provenance import check_and_record, make_record
from lib.test.evaluation.results import result_status, write_results
from lib.test.evaluation.tracker import Tracker
from lib.utils.device import resolve_device
from lib.utils.errors import OSTrackError

__all__ = ["SequenceOutcome", "RunSummary", "SequenceRunner", "worker_device", "warn_unfinished", "failed_outcome",
           "run_sequence", "record_provenance", "run_sequences", "run_dataset"]

logger = logging.getLogger(__name__)

_WORKER_DEVICE = "cpu"


@dataclass
class SequenceOutcome:
    """What happened to one (sequence, tracker) pair."""

    sequence: str
    tracker: str
    status: str  # 'done', 'skipped' (results existed) or 'failed'
    frames: int = 0
    seconds: float = 0.0
    error: str = ""
    device: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class RunSummary:
    """All outcomes of a run, with the counts and the failures."""

    outcomes: list[SequenceOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[SequenceOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def format(self) -> str:
        lines = [f"{len(self.outcomes)} sequence runs in {self.seconds:.1f} s: {self.count('done')} done, "
                 f"{self.count('skipped')} skipped (results existed), {self.count('failed')} failed."]
        for o in self.failed:
            lines.append(f"  FAILED {o.tracker} on {o.sequence}: {o.error}")
        if self.failed:
            lines.append("No result files were written for the failed sequences; fix the cause and rerun the "
                         "same command (finished sequences are skipped).")
        return "\n".join(lines)


#: ``run_one(seq, tracker, debug, device=...) -> SequenceOutcome``: one sequence under one protocol
SequenceRunner = Callable[..., SequenceOutcome]


def worker_device(device: str, worker_index: int, num_gpus: int) -> str:
    """The device of worker ``worker_index``: GPUs are dealt round-robin over min(num_gpus, visible GPUs).

    An explicit index ('cuda:1') pins every worker to that GPU; CPU stays CPU.
    """
    if device != "cuda":
        return device
    visible = torch.cuda.device_count()
    count = max(1, min(num_gpus, visible) if visible else num_gpus)
    return f"cuda:{worker_index % count}"


def warn_unfinished(label: str, seq: Sequence, reason: object) -> None:
    """Say that an existing result is not a finished one and the sequence runs again."""
    logger.warning("%s on %s: the existing result is not a finished one (%s); running it again", label, seq.name,
                   reason)


def failed_outcome(seq: Sequence, label: str, err: BaseException, device: str) -> SequenceOutcome:
    """Log the traceback of a failed sequence run and make its outcome (the summary shows the error's first line).

    Call it from the ``except`` block that caught ``err``.
    """
    logger.error("tracker %s failed on sequence %s:\n%s", label, seq.name, traceback.format_exc())
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return SequenceOutcome(seq.name, label, "failed", error=f"{type(err).__name__}: {message}", device=device)


def run_sequence(seq: Sequence, tracker: Tracker, debug: int = 0, device: str = "cpu") -> SequenceOutcome:
    """Run one tracker on one sequence and write its result files (skipped if finished ones exist).

    With ``debug`` > 0 (as the original) existing results are not skipped, nothing is written and errors are
    raised instead of being reported.
    """
    base = tracker.result_base(seq)
    label = tracker.label()
    if not debug:
        status, reason = result_status(base, len(seq.frames))
        if status == "finished":
            return SequenceOutcome(seq.name, label, "skipped", device=device)
        if status == "invalid":
            warn_unfinished(label, seq, reason)
    try:
        output = tracker.run_sequence(seq, debug=debug, device=device)
    except Exception as err:  # noqa: BLE001 - reported in the summary; the other sequences go on
        if debug:
            raise
        return failed_outcome(seq, label, err, device)
    times = output["time"]
    outcome = SequenceOutcome(seq.name, label, "done", frames=len(times), seconds=float(sum(times)), device=device)
    logger.debug("%s on %s: FPS %.1f", label, seq.name, outcome.fps)
    if not debug:
        try:
            write_results(base, output["target_bbox"], times)
        except OSTrackError as err:  # a diverged tracker (NaN box): this sequence fails, the others go on
            return SequenceOutcome(seq.name, label, "failed", error=f"{type(err).__name__}: {err}", device=device)
    return outcome


def _init_worker(counter, device: str, num_gpus: int, torch_threads: int) -> None:
    global _WORKER_DEVICE
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    _WORKER_DEVICE = worker_device(device, index, num_gpus)
    if _WORKER_DEVICE.startswith("cuda"):
        torch.cuda.set_device(torch.device(_WORKER_DEVICE))
    torch.set_num_threads(torch_threads)


def _run_task(task: tuple[SequenceRunner, Sequence, Tracker, int]) -> SequenceOutcome:
    run_one, seq, tracker, debug = task
    return run_one(seq, tracker, debug, device=_WORKER_DEVICE)


def record_provenance(tracker: Tracker, dataset: SequenceType[Sequence], overwrite: bool = False,
                      device: str | None = None) -> None:
    """Check a tracker's results folder against this run and record the run (see provenance.check_and_record).

    The parameters are resolved here, in the main process, before any work: a missing checkpoint or a bad config
    is one error, and the checkpoint file (and, for ONNX Runtime, the ONNX file) the workers will load is hashed
    once. The record names the backend and the resolved precision, so a run in another precision or backend is
    refused like one of another checkpoint.

    Args:
        tracker: the evaluation tracker.
        dataset: the sequences of the run.
        overwrite: delete the folder's results instead of refusing another configuration.
        device: where the network will run; resolves ``precision`` 'auto' when the parameters still hold it
            (tracking/test.py resolves it itself). None: the default device.
    """
    params = tracker.get_parameters()
    record = make_record(tracker.name, tracker.results_dir.name, params, sorted({s.dataset for s in dataset}),
                         epoch=getattr(tracker, "epoch", None), device=device)
    check_and_record(tracker.results_dir, record, overwrite=overwrite)


def run_sequences(run_one: SequenceRunner, dataset: SequenceType[Sequence], trackers: SequenceType[Tracker],
                  debug: int = 0, threads: int = 0, num_gpus: int = 8, device: str | None = "auto",
                  progress: bool = True, overwrite: bool = False) -> RunSummary:
    """Run ``run_one`` on every (sequence, tracker) pair, here or in worker processes, with a progress bar.

    The one loop of every protocol: the one-pass runner passes :func:`run_sequence`, the VOT reset protocol its
    ``run_vot_sequence``. Each tracker's results folder is checked against its provenance record first.

    Args:
        run_one: ``run_one(seq, tracker, debug, device=...) -> SequenceOutcome``, a module-level function (worker
            processes receive it by name); failures are outcomes, not exceptions (except in debug mode).
        dataset: the sequences.
        trackers: evaluation Trackers.
        debug: debug level (> 0 runs in this process, raises errors and writes nothing).
        threads: number of worker processes (0 = run here, one sequence after another).
        num_gpus: GPUs to spread the workers over (device 'cuda').
        device: 'auto', 'cpu', 'cuda' or 'cuda:<i>'.
        progress: show a progress bar over sequences.
        overwrite: delete each tracker's existing results (and provenance record) first, instead of refusing
            results of another configuration.
    """
    device = str(resolve_device(device))
    if not debug:
        for trk in trackers:
            record_provenance(trk, dataset, overwrite, device=device)
    tasks = [(run_one, seq, trk, debug) for seq, trk in product(dataset, trackers)]
    summary = RunSummary()
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), unit="seq", disable=not progress, dynamic_ncols=True)

    def record(outcome: SequenceOutcome) -> None:
        summary.outcomes.append(outcome)
        bar.set_postfix(done=summary.count("done"), skipped=summary.count("skipped"),
                        failed=summary.count("failed"), fps=f"{outcome.fps:.1f}", refresh=False)
        bar.update(1)

    try:
        if threads <= 0 or debug:
            local_device = device if device != "cuda" else "cuda:0"
            for run, seq, trk, dbg in tasks:
                record(run(seq, trk, dbg, device=local_device))
        else:
            ctx = mp.get_context("spawn")
            counter = ctx.Value("i", 0)
            torch_threads = max(1, (os.cpu_count() or 1) // threads) if device == "cpu" else 1
            with ctx.Pool(threads, initializer=_init_worker,
                          initargs=(counter, device, num_gpus, torch_threads)) as pool:
                for outcome in pool.imap_unordered(_run_task, tasks, chunksize=1):
                    record(outcome)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def run_dataset(dataset: SequenceType[Sequence], trackers: SequenceType[Tracker], debug: int = 0, threads: int = 0,
                num_gpus: int = 8, device: str | None = "auto", progress: bool = True,
                overwrite: bool = False) -> RunSummary:
    """Run every tracker on every sequence once (one-pass evaluation; arguments as :func:`run_sequences`)."""
    return run_sequences(run_sequence, dataset, trackers, debug, threads, num_gpus, device, progress, overwrite)
