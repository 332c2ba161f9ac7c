"""User errors raised inside DataLoader worker processes, restored to the one-paragraph error they are.

A DataLoader worker cannot send its exception object to the main process: torch re-raises it there as
``ExceptionType("Caught ExceptionType in DataLoader worker process N.\\nOriginal Traceback ...")``, i.e. with the
worker's whole traceback as the message, or as a RuntimeError when the type cannot be built from one string. A
sampling error (no valid sample, an unusable dataset) would thus reach the user as a traceback although it is an
:class:`OSTrackError` with a message written for them. :func:`unwrap_worker_error` recovers the original type and
message from that text; the worker traceback goes to the debug log. Errors that are not OSTrackErrors (bugs) are
returned unchanged, traceback included.
"""

from __future__ import annotations

import logging
import re
import sys

from lib.utils.errors import OSTrackError

__all__ = ["unwrap_worker_error", "is_worker_error"]

logger = logging.getLogger(__name__)

_HEADER = re.compile(r"Caught (\w+) in DataLoader worker process \d+\.\nOriginal Traceback")


def is_worker_error(err: BaseException) -> bool:
    """Whether ``err`` is torch's re-raise of an exception from a DataLoader worker."""
    return bool(_HEADER.match(str(err)))


def _qualified(cls: type) -> str:
    # the name traceback.format_exception prints before the message
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _class_from_text(text: str, name: str) -> type | None:
    """The OSTrackError subclass named ``name`` whose qualified name ends a line of ``text`` (already imported)."""
    for module_name, qualname in reversed(re.findall(rf"^([\w.]+)\.((?:\w+\.)*{re.escape(name)}):", text, re.M)):
        obj = sys.modules.get(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type) and issubclass(obj, OSTrackError):
            return obj
    return None


def unwrap_worker_error(err: BaseException) -> BaseException:
    """The OSTrackError a DataLoader worker raised, with its own message; ``err`` itself otherwise.

    Args:
        err: an exception caught in the main process while iterating a DataLoader.

    Returns:
        A new exception of the worker's OSTrackError subclass whose message is the worker's message (no
        traceback text), or ``err`` unchanged when it did not come from a worker or is not a user error.
    """
    text = str(err)
    match = _HEADER.match(text)
    if match is None:
        return err
    cls = type(err) if isinstance(err, OSTrackError) else _class_from_text(text, match.group(1))
    if cls is None:
        return err
    marker = f"\n{_qualified(cls)}: "
    start = text.rfind(marker)
    message = text[start + len(marker):].rstrip("\n") if start >= 0 else cls.__name__
    logger.debug("DataLoader worker traceback:\n%s", text)
    try:
        restored = cls(message)
    except Exception:  # noqa: BLE001 - a subclass with another signature: set the message directly
        restored = cls.__new__(cls)
        BaseException.__init__(restored, message)
    return restored
