"""One-stream ViT with candidate elimination (OSTrack's VisionTransformerCE, spec 3.6)."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from lib.models.layers.ce_block import CEBlock, restore_search_tokens
from lib.models.layers.tokens import combine_tokens
from lib.models.ostrack.vit import VisionTransformer

__all__ = [
    "VisionTransformerCE", "vit_nano_patch16_224_ce", "vit_tiny_patch16_224_ce", "vit_small_patch16_224_ce",
    "vit_base_patch16_224_ce", "vit_large_patch16_224_ce",
]

KeepRate = float | Sequence[float] | torch.Tensor | None


class VisionTransformerCE(VisionTransformer):
    """ViT whose blocks at ``ce_loc`` drop the search tokens the template attends to least.

    Every block is a :class:`~lib.models.layers.ce_block.CEBlock` (same parameters as a plain block);
    block i eliminates with ``ce_keep_ratio[k]`` when i is ``ce_loc[k]``.

    Args:
        ce_loc: 0-based indices of the CE blocks (MODEL.BACKBONE.CE_LOC).
        ce_keep_ratio: keep ratio per CE block (MODEL.BACKBONE.CE_KEEP_RATIO).
        keep_score_order: keep survivors in descending score order as the original (True) or in raster order.
        **kwargs: see :class:`~lib.models.ostrack.vit.VisionTransformer`; ``cat_mode`` must be "direct"
            (the elimination assumes the template tokens come first, as the original).
    """

    def __init__(self, *, ce_loc: Sequence[int] = (), ce_keep_ratio: Sequence[float] = (),
                 keep_score_order: bool = True, **kwargs: Any):
        ce_loc, ce_keep_ratio = list(ce_loc), [float(r) for r in ce_keep_ratio]
        depth = kwargs.get("depth", 12)
        if len(ce_loc) != len(ce_keep_ratio):
            raise ValueError(f"ce_loc {ce_loc} and ce_keep_ratio {ce_keep_ratio} differ in length")
        if any(not 0 <= i < depth for i in ce_loc) or len(set(ce_loc)) != len(ce_loc):
            raise ValueError(f"ce_loc {ce_loc} must hold distinct block indices in [0, {depth})")
        if any(not 0 < r <= 1 for r in ce_keep_ratio):
            raise ValueError(f"ce_keep_ratio values must lie in (0, 1], got {ce_keep_ratio}")
        if kwargs.get("cat_mode", "direct") != "direct":
            raise ValueError("candidate elimination needs cat_mode 'direct' (template tokens first)")
        ratios = dict(zip(ce_loc, ce_keep_ratio))

        def make_block(index: int, **block_kwargs: Any) -> CEBlock:
            return CEBlock(keep_ratio=ratios.get(index, 1.0), keep_score_order=keep_score_order, **block_kwargs)

        super().__init__(block_factory=make_block, **kwargs)
        self.ce_loc = ce_loc
        self.ce_keep_ratio = ce_keep_ratio

    def _block_keep_rates(self, ce_keep_rate: KeepRate) -> list[float | None]:
        """Runtime keep rate per block: None, one rate for all CE blocks, or one per CE block."""
        if ce_keep_rate is None:
            return [None] * len(self.blocks)
        if isinstance(ce_keep_rate, torch.Tensor) and ce_keep_rate.dim() == 0:
            ce_keep_rate = float(ce_keep_rate)
        if isinstance(ce_keep_rate, (int, float)):
            # matches OSTrack: one runtime rate overrides the ratio of every CE block.
            return [float(ce_keep_rate)] * len(self.blocks)
        rates = [float(r) for r in ce_keep_rate]
        if len(rates) != len(self.ce_loc):
            raise ValueError(f"ce_keep_rate has {len(rates)} values but there are {len(self.ce_loc)} CE blocks")
        per_block: list[float | None] = [None] * len(self.blocks)
        for loc, rate in zip(self.ce_loc, rates):
            per_block[loc] = rate
        return per_block

    def forward(self, z: torch.Tensor, x: torch.Tensor, ce_template_mask: torch.Tensor | None = None,
                ce_keep_rate: KeepRate = None, return_last_attn: bool = False
                ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Joint encoding with candidate elimination.

        Args:
            z: template images (B, 3, Hz, Wz).
            x: search images (B, 3, Hx, Wx).
            ce_template_mask: (B, Nz) bool, the template tokens whose attention ranks the search tokens
                (:func:`lib.utils.ce_utils.generate_mask_cond`); None averages over all template tokens.
            ce_keep_rate: None (each CE block uses its own ratio), one float overriding all CE blocks (the
                original's training schedule; >= 1 disables elimination), or one float per CE block.
            return_last_attn: return the last block's full attention matrix as ``attn``
                (B, heads, N', N'); otherwise ``attn`` is None and no attention matrix is formed outside the
                template rows that CE needs.

        Returns:
            (tokens (B, Nz + Nx, D): template tokens, then the search tokens in raster order with eliminated
            positions set to exact zeros after the final norm;
            {"attn": ..., "removed_indexes_s": one (B, k) float tensor or None per CE block}).
        """
        B = x.shape[0]
        z, x = self.embed(z, x)
        n_z, n_x = z.shape[1], x.shape[1]
        tokens = self.pos_drop(combine_tokens(z, x, mode="direct"))  # (B, Nz + Nx, D)
        # matches OSTrack: float raster indices of the search tokens.
        global_index_s = torch.arange(n_x, device=x.device, dtype=torch.float32).expand(B, -1)  # (B, Nx)
        rates = self._block_keep_rates(ce_keep_rate)
        removed_indexes_s: list[torch.Tensor | None] = []
        attn = None
        last = len(self.blocks) - 1
        for i, blk in enumerate(self.blocks):
            tokens, global_index_s, removed, attn = blk(
                tokens, global_index_s, n_z, template_mask=ce_template_mask, keep_rate=rates[i],
                return_attn=return_last_attn and i == last)
            if i in self.ce_loc:
                removed_indexes_s.append(removed)
        tokens = self.norm(tokens)
        z, x = tokens[:, :n_z], tokens[:, n_z:]
        # The original restored only when the first CE block removed tokens; any removal counts here.
        x = restore_search_tokens(x, global_index_s, n_x, any(r is not None for r in removed_indexes_s))
        return torch.cat([z, x], dim=1), {"attn": attn, "removed_indexes_s": removed_indexes_s}


