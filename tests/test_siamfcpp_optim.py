"""SiamFC++ optimisation: LR table, parameter groups and freezer table against the original's references."""

import logging

import pytest
import torch
from torch import nn

from lib.config.core import CfgNode
from lib.train.siamfcpp_optim import (CosineLR, DynamicFreezer, ExponentialLR, IterationLRScheduler, LinearLR,
                                      ListLR, MultiStageLR, build_dynamic_freezer, build_lr_policy,
                                      build_param_groups, build_siamfcpp_lr_scheduler, build_siamfcpp_optimizer,
                                      make_sgd, num_iterations_per_epoch)
from lib.utils.errors import ConfigError
from tests.siamese_reference import load_reference

BACKBONES = ["alexnet", "googlenet", "shufflenetv2x1_0"]


class NamedParams(nn.Module):
    """A module whose named_parameters() are exactly ``names``, in order (scalars: shapes do not matter here)."""

    def __init__(self, names):
        super().__init__()
        for name in names:
            module = self
            *path, leaf = name.split(".")
            for part in path:
                if part not in module._modules:
                    module.add_module(part, nn.Module())
                module = module._modules[part]
            module.register_parameter(leaf, nn.Parameter(torch.zeros(1)))


def _ref(backbone):
    return load_reference(f"siamfcpp_{backbone}_reference.pt")


@pytest.mark.parametrize("backbone", BACKBONES)
def test_lr_table_equals_reference(backbone):
    sched = _ref(backbone)["lr_schedule"]
    n = sched["num_iterations"]
    policy = build_lr_policy(sched["lr_policy"], n)
    assert len(policy) == sched["max_epoch"] == 20
    first = torch.tensor([[policy.get_lr(e, i) for i in range(n)] for e in range(2)], dtype=torch.float64)
    assert torch.equal(first, sched["per_iteration_first_epochs"])
    sampled = torch.tensor([[policy.get_lr(e, i) for i in sched["sample_iterations"]] for e in range(20)],
                           dtype=torch.float64)
    assert torch.equal(sampled, sched["sampled"])


@pytest.mark.parametrize("backbone", BACKBONES)
def test_param_groups_and_group_lrs_equal_reference(backbone):
    ref = _ref(backbone)
    sched = ref["lr_schedule"]
    model = NamedParams(ref["freeze"]["param_names"])
    groups = build_param_groups(model, sched["lr_multiplier"])
    weight_decay = sched["param_groups"][0]["weight_decay"]
    optimizer = make_sgd(groups, momentum=0.9, weight_decay=weight_decay)
    for group, expected in zip(optimizer.param_groups, sched["param_groups"]):
        assert len(group["params"]) == expected["n_params"]
        assert (group["param_names"][0], group["param_names"][-1]) == (expected["first"], expected["last"])
        assert (group["momentum"], group["weight_decay"]) == (expected["momentum"], expected["weight_decay"])
    scheduler = IterationLRScheduler(optimizer, build_lr_policy(sched["lr_policy"], sched["num_iterations"]))
    for e in range(20):
        for j, it in enumerate(sched["sample_iterations"]):
            lr = scheduler.step(e, it)
            # the returned (logged) LR is the un-multiplied one; the backbone group runs at 0.1x (quirk Q16)
            assert lr == sched["sampled"][e, j].item()
            assert scheduler.get_last_lr() == sched["group_lrs_sampled"][e, j].tolist()


def test_quirk_q16_weight_decay_on_every_parameter_and_frozen_parameters_stay_in_groups():
    model = NamedParams(["basemodel.conv1.conv.weight", "basemodel.conv1.bn.bias", "head.bi", "head.si"])
    model.basemodel.conv1.conv.weight.requires_grad_(False)
    groups = build_param_groups(model, [{"name": "backbone", "regex": "basemodel", "ratio": 0.1},
                                        {"name": "other", "regex": "^((?!basemodel).)*$", "ratio": 1}])
    assert [g["param_names"] for g in groups] == [["basemodel.conv1.conv.weight", "basemodel.conv1.bn.bias"],
                                                  ["head.bi", "head.si"]]
    optimizer = make_sgd(groups, weight_decay=0.5)
    for p in model.parameters():
        p.data.fill_(1.0)
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    IterationLRScheduler(optimizer, ListLR([LinearLR(1.0, 1.0, 1, 1)])).step(0, 0)
    optimizer.step()
    assert model.basemodel.conv1.conv.weight.item() == 1.0  # frozen: no gradient, untouched
    assert model.basemodel.conv1.bn.bias.item() == pytest.approx(1 - 0.1 * 0.5)  # decayed at 0.1x LR
    assert model.head.bi.item() == pytest.approx(1 - 0.5)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_freezer_table_equals_reference(backbone, caplog):
    freeze = _ref(backbone)["freeze"]
    model = NamedParams(freeze["param_names"])
    freezer = DynamicFreezer(freeze["schedule"])
    with caplog.at_level(logging.INFO, logger="lib.train.siamfcpp_optim"):
        for epoch in range(20):
            freezer.apply(model, epoch)
            got = torch.tensor([p.requires_grad for p in model.parameters()])
            assert torch.equal(got, freeze["requires_grad"][epoch]), epoch
    unfrozen = {n: e for n, e in freeze["unfrozen_at"].items() if e >= 0}
    for name, epoch in unfrozen.items():
        # quirk Q24 fixed: the change is logged with its old and new state
        assert f"epoch {epoch}: {name} requires_grad False -> True" in caplog.text


