"""Safe checkpoint loading: weights only, never executing code from the file.

Checkpoints written by this framework hold plain data and load with ``torch.load(weights_only=True)``.
Training checkpoints of the original OSTrack also pickle ``settings`` and ``stats`` objects (classes from the
original's ``lib.train.admin`` package, spec 3.9 and 8.5 item 34). Those classes are neither imported nor
executed here: each is replaced by an inert stub class that only stores the pickled attributes, and the
file is read by PyTorch's weights-only unpickler with the stubs allow-listed. A file that references any
other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused with a
:class:`~lib.utils.errors.CheckpointError`.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from lib.utils.errors import CheckpointError

__all__ = ["load_checkpoint", "load_net_state_dict", "extract_net_state_dict", "checkpoint_origin",
           "state_dict_mismatch", "PickledStub", "STUBBABLE_PREFIXES"]

logger = logging.getLogger(__name__)

# Globals that may be replaced by inert stubs: the original OSTrack / PyTracking packages (settings, stats,
# environment objects) and plain-data helpers. The stub never runs any code of the named class.
STUBBABLE_PREFIXES = ("lib.", "ltr.", "pytracking.", "numpy.", "argparse.Namespace", "easydict.")


class PickledStub:
    """Placeholder for an object of a class that was pickled but is deliberately not imported.

    The pickled state is kept: instance attributes for a dict state, else ``_stub_state``; constructor
    arguments (from a pickled call) in ``_stub_args``.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self._stub_args = args
        self._stub_kwargs = kwargs

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state, slots = state  # (dict state, slot state) as pickle writes for classes with __slots__
            self.__dict__.update(slots or {})
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._stub_state = state

    def __repr__(self) -> str:
        return f"<stub of {type(self).__module__}.{type(self).__qualname__}>"


def _make_stub(full_name: str) -> type:
    module, _, name = full_name.rpartition(".")
    return type(name, (PickledStub,), {"__module__": module, "__qualname__": name})


def _stubbable(full_name: str) -> bool:
    return any(full_name.startswith(prefix) for prefix in STUBBABLE_PREFIXES)


def _load_with_stubs(path: Path, map_location: Any, first_error: Exception) -> Any:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as err:  # a legacy (non-zip) file or a corrupt archive cannot be inspected safely
        raise CheckpointError(
            f"{path} cannot be loaded safely: it holds Python objects that the weights-only loader rejects "
            f"({first_error}) and the file cannot be inspected ({type(err).__name__}: {err}). Re-save it as "
            f"plain tensors and numbers, e.g. torch.save({{'net': state_dict}}, path).") from None
    refused = [n for n in names if not _stubbable(n)]
    if refused:
        raise CheckpointError(
            f"refusing to load {path}: it references {', '.join(refused)}, which a model checkpoint never "
            f"needs and which could run code when unpickled. Only tensors, plain data and (as inert stubs) "
            f"objects of the original OSTrack/PyTracking packages are read. Use a checkpoint from a source "
            f"you trust.")
    stubs = [(_make_stub(n), n) for n in names]
    try:
        with torch.serialization.safe_globals(stubs):
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"refusing to load {path}: its pickled objects cannot be read as plain data "
                              f"({err}).") from None
    logger.info("%s: read %d pickled class(es) as inert stubs (not imported): %s", path, len(names),
                ", ".join(names))
    return obj


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint dict without executing code from the file.

    Args:
        path: a ``.pth``/``.pth.tar`` file written by ``torch.save`` (ours, an original OSTrack training
            checkpoint, or a pretrained-weights file).
        map_location: as for ``torch.load``.

    Returns:
        The saved dict; objects of the original's classes (``settings``, ``stats``) come back as
        :class:`PickledStub` instances.

    Raises:
        CheckpointError: the file is missing, unreadable, not a dict, or references globals that could run
            code (a malicious or foreign pickle).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist.")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        obj = _load_with_stubs(path, map_location, err)
    except Exception as err:  # a truncated or foreign file can make the unpickler raise almost anything
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}: {err}). "
                              f"The file may be truncated or not a torch.save file.") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, expected a dict (a state dict, or a "
                              f"checkpoint dict with a 'net' entry).")
    return obj


def load_net_state_dict(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, torch.Tensor]:
    """The model state dict of a checkpoint: its ``net`` entry, or the whole dict if it is one already.

    Args:
        path: checkpoint file (e.g. ``OSTrack_ep0300.pth.tar``).
        map_location: as for ``torch.load``.

    Raises:
        CheckpointError: as :func:`load_checkpoint`, or when the file holds neither a ``net`` dict nor a
            state dict.
    """
    return extract_net_state_dict(load_checkpoint(path, map_location=map_location), path)


def extract_net_state_dict(ckpt: dict, path: str | os.PathLike = "<checkpoint>") -> dict[str, torch.Tensor]:
    """The model state dict inside a loaded checkpoint dict (see :func:`load_net_state_dict`)."""
    if "net" in ckpt:
        net = ckpt["net"]
        if not isinstance(net, dict):
            raise CheckpointError(f"{path}: the 'net' entry is a {type(net).__name__}, expected a state dict.")
        return net
    if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt
    raise CheckpointError(f"{path} has no 'net' entry and is not a state dict; its top-level keys are: "
                          f"{', '.join(map(str, list(ckpt)[:20]))}.")


def checkpoint_origin(ckpt: dict) -> str:
    """Which run wrote a checkpoint, from its ``settings`` (ours, or an original's pickled object) or ``cfg``.

    Returns:
        e.g. "config 'vitb_256_mae_ce_32x4_ep300' (script ostrack, backbone vit_base_patch16_224_ce)", or
        "an unnamed config" when the file does not say.
    """
    settings = ckpt.get("settings")
    get = settings.get if isinstance(settings, dict) else (lambda key: getattr(settings, key, None))
    name, script = get("config_name"), get("script_name")
    parts = [f"script {script}"] if isinstance(script, str) else []
    cfg = ckpt.get("cfg")
    backbone = cfg.get("MODEL", {}).get("BACKBONE", {}).get("TYPE") if isinstance(cfg, dict) else None
    if isinstance(backbone, str):
        parts.append(f"backbone {backbone}")
    what = f"config {name!r}" if isinstance(name, str) else "an unnamed config"
    return what + (f" ({', '.join(parts)})" if parts else "")


def state_dict_mismatch(expected: dict[str, torch.Tensor], found: dict[str, Any], limit: int = 3) -> str:
    """A short account of how ``found`` differs from a model's ``expected`` state dict (keys and shapes)."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} {tuple(found[k].shape)} instead of {tuple(expected[k].shape)}" for k in expected
              if k in found and hasattr(found[k], "shape") and tuple(found[k].shape) != tuple(expected[k].shape)]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("of another shape", shapes)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            parts.append(f"{len(items)} {label} ({'; '.join(items[:limit])}{more})")
    return ", ".join(parts) if parts else "no difference in keys or shapes"
