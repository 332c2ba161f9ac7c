"""The training loop on a tiny model: log line, statistics, non-finite steps, checkpoints and their cadence,
AMP on the CPU."""

import argparse
import logging
import re

import pytest
import torch

from lib.train.trainers import NonFiniteLossError, is_cadence_epoch
from lib.train.trainers.hooks import HookBase
from lib.train.trainers.monitor import IterationTimer
from test_trainer_helpers import final_parameters, make_trainer

CKPT = "checkpoints/train/ostrack/tiny"
NUMBER = r"\d+\.\d+"
LINE = re.compile(
    rf"^\[train: (\d+), (\d+) / 8\] FPS: {NUMBER} \({NUMBER}\)  ,  DataTime: {NUMBER} \({NUMBER}\)  ,  "
    rf"ForwardTime: {NUMBER}  ,  TotalTime: {NUMBER}  ,  Loss/total: (\d+\.\d{{5}})  ,  IoU: \d+\.\d{{5}}  ,  "
    rf"Fwd/Bwd/Opt: {NUMBER}/{NUMBER}/{NUMBER}  ,  ETA: \d+:\d\d:\d\d  ,  PeakMem: \d+ MiB$")


def _messages(caplog, logger_suffix=""):
    return [r.getMessage() for r in caplog.records if r.name.endswith(logger_suffix)]


def test_log_line_format_interval_and_epoch_average(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    trainer = make_trainer(tmp_path)
    trainer.train(2)
    lines = [m for m in _messages(caplog) if m.startswith("[train:")]
    matches = [LINE.match(m) for m in lines]
    assert all(matches), lines[0]
    # Every PRINT_INTERVAL (2) iterations and at the last iteration, as the original.
    assert [(int(m[1]), int(m[2])) for m in matches] == [(e, i) for e in (1, 2) for i in (2, 4, 6, 8)]
    # The last line of an epoch shows the epoch average that goes to tensorboard / the checkpoint.
    history = trainer.storage.meters["train"]["Loss/total"].history
    assert float(matches[3][3]) == pytest.approx(history[0], abs=1e-5)
    assert float(matches[7][3]) == pytest.approx(history[1], abs=1e-5)
    # Validation ran in epoch 2 only (epoch_interval 2), LR recorded per epoch for both groups.
    assert any(m.startswith("[val: 2, 2 / 2]") for m in _messages(caplog))
    assert not any(m.startswith("[val: 1,") for m in _messages(caplog))
    assert trainer.storage.meters["train"]["LearningRate/group1"].history == pytest.approx([1e-3, 1e-3])


class _ParamWatch(HookBase):
    """Records, for every step that was skipped, whether the parameters stayed unchanged."""

    def __init__(self):
        self.unchanged_on_skip = []

    def before_step(self):
        self.before = [p.detach().clone() for p in self.trainer.actor.net.parameters()]
        self.skips_before = self.trainer.storage.nonfinite_steps

    def after_step(self):
        if self.trainer.storage.training and self.trainer.storage.nonfinite_steps > self.skips_before:
            after = list(self.trainer.actor.net.parameters())
            self.unchanged_on_skip.append(all(torch.equal(a, b) for a, b in zip(self.before, after)))


def test_nan_batch_is_skipped_and_counted(tmp_path, caplog):
    watch = _ParamWatch()
    trainer = make_trainer(tmp_path, nan_indices=(5,), hooks_extra=[watch])
    trainer.train(2)
    assert trainer.storage.nonfinite_steps == 2  # one poisoned batch per epoch
    assert watch.unchanged_on_skip == [True, True]
    assert all(torch.isfinite(p).all() for p in trainer.actor.net.parameters())
    assert all(torch.isfinite(torch.tensor(trainer.storage.meters["train"]["Loss/total"].history)))
    warnings = [m for m in _messages(caplog) if m.startswith("non-finite loss at")]
    assert len(warnings) == 2 and re.search(r"epoch 1, iteration \d+ \(training iteration \d+\)", warnings[0])
    summary = [m for m in _messages(caplog) if "training steps skipped" in m]
    assert summary and summary[0].startswith("epoch 1: 1 training steps skipped")
    ckpt = torch.load(tmp_path / CKPT / "TinyNet_ep0002.pth.tar", weights_only=True)
    assert ckpt["nonfinite_steps"] == 2


class _PoisonFromEpoch(HookBase):
    def __init__(self, epoch):
        self.epoch = epoch

    def before_epoch(self):
        if self.trainer.epoch == self.epoch:
            loader = self.trainer.loaders[0]
            loader.dataset.nan_indices = set(range(len(loader.dataset)))


def test_consecutive_nonfinite_steps_stop_the_run_naming_iteration_and_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, hooks_extra=[_PoisonFromEpoch(2)], max_nonfinite_steps=3)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.train(4)
    message = str(info.value)
    assert "3 consecutive" in message and "epoch 2, iteration 3" in message
    assert str(tmp_path / CKPT / "TinyNet_ep0001.pth.tar") in message
    assert trainer.epoch == 2
    # Nothing from the failed epoch was saved; epoch 1's checkpoint is intact and resumable.
    assert sorted(p.name for p in (tmp_path / CKPT).iterdir()) == ["TinyNet_ep0001.pth.tar"]


