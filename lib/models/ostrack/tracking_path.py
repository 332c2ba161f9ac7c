"""OSTrack's entry of :data:`lib.models.profiling.TRACKING_PATHS`: the network as OSTrackTracker calls it per frame."""

from __future__ import annotations

from typing import Any, Callable

import torch

from lib.models.ostrack.ostrack import OSTrack
from lib.models.ostrack.vit_ce import VisionTransformerCE
from lib.utils.ce_utils import generate_mask_cond

__all__ = ["tracking_path"]


def tracking_path(model: OSTrack, cfg: Any, device: torch.device) -> dict[str, Callable[[], Any]]:
    """One forward on a (1, 3, T, T) template and a (1, 3, S, S) search crop (TEST sizes) with the CE template mask.

    A backbone with candidate elimination gives two variants: "CE" (the per-layer keep ratios) and "noCE" (keep
    rate 1.0, no elimination); any other backbone one unnamed variant (""). Each forward returns the predicted boxes
    under ``pred_boxes``.
    """
    t_sz, s_sz = cfg.TEST.TEMPLATE_SIZE, cfg.TEST.SEARCH_SIZE
    template = torch.randn(1, 3, t_sz, t_sz, device=device)
    search = torch.randn(1, 3, s_sz, s_sz, device=device)
    bb = cfg.MODEL.BACKBONE
    has_ce = isinstance(model.backbone, VisionTransformerCE) and bool(bb.CE_LOC)
    # The tracker builds the mask with the DATA template size (the size the model was built for).
    mask = generate_mask_cond(bb.CE_TEMPLATE_RANGE, 1, cfg.DATA.TEMPLATE.SIZE, bb.STRIDE, device,
                              torch.tensor([[0.25, 0.25, 0.5, 0.5]], device=device))
    keep_rates = {"CE": None, "noCE": 1.0} if has_ce else {"": None}

    def forward(rate: float | None) -> dict[str, torch.Tensor]:
        out = model(template, search, ce_template_mask=mask, ce_keep_rate=rate)
        return {"pred_boxes": out["pred_boxes"]}

    return {name: (lambda r=rate: forward(r)) for name, rate in keep_rates.items()}
