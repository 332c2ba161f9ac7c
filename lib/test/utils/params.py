"""Test-time tracker parameters (the original's TrackerParams)."""

from __future__ import annotations

from typing import Any

__all__ = ["TrackerParams"]


class TrackerParams:
    """A plain attribute bag with ``get(name, default)``, ``has(name)`` and ``set_default_values``."""

    def __init__(self, **values: Any):
        for name, value in values.items():
            setattr(self, name, value)

    def set_default_values(self, defaults: dict) -> None:
        for name, value in defaults.items():
            if not hasattr(self, name):
                setattr(self, name, value)

    def get(self, name: str, *default: Any) -> Any:
        if len(default) > 1:
            raise ValueError("get() takes at most one default value")
        if not default:
            return getattr(self, name)
        return getattr(self, name, default[0])

    def has(self, name: str) -> bool:
        return hasattr(self, name)

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k != "cfg"}
        return f"TrackerParams({shown})"
