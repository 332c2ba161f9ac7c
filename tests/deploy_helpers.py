"""Tiny trackers of every family, a synthetic sequence and small runners for the deployment tests
(test_export_onnx.py, test_backends.py, test_precision.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import yaml

from lib.config import load_script_config
from lib.config.ostrack.config import get_defaults, merge_config
from lib.models.registry import build_model
from lib.test.evaluation.tracker import track_sequence
from lib.test.tracker.backends import set_runtime_options
from lib.test.utils.params import TrackerParams

FAMILIES = ("ostrack", "siamrpn", "siamban", "siamfcpp")

# the framework's small configs, shrunk further (as tests/test_family_tools.py does)
SIAMESE_TINY = {
    "siamrpn": ("siamrpn_alex_synthetic", {"BACKBONE": {"KWARGS": {"width_mult": 0.1}},
                                           "RPN": {"KWARGS": {"in_channels": 25, "out_channels": 25}}}),
    "siamban": ("siamban_alex_synthetic", {"BACKBONE": {"KWARGS": {"width_mult": 0.1}},
                                           "BAN": {"KWARGS": {"in_channels": [25]}}}),
    "siamfcpp": ("siamfcpp_alexnet_synthetic", {
        branch: {"track": {"model": {"backbone": {"AlexNet": {"width_mult": 0.125}},
                                     "task_head": {"DenseboxHead": {"head_width": 32}},
                                     "task_model": {"SiamTrack": {"head_width": 32}}}}}
        for branch in ("test", "train")}),
}

OSTRACK_TINY = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                                            "CE_KEEP_RATIO": [0.7, 0.7, 0.7],
                                                            "CE_TEMPLATE_RANGE": "CTR_POINT"},
                          "HEAD": {"NUM_CHANNELS": 32}},
                "DATA": {"SEARCH": {"SIZE": 64, "FACTOR": 4.0}, "TEMPLATE": {"SIZE": 32}},
                "TEST": {"SEARCH_SIZE": 64, "TEMPLATE_SIZE": 32, "SEARCH_FACTOR": 4.0, "TEMPLATE_FACTOR": 2.0,
                         "EPOCH": 1}}


def tiny_config(family: str, overrides: dict | None = None):
    """The tiny config of a family (a frozen CfgNode)."""
    if family == "ostrack":
        return merge_config(merge_config(get_defaults(), OSTRACK_TINY), overrides or {}).freeze()
    base, tiny = SIAMESE_TINY[family]
    cfg = load_script_config(family, base, tiny)
    return load_script_config(family, base, _merge(tiny, overrides or {})) if overrides else cfg


def _merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def write_config(tmp_path: Path, family: str, overrides: dict | None = None, name: str | None = None) -> Path:
    """The tiny config as a YAML file (for the command-line tools)."""
    path = tmp_path / f"{name or 'tiny_' + family}.yaml"
    path.write_text(yaml.safe_dump(tiny_config(family, overrides).to_dict()))
    return path


def tiny_params(family: str, overrides: dict | None = None, checkpoint: Path | None = None,
                name: str = "tiny") -> TrackerParams:
    """Test parameters of the tiny config, as the family's parameter function makes them."""
    cfg = tiny_config(family, overrides)
    if family == "ostrack":
        params = TrackerParams(cfg=cfg, template_factor=2.0, template_size=cfg.TEST.TEMPLATE_SIZE, search_factor=4.0,
                               search_size=cfg.TEST.SEARCH_SIZE, debug=0, checkpoint=None, yaml_name=name)
    elif family == "siamfcpp":
        from lib.test.tracker.siamfcpp import TRACKER_DEFAULTS

        pipeline = cfg.test.track.pipeline.SiamFCppTracker
        params = TrackerParams(cfg=cfg, model_cfg=cfg.test.track.model, yaml_name=name, debug=0, checkpoint=None,
                               **{k: pipeline[k] for k in TRACKER_DEFAULTS})
    else:
        params = TrackerParams(cfg=cfg, yaml_name=name, debug=0, checkpoint=None)
    params.checkpoint = checkpoint
    return params


def tiny_network(family: str, params: TrackerParams, seed: int = 0) -> torch.nn.Module:
    """A freshly initialised network of the tiny config (eval mode)."""
    torch.manual_seed(seed)
    if family == "ostrack":
        from lib.models.ostrack import build_ostrack

        return build_ostrack(params.cfg, training=False).eval()
    return build_model(family, params.cfg).eval()


def tracker_class(family: str):
    from lib.test.tracker.ostrack import OSTrackTracker
    from lib.test.tracker.siamban import SiamBANTracker
    from lib.test.tracker.siamfcpp import SiamFCppTracker
    from lib.test.tracker.siamrpn import build_tracker

    return {"ostrack": OSTrackTracker, "siamrpn": build_tracker, "siamban": SiamBANTracker,
            "siamfcpp": SiamFCppTracker}[family]


def make_tracker(family: str, params: TrackerParams, network: torch.nn.Module | None = None,
                 backend: str = "pytorch", precision: str = "fp32", onnx: Path | None = None):
    """A tracker of ``family`` with the given backend options (``params`` is copied)."""
    params = set_runtime_options(copy.copy(params), backend, precision, onnx)
    return tracker_class(family)(params, device="cpu", network=network)


def synthetic_sequence(root: Path, frames: int = 6):
    """One generated synthetic sequence (GOT-10k layout, val split) of ``frames`` 160x120 frames."""
    from lib.test.evaluation.got10kdataset import SyntheticDataset
    from lib.train.dataset.synthetic_generator import generate_dataset

    if not (root / "val").is_dir():
        generate_dataset(root, layout="got10k", num_train=1, num_val=1, num_test=1, frames=frames, size=(160, 120),
                         seed=3, workers=1)
    return SyntheticDataset(root, "val").get_sequence_list()[0]


def run_boxes(tracker, seq) -> np.ndarray:
    """The tracker's boxes over the sequence (first frame included), (N, 4) float64."""
    return np.asarray(track_sequence(tracker, seq)["target_bbox"], dtype=np.float64)


def write_moving_square_clip(path: Path, frames: int) -> Path:
    """A 160 x 120 MJPG clip: a white square moving right on a blue-brown background (BGR), for video_demo."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(frames):
        frame = np.full((120, 160, 3), (200, 80, 40), np.uint8)
        frame[40:70, 30 + 4 * i:60 + 4 * i] = 255
        writer.write(frame)
    writer.release()
    return path
