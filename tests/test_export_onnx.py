"""ONNX export: every family's network, as its tracker calls it, runs in ONNX Runtime within 1e-4 of PyTorch; the
files carry the config and checkpoint hashes; a graph that computes something else fails the check; the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.models.export import ExportError, check_onnx, deploy_graphs, export_onnx, run_graphs
from lib.models.onnx_runtime import ort_session
from lib.test.tracker.backends import export_tracker
from lib.test.tracker.deploy_metadata import file_sha256
from script_loader import load_tracking_script
from tests.deploy_helpers import FAMILIES, make_tracker, tiny_network, tiny_params, write_config

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_exports_and_runs_in_onnxruntime_within_1e4(tmp_path, family):
    params = tiny_params(family)
    tracker = make_tracker(family, params, network=tiny_network(family, params))
    result = export_tracker(tracker, tmp_path / f"{family}.onnx")
    assert result.paths[0] == tmp_path / f"{family}.onnx" and all(p.is_file() for p in result.paths)
    # OSTrack is one graph (template and search in); the Siamese families add their template branch
    assert len(result.paths) == (1 if family == "ostrack" else 2)
    assert not any(m.training for m in tracker.network.modules())  # the export leaves the network in eval mode
    # within 1e-4 of PyTorch, relative to the output's magnitude where that exceeds 1 (random weights and raw
    # 0..255 pixels give Siamese outputs in the thousands)
    assert all(diff <= 1e-4 * max(1.0, size) for diff, size in result.checks.values())

    # an independent run on other random inputs: ONNX Runtime's outputs against the network's
    template_inputs, search = tracker.example_inputs(torch.Generator().manual_seed(7))
    graphs = deploy_graphs(family, tracker.network)
    state, expected = run_graphs(graphs, template_inputs, search)
    session = ort_session(result.paths[0])
    names = [i.name for i in session.get_inputs()]
    if family == "ostrack":
        assert names == ["search", "template", "ce_template_mask"]  # CE included, with its template mask
        assert [o.name for o in session.get_outputs()] == ["score_map", "size_map", "offset_map"]
    else:
        template = ort_session(result.paths[1])
        state = template.run(None, {template.get_inputs()[0].name: template_inputs[0].numpy()})
    feeds = dict(zip(names, [search.numpy(), *[np.asarray(s) for s in state]]))
    for got, want in zip(session.run(None, feeds), expected):
        want = want.numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * max(1.0, float(np.abs(want).max())))


def test_the_dynamo_exporter_works_too(tmp_path):
    params = tiny_params("siamban")
    tracker = make_tracker("siamban", params, network=tiny_network("siamban", params))
    result = export_tracker(tracker, tmp_path / "ban.onnx", exporter="dynamo")
    assert all(diff <= 1e-4 * max(1.0, size) for diff, size in result.checks.values())
    assert _metadata(result.paths[0])["exporter"] == "dynamo"


def test_metadata_records_family_config_and_checkpoint_hashes(tmp_path):
    params = tiny_params("siamrpn", name="tiny_rpn")
    network = tiny_network("siamrpn", params)
    params.checkpoint = tmp_path / "SiamRPN_ep0001.pth.tar"
    torch.save({"net": network.state_dict()}, params.checkpoint)
    tracker = make_tracker("siamrpn", params)  # loads the checkpoint strictly
    paths = export_tracker(tracker, tmp_path / "rpn.onnx").paths
    track, template = _metadata(paths[0]), _metadata(paths[1])
    assert track["family"] == template["family"] == "siamrpn"
    assert track["config"] == "tiny_rpn" and len(track["config_sha256"]) == 64
    assert track["checkpoint"] == "SiamRPN_ep0001.pth.tar"
    assert track["checkpoint_sha256"] == file_sha256(params.checkpoint)
    assert track["branch"] == "track" and template["branch"] == "template"
    assert track["template_graph"] == "rpn.template.onnx" and track["inputs"] == "search,zf0"
    assert track["exporter"] == "torchscript" and track["opset"] == "18"


def test_a_graph_that_differs_from_the_network_fails_the_check(tmp_path):
    params = tiny_params("siamfcpp")
    network = tiny_network("siamfcpp", params)
    graphs = deploy_graphs("siamfcpp", network)
    template = torch.rand(1, 3, 127, 127) * 255
    search = torch.rand(1, 3, 255, 255) * 255
    paths = export_onnx(graphs, (template,), search, tmp_path / "fcpp.onnx", {"family": "siamfcpp"})
    assert all(d <= 1e-4 * max(1.0, size) for d, size in check_onnx(graphs, paths, (template,), search).values())
    with torch.no_grad():
        network.head.bi.add_(0.5)  # the PyTorch network changes after the export: the graph no longer matches
    with pytest.raises(ExportError, match="output box differs from PyTorch's by max"):
        check_onnx(graphs, paths, (template,), search)


def test_outputs_that_overflow_in_both_agree(tmp_path):
    """Random weights on raw 0..255 pixels can overflow an exp (SiamFC++'s box offsets, SiamBAN's distances): the
    same infinity in ONNX Runtime and PyTorch is agreement, not a NaN difference."""
    params = tiny_params("siamfcpp")
    network = tiny_network("siamfcpp", params)
    with torch.no_grad():
        network.head.bi.fill_(100.0)  # exp(100) overflows float32
    tracker = make_tracker("siamfcpp", params, network=network)
    result = export_tracker(tracker, tmp_path / "fcpp.onnx")
    assert result.max_abs_diff["box"] == 0.0


def test_export_cli_writes_the_default_path_and_prints_the_check(tmp_path, capsys):
    config = write_config(tmp_path, "ostrack")
    params = tiny_params("ostrack")
    ckpt = tmp_path / "out/checkpoints/train/ostrack/tiny_ostrack/OSTrack_ep0001.pth.tar"
    ckpt.parent.mkdir(parents=True)
    torch.save({"net": tiny_network("ostrack", params).state_dict()}, ckpt)
    main = load_tracking_script("export_onnx").main
    assert main(["ostrack", str(config), "--save_dir", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "out/onnx/ostrack/tiny_ostrack.onnx"
    assert f"wrote {path}" in text and "max |diff| (of max |output|): score_map" in text and ": OK" in text
    assert _metadata(path)["checkpoint_sha256"] == file_sha256(ckpt)
    with pytest.raises(Exception, match="--opset 9"):
        main(["ostrack", str(config), "--save_dir", str(tmp_path / "out"), "--opset", "9"])
