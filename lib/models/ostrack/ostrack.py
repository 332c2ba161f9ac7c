"""The OSTrack model (one-stream ViT backbone + box head) and its builder (spec 3.1, 3.8).

Paper: Ye et al., "Joint Feature Learning and Relation Modeling for Tracking: A One-Stream Framework",
ECCV 2022, https://arxiv.org/abs/2203.11991.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lib.models.ostrack.pretrained import load_pretrained_backbone
from lib.models.ostrack.registry import BACKBONES, HEADS
from lib.models.ostrack.vit import VisionTransformer
from lib.utils.checkpoint_io import load_net_state_dict
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["OSTrack", "build_ostrack"]

logger = logging.getLogger(__name__)


class OSTrack(nn.Module):
    """Backbone over [template, search] tokens, then a box head on the search tokens.

    Args:
        backbone: a (CE) ViT from :mod:`lib.models.ostrack.registry`.
        box_head: a head with ``feat_sz`` and the CenterPredictor call signature.
        aux_loss: kept for compatibility with the original (always False).
        head_type: MODEL.HEAD.TYPE (only "CENTER").

    Attributes:
        feat_sz_s: search feature-map side fs.
        feat_len_s: fs * fs, the number of search tokens.
    """

    def __init__(self, backbone: VisionTransformer, box_head: nn.Module, aux_loss: bool = False,
                 head_type: str = "CENTER"):
        super().__init__()
        self.backbone = backbone
        self.box_head = box_head
        self.aux_loss = aux_loss
        self.head_type = head_type
        self.feat_sz_s = int(box_head.feat_sz)
        self.feat_len_s = self.feat_sz_s ** 2

    def set_attn_impl(self, attn_impl: str) -> None:
        """Use "sdpa" (fused) or "explicit" (softmax(QK^T)V) attention in every block."""
        self.backbone.set_attn_impl(attn_impl)

    def forward(self, template: torch.Tensor, search: torch.Tensor, ce_template_mask: torch.Tensor | None = None,
                ce_keep_rate: Any = None, return_last_attn: bool = False) -> dict[str, Any]:
        """Track one template/search pair per batch item.

        Args:
            template: (B, 3, Hz, Wz) normalised template crops.
            search: (B, 3, Hx, Wx) normalised search crops.
            ce_template_mask: (B, Nz) bool template tokens used to rank search tokens in CE
                (:func:`lib.utils.ce_utils.generate_mask_cond`), or None for all.
            ce_keep_rate: runtime CE keep rate (None: per-layer ratios; a float overrides all CE layers;
                a sequence gives one per CE layer).
            return_last_attn: include the last block's full attention matrix as ``attn`` (CE backbones).

        Returns:
            dict with ``pred_boxes`` (B, 1, 4) normalised cxcywh, ``score_map`` (B, 1, fs, fs), ``size_map``
            (B, 2, fs, fs), ``offset_map`` (B, 2, fs, fs), ``backbone_feat`` (B, Nz + Nx, D), ``attn``
            (None unless requested) and, for CE backbones, ``removed_indexes_s`` (one (B, k) float tensor or
            None per CE layer).
        """
        feat, aux = self.backbone(z=template, x=search, ce_template_mask=ce_template_mask,
                                  ce_keep_rate=ce_keep_rate, return_last_attn=return_last_attn)
        feat_last = feat[-1] if isinstance(feat, list) else feat
        out = self.forward_head(feat_last)
        out.update(aux)
        out["backbone_feat"] = feat
        return out

    def forward_head(self, cat_feature: torch.Tensor, gt_score_map: torch.Tensor | None = None) -> dict[str, Any]:
        """Run the head on the last fs*fs tokens (the search tokens, raster order).

        Args:
            cat_feature: backbone output (B, Nz + Nx, D).
            gt_score_map: optional (B, fs, fs) map whose peak decodes the box instead (unused by OSTrack).
        """
        search = cat_feature[:, -self.feat_len_s:]  # (B, fs*fs, D)
        B, _, C = search.shape
        feat = search.transpose(1, 2).reshape(B, C, self.feat_sz_s, self.feat_sz_s)  # (B, D, fs, fs)
        score_map, bbox, size_map, offset_map = self.box_head(feat, gt_score_map)
        return {"pred_boxes": bbox.view(B, 1, 4), "score_map": score_map, "size_map": size_map,
                "offset_map": offset_map}


def _pretrained_dir(pretrained_dir: str | os.PathLike | None) -> tuple[Path, str]:
    if pretrained_dir is not None:
        return Path(pretrained_dir), "the pretrained_dir argument"
    from lib.utils.environment import env_settings  # read only when a file must be found

    env = env_settings()
    return env.pretrained_dir, env.sources.get("pretrained_dir", "the default")


def build_ostrack(cfg: Any, training: bool = True, pretrained_dir: str | os.PathLike | None = None, *,
                  attn_impl: str = "sdpa") -> OSTrack:
    """Build OSTrack from a config; the only function that reads ``cfg``.

    Args:
        cfg: the loaded config (:func:`lib.config.ostrack.config.load_config`).
        training: load MODEL.PRETRAIN_FILE (only when True; at test time the tracker loads a checkpoint).
        pretrained_dir: folder of pretrained weights; default ``env_settings().pretrained_dir``.
        attn_impl: "sdpa" (default, fused) or "explicit" attention; changeable with ``model.set_attn_impl``.

    Pretrained weights: MODEL.PRETRAIN_FILE "" means none. A name containing "OSTrack" is an OSTrack
    checkpoint (path as given, else under pretrained_dir) whose ``net`` is loaded non-strictly into the whole
    model, with missing/unexpected keys logged (spec 3.1). Any other name is an MAE-style ViT file in
    pretrained_dir, loaded into the backbone (:func:`~lib.models.ostrack.pretrained.load_pretrained_backbone`).

    Raises:
        ConfigError: unknown MODEL.BACKBONE.TYPE or MODEL.HEAD.TYPE (the message lists the known ones), or a
            CAT_MODE other than "direct" with CE, or CE_LOC entries beyond the backbone's depth.
        CheckpointError: a pretrained file is missing (the message names where it was looked for) or does not
            fit the backbone.
    """
    bb = cfg.MODEL.BACKBONE
    stride = bb.STRIDE
    make_backbone = BACKBONES.get(bb.TYPE)  # unknown names fail here, before any (slow) construction
    make_head = HEADS.get(cfg.MODEL.HEAD.TYPE)
    if bb.CE_LOC and bb.TYPE.endswith("_ce") and bb.CAT_MODE != "direct":
        raise ConfigError(f"MODEL.BACKBONE.CAT_MODE {bb.CAT_MODE!r} cannot be combined with candidate elimination "
                          f"(MODEL.BACKBONE.CE_LOC={list(bb.CE_LOC)}): CE needs the template tokens first "
                          f"('direct').")
    pretrain = cfg.MODEL.PRETRAIN_FILE
    is_ostrack_ckpt = "OSTrack" in pretrain
    mae_path = None
    if training and pretrain and not is_ostrack_ckpt:
        folder, source = _pretrained_dir(pretrained_dir)
        mae_path = folder / pretrain
        if not mae_path.is_file():  # checked before the (slow) model construction
            raise CheckpointError(
                f"pretrained weights MODEL.PRETRAIN_FILE={pretrain!r} not found: looked for {mae_path} (pretrained-"
                f"models directory from {source}). Put the file there (MAE ViT-B: mae_pretrain_vit_base.pth), "
                f"point --pretrained_dir / OSTRACK_PRETRAINED_DIR at its folder, or set MODEL.PRETRAIN_FILE to "
                f"'' to train from random weights.")

    try:
        backbone = make_backbone(
            template_size=cfg.DATA.TEMPLATE.SIZE, search_size=cfg.DATA.SEARCH.SIZE, patch_size=stride,
            drop_path_rate=cfg.TRAIN.DROP_PATH_RATE, cat_mode=bb.CAT_MODE, sep_seg=bb.SEP_SEG,
            return_inter=cfg.MODEL.RETURN_INTER, return_stages=cfg.MODEL.RETURN_STAGES, attn_impl=attn_impl,
            ce_loc=bb.CE_LOC, ce_keep_ratio=bb.CE_KEEP_RATIO)
    except ValueError as err:  # e.g. a CE_LOC beyond the backbone's depth
        raise ConfigError(f"MODEL.BACKBONE ({bb.TYPE}, CE_LOC={list(bb.CE_LOC)}, "
                          f"CE_KEEP_RATIO={list(bb.CE_KEEP_RATIO)}): {err}.") from None
    if mae_path is not None:
        load_pretrained_backbone(backbone, mae_path)

    box_head = make_head(
        inplanes=backbone.embed_dim, channel=cfg.MODEL.HEAD.NUM_CHANNELS, feat_sz=cfg.DATA.SEARCH.SIZE // stride,
        stride=stride)
    model = OSTrack(backbone, box_head, aux_loss=False, head_type=cfg.MODEL.HEAD.TYPE)

    if training and is_ostrack_ckpt:
        path = Path(pretrain)
        if not path.is_file():
            folder, _ = _pretrained_dir(pretrained_dir)
            if not (folder / pretrain).is_file():
                raise CheckpointError(f"OSTrack checkpoint MODEL.PRETRAIN_FILE={pretrain!r} not found: looked for "
                                      f"{path.resolve()} and {folder / pretrain}.")
            path = folder / pretrain
        try:
            missing, unexpected = model.load_state_dict(load_net_state_dict(path), strict=False)
        except RuntimeError as err:  # shape mismatches are errors even with strict=False
            raise CheckpointError(f"OSTrack checkpoint {path} does not fit the model built from this config: "
                                  f"{err}") from None
        if missing:
            logger.warning("OSTrack checkpoint %s lacks %d tensors: %s", path, len(missing), ", ".join(missing))
        if unexpected:
            logger.warning("OSTrack checkpoint %s has %d unused tensors: %s", path, len(unexpected),
                           ", ".join(unexpected))
        logger.info("initialised the model from OSTrack checkpoint %s", path)
    return model
