"""The script-independent config core: a freezable attribute dict and a strict YAML merge against a schema.

Every tracker family (``--script``) keeps its defaults, with its original key names, in
``lib/config/<script>/config.py`` and describes them with a :class:`ConfigSchema`; the merge, the type checks,
the "did you mean" suggestions, the cross-key validation hook and the freezing live here once::

    cfg = load_config(SCHEMA, "siamrpn_r50_l234_dwxcorr")     # experiments/siamrpn/<name>.yaml or a path
    cfg = load_config(SCHEMA, "x.yaml", overrides={"TRAIN": {"EPOCH": 2}})

Rules (the original projects used yacs, which is strict in the same way): a key that is not in the defaults
is an error naming the closest valid key, except below an *open* node (yacs' ``new_allowed``: PySOT's
``*.KWARGS`` and ``DATASET``); a value must have the default's type (an integer is accepted where a number is
expected, and both kinds wherever the schema lists the key as numeric); ``choices`` restrict strings; keys
listed as *ignored* are accepted, reported once and dropped (keys of released YAMLs that the original could
not load). A YAML file with a duplicated key or no content is an error (the last duplicate used to win
silently).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

from lib.utils.registry import did_you_mean
from lib.utils.errors import ConfigError

__all__ = ["CfgNode", "ConfigSchema", "load_config", "merge_config", "config_path", "list_configs", "save_config",
           "iter_keys", "read_yaml", "EXPERIMENTS_DIR", "PROJECT_ROOT"]

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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


@dataclasses.dataclass(frozen=True)
class ConfigSchema:
    """What a family's config accepts.

    Args:
        script: the family's ``--script`` name; its experiments are ``experiments/<script>/*.yaml``.
        defaults: returns a fresh, unfrozen tree of every default key (the family's original names).
        numeric_keys: dotted keys where an integer and a number are both accepted whatever the default's type
            (for a list default: every element).
        choices: dotted key -> allowed values.
        open_nodes: dotted keys of nodes whose children are free (yacs ``new_allowed``); a value there is taken
            as given (mappings become nodes).
        ignored_keys: dotted keys accepted and dropped with a warning.
        validate: cross-key and value checks, ``validate(cfg, source)``, raising ConfigError.
        defaults_file: shown in the unknown-key message ("every key must exist in ...").
    """

    script: str
    defaults: Callable[[], CfgNode]
    numeric_keys: frozenset = frozenset()
    choices: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    open_nodes: tuple = ()
    ignored_keys: tuple = ()
    validate: Callable[[CfgNode, str], None] | None = None
    defaults_file: str = ""

    def is_open(self, dotted_key: str) -> bool:
        """Whether the node at ``dotted_key`` takes new keys (its declared children stay strict)."""
        return dotted_key in self.open_nodes


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(schema: ConfigSchema, key: str, default: Any, value: Any, source: str) -> Any:
    """Return the value if its type fits the default's, else raise a ConfigError naming key and file."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{source}: key {key} must be {expected}, but the file gives {value!r} "
                           f"({_type_name(value)}). The default is {default!r}.")

    numeric = key in schema.numeric_keys
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("a boolean (true or false)")
    elif numeric and not isinstance(default, (list, tuple)):
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
    elif isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise fail("a list")
        value = list(value)
        if numeric:
            if not all(_is_number(v) for v in value):
                raise fail("a list of numbers")
        elif default:
            if _is_number(default[0]):
                if not all(_is_number(v) for v in value):
                    raise fail("a list of numbers")
                if isinstance(default[0], float):
                    value = [float(v) for v in value]
            elif not all(isinstance(v, type(default[0])) for v in value):
                raise fail(f"a list of {type(default[0]).__name__} values")
    elif default is None:
        pass  # a key whose default is null takes any value
    if key in schema.choices and value not in schema.choices[key]:
        raise ConfigError(f"{source}: key {key} is {value!r}, but it must be one of "
                          f"{', '.join(map(repr, schema.choices[key]))}.")
    return copy.deepcopy(value)


def _all_keys(node: CfgNode, prefix: str = "") -> list[str]:
    keys = []
    for k, v in node.items():
        keys.append(prefix + k)
        if isinstance(v, CfgNode):
            keys.extend(_all_keys(v, prefix + k + "."))
    return keys


