"""The command-line tools work for every family: profile_model.py, video_demo.py and test.py with the Siamese
trackers (tiny networks, checkpoints in this framework's format), and the per-step monitor line."""

import numpy as np
import pytest
import torch
import yaml

from lib.config import load_script_config
from lib.models.registry import build_model
from lib.train.trainers.monitor import format_step_line
from deploy_helpers import SIAMESE_TINY as TINY  # the small configs, shrunk further
from deploy_helpers import write_moving_square_clip
from script_loader import load_tracking_script

PREFIX = {"siamrpn": "SiamRPN", "siamban": "SiamBAN", "siamfcpp": "SiamTrack"}


def _tiny(tmp_path, script):
    """A tiny config file and a checkpoint of it where test.py looks for the last epoch."""
    base, overrides = TINY[script]
    cfg = load_script_config(script, base, overrides)
    config = tmp_path / f"tiny_{script}.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    torch.manual_seed(0)
    net = build_model(script, cfg)
    epochs = cfg.train.track.trainer.RegularTrainer.max_epoch if script == "siamfcpp" else cfg.TRAIN.EPOCH
    folder = tmp_path / "out/checkpoints/train" / script / config.stem
    folder.mkdir(parents=True)
    torch.save({"net": net.state_dict(), "net_type": PREFIX[script], "epoch": epochs},
               folder / f"{PREFIX[script]}_ep{epochs:04d}.pth.tar")
    return config


@pytest.mark.parametrize("script", sorted(TINY))
def test_profile_model_reports_the_tracking_path(tmp_path, capsys, script):
    config = _tiny(tmp_path, script)
    main = load_tracking_script("profile_model").main
    assert main(["--script", script, "--config", str(config), "--iters", "1", "--warmup", "0", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "params:" in text and "MACs track:" in text and "fp32 track" in text and "GEMM peak" in text


@pytest.mark.parametrize("script", sorted(TINY))
def test_video_demo_and_test_py_run_the_siamese_trackers(tmp_path, script):
    config = _tiny(tmp_path, script)
    clip = write_moving_square_clip(tmp_path / "clip.avi", 5)
    out = tmp_path / "tracked.avi"
    demo = load_tracking_script("video_demo").main
    assert demo([script, str(config), str(clip), "--init_bbox", "30,40,30,30", "--output", str(out), "--device",
                 "cpu", "--save_dir", str(tmp_path / "out"), "--save_results"]) == 0
    assert out.is_file()
    boxes = np.loadtxt(tmp_path / "out/test/tracking_results" / script / config.stem / "video_clip.txt")
    assert boxes.shape == (5, 4) and np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()


def test_step_monitor_line_has_video_analysts_fields():
    line = format_step_line(3, [0.01, 0.001], {"Loss/total": 1.2, "IoU": 0.3125},
                            {"data": 0.48, "fwd": 2.4, "bwd": 2.2, "optim": 0.12}, 512.0)
    assert line == ("epoch 3, lr: 1.0e-02, Loss/total: 1.200, IoU: 0.312, data: 4.8e-01, fwd: 2.4e+00, "
                    "bwd: 2.2e+00, optim: 1.2e-01,  max mem: 512.0M")
