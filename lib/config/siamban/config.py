"""SiamBAN configuration: the defaults of ``siamban/core/config.py`` (PySOT's, with the differences of spec 2.2).

Usage::

    cfg = load_config("siamban_r50_l234")      # experiments/siamban/<name>.yaml, or a SiamBAN config.yaml path

SiamBAN replaces PySOT's RPN / MASK / REFINE / ANCHOR nodes by ``BAN`` and ``POINT``, drops ``TRAIN.THR_*`` and
``MASK_WEIGHT``, and has its own tracker values and dataset list. The framework's additional keys are those of
lib/config/siamrpn/config.py (``TEST.EPOCH``, ``TRAIN.AMP``, ``TRAIN.MAX_NONFINITE_STEPS``,
``TRAIN.MAX_VALID_LOSS``, ``DATASET.<NAME>.DATASET``).
"""

from __future__ import annotations

from typing import Mapping

from lib.config import core
from lib.config.core import CfgNode, ConfigSchema
from lib.config.siamrpn.config import PYSOT_NUMERIC_KEYS, pysot_defaults, pysot_validate
from lib.utils.errors import ConfigError

__all__ = ["get_defaults", "load_config", "merge_config", "SCHEMA"]


def get_defaults() -> CfgNode:
    """SiamBAN's default config (spec 2.2) plus the framework's keys; unfrozen."""
    tree = pysot_defaults()
    tree["META_ARC"] = "siamban_r50_l234"
    tree["TRAIN"]["LOC_WEIGHT"] = 1.0
    data = tree["DATASET"]
    data["NAMES"] = ["VID", "YOUTUBEBB", "DET", "COCO", "GOT10K", "LASOT"]
    data["YOUTUBEBB"]["NUM_USE"] = 200000
    data["COCO"]["NUM_USE"] = 100000
    data["DET"]["NUM_USE"] = 200000
    data["GOT10K"] = {"ROOT": "training_dataset/got_10k/crop511", "ANNO": "training_dataset/got_10k/train.json",
                      "FRAME_RANGE": 100, "NUM_USE": 200000}
    data["LASOT"] = {"ROOT": "training_dataset/lasot/crop511", "ANNO": "training_dataset/lasot/train.json",
                     "FRAME_RANGE": 100, "NUM_USE": 200000}
    data["VIDEOS_PER_EPOCH"] = 1000000
    tree["BAN"] = {"BAN": False, "TYPE": "MultiBAN", "KWARGS": {}}
    tree["POINT"] = {"STRIDE": 8}
    tree["TRACK"].update({"TYPE": "SiamBANTracker", "PENALTY_K": 0.14, "WINDOW_INFLUENCE": 0.45, "LR": 0.30})
    return CfgNode(tree)


def _validate(cfg: CfgNode, source: str) -> None:
    if cfg.POINT.STRIDE <= 0:
        raise ConfigError(f"{source}: POINT.STRIDE is {cfg.POINT.STRIDE}, but it must be a positive integer.")
    for key in ("POS_NUM", "NEG_NUM"):
        if cfg.TRAIN[key] <= 0:
            raise ConfigError(f"{source}: TRAIN.{key} is {cfg.TRAIN[key]}, but it must be a positive integer.")
    pysot_validate(cfg, source, stride=cfg.POINT.STRIDE)


SCHEMA = ConfigSchema(
    script="siamban", defaults=get_defaults, numeric_keys=PYSOT_NUMERIC_KEYS,
    choices={"TRAIN.AMP_DTYPE": ("float16", "bfloat16")},
    open_nodes=("DATASET", "BACKBONE.KWARGS", "ADJUST.KWARGS", "BAN.KWARGS", "TRAIN.LR.KWARGS",
                "TRAIN.LR_WARMUP.KWARGS"),
    validate=_validate, defaults_file="lib/config/siamban/config.py")


def load_config(name: str, overrides: Mapping | None = None) -> CfgNode:
    """Load experiments/siamban/<name>.yaml (or a SiamBAN config.yaml path) over the defaults; frozen."""
    return core.load_config(SCHEMA, name, overrides)


def merge_config(cfg: CfgNode, update: Mapping, source: str = "<overrides>") -> CfgNode:
    """Merge overrides into an unfrozen config, validated as a file is."""
    return core.merge_config(SCHEMA, cfg, update, source)
