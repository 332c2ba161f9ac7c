"""Helpers shared by the command-line entry points in ``tracking/``."""

import argparse
import logging
import sys
from typing import Callable

from lib.utils.errors import OSTrackError

__all__ = ["run_cli", "int_flag", "setup_logging"]


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


def run_cli(main: Callable[[], int | None]) -> None:
    """Run an entry point; print user errors as one paragraph (exit 2) instead of a traceback."""
    setup_logging()
    try:
        code = main()
    except OSTrackError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
