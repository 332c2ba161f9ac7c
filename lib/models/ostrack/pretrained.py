"""Loading pretrained ViT weights (MAE) into the backbone, with reported and checked keys (spec 3.9, 8.4 item 28).

The original loaded ``torch.load(path)["model"]`` with ``strict=False`` and ignored missing keys, so a wrong file
silently gave a random backbone. Here missing and unexpected keys are logged by name, and a file whose
transformer blocks do not fit the backbone is an error.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lib.models.layers.pos_embed import resize_patch_kernel, resize_pos_embed_with_prefix
from lib.models.ostrack.vit import VisionTransformer
from lib.utils.checkpoint_io import load_checkpoint
from lib.utils.errors import CheckpointError

__all__ = ["load_pretrained_backbone", "PretrainedLoadReport", "extract_backbone_state"]

logger = logging.getLogger(__name__)

# Backbone entries that pretrained files do not provide: the tracking position embeddings are derived from
# pos_embed after loading, the segment embeddings and per-stage norms are OSTrack additions.
_DERIVED_KEYS = ("pos_embed_z", "pos_embed_x", "template_segment_pos_embed", "search_segment_pos_embed")


@dataclass
class PretrainedLoadReport:
    """What a pretrained load did: keys the file lacked, keys the backbone has no place for, resized keys."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)


def extract_backbone_state(ckpt: dict) -> dict[str, torch.Tensor]:
    """The encoder weights of a pretrained file: unwrap ``model``/``state_dict``, strip ``module.``."""
    state = ckpt
    for key in ("model", "state_dict"):
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        key = key.removeprefix("module.")
        out[key] = value
    return out


def _is_block_key(key: str) -> bool:
    return key.startswith("blocks.")


def load_pretrained_backbone(backbone: VisionTransformer, path: str | os.PathLike) -> PretrainedLoadReport:
    """Load MAE-style ViT weights into ``backbone``, then re-derive the template/search position embeddings.

    Args:
        backbone: the tracking ViT (plain or CE).
        path: a ``.pth`` file with the encoder state dict, optionally under ``model`` or ``state_dict`` and
            with ``module.`` prefixes (MAE: ``mae_pretrain_vit_base.pth``).

    Returns:
        The load report (also logged).

    Raises:
        CheckpointError: the file is missing or unsafe, holds no transformer blocks that fit the backbone
            (missing or extra blocks, other widths), or is a JAX ``.npz`` file.
    """
    path = Path(path)
    if path.suffix == ".npz":
        raise CheckpointError(f"{path}: JAX .npz ViT weights are not supported; use a PyTorch .pth file "
                              f"(e.g. MAE's mae_pretrain_vit_base.pth).")
    state = extract_backbone_state(load_checkpoint(path))
    own = backbone.state_dict()
    report = PretrainedLoadReport()

    if "pos_embed" in state and state["pos_embed"].shape != own["pos_embed"].shape:
        old = tuple(state["pos_embed"].shape)
        state["pos_embed"] = resize_pos_embed_with_prefix(state["pos_embed"], own["pos_embed"].shape[1])
        report.resized.append(f"pos_embed {old} -> {tuple(own['pos_embed'].shape)}")
    kernel = "patch_embed.proj.weight"
    if kernel in state and state[kernel].shape[-2:] != own[kernel].shape[-2:]:
        # matches OSTrack: a different patch size resizes the patch kernel bicubically (STRIDE != 16).
        old = tuple(state[kernel].shape)
        state[kernel] = resize_patch_kernel(state[kernel], backbone.patch_size)
        report.resized.append(f"{kernel} {old} -> {tuple(state[kernel].shape)}")

    report.unexpected = sorted(k for k in state if k not in own)
    report.missing = sorted(k for k in own if k not in state and not k.startswith(_DERIVED_KEYS)
                            and not (k.startswith("norm") and k[4:5].isdigit()))
    mismatched = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in state if k in own and state[k].shape != own[k].shape]
    missing_blocks = [k for k in report.missing if _is_block_key(k)]
    extra_blocks = [k for k in report.unexpected if _is_block_key(k)]
    if mismatched or missing_blocks or extra_blocks:
        details = mismatched[:5] + [f"missing {k}" for k in missing_blocks[:5]] + \
            [f"unexpected {k}" for k in extra_blocks[:5]]
        raise CheckpointError(
            f"pretrained weights {path} do not match the backbone (width {backbone.embed_dim}, depth "
            f"{backbone.depth}): {len(mismatched)} shape mismatches, {len(missing_blocks)} missing and "
            f"{len(extra_blocks)} unexpected transformer-block tensors, e.g. {'; '.join(details)}. "
            f"Check MODEL.PRETRAIN_FILE against MODEL.BACKBONE.TYPE, or set MODEL.PRETRAIN_FILE to '' to "
            f"start from random weights.")

    backbone.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    backbone.reset_track_pos_embed()
    if report.missing:
        logger.warning("pretrained weights %s lack %d backbone tensors (left at their initial values): %s",
                       path, len(report.missing), ", ".join(report.missing))
    if report.unexpected:
        logger.info("pretrained weights %s: %d tensors not used by the backbone: %s", path,
                    len(report.unexpected), ", ".join(report.unexpected))
    for item in report.resized:
        logger.info("pretrained weights %s: resized %s", path, item)
    logger.info("loaded pretrained backbone weights from %s", path)
    return report
