"""PySOT's LR schedules (lib/train/pysot_lr.py) against the `lr` group of the reference files (spec 7.2, 7.3)."""

import io
import logging
import math

import numpy as np
import pytest
import torch

from lib.train.pysot_lr import LR_SCHEDULES, PySOTLRScheduler, build_pysot_scheduler, pysot_lr_spaces
from lib.utils.errors import CheckpointError, ConfigError
from tests.siamese_reference import load_reference

# TRAIN.LR / TRAIN.LR_WARMUP of each training config (spec 2.3); the `lr` entries carry no kwargs. All use
# log + 5 warm-up epochs of 'step'; the plain (test) configs have empty KWARGS, i.e. the classes' defaults.
_R50_WARMUP = {"start_lr": 0.001, "end_lr": 0.005, "step": 1}
TRAINING_KWARGS = {
    "siamrpn_r50_l234_dwxcorr": ({}, {}),
    "siamrpn_r50_l234_dwxcorr_8gpu": ({"start_lr": 0.005, "end_lr": 0.0005}, _R50_WARMUP),
    "siamrpn_r50_l234_dwxcorr_16gpu": ({"start_lr": 0.005, "end_lr": 0.0005}, _R50_WARMUP),
    "siamrpn_r50_l234_dwxcorr_otb_8gpu": ({"start_lr": 0.005, "end_lr": 0.0025}, _R50_WARMUP),
    "siamrpn_alex_dwxcorr_16gpu": ({"start_lr": 0.01, "end_lr": 0.0005},
                                   {"start_lr": 0.005, "end_lr": 0.01, "step": 1}),
    "siamrpn_mobilev2_l234_dwxcorr": ({}, {}),
    "siamban_r50_l234": ({"start_lr": 0.005, "end_lr": 0.00005}, _R50_WARMUP),
    "siamban_r50_l234_otb": ({"start_lr": 0.005, "end_lr": 0.00005}, _R50_WARMUP),
}
# (reference file's config, lr entry). The plain alex entry (`error`: AlexNetLegacy has no layer2 at epoch 10)
# is a model/config matter for the lead, not a schedule one, so it is left out here.
LR_ENTRIES = [
    ("siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr"),
    ("siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_8gpu"),
    ("siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_16gpu"),
    ("siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_otb_8gpu"),
    ("siamrpn_alex_dwxcorr", "siamrpn_alex_dwxcorr_16gpu"),
    ("siamrpn_mobilev2_l234_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr"),
    ("siamban_r50_l234", "siamban_r50_l234"),
    ("siamban_r50_l234", "siamban_r50_l234_otb"),
]
RTOL = 1e-12


def _optimizer(initial_lrs):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in initial_lrs]
    return torch.optim.SGD(groups, lr=initial_lrs[-1], momentum=0.9, weight_decay=1e-4)


def _entry_setup(reference, name):
    entry = load_reference(f"{reference}_reference.pt")["lr"][name]
    assert "error" not in entry
    lr_kwargs, warmup_kwargs = TRAINING_KWARGS[name]
    kwargs = dict(epochs=entry["epochs"], lr_type="log", lr_kwargs=lr_kwargs, warmup=True, warmup_type="step",
                  warmup_epoch=5, warmup_kwargs=warmup_kwargs)
    # Groups as build_opt_lr: backbone at BASE_LR * LAYERS_LR, then neck (if any) and head at BASE_LR.
    initial = [entry["base_lr"] * entry["layers_lr"]] + [entry["base_lr"]] * (len(entry["group_params"][0]) - 1)
    return entry, kwargs, initial


