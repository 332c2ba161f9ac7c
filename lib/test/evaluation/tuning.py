"""Test-time parameter search with optuna (``tracking/tune.py``), and the config override files it writes.

The search space names config keys of the tracker's config (any key: ``TRACK.WINDOW_INFLUENCE`` of the PySOT
family, ``TEST.SEARCH_FACTOR`` of OSTrack, ``test.track.pipeline.SiamFCppTracker.window_influence``, ...). Each
dimension is uniform in ``[low, high]`` (integers when both bounds are integers), optionally on a log scale or a
grid ``step``, or a list of choices. From the command line: ``--space KEY LOW HIGH`` (repeatable); from a YAML
file, one entry per key::

    TRACK.WINDOW_INFLUENCE: [0.1, 0.6]              # uniform
    TRACK.LR: {low: 0.1, high: 0.8, step: 0.05}      # on a grid
    TEST.SEARCH_FACTOR: {choices: [4.0, 4.5, 5.0]}   # categorical

PySOT's hp_search is a grid and SiamBAN's tune.py an optuna search over the window influence, penalty and LR;
here one command serves every registered tracker. Each trial runs the tracker on the validation sequences through
the ordinary runner (results in ``<output>/results/<tracker>/<param>_<trial:03d>``) and scores them
(lib.test.evaluation.scoring). The study lives in ``<output>/study.db`` (SQLite): running the same command again
continues it up to ``--trials`` finished trials. The best parameters are written as ``best.yaml``, a config
override file that ``tracking/test.py --cfg_override best.yaml`` merges (validated as a YAML config is).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping, Sequence as SequenceType

import yaml

from lib.test.evaluation.data import Sequence
from lib.utils.atomic import write_text_atomic
from lib.utils.opts import nested
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.scoring import METRICS, score_result_files
from lib.test.evaluation.tracker import Tracker
from lib.utils.errors import ConfigError, OSTrackError
from lib.utils.optional import import_optional

__all__ = ["SearchDim", "parse_space_args", "read_space_file", "merge_overrides", "read_override_file",
           "write_override_file", "TuningSetup", "require_optuna", "run_study", "best_overrides"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchDim:
    """One searched config key: ``low``/``high`` (+ ``step``, ``log``, ``integer``) or ``choices``."""

    key: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple | None = None

    def suggest(self, trial: Any) -> Any:
        """Draw this dimension's value for an optuna trial."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)

    def corners(self) -> list:
        """The extreme values (checked against the config before the search starts)."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]


def _number(key: str, text: Any, what: str, source: str) -> float | int:
    value = yaml.safe_load(text) if isinstance(text, str) else text
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{source}: the {what} of {key} must be a number, got {text!r}.")
    return value


def _dim(key: str, low: Any, high: Any, source: str, step: Any = None, log: bool = False) -> SearchDim:
    lo, hi = _number(key, low, "lower bound", source), _number(key, high, "upper bound", source)
    if not lo < hi:
        raise ConfigError(f"{source}: the range of {key} is [{lo}, {hi}]; the lower bound must be below the upper.")
    if log and lo <= 0:
        raise ConfigError(f"{source}: {key} is searched on a log scale, so its lower bound must be positive "
                          f"(got {lo}).")
    st = None if step is None else _number(key, step, "step", source)
    if st is not None and st <= 0:
        raise ConfigError(f"{source}: the step of {key} must be positive, got {st}.")
    if st is not None and log:
        raise ConfigError(f"{source}: {key} has both a step and a log scale; optuna takes one or the other.")
    integer = all(isinstance(v, int) for v in (lo, hi)) and (st is None or isinstance(st, int))
    return SearchDim(key, lo, hi, st, bool(log), integer)


def parse_space_args(items: SequenceType[SequenceType[str]] | None) -> list[SearchDim]:
    """``--space KEY LOW HIGH`` triples -> dimensions (uniform; integers when both bounds are integers)."""
    return [_dim(key, low, high, "--space") for key, low, high in (items or [])]


def read_space_file(path: str | Path) -> list[SearchDim]:
    """A YAML search space (module docstring).

    Raises:
        ConfigError: the file is missing or not a mapping, or an entry is neither ``[low, high]``, a mapping with
            ``low``/``high`` (and optional ``step``, ``log``) nor a mapping with ``choices``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search space file {path} does not exist.")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: a search space is a mapping of config keys to ranges, e.g. "
                          f"'TRACK.LR: [0.1, 0.8]'; got {type(data).__name__}.")
    dims = []
    for key, spec in data.items():
        if isinstance(spec, list) and len(spec) == 2:
            dims.append(_dim(str(key), spec[0], spec[1], str(path)))
        elif isinstance(spec, dict) and "choices" in spec and isinstance(spec["choices"], list) and spec["choices"]:
            dims.append(SearchDim(str(key), choices=tuple(spec["choices"])))
        elif isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "step", "log"}:
            dims.append(_dim(str(key), spec["low"], spec["high"], str(path), spec.get("step"),
                             bool(spec.get("log", False))))
        else:
            raise ConfigError(f"{path}: the entry of {key} must be [low, high], {{low: ..., high: ..., step: ..., "
                              f"log: ...}} or {{choices: [...]}}; got {spec!r}.")
    return dims