def test_checkpoint_is_plain_data_with_everything_a_resume_needs(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.train(2)
    ckpt = torch.load(tmp_path / CKPT / "TinyNet_ep0002.pth.tar", weights_only=True)  # no pickled objects
    assert {"epoch", "net", "optimizer", "scheduler", "scaler", "stats", "rng", "cfg", "settings",
            "net_type", "actor_type"} <= ckpt.keys()
    assert ckpt["epoch"] == 2 and ckpt["net_type"] == "TinyNet" and ckpt["actor_type"] == "TinyActor"
    assert ckpt["scheduler"]["last_epoch"] == 2 and ckpt["cfg"] == {"TRAIN": {"LR": 1e-2}}
    assert set(ckpt["rng"]) == {"python", "numpy", "torch", "cuda"}
    for name, value in final_parameters(trainer).items():
        assert torch.equal(ckpt["net"][name], value)
    # Only rolling resume files between cadence epochs: epoch 1's is gone once epoch 2's exists.
    assert sorted(p.name for p in (tmp_path / CKPT).iterdir()) == ["TinyNet_ep0002.pth.tar"]


def test_truncated_newest_checkpoint_is_reported_and_skipped(tmp_path, caplog):
    trainer = make_trainer(tmp_path, save_every_epoch=True)
    trainer.train(2)
    newest = tmp_path / CKPT / "TinyNet_ep0002.pth.tar"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])
    # An original-style checkpoint (pickled Python objects) is not resumed from either.
    torch.save({"net": {}, "epoch": 3, "settings": argparse.Namespace(env="x")}, newest.with_name("TinyNet_ep0003.pth.tar"))
    caplog.set_level(logging.INFO)
    resumed = make_trainer(tmp_path, save_every_epoch=True)
    resumed.train(3)
    messages = _messages(caplog)
    assert any("skipping checkpoint" in m and "TinyNet_ep0002.pth.tar" in m and "truncated" in m for m in messages)
    assert any("skipping checkpoint" in m and "TinyNet_ep0003.pth.tar" in m and "pickled" in m for m in messages)
    assert any(m.startswith("resumed from") and "TinyNet_ep0001.pth.tar" in m for m in messages)
    assert resumed.epoch == 3 and [m for m in messages if m.startswith("[train: 2, 8 / 8]")]
    reference = make_trainer(tmp_path / "reference")
    reference.train(3)
    for name, value in final_parameters(reference).items():
        assert torch.equal(final_parameters(resumed)[name], value), name
    assert resumed.storage.meters["train"]["Loss/total"].history == reference.storage.meters["train"]["Loss/total"].history


def test_fresh_start_ignores_existing_checkpoints(tmp_path, caplog):
    make_trainer(tmp_path).train(1)
    caplog.set_level(logging.INFO)
    trainer = make_trainer(tmp_path, load_latest=False)
    trainer.train(1)
    assert any("starting fresh" in m for m in _messages(caplog))
    assert trainer.epoch == 1 and any(m.startswith("[train: 1, 8 / 8]") for m in _messages(caplog))
    # The earlier run's file was moved aside, so a later resume cannot mix the two runs.
    (previous,) = (tmp_path / CKPT).glob("previous_*")
    assert [p.name for p in previous.iterdir()] == ["TinyNet_ep0001.pth.tar"]
    assert [p.name for p in (tmp_path / CKPT).glob("*.pth.tar")] == ["TinyNet_ep0001.pth.tar"]


def test_checkpoint_from_another_model_is_a_clear_error(tmp_path):
    from lib.utils.errors import CheckpointError
    from test_trainer_helpers import TinyNet

    make_trainer(tmp_path).train(1)
    other = TinyNet()
    other.box_head = torch.nn.Linear(16, 5)  # a different head: the state dict no longer fits
    with pytest.raises(CheckpointError, match="--fresh 1"):
        make_trainer(tmp_path, net=other).train(2)


