"""One registry class for every "look a component up by name" table (training scripts, configs, models,
optimizers, schedulers, trackers, training and evaluation datasets), with the unknown-name message and its "did you
mean" hint in one place (:func:`did_you_mean` serves the other lookups: config keys, path settings).

Entries are objects or lazy ``"package.module:attribute"`` strings, so a table can name every family without
importing them all::

    MODELS = Registry("model builder", "--script", {"ostrack": "lib.models.ostrack:build_ostrack"})
    build = MODELS.get("ostrack")          # imported on first use
    MODELS.get("ostrak")                   # UnknownNameError: ... Did you mean `ostrack`? Known: ostrack.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from lib.utils.errors import ConfigError

__all__ = ["Registry", "UnknownNameError", "load_target", "did_you_mean"]

T = TypeVar("T")


class UnknownNameError(ConfigError, KeyError):
    """A name is not in a registry; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0])


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """`` Did you mean `x`?`` for the known name closest to ``name``, or '' when none is close."""
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def load_target(target: str) -> Any:
    """Import ``"package.module:attribute"`` (or a plain module path) and return the object."""
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


class Registry(Mapping[str, T]):
    """A name -> object table whose lookups fail with a one-paragraph message.

    Args:
        kind: what the entries are, for messages ("training script", "optimizer").
        where: where the name came from, for messages (e.g. the config key "TRAIN.OPTIMIZER").
        entries: initial entries (objects or lazy ``"module:attribute"`` strings).
        plural: the plural of ``kind`` (default: ``kind + "s"``).
        error: the exception class an unknown name raises (a subclass of :class:`UnknownNameError`).
        normalize: maps a looked-up name to its table key (e.g. ``str.lower`` for case-insensitive names).
    """

    def __init__(self, kind: str, where: str = "", entries: Mapping[str, Any] | None = None,
                 plural: str | None = None, error: type[UnknownNameError] = UnknownNameError,
                 normalize: Callable[[str], str] | None = None):
        self.kind = kind
        self.error = error
        self.normalize = normalize
        self.plural = plural or kind + "s"
        self.where = where
        self._entries: dict[str, Any] = dict(entries or {})

    def register(self, name: str, obj: Any = None) -> Any:
        """Add ``obj`` under ``name``; without ``obj``, a decorator. Re-registering a name is an error."""
        def add(target: Any) -> Any:
            if name in self._entries and self._entries[name] is not target:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = target
            return target

        return add if obj is None else add(obj)

    def get(self, name: str, where: str | None = None) -> Any:  # type: ignore[override]
        """The entry for ``name`` (imported if lazy); unknown names raise :class:`UnknownNameError`."""
        key = self._key(name)
        if key not in self._entries:
            raise self.error(self.unknown_message(name, where))
        value = self._entries[key]
        if isinstance(value, str):
            value = self._entries[key] = load_target(value)
        return value

    def unknown_message(self, name: str, where: str | None = None) -> str:
        where = where if where is not None else self.where
        origin = f"{where}: " if where else ""
        hint = did_you_mean(self._key(name), self._entries)
        return f"{origin}unknown {self.kind} {name!r}.{hint} Known {self.plural}: {', '.join(self.names())}."

    def _key(self, name: str) -> str:
        return self.normalize(name) if self.normalize is not None and isinstance(name, str) else name

    def names(self) -> list[str]:
        return list(self._entries)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def build(self, name: str, *args: Any, where: str | None = None, **kwargs: Any) -> Any:
        """Call the entry (a builder) with the given arguments."""
        factory: Callable[..., Any] = self.get(name, where)
        return factory(*args, **kwargs)