@pytest.mark.parametrize("reference, name", LR_ENTRIES, ids=[n for _, n in LR_ENTRIES])
def test_lr_table_matches_reference(reference, name):
    entry, kwargs, initial = _entry_setup(reference, name)
    np.testing.assert_allclose(pysot_lr_spaces(**kwargs), entry["lr_spaces"].numpy(), rtol=RTOL, atol=0)
    expected_groups = torch.stack(entry["group_lr"]).numpy()

    # The framework's convention: built at epoch 0, step() once per finished epoch.
    optimizer = _optimizer(initial)
    scheduler = build_pysot_scheduler(optimizer, **kwargs)
    assert repr(scheduler).splitlines()[0] == entry["scheduler"]
    cur, groups = [], []
    for epoch in range(entry["epochs"]):
        if epoch:
            optimizer.step()
            scheduler.step()
        cur.append(scheduler.get_cur_lr())
        groups.append([group["lr"] for group in optimizer.param_groups])
        assert scheduler.get_last_lr() == groups[-1]
    np.testing.assert_allclose(cur, entry["cur_lr"].numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(groups, expected_groups, rtol=RTOL, atol=0)

    # PySOT's loop: step(epoch) at each epoch start.
    scheduler = build_pysot_scheduler(_optimizer(initial), **kwargs)
    for epoch in range(entry["epochs"]):
        scheduler.step(epoch)
        np.testing.assert_allclose(scheduler.get_last_lr(), expected_groups[epoch], rtol=RTOL, atol=0)


def test_group_lr_is_scaled_by_the_main_start_lr_quirk_26():
    """matches PySOT (quirk 26): with empty KWARGS the warm-up is a flat 0.01 and start_lr the log's 0.03."""
    scheduler = build_pysot_scheduler(_optimizer([0.0005, 0.005]), epochs=20)
    assert scheduler.get_cur_lr() == 0.01
    assert scheduler.get_last_lr() == pytest.approx([0.0005 * 0.01 / 0.03, 0.005 * 0.01 / 0.03], rel=1e-12)
    scheduler.step(5)
    assert scheduler.get_last_lr() == pytest.approx([0.0005, 0.005], rel=1e-12)
    # A zero-epoch warm-up leaves the main table alone (as the original).
    np.testing.assert_array_equal(pysot_lr_spaces(20, warmup_epoch=0), pysot_lr_spaces(20, warmup=False))


def test_warmup_step_never_reaches_its_end_lr_quirk_27():
    """matches PySOT (quirk 27): mult = (end/start)^(1/5) but only 4 decays happen within 5 epochs."""
    spaces = pysot_lr_spaces(20, lr_kwargs={"start_lr": 0.005, "end_lr": 0.0005}, warmup_kwargs=_R50_WARMUP)
    expected = [0.001 * 5 ** (e / 5) for e in range(5)]
    np.testing.assert_allclose(spaces[:5], expected, rtol=1e-12)
    assert spaces[4] == pytest.approx(0.0036239, rel=1e-4) and spaces[:5].max() < 0.005
    assert spaces[5] == pytest.approx(0.005, rel=1e-12)


def test_every_schedule_type_with_defaults():
    epochs = 50
    log = pysot_lr_spaces(epochs, "log", warmup=False)
    assert log[0] == pytest.approx(0.03) and log[-1] == pytest.approx(5e-4)
    np.testing.assert_allclose(np.diff(np.log(log)), np.log(5e-4 / 0.03) / 49, rtol=1e-9)
    step = pysot_lr_spaces(epochs, "step", warmup=False)
    np.testing.assert_allclose(step, [0.01 * 0.1 ** (e // 10) for e in range(epochs)], rtol=1e-12)
    multi = pysot_lr_spaces(epochs, "multi-step", warmup=False)
    assert multi.dtype == np.float32
    np.testing.assert_allclose(multi, [0.01 * 0.5 ** sum(e >= s for s in (10, 20, 30, 40)) for e in range(epochs)],
                               rtol=1e-6)
    linear = pysot_lr_spaces(epochs, "linear", warmup=False)
    assert linear[0] == 0.01 and linear[-1] == 0.005 and np.allclose(np.diff(linear), -0.005 / 49)
    cos = pysot_lr_spaces(epochs, "cos", warmup=False)
    assert cos.dtype == np.float32 and cos[0] == np.float32(0.01)
    np.testing.assert_allclose(cos, [0.005 + 0.005 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)],
                               rtol=1e-6)
    assert cos[-1] > 0.005  # never reaches end_lr
    assert set(LR_SCHEDULES) == {"log", "step", "multi-step", "linear", "cos"}


def test_step_and_multi_step_derive_start_or_mult_from_end_lr():
    step = pysot_lr_spaces(30, "step", {"start_lr": None, "end_lr": 0.001, "step": 10, "mult": 0.5}, warmup=False)
    np.testing.assert_allclose(step, [0.008 * 0.5 ** (e // 10) for e in range(30)], rtol=1e-12)
    multi = pysot_lr_spaces(30, "multi-step", {"start_lr": 0.01, "end_lr": 0.0025, "steps": [10, 20]}, warmup=False)
    np.testing.assert_allclose(multi[[0, 10, 20]], [0.01, 0.005, 0.0025], rtol=1e-6)


def test_plain_scheduler_uses_its_own_start_lr():
    """Without warm-up, start_lr is the schedule's argument, so a group's LR starts at its initial LR."""
    optimizer = _optimizer([0.001, 0.01])
    scheduler = build_pysot_scheduler(optimizer, 10, "linear", {"start_lr": 0.01, "end_lr": 0.001}, warmup=False)
    assert scheduler.get_last_lr() == pytest.approx([0.001, 0.01], rel=1e-12)
    assert repr(scheduler).startswith("(LinearStepScheduler) lr spaces: \n")


def test_unknown_kwargs_are_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="lib.train.pysot_lr"):
        spaces = pysot_lr_spaces(20, lr_kwargs={"start_lr": 0.005, "end_lr": 0.0005, "gamma": 0.1, "foo": 1})
    assert "foo" in caplog.text and "gamma" in caplog.text and "TRAIN.LR.KWARGS" in caplog.text
    np.testing.assert_allclose(spaces, pysot_lr_spaces(20, lr_kwargs={"start_lr": 0.005, "end_lr": 0.0005}))


@pytest.mark.parametrize("kwargs, message", [
    ({"lr_type": "cosine"}, "'log', 'step', 'multi-step', 'linear', 'cos'"),
    ({"warmup_type": "exp"}, "TRAIN.LR_WARMUP.TYPE"),
    ({"warmup_epoch": 20}, "TRAIN.LR_WARMUP.EPOCH"),
    ({"lr_kwargs": {"epochs": 30}}, "epochs"),
    ({"warmup_kwargs": {"start_lr": 0.001, "end_lr": 0.005}}, "step 10 is longer"),
    ({"lr_kwargs": {"start_lr": 0.0}}, "positive"),
    ({"warmup_kwargs": {"step": 0}}, "positive integer step"),
])
def test_bad_schedule_settings_raise_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_pysot_scheduler(_optimizer([0.005]), **{"epochs": 20, **kwargs})


def test_state_dict_round_trip_resumes_the_schedule():
    kwargs = dict(epochs=20, lr_kwargs={"start_lr": 0.005, "end_lr": 0.0005}, warmup_kwargs=_R50_WARMUP)
    optimizer = _optimizer([0.0005, 0.005])
    scheduler = build_pysot_scheduler(optimizer, **kwargs)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"scheduler": scheduler.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # plain data only

    # A fresh run with other defaults resumes from the state: same epoch, same table, same group LRs.
    resumed_optimizer = _optimizer([0.0005, 0.005])
    resumed = build_pysot_scheduler(resumed_optimizer, epochs=20)
    resumed_optimizer.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    assert resumed.last_epoch == 7 and resumed.get_cur_lr() == scheduler.get_cur_lr()
    np.testing.assert_array_equal(resumed.lr_spaces, scheduler.lr_spaces)
    for _ in range(15):  # also past the end: the last value is held
        optimizer.step()
        scheduler.step()
        resumed_optimizer.step()
        resumed.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()
    assert resumed.get_cur_lr() == pytest.approx(0.0005, rel=1e-12)

    float32_scheduler = build_pysot_scheduler(_optimizer([0.01]), 20, "cos", warmup=False)
    restored = build_pysot_scheduler(_optimizer([0.01]), 20, warmup=False)
    restored.load_state_dict(float32_scheduler.state_dict())
    assert restored.lr_spaces.dtype == np.float32 and restored.get_lr() == float32_scheduler.get_lr()


def test_foreign_scheduler_state_is_a_checkpoint_error():
    scheduler = build_pysot_scheduler(_optimizer([0.005]), epochs=20)
    with pytest.raises(CheckpointError, match="lr_spaces"):
        scheduler.load_state_dict({"last_epoch": 3, "base_lrs": [0.005]})


def test_scheduler_from_a_table():
    optimizer = _optimizer([0.002])
    scheduler = PySOTLRScheduler(optimizer, [0.01, 0.02], start_lr=0.01, name="Custom")
    assert scheduler.get_last_lr() == [0.002]
    optimizer.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [0.004] and repr(scheduler).startswith("(Custom)")
    with pytest.raises(ConfigError, match="non-empty"):
        PySOTLRScheduler(optimizer, [], start_lr=0.01)
