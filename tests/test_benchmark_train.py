"""tracking/benchmark_train.py: the speed report (with its roofline line) and the loss-curve comparison metric."""

import math

import pytest
import torch

from lib.config.ostrack.config import load_config
from script_loader import load_tracking_script



@pytest.fixture(scope="module")
def script():
    return load_tracking_script("benchmark_train")


def test_curve_deviations_are_relative_window_means_without_non_finite_losses(script):
    reference = [1.0, 3.0, 4.0, 4.0]
    other = [2.0, float("nan"), 5.0, 3.0]
    # Windows of 2: |2 - 2| / 2 = 0 (the NaN is left out), |4 - 4| / 4 = 0; a shifted curve is 10% off.
    assert script.curve_deviations(reference, other, window=2) == [0.0, 0.0]
    assert script.curve_deviations(reference, [1.1 * v for v in reference], window=4)[0] == pytest.approx(0.1)
    assert math.isnan(script.curve_deviations(reference, other, window=1)[1])  # a window with only a NaN


def test_speed_report_prints_both_modes_the_speed_up_and_the_roofline(script, capsys):
    cfg = load_config("vitn_128_ce_synthetic", overrides={"MODEL": {"PRETRAIN_FILE": ""}})
    script.benchmark_speed(cfg, torch.device("cpu"), ["fp32", "bf16"], batch=2, iters=1, warmup=1)
    text = capsys.readouterr().out
    assert "fp32: " in text and "bf16: " in text and "bf16 speed-up over fp32" in text
    line = next(l for l in text.splitlines() if l.startswith("fp32 roofline"))
    assert "GFLOP in" in line and "% of the GEMM peak" in line
