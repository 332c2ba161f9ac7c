"""Registries of the SiamFC++ components and ``build_siamfcpp``, the only code here that reads a config.

The tables are keyed by video_analyst's class names, the values of ``model.backbone.name``,
``model.task_head.name``, ``model.losses.names`` and ``model.task_model.name``; each node holds the
hyper-parameters of its selection under the same name (``model.backbone.AlexNet.pretrain_model_path``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from torch import nn

from lib.models.registry import Registry
from lib.models.siamfcpp.alexnet import AlexNet
from lib.models.siamfcpp.googlenet import Inception3
from lib.models.siamfcpp.head import DenseboxHead
from lib.models.siamfcpp.losses import FocalLoss, IOULoss, SigmoidCrossEntropyCenterness, SigmoidCrossEntropyRetina
from lib.models.siamfcpp.model import SiamTrack
from lib.models.siamfcpp.shufflenet_v2 import shufflenet_v2_x0_5, shufflenet_v2_x1_0
from lib.models.siamfcpp.weights import load_backbone_weights, load_siamfcpp_weights, resolve_weights_file
from lib.utils.errors import ConfigError

__all__ = ["BACKBONES", "HEADS", "LOSSES", "TASK_MODELS", "build_siamfcpp", "build_backbone", "build_head",
           "build_losses"]

logger = logging.getLogger(__name__)


def _alexnet(hps: Mapping[str, Any]) -> nn.Module:
    return AlexNet(width_mult=float(hps.get("width_mult", 1.0)))


def _inception3(hps: Mapping[str, Any]) -> nn.Module:
    return Inception3(crop_pad=hps["crop_pad"], pruned=hps["pruned"])


def _shufflenet_x1_0(hps: Mapping[str, Any]) -> nn.Module:
    return shufflenet_v2_x1_0(crop_pad=hps["crop_pad"], head_width=hps["head_width"])


def _shufflenet_x0_5(hps: Mapping[str, Any]) -> nn.Module:
    return shufflenet_v2_x0_5(crop_pad=hps["crop_pad"], head_width=hps["head_width"])


# Each entry maps the node of its name (hyper-parameters) to a module.
BACKBONES: Registry[nn.Module] = Registry("backbone", "model.backbone.name")
BACKBONES.register("AlexNet", _alexnet)
BACKBONES.register("Inception3", _inception3)
BACKBONES.register("ShuffleNetV2_x1_0", _shufflenet_x1_0)
BACKBONES.register("ShuffleNetV2_x0_5", _shufflenet_x0_5)

HEADS: Registry[nn.Module] = Registry("head", "model.task_head.name")
HEADS.register("DenseboxHead", lambda hps: DenseboxHead(
    total_stride=hps["total_stride"], score_size=hps["score_size"], x_size=hps["x_size"],
    num_conv3x3=hps["num_conv3x3"], head_conv_bn=list(hps["head_conv_bn"]), head_width=hps["head_width"],
    conv_weight_std=hps["conv_weight_std"], input_size_adapt=hps["input_size_adapt"]))

_FOCAL_KEYS = ("name", "weight", "alpha", "gamma", "background", "ignore_label")
_PLAIN_KEYS = ("name", "weight", "background", "ignore_label")
LOSSES: Registry[nn.Module] = Registry("loss", "model.losses.names")
LOSSES.register("FocalLoss", lambda hps: FocalLoss(**{k: hps[k] for k in _FOCAL_KEYS}))
LOSSES.register("SigmoidCrossEntropyRetina", lambda hps: SigmoidCrossEntropyRetina(**{k: hps[k] for k in _FOCAL_KEYS}))
LOSSES.register("SigmoidCrossEntropyCenterness",
                lambda hps: SigmoidCrossEntropyCenterness(**{k: hps[k] for k in _PLAIN_KEYS}))
LOSSES.register("IOULoss", lambda hps: IOULoss(**{k: hps[k] for k in _PLAIN_KEYS}))

TASK_MODELS: Registry[Callable[..., SiamTrack]] = Registry("task model", "model.task_model.name")
TASK_MODELS.register("SiamTrack", SiamTrack)


def _pretrained_dir(pretrained_dir: str | os.PathLike | None) -> Path | None:
    if pretrained_dir is not None:
        return Path(pretrained_dir)
    from lib.utils.environment import env_settings  # read only when a file must be found

    return env_settings().pretrained_dir


def _selected(node: Mapping[str, Any], registry: Registry, key: str) -> tuple[str, Mapping[str, Any]]:
    name = node["name"]
    registry.get(name)  # unknown names fail here with the list of known ones
    if name not in node:
        raise ConfigError(f"{key} is {name!r} but the config has no {key.rsplit('.', 1)[0]}.{name} node with its "
                          f"hyper-parameters.")
    return name, node[name]


def build_backbone(backbone_cfg: Mapping[str, Any]) -> nn.Module:
    """The backbone selected by a ``model.backbone`` node (weights not loaded)."""
    name, hps = _selected(backbone_cfg, BACKBONES, "model.backbone.name")
    return BACKBONES.get(name)(hps)


def build_head(head_cfg: Mapping[str, Any]) -> DenseboxHead:
    """The head selected by a ``model.task_head`` node."""
    name, hps = _selected(head_cfg, HEADS, "model.task_head.name")
    return HEADS.get(name)(hps)


def build_losses(losses_cfg: Mapping[str, Any]) -> dict[str, nn.Module]:
    """The losses listed in ``model.losses.names``, keyed by each loss node's ``name`` ("cls", "ctr", "reg")."""
    losses: dict[str, nn.Module] = {}
    for cls_name in losses_cfg["names"]:
        LOSSES.get(cls_name)
        if cls_name not in losses_cfg:
            raise ConfigError(f"model.losses.names lists {cls_name!r} but model.losses has no {cls_name} node.")
        loss = LOSSES.get(cls_name)(losses_cfg[cls_name])
        if loss.name in losses:
            raise ConfigError(f"model.losses: {cls_name} and {type(losses[loss.name]).__name__} share the name "
                              f"{loss.name!r}; each selected loss needs its own name (cls, ctr, reg).")
        losses[loss.name] = loss
    return losses


