"""OSTrack configuration: every default key of the original, YAML merge with validation, frozen result.

Usage::

    cfg = load_config("vitb_256_mae_ce_32x4_ep300")      # a name under experiments/ostrack/, or a .yaml path
    cfg.MODEL.BACKBONE.CE_LOC                             # [3, 6, 9]
    save_config(cfg, run_dir / "config.yaml")

Differences from the original (spec section 8.1), each deliberate:

* every call returns a fresh, frozen config; there is no module-level mutable ``cfg`` (item 4);
* unknown keys, values of the wrong type, DATASETS_RATIO/DATASETS_NAME length mismatches and unknown dataset
  names are rejected when the file is loaded, naming the key and the file (items 1-2);
* keys the original read with ``getattr`` defaults or could not use (Mstep MILESTONES/GAMMA, DECAY_RATE,
  DEEP_SUPERVISION, ...) are declared, so a YAML may set them (items 2-3). DECAY_RATE is the StepLR gamma
  (default 0.1, as the original's hard-coded value).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

from lib.config import core
from lib.config.core import EXPERIMENTS_DIR, CfgNode, ConfigSchema, iter_keys, save_config
from lib.utils.registry import did_you_mean
from lib.utils.errors import ConfigError

__all__ = [
    "CfgNode",
    "get_defaults",
    "load_config",
    "merge_config",
    "save_config",
    "list_configs",
    "config_path",
    "EXPERIMENTS_DIR",
    "SCHEMA",
    "iter_keys",
]

# Training dataset names accepted in DATA.TRAIN/VAL.DATASETS_NAME; the registry in lib.train.dataset has
# exactly these (a test checks they agree). The first eight are the original's.
TRAIN_DATASET_NAMES = (
    "LASOT", "GOT10K_vottrain", "GOT10K_votval", "GOT10K_train_full", "GOT10K_official_val",
    "COCO17", "VID", "TRACKINGNET",
    "SYNTHETIC_train", "SYNTHETIC_val", "CUSTOM",
)


def get_defaults() -> CfgNode:
    """The original's default config (spec section 2.1) plus the keys declared here; unfrozen."""
    return CfgNode({
        "MODEL": {
            "PRETRAIN_FILE": "mae_pretrain_vit_base.pth",
            "EXTRA_MERGER": False,
            "RETURN_INTER": False,
            "RETURN_STAGES": [],
            "NUM_OBJECT_QUERIES": 1,  # read by the original with getattr (save_all_boxes); declared here
            "HIDDEN_DIM": 256,  # read by the original's CORNER head; declared here
            "BACKBONE": {
                "TYPE": "vit_base_patch16_224",
                "STRIDE": 16,
                "MID_PE": False,
                "SEP_SEG": False,
                "CAT_MODE": "direct",
                "MERGE_LAYER": 0,
                "ADD_CLS_TOKEN": False,
                "CLS_TOKEN_USE_MODE": "ignore",
                "CE_LOC": [],
                "CE_KEEP_RATIO": [],
                "CE_TEMPLATE_RANGE": "ALL",  # ALL, CTR_POINT, CTR_REC, GT_BOX
            },
            "HEAD": {
                "TYPE": "CENTER",
                "NUM_CHANNELS": 256,
            },
        },
        "TRAIN": {
            "LR": 0.0001,
            "WEIGHT_DECAY": 0.0001,
            "EPOCH": 500,
            "LR_DROP_EPOCH": 400,
            "BATCH_SIZE": 16,
            "NUM_WORKER": 8,
            "OPTIMIZER": "ADAMW",  # ADAMW (the original's) or SGD
            "MOMENTUM": 0.9,  # SGD only (framework addition)
            "NESTEROV": False,  # SGD only (framework addition)
            "BACKBONE_MULTIPLIER": 0.1,
            "GIOU_WEIGHT": 2.0,
            "L1_WEIGHT": 5.0,
            "FREEZE_LAYERS": [0],  # [n]: freeze the patch/position embedding and the first n blocks ([0]: none)
            "PRINT_INTERVAL": 50,
            "VAL_EPOCH_INTERVAL": 20,
            "GRAD_CLIP_NORM": 0.1,
            "AMP": False,
            "AMP_DTYPE": "float16",  # float16 (with GradScaler, as the original) or bfloat16 (CPU and GPU)
            "CE_START_EPOCH": 20,
            "CE_WARM_EPOCH": 80,
            "DROP_PATH_RATE": 0.1,
            "DEEP_SUPERVISION": False,  # getattr defaults of the original, declared here
            "DISTILL": False,
            "DISTILL_LOSS_TYPE": "KL",
            "TRAIN_CLS": False,
            # Checkpoint cadence (original: epoch % 40 == 0, epochs 79/159/239, the last 5 and the final epoch).
            "SAVE_INTERVAL": 40,
            "SAVE_EPOCHS": [79, 159, 239],
            "SAVE_LAST": 5,
            "SAVE_EVERY_EPOCH": False,
            # Evaluation during training (framework addition): run the tracker on these evaluation datasets (names
            # of tracking/test.py, e.g. [synthetic_val]; [] = off) every INTERVAL epochs and after the last one,
            # on the first NUM_SEQUENCES sequences (0 = all); log AO/SR/AUC and keep OSTrack_best.pth.tar by METRIC.
            "EVAL": {"DATASETS": [], "INTERVAL": 1, "NUM_SEQUENCES": 0, "METRIC": "AO"},
            # Consecutive non-finite losses tolerated (each skipped) before the run stops.
            "MAX_NONFINITE_STEPS": 5,
            "SCHEDULER": {
                "TYPE": "step",  # step, Mstep, cosine
                "DECAY_RATE": 0.1,  # StepLR gamma (the original ignored it and always used 0.1)
                "MILESTONES": [],  # Mstep milestones (epochs)
                "GAMMA": 0.1,  # Mstep gamma
                "MIN_LR": 0.0,  # cosine: the final LR (eta_min)
                "WARMUP_EPOCH": 0,  # linear warm-up epochs before the schedule (0 = none)
                "WARMUP_FACTOR": 0.001,  # LR multiplier at the start of warm-up
            },
        },
        "DATA": {
            "SAMPLER_MODE": "causal",
            "MEAN": [0.485, 0.456, 0.406],
            "STD": [0.229, 0.224, 0.225],
            "MAX_SAMPLE_INTERVAL": 200,
            "TRAIN": {
                "DATASETS_NAME": ["LASOT", "GOT10K_vottrain"],
                "DATASETS_RATIO": [1, 1],
                "SAMPLE_PER_EPOCH": 60000,
            },
            "VAL": {
                "DATASETS_NAME": ["GOT10K_votval"],
                "DATASETS_RATIO": [1],
                "SAMPLE_PER_EPOCH": 10000,
            },
            "SEARCH": {
                "SIZE": 320,
                "FACTOR": 5.0,
                "CENTER_JITTER": 4.5,
                "SCALE_JITTER": 0.5,
                "NUMBER": 1,
            },
            "TEMPLATE": {
                "NUMBER": 1,
                "SIZE": 128,
                "FACTOR": 2.0,
                "CENTER_JITTER": 0,
                "SCALE_JITTER": 0,
            },
        },
        "TEST": {
            "TEMPLATE_FACTOR": 2.0,
            "TEMPLATE_SIZE": 128,
            "SEARCH_FACTOR": 5.0,
            "SEARCH_SIZE": 320,
            "EPOCH": 500,
        },
    })


