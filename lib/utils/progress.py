"""Progress bars with an ETA for long jobs, off when nobody watches.

A bar is drawn on stderr only when stderr is a terminal (a log file or a CI job gets no bar characters) and the
caller did not switch it off (``--no_progress``). The jobs keep their own log lines, so a run without a bar still
reports its progress.
"""

from __future__ import annotations

import sys
from typing import Iterable, TypeVar

from tqdm import tqdm

__all__ = ["progress_enabled", "progress"]

T = TypeVar("T")


def progress_enabled(enabled: bool | None = None) -> bool:
    """``enabled`` when given, else whether stderr is a terminal."""
    if enabled is not None:
        return bool(enabled)
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def progress(iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool | None = None) -> tqdm:
    """A tqdm bar (elapsed time, rate and ETA) over ``iterable`` or for ``total`` manual updates.

    Args:
        iterable: items to iterate (None: call ``update(n)`` yourself).
        total: number of items (default ``len(iterable)`` when it has one).
        desc: label in front of the bar.
        unit: what one item is ("seq", "file", ...).
        enabled: True/False to force; None: on when stderr is a terminal.
    """
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not progress_enabled(enabled),
                dynamic_ncols=True, file=sys.stderr)
