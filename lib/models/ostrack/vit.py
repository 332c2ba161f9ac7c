"""One-stream ViT backbone: template and search tokens attend jointly (OSTrack, spec 3.2-3.5).

Paper: Ye et al., "Joint Feature Learning and Relation Modeling for Tracking: A One-Stream Framework",
ECCV 2022, https://arxiv.org/abs/2203.11991. The ViT is Dosovitskiy et al., ICLR 2021.

Parameter names follow the original (and MAE/timm) so released checkpoints load strictly.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import torch
from timm.layers import PatchEmbed, trunc_normal_
from torch import nn

from lib.models.layers.attention import Attention
from lib.models.layers.block import Block
from lib.models.layers.pos_embed import resize_pos_grid
from lib.models.layers.tokens import CAT_MODES, combine_tokens, recover_tokens

__all__ = [
    "VisionTransformer", "PRETRAIN_GRID", "vit_nano_patch16_224", "vit_tiny_patch16_224", "vit_small_patch16_224",
    "vit_base_patch16_224", "vit_large_patch16_224",
]

logger = logging.getLogger(__name__)

# The original builds the ViT for 224-px images with 16-px patches before it adapts it to tracking, so the
# unused class token and the 1 + 14*14 position table always have this size (and MAE's weights fit it).
PRETRAIN_GRID = 14

BlockFactory = Callable[..., nn.Module]


def _init_vit_weights(module: nn.Module) -> None:
    # matches OSTrack (timm, non-JAX): Linear trunc-normal 0.02 with zero bias, LayerNorm 1/0, conv default.
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VisionTransformer(nn.Module):
    """ViT over [template tokens, search tokens] with separate learnable position embeddings.

    Args:
        template_size: template crop side in pixels (DATA.TEMPLATE.SIZE).
        search_size: search crop side in pixels (DATA.SEARCH.SIZE).
        patch_size: patch size = feature stride (MODEL.BACKBONE.STRIDE).
        in_chans: image channels.
        embed_dim: token width D.
        depth: number of blocks.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width / D.
        qkv_bias: bias in the qkv projections.
        drop_rate: dropout after position embeddings and in the blocks (0 in OSTrack).
        attn_drop_rate: attention dropout (0 in OSTrack).
        drop_path_rate: stochastic depth; block i gets linspace(0, rate, depth)[i] (TRAIN.DROP_PATH_RATE).
        cat_mode: token concatenation (MODEL.BACKBONE.CAT_MODE): direct, template_central or partition.
        sep_seg: add learnable template/search segment embeddings (MODEL.BACKBONE.SEP_SEG).
        return_inter: create the original's (unused) per-stage LayerNorms ``norm{i}`` (MODEL.RETURN_INTER).
        return_stages: the stages for ``return_inter`` (MODEL.RETURN_STAGES).
        attn_impl: "sdpa" or "explicit" attention.
        block_factory: builds block ``index`` from Block keyword arguments (subclasses use CE blocks).
    """

    def __init__(self, *, template_size: int = 128, search_size: int = 256, patch_size: int = 16,
                 in_chans: int = 3, embed_dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0, cat_mode: str = "direct",
                 sep_seg: bool = False, return_inter: bool = False, return_stages: Sequence[int] = (),
                 attn_impl: str = "sdpa", block_factory: BlockFactory | None = None):
        super().__init__()
        if cat_mode not in CAT_MODES:
            raise ValueError(f"cat_mode must be one of {CAT_MODES}, got {cat_mode!r}")
        for name, size in (("template_size", template_size), ("search_size", search_size)):
            if size % patch_size:
                raise ValueError(f"{name} {size} is not a multiple of the patch size {patch_size}")
        self.embed_dim = self.num_features = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.patch_size = patch_size
        self.template_size = template_size
        self.search_size = search_size
        self.feat_size_z = template_size // patch_size
        self.feat_size_x = search_size // patch_size
        self.cat_mode = cat_mode
        self.add_sep_seg = sep_seg
        self.return_inter = return_inter
        self.return_stage = list(return_stages)

        self.patch_embed = PatchEmbed(img_size=None, patch_size=patch_size, in_chans=in_chans, embed_dim=embed_dim,
                                      strict_img_size=False)
        # Kept for checkpoint compatibility only: forward never reads them, so they get no gradient
        # (spec 8.4 item 25: requires_grad=False keeps them out of the optimizer and out of DDP's reducer).
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim), requires_grad=False)
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + PRETRAIN_GRID ** 2, embed_dim), requires_grad=False)
        self.pos_embed_z = nn.Parameter(torch.zeros(1, self.feat_size_z ** 2, embed_dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, self.feat_size_x ** 2, embed_dim))
        if sep_seg:
            self.template_segment_pos_embed = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.search_segment_pos_embed = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_drop = nn.Dropout(p=drop_rate)

        block_factory = block_factory or (lambda index, **kw: Block(**kw))
        # On the CPU also when the model is built on the meta device (shape-only builds in tests).
        rates = torch.linspace(0, drop_path_rate, depth, device="cpu").tolist()
        self.blocks = nn.ModuleList([
            block_factory(i, dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                          drop=drop_rate, attn_drop=attn_drop_rate, drop_path=rates[i], attn_impl=attn_impl)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        if return_inter:
            # matches OSTrack: LayerNorms for intermediate stages exist in the state dict but forward never
            # uses them.
            for stage in self.return_stage:
                if stage != 11:
                    layer = nn.LayerNorm(embed_dim, eps=1e-6)
                    layer.requires_grad_(False)
                    self.add_module(f"norm{stage}", layer)

        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        if sep_seg:
            trunc_normal_(self.template_segment_pos_embed, std=0.02)
            trunc_normal_(self.search_segment_pos_embed, std=0.02)
        self.apply(_init_vit_weights)
        self.reset_track_pos_embed()

    @torch.no_grad()
    def reset_track_pos_embed(self) -> None:
        """Set pos_embed_z / pos_embed_x by bicubic resizing of the 14x14 table (original finetune_track).

        Called at construction and again after pretrained weights are loaded into ``pos_embed``.
        """
        grid = self.pos_embed[:, 1:]  # (1, 196, D): drop the class-token slot
        old = (PRETRAIN_GRID, PRETRAIN_GRID)
        self.pos_embed_z.copy_(resize_pos_grid(grid, (self.feat_size_z, self.feat_size_z), old))
        self.pos_embed_x.copy_(resize_pos_grid(grid, (self.feat_size_x, self.feat_size_x), old))

    def set_attn_impl(self, attn_impl: str) -> None:
        """Switch every attention layer to "sdpa" or "explicit"."""
        for module in self.modules():
            if isinstance(module, Attention):
                module.attn_impl = attn_impl

    def embed(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images -> position-embedded tokens: z (B,3,Hz,Wz) -> (B,Nz,D), x (B,3,Hx,Wx) -> (B,Nx,D)."""
        x = self.patch_embed(x) + self.pos_embed_x
        z = self.patch_embed(z) + self.pos_embed_z
        if self.add_sep_seg:
            x = x + self.search_segment_pos_embed
            z = z + self.template_segment_pos_embed
        return z, x

    def forward(self, z: torch.Tensor, x: torch.Tensor, ce_template_mask: torch.Tensor | None = None,
                ce_keep_rate: Any = None, return_last_attn: bool = False
                ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Joint template/search encoding.

        Args:
            z: template images (B, 3, Hz, Wz).
            x: search images (B, 3, Hx, Wx).
            ce_template_mask: ignored (no candidate elimination in this backbone).
            ce_keep_rate: ignored.
            return_last_attn: ignored; ``attn`` is None as in the original plain ViT.

        Returns:
            (tokens (B, Nz + Nx, D) after the final norm, template first; {"attn": None}).
        """
        z, x = self.embed(z, x)
        n_z, n_x = z.shape[1], x.shape[1]
        tokens = self.pos_drop(combine_tokens(z, x, mode=self.cat_mode))  # (B, Nz + Nx, D)
        for blk in self.blocks:
            tokens = blk(tokens)
        tokens = recover_tokens(tokens, n_z, n_x, mode=self.cat_mode)
        return self.norm(tokens), {"attn": None}


def _no_ce(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop CE arguments for a backbone without CE (the original ignores CE_LOC for plain types)."""
    ce_loc = kwargs.pop("ce_loc", None)
    kwargs.pop("ce_keep_ratio", None)
    kwargs.pop("keep_score_order", None)
    if ce_loc:
        logger.warning("MODEL.BACKBONE.CE_LOC=%s is ignored: backbone %s has no candidate elimination "
                       "(use %s_ce).", list(ce_loc), name, name)
    return kwargs


def vit_nano_patch16_224(**kwargs: Any) -> VisionTransformer:
    """A 6-block ViT (D 128, heads 4) without CE: the smallest size, for training from scratch on a CPU."""
    return VisionTransformer(embed_dim=128, depth=6, num_heads=4, **_no_ce("vit_nano_patch16_224", kwargs))


def vit_tiny_patch16_224(**kwargs: Any) -> VisionTransformer:
    """ViT-Ti/16 (D 192, depth 12, heads 3) without CE, for CPU-sized configs."""
    return VisionTransformer(embed_dim=192, depth=12, num_heads=3, **_no_ce("vit_tiny_patch16_224", kwargs))


def vit_small_patch16_224(**kwargs: Any) -> VisionTransformer:
    """ViT-S/16 (D 384, depth 12, heads 6) without CE."""
    return VisionTransformer(embed_dim=384, depth=12, num_heads=6, **_no_ce("vit_small_patch16_224", kwargs))


def vit_base_patch16_224(**kwargs: Any) -> VisionTransformer:
    """ViT-B/16 (D 768, depth 12, heads 12) without CE, as the original's vit_base_patch16_224."""
    return VisionTransformer(embed_dim=768, depth=12, num_heads=12, **_no_ce("vit_base_patch16_224", kwargs))


def vit_large_patch16_224(**kwargs: Any) -> VisionTransformer:
    """ViT-L/16 (D 1024, depth 24, heads 16) without CE."""
    return VisionTransformer(embed_dim=1024, depth=24, num_heads=16, **_no_ce("vit_large_patch16_224", kwargs))