def test_checkpoint_cadence_matches_the_original():
    # spec 6.2: for 300 epochs 40, 79, 80, 120, 159, 160, 200, 239, 240, 280, 296-300; for 100: 40, 79, 80, 96-100.
    assert [e for e in range(1, 301) if is_cadence_epoch(e, 300)] == [40, 79, 80, 120, 159, 160, 200, 239, 240,
                                                                     280, 296, 297, 298, 299, 300]
    assert [e for e in range(1, 101) if is_cadence_epoch(e, 100)] == [40, 79, 80, 96, 97, 98, 99, 100]
    assert [e for e in range(1, 11) if is_cadence_epoch(e, 10, interval=0, epochs=(), last=1)] == [10]
    assert all(is_cadence_epoch(e, 10, every_epoch=True) for e in range(1, 11))


def test_bfloat16_autocast_trains_on_cpu_without_loss_scaling(tmp_path):
    trainer = make_trainer(tmp_path / "bf16", amp=True, amp_dtype="bfloat16")
    start = final_parameters(trainer)
    trainer.train(1)
    assert not trainer.scaler.is_enabled()
    assert all(torch.isfinite(v).all() for v in final_parameters(trainer).values())
    assert not torch.equal(start["box_head.weight"], final_parameters(trainer)["box_head.weight"])


def test_float16_autocast_trains_with_a_grad_scaler_that_checkpoints_and_resumes(tmp_path):
    trainer = make_trainer(tmp_path, amp=True, amp_dtype="float16")
    assert trainer.scaler.is_enabled()
    # A scale a fresh scaler would not have (its default is 65536).
    trainer.scaler.load_state_dict({**trainer.scaler.state_dict(), "scale": 1024.0})
    start = final_parameters(trainer)
    trainer.train(2)
    assert not torch.equal(start["box_head.weight"], final_parameters(trainer)["box_head.weight"])
    scale = trainer.scaler.get_scale()
    ckpt = torch.load(tmp_path / CKPT / "TinyNet_ep0002.pth.tar", weights_only=True)
    assert ckpt["scaler"]["scale"] == scale <= 1024.0

    resumed = make_trainer(tmp_path, amp=True, amp_dtype="float16")
    assert resumed.scaler.get_scale() == 65536.0
    resumed.load_state_dict(ckpt)
    assert resumed.scaler.get_scale() == scale and resumed.epoch == 2


def test_float16_overflow_is_skipped_by_the_scaler_not_counted_as_non_finite(tmp_path):
    trainer = make_trainer(tmp_path, amp=True, amp_dtype="float16")
    net = trainer.actor.net
    before = final_parameters(trainer)
    with trainer.autocast():
        out = net(torch.randn(4, 4))
    assert out.dtype == torch.float16
    # d(loss)/d(out) is 1e4, times the scale 65536: beyond float16's range in the backward of the last layer.
    loss = out.float().sum() * 1e4
    trainer.optimize(loss, IterationTimer(torch.device("cpu")))
    assert trainer.scaler.get_scale() == 32768.0  # backed off
    for name, value in final_parameters(trainer).items():
        assert torch.equal(value, before[name]), f"{name} changed although the step overflowed"
    assert trainer.storage.nonfinite_steps == 0 and trainer.storage.consecutive_nonfinite == 0


def test_crash_is_logged_with_epoch_and_reraised(tmp_path, caplog):
    class Boom(HookBase):
        def after_step(self):
            if self.trainer.epoch == 2:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        make_trainer(tmp_path, hooks_extra=[Boom()]).train(3)
    assert any("Training crashed at epoch 2" in m for m in _messages(caplog))
    assert not any("Finished training" in m for m in _messages(caplog))


def test_data_skip_counts_are_summed_over_the_epoch_and_logged_once(tmp_path, caplog):
    # Each tiny sample reports 1 missing_image and 2 bad_box skips (reasons 0 and 2).
    trainer = make_trainer(tmp_path, skipped=True, val_interval=5)
    trainer.train(1)
    lines = [m for m in _messages(caplog) if "skipped" in m and "draws" in m]
    assert lines == ["epoch 1: skipped 96 draws (75.00% of draws): missing_image 32, bad_box 64"]


def test_progress_bar_when_asked_and_wandb_only_when_installed(tmp_path, capsys, monkeypatch):
    make_trainer(tmp_path / "bar", progress_bar=True).train(1)
    assert "train 1: 100%" in capsys.readouterr().err  # tqdm's bar (on by default only on a terminal)
    import lib.train.admin.wandb_writer as wandb_writer
    from lib.utils.errors import OSTrackError

    monkeypatch.setattr(wandb_writer, "wandb_available", lambda: False)
    with pytest.raises(OSTrackError, match="needs the wandb package"):
        make_trainer(tmp_path / "wandb", use_wandb=True)
