"""tracking/profile_model.py and the MAC counter."""


import pytest
import torch
import yaml

from lib.models.profiling import (TRACKING_PATHS, count_macs, count_params, flop_counter, matmul_peak_gflops,
                                   measure_latency_interleaved, output_difference, roofline_line)
from lib.models.registry import MODEL_BUILDERS
from lib.utils.errors import ConfigError
from lib.utils.registry import UnknownNameError
from script_loader import load_tracking_script




def load_profile_script():
    return load_tracking_script("profile_model")


def test_count_macs_of_linear_conv_and_attention():
    linear = torch.nn.Linear(8, 16)
    assert count_macs(lambda: linear(torch.randn(5, 8))) == 5 * 8 * 16
    conv = torch.nn.Conv2d(3, 4, kernel_size=3, padding=1)
    assert count_macs(lambda: conv(torch.randn(1, 3, 6, 6))) == 6 * 6 * 4 * 3 * 9
    q = torch.randn(1, 2, 10, 4)  # (B, heads, N, head_dim): QK^T and AV, 2 * heads * N * N * d
    assert count_macs(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q)) == 2 * 2 * 10 * 10 * 4


def test_flop_counter_counts_the_fused_cpu_attention_backward():
    q, k, v = (torch.randn(1, 2, 10, 4, requires_grad=True) for _ in range(3))
    with flop_counter() as counter:
        torch.nn.functional.scaled_dot_product_attention(q, k, v).sum().backward()
    forward = 2 * 2 * 2 * 10 * 10 * 4  # FLOPs: QK^T and AV
    assert counter.get_total_flops() == forward + 2 * forward + forward // 2  # backward: 2.5x the forward


def test_roofline_line_compares_a_time_with_the_gemm_peak():
    line = roofline_line("step", 100e9, 1.0, 200.0)
    assert line == ("step: 100.0 GFLOP in 1000.0 ms = 100.0 GFLOP/s, 50% of the GEMM peak 200.0 GFLOP/s "
                    "(at peak it would take 500.0 ms)")
    peak = matmul_peak_gflops(torch.device("cpu"), shape=(64, 32, 48), iters=2)
    assert 0 < peak < 1e5


def test_count_params_and_interleaved_latency():
    model = torch.nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert count_params(model) == (8, 6)
    calls = []
    results = measure_latency_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                          torch.device("cpu"), iters=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert [r.name for r in results] == ["a", "b"] and all(len(r.times_ms) == 3 for r in results)


def test_profile_model_reports_params_macs_and_latency(tmp_path, capsys):
    config = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                                          "CE_KEEP_RATIO": [0.7, 0.7, 0.7],
                                                          "CE_TEMPLATE_RANGE": "CTR_POINT"},
                        "HEAD": {"NUM_CHANNELS": 64}},
              "DATA": {"SEARCH": {"SIZE": 128}, "TEMPLATE": {"SIZE": 64}},
              "TEST": {"SEARCH_SIZE": 128, "TEMPLATE_SIZE": 64}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    script = load_profile_script()
    assert script.main(["--config", str(path), "--iters", "1", "--warmup", "0", "--precision", "both",
                        "--attn", "sdpa", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "params:" in text
    macs = {line.split(":")[0]: float(line.split(":")[1].split()[0]) for line in text.splitlines()
            if line.startswith("MACs")}
    assert set(macs) == {"MACs CE", "MACs noCE"} and 0 < macs["MACs CE"] < macs["MACs noCE"]
    for name in ("fp32 sdpa CE", "fp32 sdpa noCE", "bf16 sdpa CE", "bf16 sdpa noCE", "ratio bf16/fp32 sdpa CE"):
        assert name in text
    assert "explicit" not in text
    assert "fp32 sdpa CE: " in text.split("fp32 roofline")[1] and "% of the GEMM peak" in text


def test_profile_model_rejects_bad_arguments():
    script = load_profile_script()
    with pytest.raises(ConfigError, match="does not exist"):
        script.main(["--config", "no_such_config", "--device", "cpu"])
    with pytest.raises(ConfigError, match="--iters"):
        script.main(["--config", "vitb_256_mae_ce_32x4_ep300", "--iters", "0", "--device", "cpu"])


def test_every_family_has_a_tracking_path_and_an_unknown_one_is_named():
    assert set(TRACKING_PATHS) == set(MODEL_BUILDERS)
    with pytest.raises(UnknownNameError, match=r"--script: unknown tracking path 'siamrnp'\. Did you mean `siamrpn`\?"):
        load_profile_script().main(["--script", "siamrnp", "--device", "cpu"])


def test_output_difference_names_the_compared_tensors():
    a = {"cls": torch.zeros(2), "loc": torch.ones(3)}
    b = {"cls": torch.zeros(2), "loc": torch.tensor([1.0, 1.5, 0.75])}
    assert output_difference(a, b) == ("cls, loc", 0.5)
    assert output_difference(torch.ones(2), torch.zeros(2)) == ("output", 1.0)
