"""OSTrackActor: the CE keep-rate schedule, what it feeds the network, loss composition and stat names."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.train.actors.ostrack import OSTrackActor, build_ostrack_actor
from lib.utils.box_ops import giou_loss
from lib.utils.focal_loss import FocalLoss

STAT_NAMES = ["Loss/total", "Loss/giou", "Loss/l1", "Loss/location", "IoU"]


def _tiny_cfg(**train):
    return load_config("vitb_256_mae_ce_32x4_ep300", overrides={
        "MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce"}, "HEAD": {"NUM_CHANNELS": 16}},
        "DATA": {"SEARCH": {"SIZE": 64}, "TEMPLATE": {"SIZE": 32}}, "TRAIN": train})


def _batch(b=2, search=64, template=32, epoch=1):
    g = torch.Generator().manual_seed(0)
    return {"template_images": torch.randn(1, b, 3, template, template, generator=g),
            "search_images": torch.randn(1, b, 3, search, search, generator=g),
            "template_anno": torch.tensor([[[0.25, 0.25, 0.5, 0.5]] * b]),
            "search_anno": torch.tensor([[[0.4, 0.3, 0.2, 0.25], [0.9, 0.9, 0.3, 0.3]][:b]]),
            "epoch": epoch}


@pytest.mark.parametrize("epoch, expected", [(1, 1.0), (20, 1.0), (60, 0.85), (100, 0.7), (300, 0.7)])
def test_ce_keep_rate_schedule_of_the_300_epoch_configs(epoch, expected):
    actor = build_ostrack_actor(load_config("vitb_256_mae_ce_32x4_ep300"), nn.Identity())
    assert actor.ce_keep_rate(epoch) == pytest.approx(expected, abs=1e-12)


def test_ce_keep_rate_schedule_of_the_got10k_configs_and_without_ce():
    got10k = build_ostrack_actor(load_config("vitb_256_mae_ce_32x4_got10k_ep100"), nn.Identity())  # 20 + 50
    assert got10k.ce_keep_rate(45) == pytest.approx(0.7 + 0.3 * (math.cos(math.pi * 25 / 50) + 1) / 2)
    assert got10k.ce_keep_rate(70) == pytest.approx(0.7)
    assert build_ostrack_actor(load_config("vitb_256_mae_32x4_ep300"), nn.Identity()).ce_keep_rate(100) is None


class _Recorder(nn.Module):
    """Returns fixed predictions and records what the actor passed in."""

    def __init__(self, pred_boxes_cxcywh, fs=4):
        super().__init__()
        self.pred_boxes = pred_boxes_cxcywh
        self.score = nn.Parameter(torch.full((1, 1, fs, fs), 0.1))

    def forward(self, **kwargs):
        self.kwargs = kwargs
        b = kwargs["search"].shape[0]
        return {"pred_boxes": self.pred_boxes, "score_map": self.score.expand(b, -1, -1, -1)}


def _actor(net, **kw):
    options = dict(search_size=64, template_size=32, stride=16, ce_loc=[3, 6, 9], ce_keep_ratio=[0.7] * 3,
                   ce_template_range="CTR_POINT")
    options.update(kw)
    return OSTrackActor(net, {"giou": giou_loss, "l1": F.l1_loss, "focal": FocalLoss()},
                        {"giou": 2.0, "l1": 5.0, "focal": 1.0}, **options)


def test_actor_feeds_the_scheduled_keep_rate_and_the_centre_template_mask():
    net = _Recorder(torch.tensor([[[0.5, 0.4, 0.2, 0.25]], [[0.95, 0.95, 0.1, 0.1]]]))
    _actor(net)(_batch(epoch=60))
    assert net.kwargs["ce_keep_rate"] == pytest.approx(0.85)
    mask = net.kwargs["ce_template_mask"]
    assert mask.shape == (2, 4) and mask.sum(1).tolist() == [1, 1] and mask[:, 0].all()  # fz 2: centre cell 0
    assert net.kwargs["template"].shape == (2, 3, 32, 32) and net.kwargs["return_last_attn"] is False
    _actor(net, ce_loc=[])(_batch(epoch=60))
    assert net.kwargs["ce_keep_rate"] is None and net.kwargs["ce_template_mask"] is None


def test_losses_clamp_the_ground_truth_and_weight_giou_l1_focal():
    # Ground truth of item 2 leaves the crop: (0.9, 0.9, 0.3, 0.3) xywh is clamped to xyxy (0.9, 0.9, 1, 1).
    # Predictions equal to the (clamped) ground truth make GIoU and L1 exactly 0: the total is the focal term.
    pred = torch.tensor([[[0.5, 0.425, 0.2, 0.25]], [[0.95, 0.95, 0.1, 0.1]]])
    net = _Recorder(pred)
    loss, stats = _actor(net)(_batch())
    assert list(stats) == STAT_NAMES and all(isinstance(v, float) for v in stats.values())
    assert stats["Loss/giou"] == pytest.approx(0.0, abs=1e-6) and stats["Loss/l1"] == pytest.approx(0.0, abs=1e-6)
    assert stats["IoU"] == pytest.approx(1.0, abs=1e-6)
    assert stats["Loss/location"] > 0 and loss.item() == pytest.approx(stats["Loss/location"], rel=1e-6)

    shifted = pred + torch.tensor([0.05, 0.0, 0.0, 0.0])
    loss2, stats2 = _actor(_Recorder(shifted))(_batch())
    assert stats2["Loss/l1"] == pytest.approx(0.05 * 2 / 4, rel=1e-5)  # x1 and x2 of every box off by 0.05
    assert loss2.item() == pytest.approx(2.0 * stats2["Loss/giou"] + 5.0 * stats2["Loss/l1"]
                                         + stats2["Loss/location"], rel=1e-6)


def test_non_finite_prediction_gives_a_nan_loss_instead_of_raising():
    pred = torch.full((2, 1, 4), float("nan"), requires_grad=True)
    loss, stats = _actor(_Recorder(pred))(_batch())
    assert math.isnan(loss.item()) and math.isnan(stats["IoU"])
    loss.backward()  # still differentiable: every DDP rank runs backward, the trainer then skips the step


def test_real_model_forward_backward_reaches_head_and_backbone_but_not_unused_parameters():
    cfg = _tiny_cfg()
    torch.manual_seed(0)
    net = build_ostrack(cfg, training=True)
    actor = build_ostrack_actor(cfg, net)
    loss, stats = actor(_batch(epoch=100))  # full elimination (keep 0.7)
    assert math.isfinite(loss.item()) and list(stats) == STAT_NAMES
    loss.backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert grads["box_head.conv5_ctr.weight"] is not None and grads["backbone.blocks.0.attn.qkv.weight"] is not None
    assert grads["backbone.cls_token"] is None and grads["backbone.pos_embed"] is None
