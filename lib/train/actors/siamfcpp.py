"""The SiamFC++ actor: the train phase of SiamTrack, then its losses (focal / sigmoid CE, centerness, IoU)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from lib.train.actors.base_actor import BaseActor
from lib.train.admin.multigpu import unwrap_model

__all__ = ["SiamFCppActor"]

#: batch entries the train phase and the losses read
BATCH_KEYS = ("im_z", "im_x", "cls_gt", "ctr_gt", "box_gt")


class SiamFCppActor(BaseActor):
    """Loss = the weighted sum of the model's losses; statistics as video_analyst's monitors report them
    (``Loss/cls``, ``Loss/ctr``, ``Loss/reg`` and the extra ``IoU``).

    Args:
        net: SiamTrack built with its losses (possibly DDP-wrapped).
    """

    def __call__(self, data: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        batch = {key: data[key] for key in BATCH_KEYS if key in data}
        predictions = self.net(batch)
        total, losses, extras = unwrap_model(self.net).compute_losses(predictions, batch)
        stats = {"Loss/total": float(total.detach())}
        stats.update({f"Loss/{name}": float(value.detach()) for name, value in losses.items()})
        for name, extra in extras.items():
            for key, value in (extra or {}).items():
                stats["IoU" if key == "iou" else f"{name}/{key}"] = float(torch.as_tensor(value).detach())
        return total, stats
