"""SiamRPN++ configuration: every default key of PySOT's ``pysot/core/config.py``, with its original names.

Usage::

    cfg = load_config("siamrpn_r50_l234_dwxcorr")   # experiments/siamrpn/<name>.yaml, or a PySOT config.yaml path
    cfg.BACKBONE.KWARGS.used_layers                  # [2, 3, 4]

A user's existing PySOT ``config.yaml`` loads as it is. As in yacs, ``DATASET`` and every ``*.KWARGS`` node take
new keys (``new_allowed``); anywhere else an unknown key is an error naming the closest valid key. The three keys
of the released ``siamrpn_r50_l234_dwxcorr_lt`` YAML that yacs rejected (spec quirk 11) are accepted and ignored.

Keys added by this framework (absent from PySOT; all optional):

* ``TEST.EPOCH``: the checkpoint ``tracking/test.py`` evaluates by default (0: the last, ``TRAIN.EPOCH``);
* ``TRAIN.AMP`` / ``TRAIN.AMP_DTYPE``: mixed precision as for OSTrack (PySOT had none);
* ``TRAIN.MAX_NONFINITE_STEPS``: consecutive skipped steps (invalid loss, spec 8.2) before the run stops;
* ``TRAIN.MAX_VALID_LOSS``: a loss above it skips the step (PySOT: 1e4);
* ``TRAIN.EVAL``: evaluation during training (``DATASETS``, ``INTERVAL``, ``NUM_SEQUENCES``, ``METRIC``; see
  lib/train/trainers/eval_hook.py);
* ``DATASET.<NAME>.DATASET``: read ``<NAME>`` from one of this framework's datasets instead of PySOT's
  pre-cropped ``crop511`` folders (see lib/train/data/siamese/build.py).

PySOT keys that the framework replaces: ``CUDA`` (use ``--device``), ``TRAIN.LOG_DIR`` / ``SNAPSHOT_DIR`` (runs go
to the framework's output folders), ``TRAIN.RESUME`` / ``START_EPOCH`` (resume is automatic: run the same command
again). They are still accepted so that PySOT files load.
"""

from __future__ import annotations

import math
from typing import Mapping

from lib.config import core
from lib.config.core import CfgNode, ConfigSchema
from lib.utils.errors import ConfigError

__all__ = ["get_defaults", "load_config", "merge_config", "SCHEMA", "score_size", "pysot_defaults",
           "pysot_validate", "PYSOT_NUMERIC_KEYS"]


def _dataset(root: str, anno: str, frame_range: int, num_use: int) -> dict:
    return {"ROOT": root, "ANNO": anno, "FRAME_RANGE": frame_range, "NUM_USE": num_use}


