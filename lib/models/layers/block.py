"""Pre-norm transformer block (ViT): x + DropPath(Attn(LN(x))), then x + DropPath(MLP(LN(x)))."""

from __future__ import annotations

import torch
from timm.layers import DropPath, Mlp
from torch import nn

from lib.models.layers.attention import Attention

__all__ = ["Block"]


class Block(nn.Module):
    """A ViT block with the original state-dict names (norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2).

    Args:
        dim: token width D.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width = mlp_ratio * D.
        qkv_bias: bias in the qkv projection.
        drop: dropout after the MLP layers and the attention projection (0 in OSTrack).
        attn_drop: dropout on the attention weights (0 in OSTrack).
        drop_path: stochastic-depth rate of this block (sample-wise, active only in training).
        attn_impl: "sdpa" or "explicit" (see :class:`~lib.models.layers.attention.Attention`).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0, attn_impl: str = "sdpa"):
        super().__init__()
        # matches OSTrack: LayerNorm eps 1e-6, GELU MLP.
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
                              attn_impl=attn_impl)
        # One DropPath module for both residuals, as the original; each call draws its own mask.
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU, drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N, D) -> (B, N, D)."""
        x = x + self.drop_path(self.attn(self.norm1(x))[0])
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x
