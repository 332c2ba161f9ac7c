"""--precision: bf16 converts the network once at load with its output layers and score activation in float32
and gives finite boxes; auto picks bf16 only where it is native (capability check mocked); fp16 is CUDA-only."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from lib.models.layers.ce_block import template_attention_score
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


def _float32_rows(attn: torch.nn.Module, x: torch.Tensor, rows: int) -> torch.Tensor:
    """Softmax attention of the first ``rows`` queries, q and k from the block's own (bf16) qkv, in float32."""
    B, N, _ = x.shape
    q, k, _ = attn.qkv(x).reshape(B, N, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    return ((q[:, :, :rows].float() @ k.float().transpose(-2, -1)) * attn.scale).softmax(dim=-1)


@pytest.mark.parametrize("attn_impl", ["sdpa", "explicit"])
def test_bf16_candidate_elimination_ranks_in_float32(attn_impl):
    """Issue 14: bf16 ties / swaps in the CE ranking moved the boxes; the ranking rows are now float32."""
    params = tiny_params("ostrack")
    tracker = make_tracker("ostrack", params, network=tiny_network("ostrack", params), precision="bf16")
    net = tracker.network
    net.set_attn_impl(attn_impl)
    backbone = net.backbone
    assert backbone.patch_embed.proj.weight.dtype == torch.bfloat16
    (template, mask), search = tracker.example_inputs(torch.Generator().manual_seed(0))
    n_z = mask.shape[1]
    seen = []
    hooks = [backbone.blocks[i].attn.register_forward_hook(lambda m, args, out: seen.append((m, args[0], out[1])))
             for i in backbone.ce_loc]
    try:
        with torch.no_grad():
            out = net(template=template.bfloat16(), search=search.bfloat16(), ce_template_mask=mask)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen) == len(backbone.ce_loc)
    with torch.no_grad():
        for attn, x, rows in seen:
            assert x.dtype == torch.bfloat16 and rows.dtype == torch.float32
            torch.testing.assert_close(rows, _float32_rows(attn, x, n_z), rtol=0, atol=0)
        # the first CE block sees every search token in raster order, so its removed indices are the ranking's
        attn, x, _ = seen[0]
        score = template_attention_score(_float32_rows(attn, x, n_z)[:, :, :, n_z:], mask)
        order = torch.sort(score, dim=1, descending=True).indices
        keep = math.ceil(backbone.ce_keep_ratio[0] * score.shape[1])
    assert torch.equal(out["removed_indexes_s"][0].long(), order[:, keep:])


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
    fp32_tracker = make_tracker(family, params, network=network)
    reference = run_boxes(fp32_tracker, sequence)
    # the same target region as fp32 (random weights: the peak may move by a cell, not across the frame)
    shift = np.abs(boxes[:, :2] + boxes[:, 2:] / 2 - reference[:, :2] - reference[:, 2:] / 2).max(axis=1)
    tolerance = np.full(len(boxes), 40.0)
    if family == "ostrack":
        # OSTrack's score map has only feat_sz x feat_sz cells here, and one spans sqrt(w * h) * search_factor /
        # feat_sz image pixels of the previous box: more than 40 once the tiny tracker's box fills the frame.
        # Candidate elimination's near-tied scores (random weights) can move the peak by such a cell in bf16.
        previous = reference[:-1]
        cell = np.sqrt(previous[:, 2] * previous[:, 3]) * params.search_factor / fp32_tracker.feat_sz
        tolerance[1:] = np.maximum(tolerance[1:], cell)
    assert (shift < tolerance).all(), (shift, tolerance)


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


def test_fp16_conversion_keeps_the_output_layers_in_float32_and_gives_finite_maps():
    # fp16 runs on CUDA only (resolve_precision refuses it on a CPU); the conversion itself is device-independent,
    # so it is checked here on the CPU: float16 weights, float32 output layers fed float32 inputs, finite maps.
    params = tiny_params("ostrack")
    network = tiny_network("ostrack", params).eval()
    keep = ("box_head.conv5_ctr", "box_head.conv5_size", "box_head.conv5_offset")
    net = convert_network(network, "fp16", keep)
    assert net.backbone.patch_embed.proj.weight.dtype == torch.float16
    assert all(getattr(net.box_head, name).weight.dtype == torch.float32 for name in
               ("conv5_ctr", "conv5_size", "conv5_offset"))
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1, 3, params.cfg.DATA.TEMPLATE.SIZE, params.cfg.DATA.TEMPLATE.SIZE, generator=gen)
    x = torch.randn(1, 3, params.cfg.DATA.SEARCH.SIZE, params.cfg.DATA.SEARCH.SIZE, generator=gen)
    with torch.no_grad():
        out = net(template=z.half(), search=x.half())
    for key in ("score_map", "size_map", "offset_map"):
        assert out[key].dtype == torch.float32 and torch.isfinite(out[key]).all(), key
