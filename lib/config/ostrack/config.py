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

import copy
import difflib
from pathlib import Path
from typing import Any, Iterable

import yaml

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
]

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"


class CfgNode(dict):
    """A dict with attribute access that can be frozen recursively (like yacs' CfgNode)."""

    def __init__(self, mapping: dict | None = None):
        super().__init__()
        object.__setattr__(self, "_frozen", False)
        for key, value in (mapping or {}).items():
            self[key] = CfgNode(value) if isinstance(value, dict) and not isinstance(value, CfgNode) else value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}; known keys: {', '.join(self.keys())}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if self._frozen:
            raise ConfigError(f"the config is frozen after loading; cannot set {key!r}. "
                              f"Change the experiment YAML instead, or call .clone() for an editable copy.")
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if self._frozen:
            raise ConfigError(f"the config is frozen after loading; cannot delete {key!r}.")
        super().__delitem__(key)

    def freeze(self) -> "CfgNode":
        for value in self.values():
            if isinstance(value, CfgNode):
                value.freeze()
        object.__setattr__(self, "_frozen", True)
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def clone(self) -> "CfgNode":
        """An unfrozen deep copy."""
        return CfgNode(self.to_dict())

    def to_dict(self) -> dict:
        return {k: v.to_dict() if isinstance(v, CfgNode) else copy.deepcopy(v) for k, v in self.items()}

    def __deepcopy__(self, memo):
        node = CfgNode(self.to_dict())
        return node.freeze() if self._frozen else node

    def __reduce__(self):
        return (_rebuild_node, (self.to_dict(), self._frozen))


