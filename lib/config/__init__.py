"""Configs of every tracker family: ``load_script_config("siamrpn", "siamrpn_r50_l234_dwxcorr")``.

Each family (``--script`` name) declares its defaults and checks in ``lib/config/<script>/config.py`` as a
:class:`~lib.config.core.ConfigSchema` named ``SCHEMA``; :data:`CONFIG_SCHEMAS` maps the script name to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from lib.config import core
from lib.config.core import CfgNode, ConfigSchema
from lib.utils.registry import Registry

__all__ = ["CONFIG_SCHEMAS", "get_schema", "load_script_config", "script_config_path"]

CONFIG_SCHEMAS = Registry("tracker family", "--script", {
    "ostrack": "lib.config.ostrack.config:SCHEMA",
    "siamrpn": "lib.config.siamrpn.config:SCHEMA",
    "siamban": "lib.config.siamban.config:SCHEMA",
    "siamfcpp": "lib.config.siamfcpp.config:SCHEMA",
}, plural="tracker families")


def get_schema(script: str) -> ConfigSchema:
    """The config schema of a family (unknown names list the known ones)."""
    return CONFIG_SCHEMAS.get(script)


def script_config_path(script: str, name: str) -> Path:
    """experiments/<script>/<name>.yaml, or a YAML path; a missing config lists the existing ones."""
    get_schema(script)
    return core.config_path(script, name)


def load_script_config(script: str, name: str, overrides: Mapping | None = None) -> CfgNode:
    """Load a family's experiment config (frozen)."""
    return core.load_config(get_schema(script), name, overrides)
