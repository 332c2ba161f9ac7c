"""Candidate elimination (CE): drop the search tokens the template attends to least (OSTrack, spec 3.6).

Paper: Ye et al., "Joint Feature Learning and Relation Modeling for Tracking: A One-Stream Framework",
ECCV 2022, https://arxiv.org/abs/2203.11991.
"""

from __future__ import annotations

import math

import torch

from lib.models.layers.block import Block

__all__ = ["CEBlock", "candidate_elimination", "template_attention_score", "restore_search_tokens"]


def template_attention_score(attn_ts: torch.Tensor, template_mask: torch.Tensor | None) -> torch.Tensor:
    """How much the (selected) template tokens attend to each search token.

    Args:
        attn_ts: softmax attention, template rows x search columns (B, heads, Nt, Ns).
        template_mask: (B, Nt) bool, the template tokens to average over, or None for all of them.

    Returns:
        (B, Ns) score: the mean over the selected template rows, then over heads.
    """
    if template_mask is None:
        return attn_ts.mean(dim=2).mean(dim=1)
    # The original boolean-indexed the rows and reshaped, which needs the same number of selected rows in
    # every sample (spec 8.4 item 22, fixed): a masked mean handles any count per sample. With one selected
    # row (CTR_POINT) the result is bit-identical to the original (x + 0 + ... = x, x / 1 = x).
    weights = template_mask.to(attn_ts.dtype)  # (B, Nt)
    count = weights.sum(dim=1)  # (B,)
    # A sample with no selected token (e.g. a GT box smaller than one cell) averages over all template rows.
    empty = count == 0
    weights = torch.where(empty[:, None], torch.ones_like(weights), weights)
    count = torch.where(empty, torch.full_like(count, weights.shape[1]), count)
    rows = (attn_ts * weights[:, None, :, None]).sum(dim=2) / count[:, None, None]  # (B, heads, Ns)
    return rows.mean(dim=1)


def candidate_elimination(attn_ts: torch.Tensor, tokens: torch.Tensor, num_template: int, keep_ratio: float,
                          global_index_s: torch.Tensor, template_mask: torch.Tensor | None = None,
                          keep_score_order: bool = True
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Keep the ceil(keep_ratio * Ns) search tokens with the highest template attention.

    Args:
        attn_ts: softmax attention of this block, template rows x current search columns (B, heads, Nt, Ns).
        tokens: [template tokens, search tokens] (B, Nt + Ns, D).
        num_template: Nt.
        keep_ratio: fraction of the current search tokens to keep.
        global_index_s: raster index of each current search token in the full search grid (B, Ns), float.
        template_mask: (B, Nt) bool, template tokens whose attention counts (None: all).
        keep_score_order: keep the survivors in descending score order, as the original
            (matches OSTrack: attention is permutation invariant, so this changes outputs only by float
            rounding); False keeps them in raster order.

    Returns:
        (tokens (B, Nt + Nkeep, D), kept global indices (B, Nkeep), removed global indices (B, Ns - Nkeep)
        or None when nothing is removed).
    """
    lens_s = attn_ts.shape[-1]
    lens_keep = math.ceil(keep_ratio * lens_s)
    if lens_keep == lens_s:
        return tokens, global_index_s, None
    score = template_attention_score(attn_ts, template_mask)  # (B, Ns)
    # matches OSTrack: a full descending sort; the removed indices are reported in this order too.
    _, order = torch.sort(score, dim=1, descending=True)
    keep_idx, removed_idx = order[:, :lens_keep], order[:, lens_keep:]  # (B, Nkeep), (B, Ns - Nkeep)
    if not keep_score_order:
        keep_idx = keep_idx.sort(dim=1).values
    keep_global = global_index_s.gather(1, keep_idx)
    removed_global = global_index_s.gather(1, removed_idx)
    tokens_t, tokens_s = tokens[:, :num_template], tokens[:, num_template:]
    kept = tokens_s.gather(1, keep_idx.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))  # (B, Nkeep, D)
    return torch.cat([tokens_t, kept], dim=1), keep_global, removed_global


def restore_search_tokens(search: torch.Tensor, global_index_s: torch.Tensor, num_search: int,
                          any_removed: bool) -> torch.Tensor:
    """Put the surviving search tokens back at their raster positions; eliminated positions are exact zeros.

    Args:
        search: surviving search tokens after the final norm (B, Nkeep, D), in the order of ``global_index_s``.
        global_index_s: their raster indices (B, Nkeep), float as in the original.
        num_search: Nx, the full number of search tokens.
        any_removed: whether any CE block removed tokens (otherwise the order was never changed).

    Returns:
        (B, Nx, D).
    """
    if not any_removed:
        return search
    B, _, C = search.shape
    # matches OSTrack: zeros are created after the final LayerNorm, so they stay exactly zero.
    out = search.new_zeros(B, num_search, C)
    return out.scatter_(1, global_index_s.long().unsqueeze(-1).expand(-1, -1, C), search)


class CEBlock(Block):
    """A ViT block that runs candidate elimination between its attention and its MLP.

    Same parameters (and state-dict names) as :class:`~lib.models.layers.block.Block`.

    Args:
        keep_ratio: this block's keep ratio for search tokens (1.0: never eliminates).
        keep_score_order: see :func:`candidate_elimination`.
        **block_kwargs: forwarded to :class:`~lib.models.layers.block.Block`.
    """

    def __init__(self, *args, keep_ratio: float = 1.0, keep_score_order: bool = True, **block_kwargs):
        super().__init__(*args, **block_kwargs)
        self.keep_ratio = keep_ratio
        self.keep_score_order = keep_score_order

    def forward(self, x: torch.Tensor, global_index_s: torch.Tensor, num_template: int,
                template_mask: torch.Tensor | None = None, keep_rate: float | None = None,
                return_attn: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """One block with optional elimination.

        Args:
            x: [template, search] tokens (B, Nt + Ns, D).
            global_index_s: raster indices of the current search tokens (B, Ns).
            num_template: Nt.
            template_mask: (B, Nt) bool template tokens whose attention counts (None: all).
            keep_rate: runtime keep rate; when given it overrides this block's own ratio
                (matches OSTrack: the block eliminates only if its own ratio < 1 and the runtime rate is None
                or < 1).
            return_attn: also return the full attention matrix of this block (B, heads, N, N).

        Returns:
            (tokens, global_index_s, removed global indices or None, attention matrix or None).
        """
        eliminate = self.keep_ratio < 1 and (keep_rate is None or keep_rate < 1)
        ratio = self.keep_ratio if keep_rate is None else float(keep_rate)
        n = x.shape[1]
        attn_rows = n if return_attn else (num_template if eliminate else None)
        out, attn = self.attn(self.norm1(x), attn_rows=attn_rows)
        x = x + self.drop_path(out)
        removed = None
        if eliminate:
            attn_ts = attn[:, :, :num_template, num_template:]  # (B, heads, Nt, Ns)
            x, global_index_s, removed = candidate_elimination(
                attn_ts, x, num_template, ratio, global_index_s, template_mask, self.keep_score_order)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, global_index_s, removed, (attn if return_attn else None)
