"""User-facing errors.

Every error a researcher can cause by bad input (a wrong path, a bad YAML key, a broken file) is raised as a
subclass of :class:`OSTrackError` with a one-paragraph message that names what was wrong and what was expected.
The command-line entry points catch these and print the message instead of a traceback
(see :func:`lib.utils.cli.run_cli`).
"""

__all__ = ["OSTrackError", "ConfigError", "PathSettingsError", "DatasetNotFoundError", "CheckpointError"]


class OSTrackError(Exception):
    """Base class of errors whose message is meant for the user, not for a debugger."""


class ConfigError(OSTrackError, ValueError):
    """An experiment YAML or config name is invalid."""


class PathSettingsError(OSTrackError):
    """A path setting (data, output, pretrained models, a dataset root) is missing or invalid."""


class DatasetNotFoundError(PathSettingsError, FileNotFoundError):
    """A dataset directory does not exist where the path settings point."""


class CheckpointError(OSTrackError):
    """A checkpoint or pretrained-weights file is missing, unreadable or does not match the model."""
