"""The SiamFC++ entries of the framework's model tables (:data:`lib.models.registry.MODEL_BUILDERS`,
:data:`lib.models.profiling.TRACKING_PATHS`).

A SiamFC++ config holds a ``test.track`` and a ``train.track`` branch (video_analyst's layout); training builds
from ``train.track.model``, everything else from the branch the config sets (``exp_name`` not "unknown").
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch
from torch import nn

from lib.models.siamfcpp.builder import build_siamfcpp

__all__ = ["model_branch", "build_siamfcpp_model", "tracking_path"]


def model_branch(cfg: Any, training: bool) -> Any:
    """``train.track`` for training (or a config that only sets it), else ``test.track``."""
    if training or cfg.test.track.exp_name == "unknown":
        return cfg.train.track
    return cfg.test.track


def build_siamfcpp_model(cfg: Any, training: bool = False, pretrained_dir: str | os.PathLike | None = None) -> nn.Module:
    """SiamTrack from the branch's ``model`` node; training loads the backbone's pretrained file (if any)."""
    return build_siamfcpp(model_branch(cfg, training).model, load_weights=training, pretrained_dir=pretrained_dir)


def tracking_path(model: nn.Module, cfg: Any, device: torch.device) -> dict[str, Callable[[], Any]]:
    """The per-frame call of SiamFCppTracker: ``track`` on an x_size crop with the template kernels computed once."""
    hps = model_branch(cfg, training=False).pipeline.SiamFCppTracker
    template = torch.rand(1, 3, hps.z_size, hps.z_size, device=device) * 255
    search = torch.rand(1, 3, hps.x_size, hps.x_size, device=device) * 255
    c_z_k, r_z_k = model.template_features(template)
    return {"track": lambda: model.track(search, c_z_k, r_z_k)}
