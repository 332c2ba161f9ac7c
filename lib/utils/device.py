"""Checking a ``--device`` value before anything runs on it.

``torch.device("foo")`` raises a RuntimeError listing some thirty backend names, and ``cuda:7`` on a machine with
one GPU fails only at the first tensor moved there. :func:`resolve_device`, the one device parser of every command
(training, evaluation, tools), turns both, and CUDA asked for on a machine without it, into one :class:`DeviceError`
naming the value and what is accepted.
"""

from __future__ import annotations

import torch

from lib.utils.errors import OSTrackError

__all__ = ["DeviceError", "DEVICE_HELP", "resolve_device"]

DEVICE_HELP = "auto (CUDA when available, else the CPU), cpu, cuda or cuda:<index>"


class DeviceError(OSTrackError, ValueError):
    """A device string is malformed or names a device this machine does not have."""


def resolve_device(spec: str | None, local_rank: int = -1) -> torch.device:
    """Parse a device string, resolving ``auto`` (or None / empty) to CUDA when available, else the CPU.

    Args:
        spec: the value of ``--device``.
        local_rank: in a distributed CUDA run, the process's local rank: a bare ``cuda`` becomes ``cuda:<rank>``.

    Raises:
        DeviceError: not a device string, a device type other than cpu/cuda, or a CUDA device that is not there.
    """
    text = "auto" if spec is None or not str(spec).strip() else str(spec).strip().lower()
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise DeviceError(f"--device {spec!r} is not a device; expected {DEVICE_HELP}.") from None
    if device.type not in ("cpu", "cuda"):
        raise DeviceError(f"--device {spec!r}: the framework runs on the CPU or CUDA GPUs; expected {DEVICE_HELP}.")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {spec!r} asks for CUDA, but torch.cuda.is_available() is False on this "
                              f"machine. Use --device cpu (or auto).")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"--device {spec!r}: this machine has {count} visible CUDA device(s) (indices 0-"
                              f"{count - 1}); expected {DEVICE_HELP} with an index below {count}.")
        if local_rank >= 0 and device.index is None:
            device = torch.device("cuda", local_rank)
    return device
