"""The actor of the PySOT-lineage families (SiamRPN++, SiamBAN): the network computes its own losses.

As PySOT's ``ModelBuilder.forward(data)``, the model takes the batch (template, search and the label maps of the
family's target maker) and returns ``total_loss``, ``cls_loss`` and ``loc_loss``; the actor forwards the batch,
reports the statistics and keeps the frozen backbone's BatchNorm layers in eval mode whenever the trainer puts
the network in training mode (PySOT's ``build_opt_lr`` does this once; ``model.train()`` would undo it).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from lib.train.actors.base_actor import BaseActor

__all__ = ["SiameseActor", "LABEL_KEYS"]

#: batch entries the PySOT-lineage models read
LABEL_KEYS = ("template", "search", "label_cls", "label_loc", "label_loc_weight")


class SiameseActor(BaseActor):
    """Forward a batch through a model whose ``forward(data)`` returns its losses.

    Args:
        net: SiamRPN / SiamBAN (possibly DDP-wrapped).
        frozen_batchnorms: returns the BatchNorm modules that must stay in eval mode during training (the frozen
            backbone's); called each time the network is put in training mode.
    """

    def __init__(self, net: nn.Module, frozen_batchnorms: Callable[[], Iterable[nn.Module]] | None = None):
        super().__init__(net)
        self.frozen_batchnorms = frozen_batchnorms

    def __call__(self, data: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        batch = {key: data[key] for key in LABEL_KEYS if key in data}
        outputs = self.net(batch)
        loss = outputs["total_loss"]
        stats = {"Loss/total": float(loss.detach()), "Loss/cls": float(outputs["cls_loss"].detach()),
                 "Loss/loc": float(outputs["loc_loss"].detach())}
        return loss, stats

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)
        if mode and self.frozen_batchnorms is not None:
            for module in self.frozen_batchnorms():
                module.eval()
