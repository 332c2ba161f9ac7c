"""The official VOT toolkit integration, end to end on a VOT-layout dataset made from the synthetic generator:
a TraX round trip with the vot-trax client (the server answers with the boxes of the same tracker run in this
process), tracking/vot_setup.py writing a workspace whose trackers.ini `vot evaluate` runs offline, the toolkit's
analysis (accuracy, robustness, EAO) of tracking/test.py's reset-protocol results, and our region overlap against
the toolkit's. Skipped, with the reason, when vot-trax / vot-toolkit are not installed (CI installs them)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import lib.test.evaluation.vot_running as vot_running
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.tracker import Tracker, track_sequence
from lib.utils.image import read_image
from lib.test.evaluation.vot_region import parse_region, region_overlap
from lib.test.vot.workspace import VOTToolkitError, toolkit_analysis
from lib.utils.environment import PROJECT_ROOT, env_settings
from lib.utils.errors import CheckpointError
from script_loader import load_tracking_script
from tiny_siamese import vot_from_synthetic

trax = pytest.importorskip("trax", reason="vot-trax is not installed (requirements.txt has it; CI installs it)")
vot = pytest.importorskip("vot", reason="vot-toolkit is not installed (requirements.txt has it; CI installs it)",
                          exc_type=ImportError)

IDENTIFIER = "siamrpn_tiny_rpn"


def subprocess_env() -> dict:
    """The environment of a child process: the framework importable from anywhere, one torch thread."""
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return vot_from_synthetic(tmp_path_factory.mktemp("vot_toolkit"))


def _sequences(ws):
    return get_dataset("vot18", env=env_settings(data_dir=str(ws["data"])))


def test_trax_round_trip_matches_the_tracker_in_process(ws, tmp_path):
    from trax import FileImage, ImageChannel, Rectangle
    from trax.client import Client

    seq = _sequences(ws)[0]
    env = subprocess_env()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lib.test.vot.trax_tracker", "siamrpn", str(ws["config"]),
                                 "--checkpoint", str(ws["checkpoint"]), "--device", "cpu", "--threads", "1"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=tmp_path, env=env)
        try:
            messages = []  # the server's text output (vot-trax needs a log callback: log=False crashes)
            client = Client(stream=(proc.stdin.fileno(), proc.stdout.fileno()), log=messages.append)
            assert client.tracker_name == "siamrpn"
            init = [float(v) for v in seq.ground_truth_rect[0]]
            objects, _ = client.initialize({ImageChannel.COLOR: FileImage.create(seq.frames[0])},
                                           [(Rectangle.create(*init), {})], {})
            assert objects[0][0].bounds() == pytest.approx(init)
            served = []
            for frame in seq.frames[1:6]:
                objects, _ = client.frame({ImageChannel.COLOR: FileImage.create(frame)}, {}, [])
                served.append(objects[0][0].bounds())
                assert "confidence" in objects[0][1]
            client.quit()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    tracker = Tracker("siamrpn", str(ws["config"]), checkpoint=str(ws["checkpoint"]))
    local = tracker.create_tracker(tracker.get_parameters(), device="cpu")
    local.initialize(read_image(seq.frames[0]), {"init_bbox": init})
    expected = [local.track(read_image(frame), {})["target_bbox"] for frame in seq.frames[1:6]]
    assert np.allclose(served, expected, atol=1e-3), (served, expected)  # TraX carries float32


def test_test_py_reports_the_toolkits_analysis_with_eao(ws, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(vot_running.EAO_INTERVALS, "vot2018", (1, 15))  # the sequences have 16 frames
    main = load_tracking_script("test").main
    assert main(["siamrpn", str(ws["config"]), "--dataset", "vot18", "--data_dir", str(ws["data"]), "--save_dir",
                 str(tmp_path), "--checkpoint", str(ws["checkpoint"]), "--device", "cpu", "--no_progress"]) == 0
    report = capsys.readouterr().out.strip().splitlines()[-1]
    assert "vot-toolkit:" in report, report
    workspace = tmp_path / "test/tracking_results/siamrpn/tiny_rpn/vot2018/vot_workspace"
    scores = toolkit_analysis(workspace, IDENTIFIER)["baseline"]
    seqs = _sequences(ws)
    local, _ = vot_running.vot_scores(seqs, Tracker("siamrpn", str(ws["config"]),
                                                    env_overrides={"save_dir": str(tmp_path)}))
    assert scores["Accuracy"] == pytest.approx(local["accuracy"], abs=0.03)  # the toolkit rasterises regions
    assert scores["Robustness"] == pytest.approx(local["robustness"])
    assert any("EAO" in name or "average overlap" in name.lower() for name in scores), scores


def test_vot_setup_writes_a_workspace_that_vot_evaluate_runs(ws, tmp_path, capsys):
    setup = load_tracking_script("vot_setup").main
    workspace = tmp_path / "workspace"
    common = ["siamrpn", str(ws["config"]), "--workspace", str(workspace), "--checkpoint", str(ws["checkpoint"]),
              "--device", "cpu", "--threads", "1", "--data_dir", str(ws["data"])]
    assert setup([*common, "--dataset", "vot18", "--eao_interval", "1", "15"]) == 0
    assert f"vot evaluate --workspace {workspace} {IDENTIFIER}" in capsys.readouterr().out
    ini = (workspace / "trackers.ini").read_text()
    assert f"[{IDENTIFIER}]" in ini and "protocol = trax" in ini and "-m lib.test.vot.trax_tracker siamrpn" in ini
    assert (workspace / "sequences/list.txt").read_text().split() == _sequences(ws).names()
    with pytest.raises(VOTToolkitError, match="already"):
        setup([*common, "--stack", "vot2018/shortterm"])
    with pytest.raises(VOTToolkitError, match="not a toolkit workspace"):
        setup([*common[:3], str(tmp_path / "new"), *common[4:]])
    with pytest.raises(CheckpointError, match="no such file"):
        setup([*common[:5], str(tmp_path / "missing.pth"), *common[6:]])

    # vot-toolkit 0.9.0 runs one-pass experiments over TraX (its supervised one fails for any single-object tracker)
    done = subprocess.run([sys.executable, "-m", "vot", "evaluate", "--workspace", str(workspace), IDENTIFIER,
                           "--experiments", "unsupervised"], capture_output=True, text=True, env=subprocess_env(),
                          timeout=300)
    assert "error" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
    tracker = Tracker("siamrpn", str(ws["config"]), checkpoint=str(ws["checkpoint"]))
    params = tracker.get_parameters()
    from vot.region import Special
    from vot.region.io import read_trajectory as read_vot_trajectory

    for seq in _sequences(ws):
        with open(workspace / "results" / IDENTIFIER / "unsupervised" / seq.name / f"{seq.name}_001.bin", "rb") as f:
            regions = read_vot_trajectory(f)
        assert len(regions) == len(seq) and isinstance(regions[0], Special)
        # the toolkit's run is this framework's tracker: the same boxes as tracking it here
        expected = track_sequence(tracker.create_tracker(params, device="cpu"), seq)["target_bbox"]
        served = [[r.x, r.y, r.width, r.height] for r in regions[1:]]
        assert np.allclose(served, expected[1:], atol=1e-2)
    scores = toolkit_analysis(workspace, IDENTIFIER, experiments=["unsupervised"])
    assert 0 <= scores["unsupervised"]["Accuracy"] <= 1


def test_region_overlap_agrees_with_the_toolkit():
    from vot.region import calculate_overlap
    from vot.region.io import parse_region as vot_parse_region

    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.uniform(-20, 120, 2)
        w, h = rng.uniform(10, 80, 2)
        if rng.random() < 0.5:  # a rotated rectangle, as VOT2016-2019 annotate
            angle, (cx, cy) = rng.uniform(0, np.pi), (x + w / 2 + rng.uniform(-10, 10), y + h / 2)
            corners = [(cx + a * np.cos(angle) - b * np.sin(angle), cy + a * np.sin(angle) + b * np.cos(angle))
                       for a, b in ((-w / 2, -h / 3), (w / 2, -h / 3), (w / 2, h / 3), (-w / 2, h / 3))]
            gt_line = ",".join(f"{v:.2f}" for point in corners for v in point)
        else:
            gt_line = f"{x + rng.uniform(-10, 10):.2f},{y + rng.uniform(-10, 10):.2f},{w:.2f},{h:.2f}"
        ours = region_overlap([x, y, w, h], parse_region(gt_line), (128, 96))
        theirs = calculate_overlap(vot_parse_region(f"{x},{y},{w},{h}"), vot_parse_region(gt_line), (128, 96))
        assert ours == pytest.approx(theirs, abs=0.05), gt_line
