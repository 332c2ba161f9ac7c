"""Command-line config overrides: ``--opts TRAIN.EPOCH 2 TEST.SEARCH_FACTOR 4.5`` -> a nested dict.

Every command that loads an experiment config (train.py, test.py, tune.py) accepts ``--opts KEY VALUE ...``.
This module only turns the words into a nested dict; the config merge (lib.config.core) then checks the keys
(an unknown key names the closest valid one) and the types, exactly as for a YAML file. Values are read with
``yaml.safe_load``, so ``2`` is an integer, ``0.5`` a number, ``true`` a boolean, ``[3, 6, 9]`` a list and
``GOT10K_vottrain`` a string, as they would be in the experiment YAML.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Mapping, Sequence

import yaml

from lib.utils.errors import ConfigError

__all__ = ["parse_opts", "parse_value", "nested"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# PyYAML follows YAML 1.1, where a float needs a dot: "1e-4" would stay a string and fail the type check
# with a confusing message, so exponent notation without a dot is read as a number here.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)[eE][-+]?\d+$")


def parse_value(key: str, text: str, flag: str = "--opts") -> Any:
    """One override value as YAML reads it (``1e-4`` included as a number).

    Args:
        key: the dotted key the value belongs to (for the error message).
        text: the value as typed.
        flag: the command-line flag, for messages.
    """
    if text.strip() == "":
        raise ConfigError(f"{flag}: the value of {key} is empty; give a value after every key "
                          f"({flag} KEY VALUE ...).")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        problem = str(err).splitlines()[0]
        raise ConfigError(f"{flag}: the value {text!r} of {key} is not valid YAML ({problem}); quote lists and "
                          f"mappings for the shell, e.g. {flag} {key} '[3, 6, 9]'.") from None
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value.strip()):
        value = float(value)
    return value


def parse_opts(opts: Sequence[str] | str | None, flag: str = "--opts") -> dict:
    """``KEY VALUE`` pairs -> nested dict: ``"TRAIN.EPOCH 2 TEST.EPOCH 3"`` -> ``{TRAIN: {EPOCH: 2}, TEST: {...}}``.

    Args:
        opts: the words after the flag (argparse ``nargs="*"``), or one string split as a shell would.
        flag: the command-line flag, named in error messages.

    Raises:
        ConfigError: an odd number of words, a word that is not a dotted key where a key is expected, a key given
            twice, a key that is also the section of another key, or a value that is not valid YAML.
    """
    if opts is None:
        return {}
    words = shlex.split(opts) if isinstance(opts, str) else list(opts)
    if len(words) % 2:
        raise ConfigError(f"{flag} takes KEY VALUE pairs, but got {len(words)} words ({' '.join(words)}); "
                          f"the last key {words[-1]!r} has no value. Example: {flag} TRAIN.EPOCH 2 TEST.EPOCH 3.")
    flat: dict[str, Any] = {}
    seen: set[str] = set()
    for key, text in zip(words[0::2], words[1::2]):
        if not _KEY.match(key):
            raise ConfigError(f"{flag}: {key!r} is not a config key; expected dotted names such as "
                              f"TEST.SEARCH_FACTOR, each followed by its value ({flag} KEY VALUE ...).")
        if key in seen:
            raise ConfigError(f"{flag}: key {key} is given twice; give each key once.")
        clash = next((k for k in seen if k.startswith(key + ".") or key.startswith(k + ".")), None)
        if clash is not None:
            raise ConfigError(f"{flag}: keys {clash} and {key} overlap (one is a section of the other); set the "
                              f"single keys inside the section instead.")
        seen.add(key)
        flat[key] = parse_value(key, text, flag)
    return nested(flat)


def nested(flat: Mapping[str, Any]) -> dict:
    """``{'A.B': 1}`` -> ``{'A': {'B': 1}}``."""
    out: dict = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
