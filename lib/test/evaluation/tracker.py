"""The evaluation Tracker: a tracker name + parameter name, its results folder, and running it on a sequence.

``Tracker('ostrack', 'vitb_256_mae_ce_32x4_ep300')`` finds the tracker class and the parameter function in
one registry (an unknown name lists the known ones). Objects are small and picklable, so the runner sends them
to worker processes (spec 7.3).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.results import result_base, results_folder_name, tracker_results_dir
from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings, env_settings
from lib.utils.errors import OSTrackError
from lib.utils.image import CorruptImageError, read_image
from lib.utils.registry import Registry, UnknownNameError

__all__ = ["TRACKERS", "UnknownTrackerError", "FrameReadError", "Tracker", "trackerlist", "track_sequence",
           "read_frame", "parameter_stem"]

logger = logging.getLogger(__name__)

class UnknownTrackerError(UnknownNameError):
    """A tracker name is not registered."""


#: tracker name -> ("module:TrackerClass", "module:parameters_function")
TRACKERS: Registry[tuple[str, str]] = Registry("tracker", "", {
    "ostrack": ("lib.test.tracker.ostrack:OSTrackTracker", "lib.test.parameter.ostrack:parameters"),
    "first_box": ("lib.test.tracker.first_box:FirstBoxTracker", "lib.test.parameter.first_box:parameters"),
    # TRACK.TYPE of the config picks SiamRPNTracker or the long-term SiamRPNLTTracker
    "siamrpn": ("lib.test.tracker.siamrpn:build_tracker", "lib.test.parameter.siamrpn:parameters"),
    "siamban": ("lib.test.tracker.siamban:SiamBANTracker", "lib.test.parameter.siamban:parameters"),
    "siamfcpp": ("lib.test.tracker.siamfcpp:SiamFCppTracker", "lib.test.parameter.siamfcpp:parameters"),
}, error=UnknownTrackerError)


class FrameReadError(OSTrackError):
    """A sequence frame (or the box that initialises the tracker on it) could not be read."""


def _load(target: str) -> Any:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def parameter_stem(parameter_name: str) -> str:
    """The results folder name for a parameter name (a YAML path gives its file stem)."""
    path = Path(parameter_name)
    return path.stem if path.suffix in (".yaml", ".yml") else parameter_name


class Tracker:
    """A tracker configuration to evaluate.

    Args:
        name: tracker name in :data:`TRACKERS` (e.g. 'ostrack').
        parameter_name: experiment config name (or YAML path) passed to the parameter function.
        dataset_name: the dataset being run (informational).
        run_id: optional run number; results go to ``<param>_<run_id:03d>``.
        display_name: name used in tables and plots.
        result_only: results live directly in ``<results_path>/<name>`` (third-party result folders).
        checkpoint: explicit checkpoint path (overrides TEST.EPOCH resolution).
        env_overrides: path-setting overrides from the command line (save_dir, data_dir, ...), re-applied in
            worker processes.
        tracker_class: use this class instead of the registry's (tests, plug-ins); it must be importable by
            worker processes.
        params: use these parameters instead of calling the parameter function.
        epoch: evaluate the checkpoint of this epoch (a checkpoint sweep); results go to ``<param>_ep<epoch:04d>``.
        overrides: nested config overrides (``--opts``) passed to the parameter function.
    """

    def __init__(self, name: str, parameter_name: str, dataset_name: str | None = None, run_id: int | None = None,
                 display_name: str | None = None, result_only: bool = False, checkpoint: str | None = None,
                 env_overrides: dict | None = None, tracker_class: type | None = None,
                 params: TrackerParams | None = None, epoch: int | None = None, overrides: dict | None = None):
        if tracker_class is None:
            TRACKERS.get(name)  # an unknown name is one UnknownTrackerError listing the known trackers
        self.name = name
        self.parameter_name = parameter_name
        self.dataset_name = dataset_name
        self.run_id = run_id
        self.display_name = display_name
        self.result_only = result_only
        self.checkpoint = checkpoint
        self.env_overrides = {k: str(v) for k, v in (env_overrides or {}).items() if v is not None}
        self.tracker_class = tracker_class
        self.params = params
        self.epoch = epoch
        self.overrides = overrides or {}
        self.results_dir = tracker_results_dir(self.env().results_path, name, parameter_stem(parameter_name),
                                               run_id, result_only, epoch)

    def env(self) -> EnvSettings:
        return env_settings(**self.env_overrides)

    def label(self) -> str:
        """Display name, or name/param[_runid]."""
        if self.display_name:
            return self.display_name
        return f"{self.name}/{results_folder_name(self.parameter_name, self.run_id, self.epoch)}"

    def result_base(self, seq: Sequence) -> Path:
        """Base path of a sequence's result files (see lib.test.evaluation.results)."""
        return result_base(self.results_dir, seq.dataset, seq.name)

    def get_parameters(self) -> TrackerParams:
        """Test parameters (raises CheckpointError when the checkpoint is missing)."""
        if self.params is not None:
            return self.params
        params_fn = _load(TRACKERS[self.name][1])
        extra = {"epoch": self.epoch} if self.epoch is not None else {}
        if self.overrides:
            extra["overrides"] = self.overrides
        accepted = inspect.signature(params_fn).parameters
        unsupported = [k for k in extra if k not in accepted]
        if unsupported:
            flags = {"epoch": "--epochs", "overrides": "--opts"}
            raise OSTrackError(f"tracker {self.name!r} does not support {', '.join(flags[k] for k in unsupported)} "
                               f"(its parameter function {TRACKERS[self.name][1]} takes no "
                               f"{', '.join(unsupported)} argument).")
        return params_fn(self.parameter_name, checkpoint=self.checkpoint, env=self.env(), **extra)

    def create_tracker(self, params: TrackerParams, device: str = "cpu"):
        cls = self.tracker_class or _load(TRACKERS[self.name][0])
        return cls(params, device=device)

    def run_sequence(self, seq: Sequence, debug: int | None = None, device: str = "cpu",
                     params: TrackerParams | None = None) -> dict:
        """Track a sequence; returns {'target_bbox': [[x, y, w, h], ...], 'time': [s, ...]} (frame 0 included).

        Args:
            seq: the sequence.
            debug: debug level (default: the parameters' own).
            device: torch device for the network.
            params: parameters to use (default: :meth:`get_parameters`).
        """
        params = params or self.get_parameters()
        params.debug = debug if debug is not None else params.get("debug", 0)
        if params.debug:
            # debug frames go to files (the original's visdom viewer is not a dependency here)
            params.debug_dir = str(self.env().save_dir / "debug" / self.name / parameter_stem(self.parameter_name)
                                   / seq.name)
        tracker = self.create_tracker(params, device=device)
        return track_sequence(tracker, seq)

    def __repr__(self) -> str:
        return f"Tracker({self.name!r}, {self.parameter_name!r}, run_id={self.run_id})"


