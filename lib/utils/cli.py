"""Helpers shared by the command-line entry points in ``tracking/``."""

import argparse
import logging
import sys
from typing import Callable

from lib.utils.errors import OSTrackError
from lib.utils.worker_errors import unwrap_worker_error

__all__ = ["run_cli", "int_flag", "setup_logging", "user_error_message"]


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with a short format, once per process."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            datefmt="%H:%M:%S")


def int_flag(text: str) -> int:
    """Parse a 0/1 flag as the original scripts do (``--use_lmdb 1``); anything else is an error.

    argparse ``type=bool`` would turn the string "False" into True (spec 8.1 item 5).
    """
    if text not in ("0", "1"):
        raise argparse.ArgumentTypeError(f"expected 0 or 1, got {text!r}")
    return int(text)


def user_error_message(err: BaseException) -> str | None:
    """The one-paragraph message of an error the user caused, or None for anything else (a bug: traceback).

    User errors are :class:`OSTrackError` subclasses (also when raised in a DataLoader worker, see
    :mod:`lib.utils.worker_errors`) and file-system failures on a named path (a file where a folder should be, no
    permission, a full disk), which the code cannot fix and which only the path explains.
    """
    err = unwrap_worker_error(err)
    if isinstance(err, OSTrackError):
        return str(err)
    if isinstance(err, OSError) and err.filename is not None:
        target = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 is not None else "")
        reason = err.strerror or type(err).__name__
        hint = {
            "FileExistsError": "a file is where a folder is expected; remove it or choose another path",
            "NotADirectoryError": "a file is where a folder is expected; remove it or choose another path",
            "IsADirectoryError": "a folder is where a file is expected; choose another path",
            "PermissionError": "choose a folder you can write to (e.g. with --save_dir) or fix the permissions",
            "FileNotFoundError": "check the path",
        }.get(type(err).__name__, "check the path, the free disk space and the permissions")
        return f"{reason}: {target}. Expected a usable path; {hint}."
    return None


def run_cli(main: Callable[[], int | None]) -> None:
    """Run an entry point; print user errors as one paragraph (exit 2) instead of a traceback."""
    setup_logging()
    try:
        code = main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        message = user_error_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