def pysot_defaults() -> dict:
    """The keys PySOT and SiamBAN share (spec 2.1), with PySOT's values, as plain data."""
    return {
        "META_ARC": "siamrpn_r50_l234_dwxcorr",
        "CUDA": True,
        "TRAIN": {
            "NEG_NUM": 16,
            "POS_NUM": 16,
            "TOTAL_NUM": 64,
            "EXEMPLAR_SIZE": 127,
            "SEARCH_SIZE": 255,
            "BASE_SIZE": 8,
            "OUTPUT_SIZE": 25,
            "RESUME": "",
            "PRETRAINED": "",
            "LOG_DIR": "./logs",
            "SNAPSHOT_DIR": "./snapshot",
            "EPOCH": 20,
            "START_EPOCH": 0,
            "BATCH_SIZE": 32,
            "NUM_WORKERS": 1,
            "MOMENTUM": 0.9,
            "WEIGHT_DECAY": 0.0001,
            "CLS_WEIGHT": 1.0,
            "LOC_WEIGHT": 1.2,
            "PRINT_FREQ": 20,
            "LOG_GRADS": False,
            "GRAD_CLIP": 10.0,
            "BASE_LR": 0.005,
            "LR": {"TYPE": "log", "KWARGS": {}},
            "LR_WARMUP": {"WARMUP": True, "TYPE": "step", "EPOCH": 5, "KWARGS": {}},
            # Framework additions.
            "AMP": False,
            "AMP_DTYPE": "float16",
            "MAX_NONFINITE_STEPS": 50,
            "MAX_VALID_LOSS": 1.0e4,
            # evaluation during training: datasets of tracking/test.py ([] = off), every INTERVAL epochs and after
            # the last, first NUM_SEQUENCES sequences (0 = all), <Prefix>_best.pth.tar kept by METRIC
            "EVAL": {"DATASETS": [], "INTERVAL": 1, "NUM_SEQUENCES": 0, "METRIC": "AO"},
        },
        "DATASET": {
            "TEMPLATE": {"SHIFT": 4, "SCALE": 0.05, "BLUR": 0.0, "FLIP": 0.0, "COLOR": 1.0},
            "SEARCH": {"SHIFT": 64, "SCALE": 0.18, "BLUR": 0.0, "FLIP": 0.0, "COLOR": 1.0},
            "NEG": 0.2,
            "GRAY": 0.0,
            "NAMES": ["VID", "COCO", "DET", "YOUTUBEBB"],
            "VID": _dataset("training_dataset/vid/crop511", "training_dataset/vid/train.json", 100, 100000),
            "YOUTUBEBB": _dataset("training_dataset/yt_bb/crop511", "training_dataset/yt_bb/train.json", 3, -1),
            "COCO": _dataset("training_dataset/coco/crop511", "training_dataset/coco/train2017.json", 1, -1),
            "DET": _dataset("training_dataset/det/crop511", "training_dataset/det/train.json", 1, -1),
            "VIDEOS_PER_EPOCH": 600000,
        },
        "BACKBONE": {
            "TYPE": "res50",
            "KWARGS": {},
            "PRETRAINED": "",
            "TRAIN_LAYERS": ["layer2", "layer3", "layer4"],
            "LAYERS_LR": 0.1,
            "TRAIN_EPOCH": 10,
        },
        "ADJUST": {"ADJUST": True, "KWARGS": {}, "TYPE": "AdjustAllLayer"},
        "TRACK": {
            "TYPE": "SiamRPNTracker",
            "PENALTY_K": 0.04,
            "WINDOW_INFLUENCE": 0.44,
            "LR": 0.4,
            "EXEMPLAR_SIZE": 127,
            "INSTANCE_SIZE": 255,
            "BASE_SIZE": 8,
            "CONTEXT_AMOUNT": 0.5,
        },
        "TEST": {"EPOCH": 0},  # framework addition: 0 = the last epoch (TRAIN.EPOCH)
    }


def get_defaults() -> CfgNode:
    """PySOT's default config (spec 2.1) plus the framework's keys; unfrozen."""
    tree = pysot_defaults()
    tree["TRAIN"] = {"THR_HIGH": 0.6, "THR_LOW": 0.3, **tree["TRAIN"], "MASK_WEIGHT": 1}
    tree.update({
        "RPN": {"TYPE": "MultiRPN", "KWARGS": {}},
        "MASK": {"MASK": False, "TYPE": "MaskCorr", "KWARGS": {}},
        "REFINE": {"REFINE": False, "TYPE": "Refine"},
        "ANCHOR": {"STRIDE": 8, "RATIOS": [0.33, 0.5, 1, 2, 3], "SCALES": [8], "ANCHOR_NUM": 5},
    })
    tree["TRACK"].update({"LOST_INSTANCE_SIZE": 831, "CONFIDENCE_LOW": 0.85, "CONFIDENCE_HIGH": 0.998,
                          "MASK_THERSHOLD": 0.30, "MASK_OUTPUT_SIZE": 127})
    return CfgNode(tree)


def score_size(search_size: int, exemplar_size: int, stride: int, base_size: int) -> int:
    """Side of the score map (spec 4.1): (search - exemplar) / stride + 1 + base_size."""
    return (search_size - exemplar_size) // stride + 1 + base_size


# Keys where PySOT's YAMLs write integers for float defaults or the reverse.
PYSOT_NUMERIC_KEYS = frozenset({
    "ANCHOR.RATIOS", "ANCHOR.SCALES", "DATASET.NEG", "DATASET.GRAY", "DATASET.TEMPLATE.SHIFT",
    "DATASET.TEMPLATE.SCALE", "DATASET.TEMPLATE.BLUR", "DATASET.TEMPLATE.FLIP", "DATASET.TEMPLATE.COLOR",
    "DATASET.SEARCH.SHIFT", "DATASET.SEARCH.SCALE", "DATASET.SEARCH.BLUR", "DATASET.SEARCH.FLIP",
    "DATASET.SEARCH.COLOR", "TRAIN.MASK_WEIGHT", "TRACK.MASK_THERSHOLD",
})