def _suggest(key: str, node: CfgNode, defaults: CfgNode) -> str:
    hint = did_you_mean(key, node.keys())
    if hint:
        return hint
    # The key may belong to another section (e.g. LR under DATA instead of TRAIN).
    elsewhere = [k for k in _all_keys(defaults) if k.split(".")[-1] == key]
    if elsewhere:
        return f" A key of that name exists at {', '.join(elsewhere[:5])}."
    return f" Valid keys here: {', '.join(node.keys())}."


def _merge(schema: ConfigSchema, node: CfgNode, update: Mapping, source: str, defaults: CfgNode,
           prefix: str = "", declared: CfgNode | None = None) -> None:
    """Merge ``update`` into ``node``. ``declared`` is the matching node of the defaults tree, None for a node
    that a file created below an open node (whose keys are then free)."""
    declared = defaults if declared is None and not prefix else declared
    for key, value in update.items():
        full_key = prefix + str(key)
        if full_key in schema.ignored_keys:
            logger.warning("%s: key %s is not used by this framework (nor by the original code); ignored.",
                           source, full_key)
            continue
        free = declared is None or schema.is_open(prefix.rstrip("."))
        if key not in node:
            if free:
                node[key] = CfgNode(value) if isinstance(value, dict) else copy.deepcopy(value)
                continue
            where = f" Every key must exist in {schema.defaults_file}." if schema.defaults_file else ""
            raise ConfigError(f"{source}: unknown key {full_key}.{_suggest(str(key), node, defaults)}{where}")
        default = node[key]
        child_declared = declared.get(key) if declared is not None else None
        if isinstance(default, CfgNode):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: key {full_key} must be a mapping of sub-keys "
                                  f"({', '.join(default.keys()) or 'free keys'}), but the file gives {value!r}.")
            _merge(schema, default, value, source, defaults, full_key + ".",
                   child_declared if isinstance(child_declared, CfgNode) else None)
        elif child_declared is None and free:
            node[key] = CfgNode(value) if isinstance(value, dict) else copy.deepcopy(value)
        else:
            node[key] = _check_value(schema, full_key, default, value, source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"{loader.name}: key {key!r} appears twice in the same section (lines {seen[key]} and "
                              f"{key_node.start_mark.line + 1}); the later one would silently win. Keep one.")
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_yaml(path: str | Path, what: str = "sections") -> dict:
    """A YAML file that must hold a mapping; duplicate keys, empty files and syntax errors are ConfigErrors."""
    source = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            loader = _UniqueKeyLoader(f)
            loader.name = source
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err}).") from None
    if data is None:
        raise ConfigError(f"{source}: the file is empty; an experiment YAML holds a mapping of {what}.")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of {what}, got {_type_name(data)}.")
    return data


def list_configs(script: str) -> list[str]:
    """Names of the experiment configs under experiments/<script>/."""
    folder = EXPERIMENTS_DIR / script
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def config_path(script: str, name: str) -> Path:
    """Resolve a config name (experiments/<script>/<name>.yaml) or a path to a YAML file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = EXPERIMENTS_DIR / script / f"{name.removesuffix('.yaml')}.yaml"
    if path.is_file():
        return path
    known = list_configs(script)
    hint = did_you_mean(name, known)
    raise ConfigError(f"config {name!r} does not exist: looked for {path}.{hint} "
                      f"Configs in {EXPERIMENTS_DIR / script}: {', '.join(known) or '(none)'}.")


def merge_config(schema: ConfigSchema, cfg: CfgNode, update: Mapping, source: str = "<overrides>") -> CfgNode:
    """Merge a nested dict of overrides into an unfrozen config, validating keys, types and values."""
    _merge(schema, cfg, update, source, schema.defaults())
    if schema.validate is not None:
        schema.validate(cfg, source)
    return cfg


def load_config(schema: ConfigSchema, name: str, overrides: Mapping | None = None) -> CfgNode:
    """Load experiments/<script>/<name>.yaml (or a YAML path) over the schema's defaults; returns a frozen config.

    Args:
        schema: the family's schema.
        name: config name without ``.yaml`` or a path to a YAML file.
        overrides: optional nested dict merged after the file (validated the same way).
    """
    path = config_path(schema.script, name)
    source = str(path)
    data = read_yaml(path)
    defaults = schema.defaults()
    cfg = schema.defaults()
    _merge(schema, cfg, data, source, defaults)
    if overrides:
        _merge(schema, cfg, overrides, "<overrides>", defaults)
    if schema.validate is not None:
        schema.validate(cfg, source)
    return cfg.freeze()


def save_config(cfg: CfgNode, path: str | Path) -> Path:
    """Write the merged config as YAML (e.g. into the run's output folder), atomically."""
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
