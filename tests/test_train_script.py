"""tracking/train.py --mode single end to end: a tiny OSTrack on a synthetic dataset it generates itself, the
original's output layout, the log, and a resume of the same run."""

import logging
import re

import pytest
import torch
import yaml

import lib.train.train_script as train_script
from lib.train.dataset.synthetic_generator import ensure_synthetic_dataset
from script_loader import load_tracking_script


TINY = {
    "MODEL": {"PRETRAIN_FILE": "", "HEAD": {"NUM_CHANNELS": 16},
              "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [1], "CE_KEEP_RATIO": [0.7],
                           "CE_TEMPLATE_RANGE": "CTR_POINT"}},
    "DATA": {"SEARCH": {"SIZE": 64, "FACTOR": 4.0, "CENTER_JITTER": 3, "SCALE_JITTER": 0.25},
             "TEMPLATE": {"SIZE": 32},
             "TRAIN": {"DATASETS_NAME": ["SYNTHETIC_train"], "DATASETS_RATIO": [1], "SAMPLE_PER_EPOCH": 8},
             "VAL": {"DATASETS_NAME": ["SYNTHETIC_val"], "DATASETS_RATIO": [1], "SAMPLE_PER_EPOCH": 4}},
    "TRAIN": {"EPOCH": 1, "BATCH_SIZE": 4, "NUM_WORKER": 0, "PRINT_INTERVAL": 1, "VAL_EPOCH_INTERVAL": 2,
              "CE_START_EPOCH": 1, "CE_WARM_EPOCH": 1, "SAVE_INTERVAL": 0, "SAVE_EPOCHS": [], "SAVE_LAST": 1},
}


def _train_main():
    return load_tracking_script("train").main


def test_single_mode_trains_on_generated_synthetic_data_and_resumes(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    generated = []

    def small_dataset(root, **kwargs):  # the real default (300 sequences) takes a minute
        generated.append(root)
        return ensure_synthetic_dataset(root, num_train=4, num_val=2, num_test=1, frames=24, size=(128, 96),
                                        workers=1)

    monkeypatch.setattr(train_script, "ensure_synthetic_dataset", small_dataset)
    config = tmp_path / "tiny_synthetic.yaml"
    config.write_text(yaml.safe_dump(TINY))
    save, data = tmp_path / "output", tmp_path / "data"
    args = ["--script", "ostrack", "--config", str(config), "--save_dir", str(save), "--data_dir", str(data),
            "--mode", "single", "--device", "cpu"]
    assert _train_main()(args) == 0

    assert generated == [data / "synthetic"] and (data / "synthetic" / "train").is_dir()
    assert any("not in" in r.getMessage() and "generating it" in r.getMessage() for r in caplog.records)
    run = save / "checkpoints/train/ostrack/tiny_synthetic"
    assert sorted(p.name for p in run.iterdir()) == ["OSTrack_ep0001.pth.tar", "config.yaml"]
    assert yaml.safe_load((run / "config.yaml").read_text())["DATA"]["SEARCH"]["SIZE"] == 64
    assert {p.name for p in (save / "tensorboard/train/ostrack/tiny_synthetic").iterdir()} == {"train", "val"}
    ckpt = torch.load(run / "OSTrack_ep0001.pth.tar", weights_only=True)
    assert ckpt["net_type"] == "OSTrack" and ckpt["actor_type"] == "OSTrackActor" and ckpt["epoch"] == 1
    assert "backbone.blocks.0.attn.qkv.weight" in ckpt["net"] and ckpt["cfg"]["TRAIN"]["EPOCH"] == 1
    log = (save / "logs/ostrack-tiny_synthetic.log").read_text()
    lines = re.findall(r"^\[train: 1, \d / 2\] FPS.*$", log, re.M)
    assert len(lines) == 2 and all(
        re.search(r"Loss/total: [\d.]+  ,  Loss/giou: [\d.]+  ,  Loss/l1: [\d.]+  ,  Loss/location: [\d.]+  ,  "
                  r"IoU: [\d.]+  ,  Fwd/Bwd/Opt", line) for line in lines)

    # Same run, two epochs now: it resumes after epoch 1 (logged), validates in epoch 2, keeps the last epoch.
    config.write_text(yaml.safe_dump({**TINY, "TRAIN": {**TINY["TRAIN"], "EPOCH": 2}}))
    assert _train_main()(args) == 0
    log = (save / "logs/ostrack-tiny_synthetic.log").read_text()
    assert re.search(r"^resumed from .*OSTrack_ep0001\.pth\.tar: epoch 1 done, continuing with epoch 2$", log, re.M)
    assert "TRAIN.EPOCH: 1 -> 2" in log  # the config change is reported
    after_resume = log.split("resumed from", 1)[1]
    assert "[train: 1," not in after_resume and "[train: 2, 2 / 2]" in after_resume
    assert re.search(r"^\[val: 2, 1 / 1\] FPS", after_resume, re.M)
    assert sorted(p.name for p in run.iterdir()) == ["OSTrack_ep0002.pth.tar", "config.yaml"]


def test_multiple_mode_runs_two_gloo_processes_through_torchrun(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    data = tmp_path / "data"
    ensure_synthetic_dataset(data / "synthetic", num_train=4, num_val=2, num_test=1, frames=24, size=(128, 96),
                             workers=1)
    config = tmp_path / "tiny_ddp.yaml"
    config.write_text(yaml.safe_dump(TINY))  # 8 samples per epoch / 2 processes / batch 4: one step each
    save = tmp_path / "output"
    args = ["--script", "ostrack", "--config", str(config), "--save_dir", str(save), "--data_dir", str(data),
            "--mode", "multiple", "--nproc_per_node", "2", "--device", "cpu"]
    assert _train_main()(args) == 0
    ckpt = torch.load(save / "checkpoints/train/ostrack/tiny_ddp/OSTrack_ep0001.pth.tar", weights_only=True)
    assert ckpt["settings"]["world_size"] == 2 and not any(k.startswith("module.") for k in ckpt["net"])
    log = (save / "logs/ostrack-tiny_ddp.log").read_text()
    assert len(re.findall(r"^\[train: 1, 1 / 1\] FPS", log, re.M)) == 1  # printed once, by rank 0
    assert log.count("saved checkpoint") == 1


def test_script_prv_initialises_from_another_runs_newest_checkpoint(tmp_path):
    from lib.train.admin.settings import Settings
    from lib.train.trainers.checkpoint import Checkpointer
    from lib.utils.errors import CheckpointError
    from test_trainer_helpers import TinyNet

    settings = Settings(save_dir=tmp_path, config_name="new_run")
    previous = Checkpointer(tmp_path / "checkpoints/train/ostrack/old_run", "TinyNet")
    source = TinyNet()
    for epoch, scale in ((1, 0.0), (2, 1.0)):
        previous.save({"epoch": epoch, "net": {k: v * scale for k, v in source.state_dict().items()}}, epoch)
    target = TinyNet()
    train_script._init_from_previous(target, settings, "ostrack", "old_run")
    assert torch.equal(target.box_head.weight, source.box_head.weight)  # epoch 2, the newest
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train_script._init_from_previous(target, settings, "ostrack", "missing_run")