def _require(ok: bool, source: str, key: str, value, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: {key} is {value!r}, but it must be {expected}.")


def pysot_validate(cfg: CfgNode, source: str, stride: int) -> None:
    """Value checks shared by the PySOT-lineage schemas (ranges, lengths and the score-map size)."""
    train, track, data = cfg.TRAIN, cfg.TRACK, cfg.DATASET
    for key in ("EXEMPLAR_SIZE", "SEARCH_SIZE", "EPOCH", "BATCH_SIZE", "PRINT_FREQ"):
        _require(train[key] > 0, source, f"TRAIN.{key}", train[key], "a positive integer")
    for key in ("NUM_WORKERS", "START_EPOCH", "MAX_NONFINITE_STEPS"):
        _require(train[key] >= 0, source, f"TRAIN.{key}", train[key], "zero or more")
    for key in ("BASE_LR", "MOMENTUM", "WEIGHT_DECAY", "GRAD_CLIP", "CLS_WEIGHT", "LOC_WEIGHT"):
        _require(train[key] >= 0 and math.isfinite(train[key]), source, f"TRAIN.{key}", train[key],
                 "a finite number >= 0")
    _require(train.BASE_LR > 0, source, "TRAIN.BASE_LR", train.BASE_LR, "positive")
    _require(train.MAX_VALID_LOSS > 0, source, "TRAIN.MAX_VALID_LOSS", train.MAX_VALID_LOSS, "positive")
    warm = train.LR_WARMUP
    if warm.WARMUP:
        _require(0 <= warm.EPOCH < train.EPOCH, source, "TRAIN.LR_WARMUP.EPOCH", warm.EPOCH,
                 f"between 0 and TRAIN.EPOCH - 1 ({train.EPOCH - 1}) when LR_WARMUP.WARMUP is true")
    expected = score_size(train.SEARCH_SIZE, train.EXEMPLAR_SIZE, stride, train.BASE_SIZE)
    if train.OUTPUT_SIZE != expected:
        raise ConfigError(
            f"{source}: TRAIN.OUTPUT_SIZE is {train.OUTPUT_SIZE}, but the label map of this config is "
            f"(SEARCH_SIZE - EXEMPLAR_SIZE) / stride + 1 + BASE_SIZE = ({train.SEARCH_SIZE} - "
            f"{train.EXEMPLAR_SIZE}) / {stride} + 1 + {train.BASE_SIZE} = {expected} (spec 4.1). Set OUTPUT_SIZE "
            f"to {expected}, or BASE_SIZE to match the network (AlexNet configs train with BASE_SIZE 0, "
            f"OUTPUT_SIZE 17). Configs without a TRAIN section are test configs of released models.")
    for key in ("EXEMPLAR_SIZE", "INSTANCE_SIZE"):
        _require(track[key] > 0, source, f"TRACK.{key}", track[key], "a positive integer")
    _require(track.INSTANCE_SIZE >= track.EXEMPLAR_SIZE, source, "TRACK.INSTANCE_SIZE", track.INSTANCE_SIZE,
             f"at least TRACK.EXEMPLAR_SIZE ({track.EXEMPLAR_SIZE})")
    _require(0 <= track.WINDOW_INFLUENCE <= 1, source, "TRACK.WINDOW_INFLUENCE", track.WINDOW_INFLUENCE,
             "between 0 and 1")
    _require(0 <= track.LR <= 1, source, "TRACK.LR", track.LR, "between 0 and 1")
    _require(track.CONTEXT_AMOUNT >= 0, source, "TRACK.CONTEXT_AMOUNT", track.CONTEXT_AMOUNT, "zero or more")
    _require(cfg.TEST.EPOCH >= 0, source, "TEST.EPOCH", cfg.TEST.EPOCH, "0 (the last epoch) or an epoch number")
    for key in ("NEG", "GRAY"):
        _require(0 <= data[key] <= 1, source, f"DATASET.{key}", data[key], "a probability between 0 and 1")
    for part in ("TEMPLATE", "SEARCH"):
        for key in ("SHIFT", "SCALE", "BLUR", "FLIP", "COLOR"):
            _require(data[part][key] >= 0, source, f"DATASET.{part}.{key}", data[part][key], "zero or more")
    _require(len(data.NAMES) > 0, source, "DATASET.NAMES", list(data.NAMES), "a non-empty list of dataset names")
    for name in data.NAMES:
        if name not in data or not isinstance(data[name], dict):
            raise ConfigError(f"{source}: DATASET.NAMES lists {name!r}, but there is no DATASET.{name} section; give "
                              f"DATASET.{name} with ROOT, ANNO, FRAME_RANGE and NUM_USE (or DATASET, the name of one "
                              f"of this framework's datasets).")
        node = data[name]
        for key, kind in (("FRAME_RANGE", int), ("NUM_USE", int)):
            if key in node and (not isinstance(node[key], int) or isinstance(node[key], bool)):
                raise ConfigError(f"{source}: DATASET.{name}.{key} must be an integer, got {node[key]!r}.")
        if "FRAME_RANGE" in node:
            _require(node.FRAME_RANGE >= 0, source, f"DATASET.{name}.FRAME_RANGE", node.FRAME_RANGE, "zero or more")
        if "NUM_USE" in node:
            _require(node.NUM_USE == -1 or node.NUM_USE > 0, source, f"DATASET.{name}.NUM_USE", node.NUM_USE,
                     "-1 (every video once) or a positive number")
    backbone = cfg.BACKBONE
    _require(backbone.TRAIN_EPOCH >= 0, source, "BACKBONE.TRAIN_EPOCH", backbone.TRAIN_EPOCH, "zero or more")
    _require(backbone.LAYERS_LR >= 0, source, "BACKBONE.LAYERS_LR", backbone.LAYERS_LR, "zero or more")


def _validate(cfg: CfgNode, source: str) -> None:
    anchor = cfg.ANCHOR
    _require(anchor.STRIDE > 0, source, "ANCHOR.STRIDE", anchor.STRIDE, "a positive integer")
    _require(len(anchor.RATIOS) > 0 and all(r > 0 for r in anchor.RATIOS), source, "ANCHOR.RATIOS",
             list(anchor.RATIOS), "a non-empty list of positive numbers")
    _require(len(anchor.SCALES) > 0 and all(s > 0 for s in anchor.SCALES), source, "ANCHOR.SCALES",
             list(anchor.SCALES), "a non-empty list of positive numbers")
    train = cfg.TRAIN
    _require(0 <= train.THR_LOW <= train.THR_HIGH <= 1, source, "TRAIN.THR_LOW/THR_HIGH",
             (train.THR_LOW, train.THR_HIGH), "0 <= THR_LOW <= THR_HIGH <= 1")
    for key in ("POS_NUM", "NEG_NUM"):
        _require(train[key] > 0, source, f"TRAIN.{key}", train[key], "a positive integer")
    _require(train.TOTAL_NUM >= train.POS_NUM, source, "TRAIN.TOTAL_NUM", train.TOTAL_NUM,
             f"at least TRAIN.POS_NUM ({train.POS_NUM})")
    if cfg.MASK.MASK or cfg.REFINE.REFINE:
        raise ConfigError(f"{source}: MASK.MASK / REFINE.REFINE is true, but SiamMask is not part of this framework "
                          f"(only SiamRPN++); set them to false.")
    pysot_validate(cfg, source, stride=anchor.STRIDE)


SCHEMA = ConfigSchema(
    script="siamrpn", defaults=get_defaults, numeric_keys=PYSOT_NUMERIC_KEYS,
    choices={"TRAIN.AMP_DTYPE": ("float16", "bfloat16")},
    open_nodes=("DATASET", "BACKBONE.KWARGS", "ADJUST.KWARGS", "RPN.KWARGS", "MASK.KWARGS", "TRAIN.LR.KWARGS",
                "TRAIN.LR_WARMUP.KWARGS"),
    ignored_keys=("BACKBONE.CHANNELS", "ADJUST.ADJUST_CHANNEL", "RPN.WEIGHTED"),
    validate=_validate, defaults_file="lib/config/siamrpn/config.py")


def load_config(name: str, overrides: Mapping | None = None) -> CfgNode:
    """Load experiments/siamrpn/<name>.yaml (or a PySOT config.yaml path) over the defaults; frozen."""
    return core.load_config(SCHEMA, name, overrides)


def merge_config(cfg: CfgNode, update: Mapping, source: str = "<overrides>") -> CfgNode:
    """Merge overrides into an unfrozen config, validated as a file is."""
    return core.merge_config(SCHEMA, cfg, update, source)
