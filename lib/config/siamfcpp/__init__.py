"""SiamFC++ configuration (video_analyst's tree and key names): ``load_config``, ``get_defaults``, ``SCHEMA``."""

from lib.config.siamfcpp.config import SCHEMA, get_defaults, list_configs, load_config, merge_config

__all__ = ["SCHEMA", "get_defaults", "list_configs", "load_config", "merge_config"]
