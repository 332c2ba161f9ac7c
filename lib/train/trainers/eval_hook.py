"""Evaluation during training: run the family's tracker on a validation benchmark every few epochs, log its scores
and keep the best checkpoint.

Configured by ``TRAIN.EVAL`` (OSTrack, SiamRPN++, SiamBAN) or ``train.track.framework.eval`` (SiamFC++)::

    DATASETS: [synthetic_val]   # evaluation datasets, as tracking/test.py names them; [] = off (the default)
    INTERVAL: 5                 # every 5 epochs, and after the last epoch
    NUM_SEQUENCES: 20           # the first 20 sequences of each dataset (0 = all)
    METRIC: AO                  # AO, SR0.5, SR0.75 (GOT-10k toolkit) or AUC (pytracking): picks the best epoch

After the epoch's checkpoint is written (the hook runs after the checkpoint hook), the main process builds the
tracker exactly as ``tracking/test.py`` would (the registered tracker named after ``--script``, the run's merged
config ``config.yaml``, that checkpoint) and tracks every sequence (lib.test.evaluation.scoring). The scores go to
the log, to tensorboard (``<tensorboard_dir>/<script>/<config>/eval``, tags ``<dataset>/<metric>``) and to
``eval_history.json`` next to the checkpoints (kept across resumes). When the METRIC (averaged over the datasets)
beats every earlier evaluation, the checkpoint is copied to ``<Prefix>_best.pth.tar`` (atomically: a temporary
name, then a rename); it is a copy, not a link, because the trainer deletes non-cadence epochs. Other ranks wait.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from lib.train.admin.multigpu import barrier, unwrap_model
from lib.train.trainers.hooks import HookBase
from lib.utils.errors import ConfigError
from lib.utils.atomic import atomic_write_path, write_text_atomic

__all__ = ["EvalSettings", "eval_settings", "EvalHook", "build_eval_hook", "HISTORY_FILE"]

logger = logging.getLogger(__name__)

HISTORY_FILE = "eval_history.json"


@dataclass(frozen=True)
class EvalSettings:
    """What the evaluation hook runs (see the module docstring)."""

    datasets: tuple[str, ...]
    interval: int = 1
    num_sequences: int = 0
    metric: str = "AO"


def _value(node: Mapping, name: str) -> Any:
    return node[name] if name in node else node[name.lower()]


def eval_settings(node: Mapping, where: str) -> EvalSettings | None:
    """Read and check an eval node (upper- or lower-case keys); None when DATASETS is empty.

    Args:
        node: the config node (``cfg.TRAIN.EVAL`` or ``cfg.train.track.framework.eval``).
        where: its dotted name, for messages.

    Raises:
        ConfigError: an unknown dataset (the known ones listed), an interval below 1, a negative sequence count or an
            unknown metric.
    """
    from lib.test.evaluation.customdataset import CUSTOM_NAME
    from lib.test.evaluation.datasets import known_datasets
    from lib.test.evaluation.scoring import METRICS

    key = (lambda k: f"{where}.{k}") if "DATASETS" in node else (lambda k: f"{where}.{k.lower()}")
    datasets = tuple(str(d) for d in _value(node, "DATASETS"))
    if not datasets:
        return None
    known = [*known_datasets(), CUSTOM_NAME]
    unknown = [d for d in datasets if d.strip().lower() not in known]
    if unknown:
        raise ConfigError(f"{key('DATASETS')} names {unknown}, which are not evaluation datasets; known: "
                          f"{', '.join(known)}.")
    interval, count, metric = (_value(node, k) for k in ("INTERVAL", "NUM_SEQUENCES", "METRIC"))
    if interval < 1:
        raise ConfigError(f"{key('INTERVAL')} is {interval}; it must be at least 1 (epochs between evaluations).")
    if count < 0:
        raise ConfigError(f"{key('NUM_SEQUENCES')} is {count}; it must be 0 (all sequences) or positive.")
    if metric not in METRICS:
        raise ConfigError(f"{key('METRIC')} is {metric!r}; it must be one of {', '.join(METRICS)}.")
    return EvalSettings(datasets, int(interval), int(count), str(metric))


def _copy_atomic(source: Path, target: Path) -> None:
    with atomic_write_path(target) as tmp:
        shutil.copyfile(source, tmp)


class EvalHook(HookBase):
    """Evaluate the just-saved checkpoint on validation benchmarks after every ``interval`` epochs.

    Args:
        spec: datasets, interval, sequences, metric.
        tracker_name: the registered evaluation tracker (the family's ``--script`` name).
        config_file: the run's merged config (``<checkpoint_dir>/config.yaml``).
        env: path settings (dataset roots).
    """

    def __init__(self, spec: EvalSettings, tracker_name: str, config_file: str | os.PathLike, env: Any = None):
        self.spec = spec
        self.tracker_name = tracker_name
        self.config_file = Path(config_file)
        self.env = env
        self.sequences: dict[str, list] = {}
        self.history: list[dict] = []
        self.writer = None

    @property
    def directory(self) -> Path:
        return Path(self.trainer.settings.checkpoint_dir)

    def _prefix(self) -> str:
        return type(unwrap_model(self.trainer.actor.net)).__name__

    def best(self) -> dict | None:
        """The history entry with the highest score (None before the first evaluation)."""
        scored = [e for e in self.history if math.isfinite(e["score"])]
        return max(scored, key=lambda e: e["score"], default=None)

    def before_train(self) -> None:
        if not self.trainer.settings.is_main:
            return
        from lib.test.evaluation.customdataset import load_test_sequences
        from lib.utils.environment import env_settings

        env = self.env or env_settings()
        # loaded now, so a missing dataset stops the run before the first epoch, not after it
        for name in self.spec.datasets:
            sequences = load_test_sequences([name], env)
            self.sequences[name] = list(sequences)[:self.spec.num_sequences or None]
        path = self.directory / HISTORY_FILE
        if path.is_file():
            self.history = [e for e in json.loads(path.read_text(encoding="utf-8")).get("evaluations", [])
                            if e.get("epoch", 0) <= self.trainer.epoch]
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(Path(self.trainer.settings.tensorboard_dir) / "eval"))

    def _due(self, epoch: int) -> bool:
        return epoch % self.spec.interval == 0 or epoch == self.trainer.max_epochs

    def _checkpoint(self, epoch: int) -> tuple[Path, bool]:
        """This epoch's checkpoint file, and whether it is a temporary one written here (not a cadence epoch)."""
        saved = self.trainer.last_checkpoint
        if saved and Path(saved).name.endswith(f"_ep{epoch:04d}.pth.tar") and Path(saved).is_file():
            return Path(saved), False
        path = self.directory / f"{self._prefix()}_eval.pth.tar"
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_write_path(path) as tmp:
            torch.save(self.trainer.state_dict(), tmp)
        return path, True

    def evaluate(self, checkpoint: Path) -> dict[str, dict]:
        """Scores of the checkpoint on each dataset (tracked in this process, on the trainer's device)."""
        from lib.test.evaluation.scoring import track_and_score
        from lib.test.evaluation.tracker import Tracker

        tracker = Tracker(self.tracker_name, str(self.config_file), checkpoint=str(checkpoint))
        params = tracker.get_parameters()
        device = str(self.trainer.device)
        threads = torch.get_num_threads()
        if self.trainer.device.type == "cpu":
            # One frame at a time is latency-bound: on a CPU, intra-op threads buy little and, when the cores are
            # busy, cost a lot (vitn_128_ce_synthetic on synthetic val, 2 shared cores: 539 s with 2 threads, 55 s
            # with 1).
            torch.set_num_threads(1)
        try:
            return {name: track_and_score(tracker, seqs, device=device, params=params)
                    for name, seqs in self.sequences.items()}
        finally:
            torch.set_num_threads(threads)

    def after_epoch(self) -> None:
        epoch = self.trainer.epoch
        if not self._due(epoch):
            return
        if self.trainer.settings.is_main:
            start = time.perf_counter()
            checkpoint, temporary = self._checkpoint(epoch)
            scores = self.evaluate(checkpoint)
            seconds = time.perf_counter() - start
            score = sum(s[self.spec.metric] for s in scores.values()) / len(scores)
            previous = self.best()
            self.history.append({"epoch": epoch, "score": score, "seconds": seconds, "scores": scores})
            improved = math.isfinite(score) and (previous is None or score > previous["score"])
            best_file = self.directory / f"{self._prefix()}_best.pth.tar"
            if improved:
                _copy_atomic(checkpoint, best_file)
            if temporary:
                checkpoint.unlink(missing_ok=True)
            self._write_history()
            for name, s in scores.items():
                logger.info("eval epoch %d on %s (%d sequences, %.1f s): AO %.2f, SR0.5 %.2f, SR0.75 %.2f, AUC %.2f, "
                            "%.1f FPS", epoch, name, s["sequences"], seconds, s["AO"], s["SR0.5"], s["SR0.75"],
                            s["AUC"], s["fps"])
                if self.writer is not None:
                    for metric in ("AO", "SR0.5", "SR0.75", "AUC"):
                        self.writer.add_scalar(f"{name}/{metric}", s[metric], epoch)
            if self.writer is not None:
                self.writer.flush()
            best = self.best()
            if best is None:
                logger.warning("eval epoch %d: %s is %s; no best checkpoint yet", epoch, self.spec.metric, score)
            else:
                logger.info("eval epoch %d: %s %.2f%s; best %.2f at epoch %d (%s)", epoch, self.spec.metric, score,
                            " (new best)" if improved else "", best["score"], best["epoch"], best_file)
        barrier()

    def _write_history(self) -> None:
        path = self.directory / HISTORY_FILE
        best = self.best()
        data = {"metric": self.spec.metric, "datasets": list(self.spec.datasets),
                "best_epoch": best["epoch"] if best else None,
                "evaluations": self.history}
        write_text_atomic(path, json.dumps(data, indent=1) + "\n")

    def after_train(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def build_eval_hook(node: Mapping, settings: Any, where: str) -> EvalHook | None:
    """The evaluation hook of a run (None when the eval node names no dataset).

    Args:
        node: the family's eval node (``cfg.TRAIN.EVAL``, ``cfg.train.track.framework.eval``).
        settings: the run settings (script name = the tracker, the checkpoint folder holds config.yaml).
        where: the node's dotted name, for messages.
    """
    spec = eval_settings(node, where)
    if spec is None:
        return None
    from lib.test.evaluation.tracker import TRACKERS

    if settings.script_name not in TRACKERS:
        raise ConfigError(f"{where}: evaluation during training runs the tracker named after --script, but "
                          f"{settings.script_name!r} is not a registered tracker ({', '.join(sorted(TRACKERS))}).")
    return EvalHook(spec, settings.script_name, Path(settings.checkpoint_dir) / "config.yaml", settings.env)
