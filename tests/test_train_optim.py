"""Optimizer parameter groups, FREEZE_LAYERS and the LR schedules (step, Mstep, cosine, warm-up)."""

import io
import math

import pytest
import torch

from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.train.optim import build_optimizer_scheduler, freeze_backbone_layers
from lib.utils.errors import ConfigError


def _cfg(**train):
    return load_config("vitb_256_mae_ce_32x4_ep300", overrides={
        "MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce"}, "HEAD": {"NUM_CHANNELS": 16}},
        "DATA": {"SEARCH": {"SIZE": 64}, "TEMPLATE": {"SIZE": 32}}, "TRAIN": train})


@pytest.fixture(scope="module")
def tiny_net():
    return build_ostrack(_cfg(), training=True)


def _lrs_per_epoch(cfg, epochs):
    """The head LR used in each (1-based) epoch, stepping the scheduler after each epoch as the trainer does."""
    net = torch.nn.Linear(1, 1)
    optimizer, scheduler = build_optimizer_scheduler(cfg, net)
    lrs = []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()  # (no gradients: a no-op that keeps torch's step-order check quiet)
        scheduler.step()
    return lrs


def test_param_groups_head_and_backbone_without_unused_parameters(tiny_net):
    cfg = _cfg()
    optimizer, _ = build_optimizer_scheduler(cfg, tiny_net)
    names = {id(p): n for n, p in tiny_net.named_parameters()}
    head, backbone = ([names[id(p)] for p in g["params"]] for g in optimizer.param_groups)
    assert head and all("backbone" not in n for n in head)
    assert backbone and all(n.startswith("backbone.") for n in backbone)
    assert "backbone.cls_token" not in backbone and "backbone.pos_embed" not in backbone
    assert len(head) + len(backbone) == sum(p.requires_grad for p in tiny_net.parameters())
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([4e-4, 4e-5])  # LR, LR * BACKBONE_MULTIPLIER
    assert all(g["weight_decay"] == 1e-4 for g in optimizer.param_groups)  # matches OSTrack: decay on every param
    assert isinstance(optimizer, torch.optim.AdamW)


def test_freeze_layers_default_trains_everything_and_n_freezes_the_embedding_and_first_blocks():
    net = build_ostrack(_cfg(), training=True)
    assert freeze_backbone_layers(net, [0]) == []
    frozen = set(freeze_backbone_layers(net, [2]))
    assert {"backbone.patch_embed.proj.weight", "backbone.pos_embed_z", "backbone.pos_embed_x",
            "backbone.blocks.0.attn.qkv.weight", "backbone.blocks.1.mlp.fc2.bias"} <= frozen
    assert not any(n.startswith(("backbone.blocks.2.", "backbone.norm", "box_head")) for n in frozen)
    optimizer, _ = build_optimizer_scheduler(_cfg(), net)
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert all(id(p) not in in_optimizer for n, p in net.named_parameters() if n in frozen)
    with pytest.raises(ConfigError, match="one-element list"):
        freeze_backbone_layers(net, [1, 2])
    with pytest.raises(ConfigError, match="more blocks"):
        freeze_backbone_layers(net, [13])


def test_step_schedule_matches_the_original_and_honours_decay_rate():
    # 300-epoch configs: head 4e-4 for epochs 1-240, 4e-5 for 241-300 (StepLR, gamma 0.1).
    lrs = _lrs_per_epoch(load_config("vitb_256_mae_ce_32x4_ep300"), 300)
    assert lrs[0] == lrs[239] == pytest.approx(4e-4) and lrs[240] == lrs[299] == pytest.approx(4e-5)
    lrs = _lrs_per_epoch(_cfg(LR_DROP_EPOCH=2, SCHEDULER={"DECAY_RATE": 0.5}), 6)
    assert lrs == pytest.approx([4e-4, 4e-4, 2e-4, 2e-4, 1e-4, 1e-4])


def test_mstep_schedule():
    lrs = _lrs_per_epoch(_cfg(SCHEDULER={"TYPE": "Mstep", "MILESTONES": [3, 5], "GAMMA": 0.5}), 7)
    assert lrs == pytest.approx([4e-4] * 3 + [2e-4] * 2 + [1e-4] * 2)


def test_cosine_schedule_with_min_lr_and_linear_warmup():
    cfg = _cfg(EPOCH=10, SCHEDULER={"TYPE": "cosine", "MIN_LR": 4e-6, "WARMUP_EPOCH": 2, "WARMUP_FACTOR": 0.1})
    lrs = _lrs_per_epoch(cfg, 10)
    assert lrs[:3] == pytest.approx([4e-5, 2.2e-4, 4e-4])  # warm-up 0.1 -> 0.55 -> 1, then the cosine starts
    assert lrs[3] == pytest.approx(4e-6 + (4e-4 - 4e-6) * (1 + math.cos(math.pi / 8)) / 2)
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] > 4e-6
    warm_step = _lrs_per_epoch(_cfg(LR_DROP_EPOCH=3, SCHEDULER={"WARMUP_EPOCH": 2, "WARMUP_FACTOR": 0.5}), 5)
    assert warm_step == pytest.approx([2e-4, 3e-4, 4e-4, 4e-5, 4e-5])  # drop epochs stay absolute


def test_scheduler_state_is_plain_data_and_resumes_the_schedule():
    cfg = _cfg(EPOCH=10, SCHEDULER={"TYPE": "cosine", "WARMUP_EPOCH": 2})
    net = torch.nn.Linear(1, 1)
    optimizer, scheduler = build_optimizer_scheduler(cfg, net)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    optimizer2, scheduler2 = build_optimizer_scheduler(cfg, torch.nn.Linear(1, 1))
    optimizer2.load_state_dict(state["optimizer"])
    scheduler2.load_state_dict(state["scheduler"])
    for _ in range(3):
        assert scheduler2.get_last_lr() == pytest.approx(scheduler.get_last_lr())
        optimizer.step()
        optimizer2.step()
        scheduler.step()
        scheduler2.step()
