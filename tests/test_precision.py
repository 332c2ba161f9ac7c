"""--precision: bf16 converts the network once at load with its output layers and score activation in float32
and gives finite boxes; auto picks bf16 only where it is native (capability check mocked); fp16 is CUDA-only."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from lib.test.tracker import precision as precision_module
from lib.test.tracker.precision import convert_network, converted_network, resolve_precision
from lib.utils.errors import ConfigError
from script_loader import load_tracking_script
from tests.deploy_helpers import FAMILIES, make_tracker, run_boxes, synthetic_sequence, tiny_network, tiny_params, \
    write_config


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    return synthetic_sequence(tmp_path_factory.mktemp("syn"))


@pytest.mark.parametrize("native", [True, False])
def test_auto_picks_bf16_only_where_native(monkeypatch, caplog, native):
    monkeypatch.setattr(precision_module, "cpu_has_fast_bf16", lambda: native)
    monkeypatch.setattr(precision_module, "_LOGGED", set())  # logged once per process: forget earlier tests
    with caplog.at_level(logging.INFO, logger="lib.test.tracker.precision"):
        chosen = resolve_precision("auto", "cpu")
    assert chosen == ("bf16" if native else "fp32")
    assert f"precision auto: {chosen}" in caplog.text  # it says which it chose
    params = tiny_params("ostrack")
    network = tiny_network("ostrack", params)
    tracker = make_tracker("ostrack", params, network=network, precision="auto")
    assert tracker.backend.precision == chosen
    # fp32: the network itself; bf16: a converted copy (the fp32 network stays as it was)
    assert (tracker.network is network) == (not native)
    assert next(network.parameters()).dtype == torch.float32


def test_fp16_on_the_cpu_and_unknown_precisions_are_errors():
    with pytest.raises(ConfigError, match="--precision fp16 runs on CUDA devices only"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ConfigError, match="--precision 'int8' is not a precision"):
        resolve_precision("int8", "cpu")
    assert resolve_precision("auto", "cpu", backend="onnxruntime") == "fp32"


def test_bf16_keeps_the_score_sigmoid_and_output_layers_in_float32():
    params = tiny_params("ostrack")
    network = tiny_network("ostrack", params)
    with torch.no_grad():
        network.box_head.conv5_ctr.bias.fill_(30.0)  # a saturated score: sigmoid = 1 in float32 before the clamp
    tracker = make_tracker("ostrack", params, network=network, precision="bf16")
    net = tracker.network
    assert net.backbone.patch_embed.proj.weight.dtype == torch.bfloat16  # converted once at load
    assert net.box_head.conv5_ctr.weight.dtype == torch.float32 and net.box_head.conv5_size.weight.dtype == \
        torch.float32
    (template, mask), search = tracker.example_inputs(torch.Generator().manual_seed(0))
    tracker.backend.set_template(template, mask)
    score_map, size_map, offset_map = tracker.backend.track(search)
    assert score_map.dtype == size_map.dtype == offset_map.dtype == torch.float32
    # matches OSTrack's clamp: 1 - 1e-4 in float32; in bfloat16 it would round to exactly 1
    assert score_map.max().item() == pytest.approx(1 - 1e-4, abs=1e-7) and score_map.max().item() < 1
    raw = net(template=template.bfloat16(), search=search.bfloat16(), ce_template_mask=mask)
    assert raw["score_map"].dtype == torch.float32  # the sigmoid itself ran in float32


def test_siamfcpp_bf16_decodes_scores_and_boxes_in_float32():
    params = tiny_params("siamfcpp")
    tracker = make_tracker("siamfcpp", params, network=tiny_network("siamfcpp", params), precision="bf16")
    head = tracker.network.head
    assert head.cls_p5_conv1.conv.weight.dtype == torch.bfloat16
    assert all(m.conv.weight.dtype == torch.float32 for m in (head.cls_score_p5, head.ctr_score_p5,
                                                              head.bbox_offsets_p5))
    (template,), search = tracker.example_inputs(torch.Generator().manual_seed(0))
    c_z_k, r_z_k = tracker.network(template.bfloat16(), phase="feature")
    score, box, cls_prob, _, _ = tracker.network(search.bfloat16(), c_z_k, r_z_k, phase="track")
    assert score.dtype == box.dtype == cls_prob.dtype == torch.float32  # sigmoids and exp decode in float32


@pytest.mark.parametrize("family", FAMILIES)
def test_bf16_trackers_give_finite_boxes(sequence, family):
    params = tiny_params(family)
    network = tiny_network(family, params)
    boxes = run_boxes(make_tracker(family, params, network=network, precision="bf16"), sequence)
    assert boxes.shape == (len(sequence.frames), 4) and np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
    reference = run_boxes(make_tracker(family, params, network=network), sequence)
    # the same target region as fp32 (random weights: the peak may move by a cell, not across the frame)
    assert np.abs(boxes[:, :2] + boxes[:, 2:] / 2 - reference[:, :2] - reference[:, 2:] / 2).max() < 40


def test_conversion_is_done_once_per_network():
    params = tiny_params("siamrpn")
    network = tiny_network("siamrpn", params)
    first = converted_network(network, "bf16", ("*.cls.head.3",))
    assert converted_network(network, "bf16", ("*.cls.head.3",)) is first
    assert first is not network and next(network.parameters()).dtype == torch.float32
    assert convert_network(network, "fp32") is network


def test_profile_model_times_the_converted_network(tmp_path, capsys, monkeypatch):
    config = write_config(tmp_path, "siamrpn")
    main = load_tracking_script("profile_model").main
    common = ["--script", "siamrpn", "--config", str(config), "--iters", "1", "--warmup", "0", "--device", "cpu",
              "--no_macs"]
    monkeypatch.setattr(precision_module, "cpu_has_fast_bf16", lambda: True)
    assert main([*common, "--precision", "auto"]) == 0
    text = capsys.readouterr().out
    assert "precision auto: bf16" in text and "bf16 track" in text
    with pytest.raises(ConfigError, match="fp16 runs on CUDA devices only"):
        main([*common, "--precision", "fp16"])
