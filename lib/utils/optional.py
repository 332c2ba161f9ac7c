"""Optional dependencies: import one on first use, or fail with one message that says who needs it and how to
install it (``pip install <package>``; every optional package is listed in requirements.txt)."""

from __future__ import annotations

import importlib
from types import ModuleType

from lib.utils.errors import OSTrackError

__all__ = ["import_optional"]


def import_optional(module: str, user: str, what: str, package: str,
                    error: type[OSTrackError] = OSTrackError, submodules: tuple[str, ...] = ()) -> ModuleType:
    """Import ``module`` (and ``submodules``, which ``import module`` alone does not load) and return ``module``.

    Args:
        module: the module to import (``"optuna"``).
        user: what needs it, for the message (``"tracking/tune.py"``).
        what: how the message names the dependency (``"optuna"``, ``"the package vot-trax"``).
        package: the pip package that provides it.
        error: the exception class raised when it is missing.
        submodules: further modules to import, e.g. ``("trax.server",)``.

    Raises:
        error: the import failed; the message holds the import error and the pip command.
    """
    try:
        imported = importlib.import_module(module)
        for name in submodules:
            importlib.import_module(name)
    except ImportError as err:
        raise error(f"{user} needs {what} ({err}); install it with `pip install {package}` (it is in "
                    f"requirements.txt).") from None
    return imported
