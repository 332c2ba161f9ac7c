"""Multi-head self-attention with a fused (SDPA) and an explicit softmax(QK^T)V path.

The state-dict names (``qkv``, ``proj``) are those of the original OSTrack / timm ``Attention``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Attention", "ATTN_IMPLS"]

# "sdpa": torch.nn.functional.scaled_dot_product_attention (a fused kernel on CPU and GPU; the attention
# matrix is never materialised). "explicit": the original's softmax(q k^T * scale) v, kept for checking.
ATTN_IMPLS = ("sdpa", "explicit")


class Attention(nn.Module):
    """Multi-head self-attention (ViT).

    Args:
        dim: token width D.
        num_heads: number of heads; head_dim = D / num_heads.
        qkv_bias: whether the qkv projection has a bias (True in OSTrack).
        attn_drop: dropout on the attention weights (0 in OSTrack).
        proj_drop: dropout after the output projection (0 in OSTrack).
        attn_impl: "sdpa" or "explicit" (see ``ATTN_IMPLS``); can be changed later through the attribute.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, attn_impl: str = "sdpa"):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.attn_impl = attn_impl

    @property
    def attn_impl(self) -> str:
        return self._attn_impl

    @attn_impl.setter
    def attn_impl(self, value: str) -> None:
        if value not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got {value!r}")
        self._attn_impl = value

    def forward(self, x: torch.Tensor, attn_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend over all tokens.

        Args:
            x: tokens (B, N, D).
            attn_rows: if given, also return the softmax attention of the first ``attn_rows`` query tokens
                (B, heads, attn_rows, N). Candidate elimination asks for the template rows; ``N`` gives the
                full matrix. With the SDPA path only these rows are computed, in addition to the fused call.
                The rows are float32 when ``x`` is bfloat16 / float16 (see :meth:`_attention_rows`).

        Returns:
            (output (B, N, D), attention rows or None).
        """
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, N, head_dim)
        attn_out_rows = None
        if self._attn_impl == "explicit":
            attn = (q @ k.transpose(-2, -1)) * self.scale  # (B, heads, N, N)
            attn = attn.softmax(dim=-1)
            if attn_rows is not None:
                # float32 and wider: the rows of the matrix just computed (what the original returns);
                # a narrower dtype recomputes them wider, as the SDPA path does
                attn_out_rows = attn[:, :, :attn_rows] if _is_wide(q.dtype) else self._attention_rows(q, k, attn_rows)
            attn = self.attn_drop(attn)
            out = attn @ v  # (B, heads, N, head_dim)
        else:
            drop = self.attn_drop.p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, scale=self.scale)
            if attn_rows is not None:
                attn_out_rows = self._attention_rows(q, k, attn_rows)
        out = out.transpose(1, 2).reshape(B, N, C)
        out = self.proj_drop(self.proj(out))
        return out, attn_out_rows

    def _attention_rows(self, q: torch.Tensor, k: torch.Tensor, attn_rows: int) -> torch.Tensor:
        """Softmax attention of the first ``attn_rows`` queries (B, heads, attn_rows, N), in float32 at least.

        The explicit path's expression on the requested rows only. Candidate elimination sorts the search tokens
        by these values, and in bfloat16 / float16 close scores round to ties or swap places (issue 14: bf16
        boxes drifted to a mean IoU of 0.907 against fp32), so narrower q and k are cast to float32 first;
        float32 (and float64) inputs are used as they are, which keeps those paths unchanged.
        """
        q_rows = q[:, :, :attn_rows]
        if not _is_wide(q.dtype):
            q_rows, k = q_rows.float(), k.float()
        rows = (q_rows @ k.transpose(-2, -1)) * self.scale  # (B, heads, attn_rows, N)
        return rows.softmax(dim=-1)


def _is_wide(dtype: torch.dtype) -> bool:
    """Whether ``dtype`` is float32 or wider (float64): precise enough to rank attention scores in."""
    return torch.promote_types(dtype, torch.float32) == dtype