# Keys whose value may be a number of either kind even though the default is an int (jitter factors are 0 in
# the defaults but fractional in the experiments).
_NUMERIC_KEYS = frozenset({
    "DATA.TEMPLATE.CENTER_JITTER", "DATA.TEMPLATE.SCALE_JITTER", "DATA.SEARCH.CENTER_JITTER",
    "DATA.SEARCH.SCALE_JITTER", "DATA.TRAIN.DATASETS_RATIO", "DATA.VAL.DATASETS_RATIO",
    "MODEL.BACKBONE.CE_KEEP_RATIO", "TRAIN.SCHEDULER.MILESTONES",
})
_CHOICES = {
    "MODEL.BACKBONE.CE_TEMPLATE_RANGE": ("ALL", "CTR_POINT", "CTR_REC", "GT_BOX"),
    "MODEL.BACKBONE.CAT_MODE": ("direct", "template_central", "partition"),
    "TRAIN.OPTIMIZER": ("ADAMW", "SGD"),
    "TRAIN.SCHEDULER.TYPE": ("step", "Mstep", "cosine"),
    "TRAIN.AMP_DTYPE": ("float16", "bfloat16"),
    "DATA.SAMPLER_MODE": ("causal", "trident", "trident_pro", "stark"),
}


# Value checks (issue 15 part 4): each key with the range or length the code that reads it needs. A value outside
# used to end in a traceback far from the YAML (a modulo by zero, a NaN loss) or in a run that did nothing (EPOCH 0).
_POSITIVE_INTS = (
    "MODEL.BACKBONE.STRIDE", "MODEL.HEAD.NUM_CHANNELS", "DATA.SEARCH.SIZE", "DATA.TEMPLATE.SIZE",
    "DATA.SEARCH.NUMBER", "DATA.TEMPLATE.NUMBER", "DATA.MAX_SAMPLE_INTERVAL", "DATA.TRAIN.SAMPLE_PER_EPOCH",
    "DATA.VAL.SAMPLE_PER_EPOCH", "TRAIN.EPOCH", "TRAIN.BATCH_SIZE", "TRAIN.PRINT_INTERVAL",
    "TRAIN.VAL_EPOCH_INTERVAL", "TEST.SEARCH_SIZE", "TEST.TEMPLATE_SIZE", "TEST.EPOCH",
)
_NON_NEGATIVE_INTS = (
    "TRAIN.NUM_WORKER", "TRAIN.SAVE_INTERVAL", "TRAIN.SAVE_LAST", "TRAIN.MAX_NONFINITE_STEPS",
    "TRAIN.CE_START_EPOCH", "TRAIN.CE_WARM_EPOCH", "TRAIN.SCHEDULER.WARMUP_EPOCH",
)
_POSITIVE_NUMBERS = (
    "TRAIN.LR", "DATA.SEARCH.FACTOR", "DATA.TEMPLATE.FACTOR", "TEST.SEARCH_FACTOR", "TEST.TEMPLATE_FACTOR",
    "TRAIN.SCHEDULER.DECAY_RATE", "TRAIN.SCHEDULER.GAMMA",
)
_NON_NEGATIVE_NUMBERS = (
    "TRAIN.WEIGHT_DECAY", "TRAIN.BACKBONE_MULTIPLIER", "TRAIN.GIOU_WEIGHT", "TRAIN.L1_WEIGHT",
    "TRAIN.GRAD_CLIP_NORM", "TRAIN.SCHEDULER.MIN_LR", "DATA.SEARCH.CENTER_JITTER", "DATA.SEARCH.SCALE_JITTER",
    "DATA.TEMPLATE.CENTER_JITTER", "DATA.TEMPLATE.SCALE_JITTER",
)
# key -> (low, high, high_open, why)
_INTERVALS = {
    "TRAIN.DROP_PATH_RATE": (0.0, 1.0, True, "a drop probability"),
    "TRAIN.MOMENTUM": (0.0, 1.0, True, "SGD momentum"),
    "TRAIN.SCHEDULER.WARMUP_FACTOR": (0.0, 1.0, False, "the LR multiplier at the start of warm-up"),
}