def build_siamfcpp(model_cfg: Mapping[str, Any], load_weights: bool = True,
                   pretrained_dir: str | os.PathLike | None = None) -> SiamTrack:
    """Build SiamTrack from a ``model`` node (``test.track.model`` or ``train.track.model``).

    Args:
        model_cfg: the model node of a loaded SiamFC++ config.
        load_weights: load ``task_model.SiamTrack.pretrain_model_path`` when set, else the backbone's
            ``pretrain_model_path`` when set (the whole-model file replaces every backbone weight, so the
            backbone file is then not read).
        pretrained_dir: where relative weight paths are also looked for; default the path settings'
            pretrained-models directory.

    Raises:
        ConfigError: an unknown backbone / head / loss / task-model name (the message lists the known ones),
            a selected name without its node, or trt_mode (TensorRT is not supported). With use_sync_bn the
            BatchNorms become SyncBatchNorm, as in video_analyst (useful only in distributed training).
        CheckpointError: a weights file is missing or does not fit (see :mod:`lib.models.siamfcpp.weights`).
    """
    task_name, task_hps = _selected(model_cfg["task_model"], TASK_MODELS, "model.task_model.name")
    if task_hps.get("trt_mode"):
        raise ConfigError("model.task_model.SiamTrack.trt_mode is true: TensorRT inference is not supported; set "
                          "it to false.")
    backbone = build_backbone(model_cfg["backbone"])
    head = build_head(model_cfg["task_head"])
    widths = {"the backbone's output": getattr(backbone, "out_channels", task_hps["head_width"]),
              "model.task_model.SiamTrack.head_width": task_hps["head_width"],
              "model.task_head.DenseboxHead.head_width": model_cfg["task_head"]["DenseboxHead"]["head_width"]}
    if len(set(widths.values())) > 1:
        raise ConfigError(f"the channel widths do not agree: {', '.join(f'{k} {v}' for k, v in widths.items())}; the "
                          f"neck and the head take the backbone's output, so set both head_width keys to "
                          f"{widths[next(iter(widths))]}.")
    losses = build_losses(model_cfg["losses"])
    model = TASK_MODELS.get(task_name)(backbone, head, losses, head_width=task_hps["head_width"],
                                       conv_weight_std=task_hps["conv_weight_std"],
                                       corr_fea_output=task_hps["corr_fea_output"], amp=task_hps["amp"])
    if model_cfg.get("use_sync_bn"):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if not load_weights:
        return model
    model_path = task_hps["pretrain_model_path"]
    backbone_path = model_cfg["backbone"][model_cfg["backbone"]["name"]].get("pretrain_model_path", "")
    if model_path:
        if backbone_path:
            logger.info("not reading backbone weights %s: the SiamFC++ weights %s replace them", backbone_path,
                        model_path)
        path = resolve_weights_file(model_path, _pretrained_dir(pretrained_dir),
                                    "model.task_model.SiamTrack.pretrain_model_path")
        load_siamfcpp_weights(model, path)
    elif backbone_path:
        path = resolve_weights_file(backbone_path, _pretrained_dir(pretrained_dir),
                                    f"model.backbone.{model_cfg['backbone']['name']}.pretrain_model_path")
        load_backbone_weights(model.basemodel, path)
    return model
