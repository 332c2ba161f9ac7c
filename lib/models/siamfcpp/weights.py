"""Loading SiamFC++ weights: whole-model snapshots and ImageNet-pretrained backbone files.

Whole model (SiamTrack.pretrain_model_path, spec 4.2 "Loading weights"): a video_analyst training snapshot
``epoch-N.pkl`` / ``final_model.pkl`` (weights under ``model_state_dict``), a released ``models/siamfcpp/*.pkl``
(a bare state dict), or this framework's checkpoint (weights under ``net``). Backbone files: video_analyst's
AlexNet ``.pkl``, torchvision's Inception-v3 and ShuffleNetV2 ``.pth`` (torchvision names, with or without the
``_model.`` / ``basemodel.`` prefixes). Every file is read with ``torch.load(weights_only=True)``.

Differences from video_analyst, each deliberate: shape mismatches in a whole-model file are an error (the
original dropped those tensors with a warning and kept random ones); missing and unused keys are reported by
name; a backbone file of which nothing fits is an error; torchvision's ShuffleNetV2 file loads (quirk Q31: the
original loaded nothing from it, with warnings only).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from lib.utils.checkpoint_io import load_checkpoint
from lib.utils.errors import CheckpointError

__all__ = ["WeightsLoadReport", "extract_state_dict", "load_siamfcpp_weights", "load_backbone_weights",
           "resolve_weights_file"]

logger = logging.getLogger(__name__)

_WRAPPERS = ("model_state_dict", "net", "state_dict", "model")
_PREFIXES = ("module.", "basemodel.", "_model.")


@dataclass
class WeightsLoadReport:
    """What a load did: keys loaded, keys the file lacked, file keys without a place, shape mismatches."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def extract_state_dict(ckpt: dict, source: str | os.PathLike = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: ``model_state_dict`` / ``net`` / ``state_dict`` / ``model`` or the dict itself.

    Raises:
        CheckpointError: no state dict was found.
    """
    state = ckpt
    for key in _WRAPPERS:
        if isinstance(ckpt.get(key), dict):
            state = ckpt[key]
            break
    tensors = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f"{source} holds no weights: expected a state dict, or a dict with one under 'model_state_dict' "
            f"(video_analyst snapshots) or 'net' (this framework's checkpoints); its top-level keys are "
            f"{', '.join(map(str, list(ckpt)[:20])) or 'none'}.")
    return tensors


def resolve_weights_file(path: str | os.PathLike, pretrained_dir: str | os.PathLike | None, what: str) -> Path:
    """Find a weights file: as given (absolute or from the working directory), then in ``pretrained_dir``.

    Relative config paths such as ``models/alexnet/alexnet-nopad-bn-md5_....pkl`` are also looked up under
    ``pretrained_dir`` with their directories and by file name alone.

    Raises:
        CheckpointError: the file is nowhere; the message lists where it was looked for.
    """
    given = Path(path)
    candidates = [given]
    if pretrained_dir is not None and not given.is_absolute():
        candidates += [Path(pretrained_dir) / given, Path(pretrained_dir) / given.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"{what} {str(path)!r} not found: looked for {', '.join(str(c) for c in dict.fromkeys(candidates))}. "
        f"Put the file there, point the pretrained-models directory (--pretrained_dir / OSTRACK_PRETRAINED_DIR) "
        f"at its folder, or set the key to '' to start from the original initialisation.")


def _log_report(report: WeightsLoadReport, path: Path, what: str) -> None:
    logger.info("%s: loaded %d tensors from %s", what, len(report.loaded), path)
    if report.missing:
        logger.warning("%s: %s lacks %d tensors (kept as initialised): %s", what, path, len(report.missing),
                       ", ".join(report.missing))
    if report.unexpected:
        logger.warning("%s: %d tensors of %s are not used: %s", what, len(report.unexpected), path,
                       ", ".join(report.unexpected))


def _match(own: dict[str, torch.Tensor], file_keys: Iterable[str]) -> dict[str, str]:
    """File key -> own key, trying the key as is and with / without the wrapper prefixes."""
    mapping = {}
    for key in file_keys:
        options = [key]
        stripped = key
        while stripped.startswith(_PREFIXES):
            stripped = stripped.split(".", 1)[1]
            options.append(stripped)
        options += [prefix + option for option in list(options) for prefix in ("_model.", "basemodel.")]
        for option in options:
            if option in own:
                mapping[key] = option
                break
    return mapping


def load_siamfcpp_weights(model: nn.Module, path: str | os.PathLike) -> WeightsLoadReport:
    """Load a whole-model SiamFC++ file into a SiamTrack.

    Args:
        model: the SiamTrack.
        path: an ``epoch-N.pkl``, a released ``.pkl`` or this framework's checkpoint.

    Returns:
        The load report (also logged). Keys the file lacks keep their values (logged as warnings).

    Raises:
        CheckpointError: the file is missing or unreadable, holds no state dict, shares no key with the model
            (e.g. a backbone-only file), or has tensors whose shapes differ from the model's (another
            backbone, or another head depth); the message names them.
    """
    path = Path(path)
    state = extract_state_dict(load_checkpoint(path), path)
    own = model.state_dict()
    report = WeightsLoadReport()
    report.unexpected = [k for k in state if k not in own]
    report.missing = [k for k in own if k not in state]
    report.mismatched = [f"{k} (file {tuple(state[k].shape)}, model {tuple(own[k].shape)})"
                         for k in state if k in own and state[k].shape != own[k].shape]
    if len(report.unexpected) == len(state):
        raise CheckpointError(
            f"{path} does not fit the SiamFC++ model: none of its {len(state)} tensors has a SiamTrack name "
            f"(basemodel.*, head.*, c_z_k.*, ...); first keys: {', '.join(list(state)[:5])}. A backbone-only "
            f"file belongs in model.backbone.<name>.pretrain_model_path.")
    if report.mismatched:
        raise CheckpointError(
            f"{path} does not fit the SiamFC++ model built from this config: {len(report.mismatched)} tensors "
            f"have other shapes: {', '.join(report.mismatched[:10])}. Check that the config's backbone and "
            f"task_head.DenseboxHead.num_conv3x3 / head_conv_bn match the snapshot.")
    report.loaded = [k for k in state if k in own]
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    _log_report(report, path, "SiamFC++ weights")
    return report


def load_backbone_weights(backbone: nn.Module, path: str | os.PathLike) -> WeightsLoadReport:
    """Load an ImageNet-pretrained file into a SiamFC++ backbone, matching names with and without prefixes.

    Args:
        backbone: an AlexNet, Inception3 or ShuffleNetV2 backbone.
        path: the pretrained file (video_analyst's or torchvision's names).

    Returns:
        The load report (also logged): e.g. torchvision's Inception-v3 leaves ``channel_reduce`` missing and
        its Mixed_7* / AuxLogits / fc tensors unused.

    Raises:
        CheckpointError: the file is missing or unreadable, or not one of its tensors fits the backbone by name
            and shape (another architecture or width).
    """
    path = Path(path)
    state = extract_state_dict(load_checkpoint(path), path)
    own = backbone.state_dict()
    mapping = _match(own, state)
    report = WeightsLoadReport()
    fitting = {}
    for key, value in state.items():
        target = mapping.get(key)
        if target is None:
            report.unexpected.append(key)
        elif value.shape != own[target].shape:
            report.mismatched.append(f"{key} (file {tuple(value.shape)}, model {tuple(own[target].shape)})")
        else:
            fitting[target] = value
    report.loaded = list(fitting)
    report.missing = [k for k in own if k not in fitting]
    if not fitting:
        raise CheckpointError(
            f"pretrained backbone file {path} does not fit the {type(backbone).__name__} backbone: none of its "
            f"{len(state)} tensors matches a backbone tensor by name and shape ({len(report.mismatched)} names "
            f"match with other shapes{': ' + ', '.join(report.mismatched[:5]) if report.mismatched else ''}). "
            f"First keys of the file: {', '.join(list(state)[:5])}.")
    if report.mismatched:
        logger.warning("pretrained backbone: %d tensors of %s have other shapes and are not used: %s",
                       len(report.mismatched), path, ", ".join(report.mismatched))
    backbone.load_state_dict(fitting, strict=False)
    _log_report(report, path, f"pretrained {type(backbone).__name__}")
    return report