def test_quirk_q15_freeze_is_an_xor_and_later_entries_win():
    freezer = DynamicFreezer([{"name": "all", "regex": "conv", "epoch": 0, "freezed": True},
                              {"name": "late", "regex": "conv5", "epoch": 3, "freezed": False},
                              {"name": "never", "regex": "conv9", "epoch": 2, "freezed": True}])
    assert [freezer.requires_grad("conv5.w", e) for e in range(5)] == [False, False, False, True, True]
    assert [freezer.requires_grad("conv1.w", e) for e in range(2)] == [False, False]
    # (e >= 2) XOR True: a "freezed" entry makes its parameters trainable before its epoch, frozen from then on
    assert [freezer.requires_grad("conv9.w", e) for e in range(4)] == [True, True, False, False]
    assert freezer.requires_grad("bn.weight", 0) is None  # unmatched: left as it is
    assert DynamicFreezer([{"regex": "x", "epoch": 2, "freezed": True}]).requires_grad("x", 1) is True


def test_policies_formulas():
    assert LinearLR(1e-6, 0.08, 1, 4).get_lr(0, 2) == pytest.approx(1e-6 + (0.08 - 1e-6) / 2)
    assert CosineLR(0.08, 1e-6, 2, 10).get_lr(1, 0) == pytest.approx((0.08 + 1e-6) / 2)
    assert ExponentialLR(1.0, 0.01, 2, 1).get_lr(1, 0) == pytest.approx(0.1)
    stages = MultiStageLR([[2, 0.1], [5, 0.01]])
    assert [stages.get_lr(e, 0) for e in range(5)] == [0.1, 0.1, 0.01, 0.01, 0.01]
    chained = ListLR([LinearLR(0.0, 1.0, 1, 2), stages])
    assert len(chained) == 6 and chained.get_lr(1, 0) == 0.1 and chained.get_lr(3, 1) == 0.01
    with pytest.raises(ValueError, match="outside"):
        LinearLR(0.0, 1.0, 1, 2).get_lr(0, 2)


def test_quirk_q12_fixed_lr_past_the_schedule_end_is_an_error():
    policy = build_lr_policy(['{"name": "LinearLR", "start_lr": 0.1, "end_lr": 0.2, "max_epoch": 1}',
                              {"name": "CosineLR", "start_lr": 0.08, "end_lr": 1e-6, "max_epoch": 2}], 10)
    assert policy.get_lr(2, 9) == pytest.approx(1e-6, abs=1e-3)
    with pytest.raises(ConfigError, match="past the end of the LR schedule, which covers 3 epochs"):
        policy.get_lr(3, 0)


def test_bad_entries_are_clear_errors():
    with pytest.raises(ConfigError, match=r"lr_policy\[0\] must be a JSON object"):
        build_lr_policy(["{name: LinearLR"], 10)
    with pytest.raises(ConfigError, match="unknown LR policy 'StepLR'; known: LinearLR"):
        build_lr_policy([{"name": "StepLR"}], 10)
    with pytest.raises(ConfigError, match=r"lr_policy\[0\] \(LinearLR\)"):
        build_lr_policy([{"name": "LinearLR", "start_lr": 1.0}], 10)
    with pytest.raises(ConfigError, match="lr_policy is empty"):
        build_lr_policy([], 10)
    with pytest.raises(ConfigError, match="needs 'regex' and 'ratio'"):
        build_param_groups(NamedParams(["a"]), [{"name": "x", "regex": "a"}])
    with pytest.raises(ConfigError, match="invalid regex"):
        build_param_groups(NamedParams(["a"]), [{"name": "x", "regex": "(", "ratio": 1}])
    with pytest.raises(ConfigError, match="lacks epoch, freezed"):
        DynamicFreezer([{"name": "x", "regex": "a"}])
    with pytest.raises(ConfigError, match="must be at least minibatch"):
        num_iterations_per_epoch(10, 32)


def _optim_node(**sgd):
    sched = _ref("alexnet")["lr_schedule"]
    node = {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-05, "minibatch": 32, "nr_image_per_epoch": 400000,
            "amp": False, "lr_policy": list(sched["lr_policy"]), "lr_multiplier": list(sched["lr_multiplier"])}
    node.update(sgd)
    return CfgNode({"optimizer": {"name": "SGD", "SGD": node},
                    "grad_modifier": {"name": "DynamicFreezer",
                                      "DynamicFreezer": {"schedule": list(_ref("alexnet")["freeze"]["schedule"])}}})


def test_builders_read_the_optim_node_and_resume_from_plain_state():
    ref = _ref("alexnet")
    model = NamedParams(ref["freeze"]["param_names"])
    cfg = _optim_node().freeze()
    optimizer = build_siamfcpp_optimizer(cfg, model)
    assert [len(g["params"]) for g in optimizer.param_groups] == [20, 46]
    scheduler = build_siamfcpp_lr_scheduler(cfg, optimizer)
    assert scheduler.step(0, 12499) == ref["lr_schedule"]["per_iteration_first_epochs"][0, -1].item()
    state = scheduler.state_dict()
    assert all(isinstance(v, (int, float)) for v in state.values())
    fresh = build_siamfcpp_lr_scheduler(cfg, build_siamfcpp_optimizer(cfg, NamedParams(ref["freeze"]["param_names"])))
    fresh.load_state_dict(state)
    assert fresh.get_last_lr() == scheduler.get_last_lr()
    freezer = build_dynamic_freezer(cfg)
    assert freezer.apply(model, 5)["basemodel.conv1.conv.weight"] == (True, False)
    assert build_dynamic_freezer(CfgNode({"optimizer": {}, "grad_modifier": {"name": ""}})) is None
    with pytest.raises(ConfigError, match="'Adam' is not supported"):
        build_siamfcpp_optimizer(CfgNode({"optimizer": {"name": "Adam"}}), model)
    assert num_iterations_per_epoch(150000, 128) == 1171