def _rebuild_node(mapping: dict, frozen: bool) -> CfgNode:
    node = CfgNode(mapping)
    return node.freeze() if frozen else node


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
            "OPTIMIZER": "ADAMW",
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
_NUMERIC_KEYS = {
    "DATA.TEMPLATE.CENTER_JITTER", "DATA.TEMPLATE.SCALE_JITTER", "DATA.SEARCH.CENTER_JITTER",
    "DATA.SEARCH.SCALE_JITTER", "DATA.TRAIN.DATASETS_RATIO", "DATA.VAL.DATASETS_RATIO",
    "MODEL.BACKBONE.CE_KEEP_RATIO", "TRAIN.SCHEDULER.MILESTONES",
}
_CHOICES = {
    "MODEL.BACKBONE.CE_TEMPLATE_RANGE": ("ALL", "CTR_POINT", "CTR_REC", "GT_BOX"),
    "MODEL.BACKBONE.CAT_MODE": ("direct", "template_central", "partition"),
    "TRAIN.OPTIMIZER": ("ADAMW",),
    "TRAIN.SCHEDULER.TYPE": ("step", "Mstep", "cosine"),
    "TRAIN.AMP_DTYPE": ("float16", "bfloat16"),
    "DATA.SAMPLER_MODE": ("causal", "trident", "trident_pro", "stark"),
}


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(key: str, default: Any, value: Any, source: str) -> Any:
    """Return the value if its type fits the default's, else raise a ConfigError naming key and file."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{source}: key {key} must be {expected}, but the file gives {value!r} "
                           f"({_type_name(value)}). The default is {default!r}.")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("a boolean (true or false)")
    elif key in _NUMERIC_KEYS and not isinstance(default, list):
        if not _is_number(value):
            raise fail("a number")
    elif isinstance(default, float):
        if not _is_number(value):
            raise fail("a number")
        value = float(value)
    elif isinstance(default, int):
        if not (isinstance(value, int) and not isinstance(value, bool)):
            raise fail("an integer")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise fail("a string")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise fail("a list")
        if key in _NUMERIC_KEYS:
            if not all(_is_number(v) for v in value):
                raise fail("a list of numbers")
        elif default:
            if _is_number(default[0]):
                if not all(_is_number(v) for v in value):
                    raise fail("a list of numbers")
            elif not all(isinstance(v, type(default[0])) for v in value):
                raise fail(f"a list of {type(default[0]).__name__} values")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{source}: key {key} is {value!r}, but it must be one of "
                          f"{', '.join(map(repr, _CHOICES[key]))}.")
    return copy.deepcopy(value)


def _all_keys(node: CfgNode, prefix: str = "") -> list[str]:
    keys = []
    for k, v in node.items():
        keys.append(prefix + k)
        if isinstance(v, CfgNode):
            keys.extend(_all_keys(v, prefix + k + "."))
    return keys


def _suggest(key: str, node: CfgNode, full_key: str, defaults: CfgNode) -> str:
    close = difflib.get_close_matches(key, list(node.keys()), n=1, cutoff=0.6)
    if close:
        return f" Did you mean `{close[0]}`?"
    # The key may belong to another section (e.g. LR under DATA instead of TRAIN).
    elsewhere = [k for k in _all_keys(defaults) if k.split(".")[-1] == key]
    if elsewhere:
        return f" A key of that name exists at {', '.join(elsewhere)}."
    return f" Valid keys here: {', '.join(node.keys())}."


def _merge(node: CfgNode, update: dict, source: str, defaults: CfgNode, prefix: str = "") -> None:
    for key, value in update.items():
        full_key = prefix + str(key)
        if key not in node:
            raise ConfigError(f"{source}: unknown key {full_key}.{_suggest(str(key), node, full_key, defaults)} "
                              f"Every key must exist in lib/config/ostrack/config.py.")
        default = node[key]
        if isinstance(default, CfgNode):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: key {full_key} must be a mapping of sub-keys "
                                  f"({', '.join(default.keys())}), but the file gives {value!r}.")
            _merge(default, value, source, defaults, full_key + ".")
        else:
            node[key] = _check_value(full_key, default, value, source)


def _validate(cfg: CfgNode, source: str) -> None:
    """Checks that involve several keys."""
    for split in ("TRAIN", "VAL"):
        names = cfg.DATA[split].DATASETS_NAME
        ratios = cfg.DATA[split].DATASETS_RATIO
        if len(names) != len(ratios):
            raise ConfigError(
                f"{source}: DATA.{split}.DATASETS_RATIO has {len(ratios)} entries ({ratios}) but "
                f"DATA.{split}.DATASETS_NAME has {len(names)} ({names}); give one sampling ratio per dataset.")
        for name in names:
            if name not in TRAIN_DATASET_NAMES:
                close = difflib.get_close_matches(name, TRAIN_DATASET_NAMES, n=1)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                raise ConfigError(f"{source}: DATA.{split}.DATASETS_NAME names an unknown dataset {name!r}.{hint} "
                                  f"Known datasets: {', '.join(TRAIN_DATASET_NAMES)}.")
        if any(r < 0 for r in ratios) or (ratios and sum(ratios) <= 0):
            raise ConfigError(f"{source}: DATA.{split}.DATASETS_RATIO must be non-negative numbers with a "
                              f"positive sum, got {ratios}.")
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
    sched = cfg.TRAIN.SCHEDULER
    if sched.TYPE == "Mstep" and not sched.MILESTONES:
        raise ConfigError(f"{source}: TRAIN.SCHEDULER.TYPE is Mstep but TRAIN.SCHEDULER.MILESTONES is empty; "
                          f"give the epochs at which the LR drops, e.g. [200, 250].")


def list_configs(script: str = "ostrack") -> list[str]:
    """Names of the experiment configs under experiments/<script>/."""
    folder = EXPERIMENTS_DIR / script
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def config_path(name: str, script: str = "ostrack") -> Path:
    """Resolve a config name (experiments/<script>/<name>.yaml) or a path to a YAML file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = EXPERIMENTS_DIR / script / f"{name.removesuffix('.yaml')}.yaml"
    if path.is_file():
        return path
    known = list_configs(script)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise ConfigError(f"config {name!r} does not exist: looked for {path}.{hint} "
                      f"Configs in {EXPERIMENTS_DIR / script}: {', '.join(known) or '(none)'}.")


def merge_config(cfg: CfgNode, update: dict, source: str = "<overrides>") -> CfgNode:
    """Merge a nested dict of overrides into an unfrozen config, validating keys and types."""
    _merge(cfg, update, source, get_defaults())
    _validate(cfg, source)
    return cfg


def load_config(name: str, script: str = "ostrack", overrides: dict | None = None) -> CfgNode:
    """Load experiments/<script>/<name>.yaml (or a YAML path) over the defaults; returns a frozen config.

    Args:
        name: config name without ``.yaml`` (e.g. ``vitb_256_mae_ce_32x4_ep300``) or a path to a YAML file.
        script: the experiments sub-folder (only ``ostrack`` in this framework).
        overrides: optional nested dict merged after the file (validated the same way).
    """
    path = config_path(name, script)
    source = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err}).") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of sections (MODEL, TRAIN, DATA, TEST), "
                          f"got {_type_name(data)}.")
    cfg = get_defaults()
    _merge(cfg, data, source, get_defaults())
    if overrides:
        _merge(cfg, overrides, "<overrides>", get_defaults())
    _validate(cfg, source)
    return cfg.freeze()


def save_config(cfg: CfgNode, path: str | Path) -> Path:
    """Write the merged config as YAML (e.g. into the run's output folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False, default_flow_style=None)
    tmp.replace(path)
    return path


def iter_keys(cfg: CfgNode) -> Iterable[str]:
    """All dotted keys of a config (sections included)."""
    return _all_keys(cfg)
