"""Checkpoint sweeps: ``test.py ... --epochs 1 2`` writes one results folder per epoch (``<param>_ep0001``), each
epoch's checkpoint resolved by the tracker's parameter function, and analysis_results.py tables them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lib.test.evaluation.results import TrackerResults, tracker_results_dir
from lib.test.evaluation.tracker import Tracker
from lib.utils.environment import env_settings
from lib.utils.errors import CheckpointError, OSTrackError
from script_loader import load_tracking_script
from test_custom_testset import write_custom_set

TINY = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                                    "CE_KEEP_RATIO": [0.7, 0.7, 0.7],
                                                    "CE_TEMPLATE_RANGE": "CTR_POINT"},
                  "HEAD": {"NUM_CHANNELS": 32}},
        "DATA": {"SEARCH": {"SIZE": 64, "FACTOR": 4.0}, "TEMPLATE": {"SIZE": 32}},
        "TEST": {"SEARCH_SIZE": 64, "TEMPLATE_SIZE": 32, "SEARCH_FACTOR": 4.0, "EPOCH": 3}}


def tiny_ostrack(tmp_path: Path, save_dir: Path, epochs=(3,)) -> Path:
    """A tiny OSTrack config (YAML in tmp_path) and differently initialised checkpoints at the given epochs."""
    from lib.config.ostrack.config import get_defaults, merge_config
    from lib.models.ostrack import build_ostrack

    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(TINY))
    folder = save_dir / "checkpoints" / "train" / "ostrack" / "tiny"
    folder.mkdir(parents=True, exist_ok=True)
    for epoch in epochs:
        torch.manual_seed(epoch)
        net = build_ostrack(merge_config(get_defaults(), TINY), training=False)
        torch.save({"net": net.state_dict(), "epoch": epoch}, folder / f"OSTrack_ep{epoch:04d}.pth.tar")
    return cfg_path


def test_results_folder_and_label_of_an_epoch(tmp_path):
    assert tracker_results_dir(tmp_path, "ostrack", "cfg", run_id=1, epoch=260) == tmp_path / "ostrack" / \
        "cfg_ep0260_001"
    trk = Tracker("first_box", "default", epoch=260, env_overrides={"save_dir": str(tmp_path)})
    assert trk.results_dir.name == "default_ep0260" and trk.label() == "first_box/default_ep0260"
    assert TrackerResults("x", "a/b/cfg.yaml", tmp_path, epoch=5).label() == "x/cfg_ep0005"
    with pytest.raises(OSTrackError, match="no checkpoint and no config"):
        trk.get_parameters()


@pytest.mark.parametrize("module, script, prefix, config", [
    ("ostrack", "ostrack", "OSTrack", "vitb_256_mae_ce_32x4_ep300"),
    ("siamrpn", "siamrpn", "SiamRPN", "siamrpn_alex_dwxcorr"),
    ("siamban", "siamban", "SiamBAN", "siamban_r50_l234"),
    ("siamfcpp", "siamfcpp", "SiamTrack", "siamfcpp_alexnet"),
])
def test_every_parameter_function_resolves_the_checkpoint_of_an_epoch(tmp_path, module, script, prefix, config):
    import importlib

    parameters = importlib.import_module(f"lib.test.parameter.{module}").parameters
    env = env_settings(save_dir=str(tmp_path))
    folder = tmp_path / "checkpoints" / "train" / script / config
    folder.mkdir(parents=True)
    (folder / f"{prefix}_ep0007.pth.tar").write_bytes(b"x")
    assert parameters(config, env=env, epoch=7).checkpoint == folder / f"{prefix}_ep0007.pth.tar"
    with pytest.raises(CheckpointError, match=f"{prefix}_ep0008.pth.tar does not exist.*{prefix}_ep0007.pth.tar; "
                                              f"pass --epochs with those epochs"):
        parameters(config, env=env, epoch=8)


def test_sweep_over_two_checkpoints_and_the_table_across_epochs(tmp_path, capsys):
    pytest.importorskip("lib.models.ostrack")
    save_dir = tmp_path / "out"
    cfg_path = tiny_ostrack(tmp_path, save_dir, epochs=(1, 2))
    root = write_custom_set(tmp_path / "set", frames=4)
    test_py = load_tracking_script("test")
    args = ["ostrack", str(cfg_path), "--dataset", "custom", "--data_dir", str(root), "--device", "cpu",
            "--save_dir", str(save_dir), "--no_progress"]
    assert test_py.main(args + ["--epochs", "1", "2"]) == 0
    assert "4 done" in capsys.readouterr().out
    results = save_dir / "test" / "tracking_results" / "ostrack"
    records = {}
    for epoch in (1, 2):
        folder = results / f"tiny_ep{epoch:04d}"
        assert sorted(p.name for p in folder.glob("*.txt")) == ["cars.txt", "cars_time.txt", "dogs.txt",
                                                                "dogs_time.txt"]
        (run,) = json.loads((folder / "provenance.json").read_text())["runs"]
        assert run["epoch"] == epoch and run["checkpoint"].endswith(f"OSTrack_ep{epoch:04d}.pth.tar")
        records[epoch] = run
    assert records[1]["checkpoint_sha256"] != records[2]["checkpoint_sha256"]
    assert records[1]["config_sha256"] == records[2]["config_sha256"]
    assert not (results / "tiny").exists()

    assert test_py.main(args + ["--epochs", "2"]) == 0  # resumes the epoch-2 folder
    assert "2 skipped" in capsys.readouterr().out

    analysis = load_tracking_script("analysis_results")
    assert analysis.main(["--dataset", "custom", "--data_dir", str(root), "--tracker", "ostrack", "--param", "tiny",
                          "--epochs", "1", "2", "--save_dir", str(save_dir), "--plots"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("ostrack/tiny_ep")]
    assert [r.split()[0] for r in rows] == ["ostrack/tiny_ep0001", "ostrack/tiny_ep0002"]
    aucs = [float(r.split("|")[1]) for r in rows]
    assert f"best AUC: ostrack/tiny_ep000{1 + int(np.argmax(aucs))}" in out


def test_sweep_errors_are_clear(tmp_path, capsys):
    pytest.importorskip("lib.models.ostrack")
    save_dir = tmp_path / "out"
    cfg_path = tiny_ostrack(tmp_path, save_dir, epochs=(1,))
    root = write_custom_set(tmp_path / "set", frames=3)
    test_py = load_tracking_script("test")
    args = ["ostrack", str(cfg_path), "--dataset", "custom", "--data_dir", str(root), "--save_dir", str(save_dir),
            "--no_progress"]
    for extra, message in ((["--epochs", "1", "5"], "OSTrack_ep0005.pth.tar does not exist"),
                           (["--epochs", "1", "--checkpoint", "x.pth"], "cannot be combined with --checkpoint"),
                           (["--epochs", "1", "1"], "distinct positive epoch numbers")):
        with pytest.raises(SystemExit) as exit_info:
            test_py.run_cli(lambda: test_py.main(args + extra))
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (save_dir / "test").exists()  # nothing ran