def read_frame(seq: Sequence, frame_num: int) -> np.ndarray:
    """Frame ``frame_num`` of ``seq`` as (H, W, 3) uint8 RGB, read by the framework's one image reader.

    Raises:
        FrameReadError: the frame is missing, unreadable or corrupt; the message names the sequence and the frame.
    """
    path = seq.frames[frame_num]
    try:
        return read_image(path)
    except OSError as err:
        problem = f"could not read the frame {path} ({err.strerror or err})"
    except CorruptImageError as err:
        problem = str(err)
    raise FrameReadError(f"sequence {seq.name}, frame {frame_num} of {len(seq.frames)}: {problem}.")


def track_sequence(tracker, seq: Sequence) -> dict:
    """Run an initialised-per-sequence tracker over all frames; frame reading is not timed (as the original).

    Raises:
        FrameReadError: a frame is missing or corrupt (the message names the sequence and the frame); the runner
            reports the sequence as failed and goes on with the others.
    """
    if not seq.frames:
        raise FrameReadError(f"sequence {seq.name} has no frames.")
    image = read_frame(seq, 0)
    init_info = seq.init_info()
    box = np.asarray(init_info["init_bbox"], dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise FrameReadError(f"sequence {seq.name}: the initial box {init_info['init_bbox']} is not a box (its "
                             f"ground-truth line is empty, not numeric or of zero size); expected x,y,w,h with w, h > 0.")
    start = time.perf_counter()
    out = tracker.initialize(image, init_info)
    # A tracker may report its own first box (PySOT writes its init box [x+0.5, y+0.5, w, h], spec quirk 35).
    first = out.get("target_bbox") if isinstance(out, dict) else None
    boxes = [[float(v) for v in first] if first is not None else list(init_info["init_bbox"])]
    times = [time.perf_counter() - start]
    for frame_num in range(1, len(seq.frames)):
        image = read_frame(seq, frame_num)
        info = seq.frame_info(frame_num)
        start = time.perf_counter()
        out = tracker.track(image, info)
        times.append(time.perf_counter() - start)
        boxes.append([float(v) for v in out["target_bbox"]])
    return {"target_bbox": boxes, "time": times}


def trackerlist(name: str, parameter_name: str, dataset_name: str | None = None, run_ids=None,
                display_name: str | None = None, result_only: bool = False, **kwargs) -> list[Tracker]:
    """One Tracker per run id (None, an int, or a list of ints)."""
    if run_ids is None or isinstance(run_ids, int):
        run_ids = [run_ids]
    return [Tracker(name, parameter_name, dataset_name, run_id, display_name, result_only, **kwargs)
            for run_id in run_ids]