def _get(cfg: CfgNode, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _require(ok: bool, source: str, key: str, value, expected: str) -> None:
    """Raise the one-paragraph error of a value check: file, key, value and what is expected."""
    if not ok:
        raise ConfigError(f"{source}: {key} is {value!r}, but it must be {expected}.")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _validate_values(cfg: CfgNode, source: str) -> None:
    """Ranges and lengths of single keys (issue 15 part 4)."""
    for key in _POSITIVE_INTS:
        value = _get(cfg, key)
        _require(value > 0, source, key, value, "a positive integer")
    for key in _NON_NEGATIVE_INTS:
        value = _get(cfg, key)
        _require(value >= 0, source, key, value, "an integer >= 0")
    for key in _POSITIVE_NUMBERS:
        value = _get(cfg, key)
        _require(_finite(value) and value > 0, source, key, value, "a finite number > 0")
    for key in _NON_NEGATIVE_NUMBERS:
        value = _get(cfg, key)
        _require(_finite(value) and value >= 0, source, key, value, "a finite number >= 0")
    for key, (low, high, high_open, why) in _INTERVALS.items():
        value = _get(cfg, key)
        inside = _finite(value) and low <= value and (value < high if high_open else value <= high)
        _require(inside, source, key, value, f"in [{low}, {high}{')' if high_open else ']'} ({why})")
    for key in ("DATA.MEAN", "DATA.STD"):
        value = list(_get(cfg, key))
        _require(len(value) == 3, source, key, value, "a list of 3 numbers, one per RGB channel")
    # Images are divided by 255 before normalising, so both lists are on the 0-1 scale (a 0-255 MEAN such as
    # [123.7, 116.3, 103.5] would train silently on garbage); a zero STD divides by zero.
    _require(all(_finite(v) and 0 <= v <= 1 for v in cfg.DATA.MEAN), source, "DATA.MEAN", list(cfg.DATA.MEAN),
             "3 numbers in [0, 1] (the 0-1 scale of the image, e.g. [0.485, 0.456, 0.406])")
    _require(all(_finite(v) and 0 < v <= 1 for v in cfg.DATA.STD), source, "DATA.STD", list(cfg.DATA.STD),
             "3 numbers in (0, 1] (the 0-1 scale of the image, e.g. [0.229, 0.224, 0.225]); a zero STD divides "
             "by zero")
    bb = cfg.MODEL.BACKBONE
    _require(all(loc >= 0 for loc in bb.CE_LOC) and len(set(bb.CE_LOC)) == len(bb.CE_LOC), source,
             "MODEL.BACKBONE.CE_LOC", list(bb.CE_LOC), "distinct block indices >= 0")
    train = cfg.TRAIN
    _require(len(train.FREEZE_LAYERS) == 1 and train.FREEZE_LAYERS[0] >= 0, source, "TRAIN.FREEZE_LAYERS",
             list(train.FREEZE_LAYERS), "a one-element list [n] with n >= 0 (the number of frozen blocks)")
    _require(all(e > 0 for e in train.SAVE_EPOCHS), source, "TRAIN.SAVE_EPOCHS", list(train.SAVE_EPOCHS),
             "a list of epoch numbers >= 1")
    milestones = train.SCHEDULER.MILESTONES
    _require(all(_finite(m) and m >= 1 and float(m).is_integer() for m in milestones), source,
             "TRAIN.SCHEDULER.MILESTONES", list(milestones), "a list of whole epoch numbers >= 1")
    for split in ("TRAIN", "VAL"):
        ratios = cfg.DATA[split].DATASETS_RATIO
        _require(all(_finite(r) for r in ratios), source, f"DATA.{split}.DATASETS_RATIO", list(ratios),
                 "finite numbers")


def _validate(cfg: CfgNode, source: str) -> None:
    """Value and cross-key checks, each naming the file, the key, the value and what is expected."""
    _validate_values(cfg, source)
    for split in ("TRAIN", "VAL"):
        names = cfg.DATA[split].DATASETS_NAME
        ratios = cfg.DATA[split].DATASETS_RATIO
        # The trainer always builds both loaders, so an empty list failed later inside the sampler.
        _require(len(names) > 0, source, f"DATA.{split}.DATASETS_NAME", list(names),
                 f"a non-empty list of dataset names (known: {', '.join(TRAIN_DATASET_NAMES)})")
        if len(names) != len(ratios):
            raise ConfigError(
                f"{source}: DATA.{split}.DATASETS_RATIO has {len(ratios)} entries ({ratios}) but "
                f"DATA.{split}.DATASETS_NAME has {len(names)} ({names}); give one sampling ratio per dataset.")
        for name in names:
            if name not in TRAIN_DATASET_NAMES:
                raise ConfigError(f"{source}: DATA.{split}.DATASETS_NAME names an unknown dataset {name!r}."
                                  f"{did_you_mean(name, TRAIN_DATASET_NAMES)} "
                                  f"Known datasets: {', '.join(TRAIN_DATASET_NAMES)}.")
        if any(r < 0 for r in ratios) or (ratios and sum(ratios) <= 0):
            raise ConfigError(f"{source}: DATA.{split}.DATASETS_RATIO must be non-negative numbers with a "
                              f"positive sum, got {ratios}.")
        # Loaders drop the last incomplete batch (drop_last, as the original), so fewer samples than one batch
        # gave epochs without a single step.
        samples = cfg.DATA[split].SAMPLE_PER_EPOCH
        _require(samples >= cfg.TRAIN.BATCH_SIZE, source, f"DATA.{split}.SAMPLE_PER_EPOCH", samples,
                 f"at least TRAIN.BATCH_SIZE ({cfg.TRAIN.BATCH_SIZE}): incomplete batches are dropped, so an "
                 f"epoch would have no batch at all")
    bb = cfg.MODEL.BACKBONE
    if len(bb.CE_LOC) != len(bb.CE_KEEP_RATIO):
        raise ConfigError(f"{source}: MODEL.BACKBONE.CE_KEEP_RATIO has {len(bb.CE_KEEP_RATIO)} entries but "
                          f"MODEL.BACKBONE.CE_LOC has {len(bb.CE_LOC)}; give one keep ratio per CE layer.")
    if any(not 0 < r <= 1 for r in bb.CE_KEEP_RATIO):
        raise ConfigError(f"{source}: MODEL.BACKBONE.CE_KEEP_RATIO values must lie in (0, 1], got {bb.CE_KEEP_RATIO}.")
    stride = bb.STRIDE
    for section, keys in (("DATA.SEARCH", cfg.DATA.SEARCH), ("DATA.TEMPLATE", cfg.DATA.TEMPLATE)):
        if keys.SIZE % stride:
            raise ConfigError(f"{source}: {section}.SIZE ({keys.SIZE}) must be a multiple of "
                              f"MODEL.BACKBONE.STRIDE ({stride}).")
    for key in ("TEST.SEARCH_SIZE", "TEST.TEMPLATE_SIZE"):
        size = _get(cfg, key)
        _require(size % stride == 0, source, key, size,
                 f"a multiple of MODEL.BACKBONE.STRIDE ({stride}): the tracker's crops are cut into patches")
    train, sched = cfg.TRAIN, cfg.TRAIN.SCHEDULER
    _require(sched.WARMUP_EPOCH <= train.EPOCH, source, "TRAIN.SCHEDULER.WARMUP_EPOCH", sched.WARMUP_EPOCH,
             f"at most TRAIN.EPOCH ({train.EPOCH}); a longer warm-up never reaches TRAIN.LR")
    if sched.TYPE == "step":
        _require(train.LR_DROP_EPOCH >= 1, source, "TRAIN.LR_DROP_EPOCH", train.LR_DROP_EPOCH,
                 "a positive number of epochs between LR drops (SCHEDULER.TYPE step)")
    if sched.TYPE == "Mstep" and not sched.MILESTONES:
        raise ConfigError(f"{source}: TRAIN.SCHEDULER.TYPE is Mstep but TRAIN.SCHEDULER.MILESTONES is empty; "
                          f"give the epochs at which the LR drops, e.g. [200, 250].")
    if sched.TYPE == "cosine":
        _require(sched.MIN_LR <= train.LR, source, "TRAIN.SCHEDULER.MIN_LR", sched.MIN_LR,
                 f"at most TRAIN.LR ({train.LR}): the cosine schedule decays from TRAIN.LR to MIN_LR")
    if train.OPTIMIZER == "SGD" and train.NESTEROV:
        _require(train.MOMENTUM > 0, source, "TRAIN.MOMENTUM", train.MOMENTUM,
                 "positive with TRAIN.NESTEROV true (Nesterov momentum needs a momentum)")


SCHEMA = ConfigSchema(script="ostrack", defaults=get_defaults, numeric_keys=_NUMERIC_KEYS, choices=_CHOICES,
                      validate=_validate, defaults_file="lib/config/ostrack/config.py")


def list_configs(script: str = "ostrack") -> list[str]:
    """Names of the experiment configs under experiments/<script>/."""
    return core.list_configs(script)


def config_path(name: str, script: str = "ostrack") -> Path:
    """Resolve a config name (experiments/<script>/<name>.yaml) or a path to a YAML file."""
    return core.config_path(script, name)


def merge_config(cfg: CfgNode, update: Mapping, source: str = "<overrides>") -> CfgNode:
    """Merge a nested dict of overrides into an unfrozen OSTrack config, validating keys and types."""
    return core.merge_config(SCHEMA, cfg, update, source)


def load_config(name: str, script: str = "ostrack", overrides: Mapping | None = None) -> CfgNode:
    """Load experiments/ostrack/<name>.yaml (or a YAML path) over the defaults; returns a frozen config.

    Args:
        name: config name without ``.yaml`` (e.g. ``vitb_256_mae_ce_32x4_ep300``) or a path to a YAML file.
        script: must be ``ostrack`` (kept for the original signature; other families have their own loaders).
        overrides: optional nested dict merged after the file (validated the same way).
    """
    if script != "ostrack":
        raise ConfigError(f"lib.config.ostrack.config.load_config loads OSTrack configs, not {script!r}; "
                          f"use lib.config.load_script_config({script!r}, name).")
    return core.load_config(SCHEMA, name, overrides)