def vit_nano_patch16_224_ce(**kwargs: Any) -> VisionTransformerCE:
    """A 6-block ViT (D 128, heads 4) with CE: the smallest size, for training from scratch on a CPU."""
    return VisionTransformerCE(embed_dim=128, depth=6, num_heads=4, **kwargs)


def vit_tiny_patch16_224_ce(**kwargs: Any) -> VisionTransformerCE:
    """ViT-Ti/16 (D 192, depth 12, heads 3) with CE, for CPU-sized configs (the reference tiny model)."""
    return VisionTransformerCE(embed_dim=192, depth=12, num_heads=3, **kwargs)


def vit_small_patch16_224_ce(**kwargs: Any) -> VisionTransformerCE:
    """ViT-S/16 (D 384, depth 12, heads 6) with CE."""
    return VisionTransformerCE(embed_dim=384, depth=12, num_heads=6, **kwargs)


def vit_base_patch16_224_ce(**kwargs: Any) -> VisionTransformerCE:
    """ViT-B/16 (D 768, depth 12, heads 12) with CE, as the original's vit_base_patch16_224_ce."""
    return VisionTransformerCE(embed_dim=768, depth=12, num_heads=12, **kwargs)


def vit_large_patch16_224_ce(**kwargs: Any) -> VisionTransformerCE:
    """ViT-L/16 (D 1024, depth 24, heads 16) with CE, as the original's vit_large_patch16_224_ce."""
    return VisionTransformerCE(embed_dim=1024, depth=24, num_heads=16, **kwargs)
