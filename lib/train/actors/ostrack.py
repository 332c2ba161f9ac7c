"""OSTrackActor: forward a template/search batch, compute GIoU + L1 + focal losses (spec 4.1-4.7).

Differences from the original, each deliberate:

* a non-finite predicted box no longer raises ``ValueError("Network outputs is NAN! Stop Training")``; the loss
  becomes NaN and the trainer skips the step, counts it and stops after TRAIN.MAX_NONFINITE_STEPS in a row;
* the original replaced the GIoU loss and IoU by 0 whenever the GIoU computation raised; the only way it can
  raise is a non-finite box, handled above, so there is no silent fallback;
* losses are computed in float32 also under autocast (bfloat16 logs and GIoU divisions are too coarse).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lib.train.actors.base_actor import BaseActor
from lib.utils.box_ops import box_cxcywh_to_xyxy, box_xywh_to_xyxy, giou_loss
from lib.utils.ce_utils import adjust_keep_rate, generate_mask_cond
from lib.utils.focal_loss import FocalLoss
from lib.utils.heatmap import generate_heatmap

__all__ = ["OSTrackActor", "build_ostrack_actor"]


class OSTrackActor(BaseActor):
    """Actor for training OSTrack.

    Args:
        net: the OSTrack network (possibly DDP-wrapped).
        objective: ``{"giou": fn -> (loss, iou), "l1": fn, "focal": module}``.
        loss_weight: ``{"giou": 2.0, "l1": 5.0, "focal": 1.0}`` (TRAIN.GIOU_WEIGHT, TRAIN.L1_WEIGHT, 1).
        search_size: search crop side (DATA.SEARCH.SIZE), for the heatmap.
        template_size: template crop side (DATA.TEMPLATE.SIZE), for the CE template mask.
        stride: feature stride (MODEL.BACKBONE.STRIDE).
        ce_loc: CE block indices (MODEL.BACKBONE.CE_LOC); empty means no candidate elimination.
        ce_keep_ratio: per-layer keep ratios (CE_KEEP_RATIO); training uses the first, as the original.
        ce_template_range: CE_TEMPLATE_RANGE (ALL, CTR_POINT, CTR_REC, GT_BOX).
        ce_start_epoch: TRAIN.CE_START_EPOCH.
        ce_warm_epoch: TRAIN.CE_WARM_EPOCH.
    """

    def __init__(self, net: nn.Module, objective: Mapping[str, Callable], loss_weight: Mapping[str, float], *,
                 search_size: int, template_size: int, stride: int, ce_loc: Sequence[int] = (),
                 ce_keep_ratio: Sequence[float] = (), ce_template_range: str = "ALL", ce_start_epoch: int = 20,
                 ce_warm_epoch: int = 80):
        super().__init__(net, objective)
        self.loss_weight = dict(loss_weight)
        self.search_size = search_size
        self.template_size = template_size
        self.stride = stride
        self.ce_loc = list(ce_loc)
        self.ce_keep_ratio = list(ce_keep_ratio)
        self.ce_template_range = ce_template_range
        self.ce_start_epoch = ce_start_epoch
        self.ce_warm_epoch = ce_warm_epoch

    def __call__(self, data: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Args: data with template_images (1, B, 3, Hz, Wz), search_images (1, B, 3, Hx, Wx), template_anno and
        search_anno (1, B, 4) normalised xywh, and epoch (1-based). Returns (loss, stats)."""
        out = self.forward_pass(data)
        return self.compute_losses(out, data)

    def ce_keep_rate(self, epoch: int) -> float | None:
        """The training keep rate of an epoch (spec 4.3): 1 up to CE_START_EPOCH, cosine to CE_KEEP_RATIO[0] at
        CE_START_EPOCH + CE_WARM_EPOCH. None without CE."""
        if not self.ce_loc:
            return None
        # matches OSTrack: one global rate from the first layer's ratio overrides the per-layer ratios in training.
        return adjust_keep_rate(epoch, warmup_epochs=self.ce_start_epoch,
                                total_epochs=self.ce_start_epoch + self.ce_warm_epoch,
                                base_keep_rate=self.ce_keep_ratio[0])

    def forward_pass(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if len(data["template_images"]) != 1 or len(data["search_images"]) != 1:
            raise ValueError(f"OSTrack trains on one template and one search frame per sample (DATA.TEMPLATE.NUMBER "
                             f"= DATA.SEARCH.NUMBER = 1), got {len(data['template_images'])} and "
                             f"{len(data['search_images'])}")
        template = data["template_images"][0]  # (B, 3, Hz, Wz)
        search = data["search_images"][0]  # (B, 3, Hx, Wx)
        box_mask_z, keep_rate = None, None
        if self.ce_loc:
            box_mask_z = generate_mask_cond(self.ce_template_range, template.shape[0], self.template_size,
                                            self.stride, template.device, data["template_anno"][0])
            keep_rate = self.ce_keep_rate(int(data["epoch"]))
        return self.net(template=template, search=search, ce_template_mask=box_mask_z, ce_keep_rate=keep_rate,
                        return_last_attn=False)

    def compute_losses(self, pred: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        gt_box = data["search_anno"][-1].float()  # (B, 4) normalised xywh
        gt_heatmap = generate_heatmap(data["search_anno"], self.search_size, self.stride)[-1].unsqueeze(1)

        pred_boxes = pred["pred_boxes"].float()  # (B, Nq, 4) normalised cxcywh
        num_queries = pred_boxes.shape[1]
        pred_xyxy = box_cxcywh_to_xyxy(pred_boxes).view(-1, 4)  # (B*Nq, 4)
        # matches OSTrack: the ground truth is clamped to the crop.
        gt_xyxy = box_xywh_to_xyxy(gt_box)[:, None, :].repeat(1, num_queries, 1).view(-1, 4).clamp(0.0, 1.0)
        if bool(torch.isfinite(pred_xyxy).all()):
            loss_giou, iou = self.objective["giou"](pred_xyxy, gt_xyxy)
        else:
            # Keeps the graph (every rank must run backward under DDP); the trainer skips this step.
            loss_giou = pred_xyxy.sum() * float("nan")
            iou = torch.full((pred_xyxy.shape[0],), float("nan"), device=pred_xyxy.device)
        loss_l1 = self.objective["l1"](pred_xyxy, gt_xyxy)
        if "score_map" in pred:
            loss_location = self.objective["focal"](pred["score_map"].float(), gt_heatmap)
        else:
            loss_location = torch.tensor(0.0, device=loss_l1.device)
        loss = (self.loss_weight["giou"] * loss_giou + self.loss_weight["l1"] * loss_l1
                + self.loss_weight["focal"] * loss_location)
        stats = {"Loss/total": loss.item(), "Loss/giou": loss_giou.item(), "Loss/l1": loss_l1.item(),
                 "Loss/location": loss_location.item(), "IoU": iou.detach().mean().item()}
        return loss, stats


def build_ostrack_actor(cfg: Any, net: nn.Module) -> OSTrackActor:
    """The actor with the original objective (spec 4.1): GIoU, L1 and focal losses weighted 2 / 5 / 1."""
    objective = {"giou": giou_loss, "l1": F.l1_loss, "focal": FocalLoss()}
    weights = {"giou": float(cfg.TRAIN.GIOU_WEIGHT), "l1": float(cfg.TRAIN.L1_WEIGHT), "focal": 1.0}
    bb = cfg.MODEL.BACKBONE
    return OSTrackActor(net, objective, weights, search_size=cfg.DATA.SEARCH.SIZE,
                        template_size=cfg.DATA.TEMPLATE.SIZE, stride=bb.STRIDE, ce_loc=bb.CE_LOC,
                        ce_keep_ratio=bb.CE_KEEP_RATIO, ce_template_range=bb.CE_TEMPLATE_RANGE,
                        ce_start_epoch=cfg.TRAIN.CE_START_EPOCH, ce_warm_epoch=cfg.TRAIN.CE_WARM_EPOCH)
