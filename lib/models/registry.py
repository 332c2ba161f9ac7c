"""A name -> constructor table with an error that lists the known names.

Backbones are keyed by ``MODEL.BACKBONE.TYPE`` and heads by ``MODEL.HEAD.TYPE``
(see :mod:`lib.models.ostrack.registry`).
"""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from lib.utils.errors import ConfigError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A dict of named constructors; unknown names raise a ConfigError listing the known ones.

    Args:
        kind: what the registry holds, used in error messages (e.g. "backbone").
        config_key: the config key that selects an entry (e.g. "MODEL.BACKBONE.TYPE").
    """

    def __init__(self, kind: str, config_key: str):
        self.kind = kind
        self.config_key = config_key
        self._table: dict[str, Callable[..., T]] = {}

    def register(self, name: str, constructor: Callable[..., T]) -> Callable[..., T]:
        """Add ``constructor`` under ``name``; a name can be registered once."""
        if name in self._table:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._table[name] = constructor
        return constructor

    def get(self, name: str) -> Callable[..., T]:
        """The constructor registered under ``name``."""
        if name not in self._table:
            close = difflib.get_close_matches(name, list(self._table), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r} ({self.config_key}).{hint} "
                              f"Known {self.kind} types: {', '.join(self._table)}.")
        return self._table[name]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)
