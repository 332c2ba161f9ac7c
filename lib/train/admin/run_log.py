"""The run's log file ``<save_dir>/logs/<script>-<config>.log``, written by the main process only.

The original appended only the statistics lines, from every rank (spec 8.5 item 32). Here the main process
writes every INFO message of the ``lib`` loggers (so "resumed from ..." is in the file too); INFO lines are
written bare, so the statistics lines read exactly as the original's, and other levels get a prefix.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["attach_log_file", "detach_log_file"]


class _PlainInfoFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message if record.levelno == logging.INFO else f"{record.levelname}: {message}"


def attach_log_file(path: str | os.PathLike, logger_name: str = "lib") -> logging.Handler:
    """Append the ``lib`` loggers' INFO+ messages to ``path``; returns the handler (detach it when done)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(_PlainInfoFormatter())
    log = logging.getLogger(logger_name)
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    return handler


def detach_log_file(handler: logging.Handler, logger_name: str = "lib") -> None:
    logging.getLogger(logger_name).removeHandler(handler)
    handler.close()