def merge_overrides(base: Mapping, extra: Mapping) -> dict:
    """Deep merge of two nested override dicts; ``extra`` wins."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = value
    return out


def read_override_file(path: str | Path) -> dict:
    """A config override file (``best.yaml`` of tune.py, or any YAML of nested or dotted keys) as a nested dict.

    Raises:
        ConfigError: the file is missing, not YAML, or not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--cfg_override {path}: no such file; give a YAML file of config keys, such as the "
                          f"best.yaml that tracking/tune.py writes.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"--cfg_override {path}: not valid YAML ({str(err).splitlines()[0]}).") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"--cfg_override {path}: expected a mapping of config keys to values (e.g. TRACK: {{LR: "
                          f"0.3}}), got {type(data).__name__}.")
    out: dict = {}
    for key, value in data.items():
        out = merge_overrides(out, nested({str(key): value}))
    return out


def write_override_file(path: str | Path, overrides: Mapping, comment: str = "") -> Path:
    """Write nested overrides as YAML (with ``#`` comment lines first), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    write_text_atomic(path, header + yaml.safe_dump(dict(overrides), sort_keys=False))
    return path


@dataclass
class TuningSetup:
    """What a study evaluates.

    Attributes:
        tracker_name, parameter_name: the registered tracker and its config.
        sequences: the validation sequences.
        dims: the search space.
        base_overrides: fixed overrides (``--opts``), under the searched values.
        output: the study folder (study.db, best.yaml, results/).
        metric: one of :data:`~lib.test.evaluation.scoring.METRICS` (maximised).
        checkpoint, env_overrides, device, threads: as for tracking/test.py.
    """

    tracker_name: str
    parameter_name: str
    sequences: SequenceType[Sequence]
    dims: list[SearchDim]
    base_overrides: dict
    output: Path
    metric: str = "AUC"
    checkpoint: str | None = None
    env_overrides: dict | None = None
    device: str = "auto"
    threads: int = 0

    def tracker(self, overrides: Mapping, run_id: int | None = None) -> Tracker:
        env = dict(self.env_overrides or {})
        env["results_path"] = str(self.output / "results")
        return Tracker(self.tracker_name, self.parameter_name, None, run_id, checkpoint=self.checkpoint,
                       env_overrides=env, overrides=dict(overrides) or None)

    def check(self) -> None:
        """Build the tracker's parameters at each end of every range (one clear ConfigError for an unknown key, a
        wrong type or a value the config refuses) before any trial runs."""
        if self.metric not in METRICS:
            raise ConfigError(f"--metric {self.metric}: expected one of {', '.join(METRICS)}.")
        self.tracker(self.base_overrides).get_parameters()  # the fixed --opts (and the checkpoint) first
        if not self.dims:
            raise ConfigError("no search space: give --space KEY LOW HIGH (repeatable) or --space_file FILE.")
        for dim in self.dims:
            for value in dim.corners():
                overrides = merge_overrides(self.base_overrides, nested({dim.key: value}))
                self.tracker(overrides).get_parameters()


def require_optuna() -> ModuleType:
    """The optuna module, or an OSTrackError saying how to install it."""
    return import_optional("optuna", "tracking/tune.py", "optuna", "optuna")


def run_study(setup: TuningSetup, trials: int, seed: int = 0, study_name: str = "tune") -> Any:
    """Run (or continue) the study until it holds ``trials`` finished trials; returns the optuna study."""
    optuna = require_optuna()
    setup.check()
    setup.output.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(setup.output / 'study.db').resolve()}"
    study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    stored = {d.key for d in setup.dims}
    known = set(study.trials[0].params) if study.trials else stored
    if known != stored:
        raise ConfigError(f"{setup.output / 'study.db'} holds a study over {sorted(known)}, not {sorted(stored)}; "
                          f"use another --output folder for a different search space.")
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if done >= trials:
        logger.info("the study in %s already has %d finished trials (--trials %d): nothing to run", setup.output,
                    done, trials)
        return study

    def objective(trial) -> float:
        values = {dim.key: dim.suggest(trial) for dim in setup.dims}
        tracker = setup.tracker(merge_overrides(setup.base_overrides, nested(values)), run_id=trial.number)
        summary = run_dataset(setup.sequences, [tracker], threads=setup.threads, device=setup.device,
                              progress=False)
        if summary.failed:
            raise OSTrackError(f"trial {trial.number}: {len(summary.failed)} sequence(s) failed: "
                               f"{summary.failed[0].error}")
        scores = score_result_files(tracker, setup.sequences)
        for name in METRICS:
            trial.set_user_attr(name, scores[name])
        logger.info("trial %d: %s -> %s", trial.number, values,
                    ", ".join(f"{name} {scores[name]:.2f}" for name in METRICS))
        return float(scores[setup.metric])

    # a trial that raises is recorded as failed and the study goes on; finished trials count towards --trials
    while sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) < trials:
        study.optimize(objective, n_trials=1, catch=(OSTrackError,))
        failed = sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
        if failed >= max(3, trials):
            raise OSTrackError(f"{failed} trials of the study in {setup.output} failed; see the log above.")
    return study


def best_overrides(setup: TuningSetup, study: Any) -> dict:
    """The fixed overrides with the best trial's values merged in (what test.py needs to reproduce it)."""
    return merge_overrides(setup.base_overrides, nested(study.best_trial.params))
