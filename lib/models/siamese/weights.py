"""Loading pretrained backbones and whole-model snapshots of the PySOT family (spec 3.10).

``load_pretrain`` is PySOT's non-strict loader (backbone weights such as ``resnet50.model``, or
TRAIN.PRETRAINED), but it names every missing and unused key in a warning and fails on a file that fits
nothing or on shape mismatches (quirk 33: the original only logged counts and could leave a model silently
random). ``load_model_weights`` reads a released ``model.pth`` or this framework's checkpoint for a strict
``load_state_dict``.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lib.utils.errors import CheckpointError

__all__ = ["load_pretrain", "load_model_weights", "remove_prefix"]

logger = logging.getLogger(__name__)

MODULE_PREFIX = "module."
# Where a checkpoint file may nest its weights: PySOT snapshots ("state_dict"), other trainers ("model"),
# this framework's checkpoints ("net").
_CONTAINERS = ("state_dict", "model", "net")


def remove_prefix(state_dict: dict[str, torch.Tensor], prefix: str = MODULE_PREFIX) -> dict[str, torch.Tensor]:
    """Drop a leading ``prefix`` (DataParallel / DistributedDataParallel's ``module.``) from every key."""
    if any(k.startswith(prefix) for k in state_dict):
        logger.info("remove prefix '%s'", prefix)
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state_dict.items()}


def _read_state_dict(path: str | PathLike, containers: tuple[str, ...]) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} does not exist: expected a PyTorch file with a state dict "
                              f"(check the path in the config or on the command line).")
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means an unusable file
        raise CheckpointError(f"weights file {path} could not be read ({type(err).__name__}: {err}): expected a "
                              f"file written by torch.save holding only tensors and plain data.") from err
    if isinstance(data, dict):
        for name in containers:
            if isinstance(data.get(name), dict):
                data = data[name]
                break
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise CheckpointError(f"weights file {path} holds no state dict: expected a dict of tensors, either bare "
                              f"or under one of the keys {', '.join(repr(c) for c in containers)}.")
    return remove_prefix(data)


def _preview(keys: list[str], limit: int = 5) -> str:
    return ", ".join(keys[:limit]) + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def load_pretrain(module: nn.Module, path: str | PathLike) -> tuple[list[str], list[str]]:
    """Load weights into ``module`` non-strictly, reporting what did not fit.

    The file may be a bare state dict or hold one under "state_dict", "model" or "net"; a leading
    "module." is removed. If no key fits, the keys are tried again with a "features." prefix (PySOT's
    fallback for the legacy AlexNet files). Missing keys (except BatchNorm ``num_batches_tracked``) and
    unused keys are logged by name as warnings.

    Args:
        module: the model or a part of it (e.g. ``model.backbone`` for BACKBONE.PRETRAINED).
        path: the weights file.

    Returns:
        (missing keys, unused keys), sorted.

    Raises:
        CheckpointError: the file is missing or unreadable, no key fits the module, or matching keys have
            different shapes.
    """
    state_dict = _read_state_dict(path, _CONTAINERS)
    model_state = module.state_dict()
    if not set(state_dict) & set(model_state):
        prefixed = {f"features.{k}": v for k, v in state_dict.items()}
        if set(prefixed) & set(model_state):
            logger.warning("no key of %s fits %s; loading it with the prefix 'features.'", path,
                           type(module).__name__)
            state_dict = prefixed
        else:
            raise CheckpointError(
                f"weights file {path} does not fit {type(module).__name__}: none of its {len(state_dict)} keys "
                f"({_preview(sorted(state_dict))}) is a key of the module ({_preview(list(model_state))}). "
                f"Expected weights for this network (check the file and BACKBONE.TYPE).")
    mismatched = [f"{k}: file {tuple(v.shape)} vs model {tuple(model_state[k].shape)}"
                  for k, v in state_dict.items() if k in model_state and v.shape != model_state[k].shape]
    if mismatched:
        raise CheckpointError(f"weights file {path} has keys whose shapes differ from {type(module).__name__}: "
                              f"{'; '.join(mismatched)}. Expected weights built for the same network and widths.")
    missing = sorted(k for k in set(model_state) - set(state_dict) if not k.endswith("num_batches_tracked"))
    unused = sorted(set(state_dict) - set(model_state))
    used = len(set(model_state) & set(state_dict))
    if missing:
        logger.warning("missing keys (%d), left at their current values when loading %s: %s", len(missing), path,
                       ", ".join(missing))
    if unused:
        logger.warning("unused checkpoint keys (%d) in %s: %s", len(unused), path, ", ".join(unused))
    logger.info("used keys: %d of %s", used, path)
    module.load_state_dict(state_dict, strict=False)
    return missing, unused


def load_model_weights(path: str | PathLike) -> dict[str, torch.Tensor]:
    """The whole-model state dict of a released PySOT / SiamBAN ``model.pth`` or of a training checkpoint.

    Accepts a bare state dict (possibly with "module." prefixes), PySOT's snapshot {"epoch", "state_dict",
    "optimizer"}, or this framework's checkpoint (weights under "net"). Load the result with
    ``model.load_state_dict(state_dict, strict=True)`` so that a snapshot of another network fails loudly.

    Raises:
        CheckpointError: the file is missing, unreadable or holds no state dict.
    """
    return _read_state_dict(path, ("net", "state_dict", "model"))
