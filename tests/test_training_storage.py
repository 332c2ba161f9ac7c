"""TrainingStorage: the statistics object the trainer writes and hooks read (single process: the all-rank sums are
the local values)."""

from __future__ import annotations

import logging

import pytest
import torch

from lib.train.trainers.storage import TrainingStorage


def test_meters_average_by_samples_and_skip_nonfinite_steps():
    storage = TrainingStorage(["train", "val"])
    storage.begin_loader(training=True)
    storage.put_step("train", {"Loss/total": 1.0}, batch_size=2, finite=True, times={"forward": 0.5})
    storage.put_step("train", {"Loss/total": 4.0}, batch_size=1, finite=True, times={"forward": 0.25})
    storage.put_step("train", {"Loss/total": float("nan")}, batch_size=8, finite=False, times={})
    assert storage.averages("train") == {"Loss/total": pytest.approx(2.0)}  # (1*2 + 4*1) / 3; the NaN step left out
    assert storage.step_stats["Loss/total"] != storage.step_stats["Loss/total"]  # the latest step, as reported
    assert storage.averages("val") == {}
    assert storage.put_nonfinite() == 1 and storage.put_nonfinite() == 2
    storage.put_finite()
    assert storage.consecutive_nonfinite == 0 and storage.nonfinite_steps == 2


def test_close_epoch_records_lrs_and_history_and_reports_skips(caplog):
    storage = TrainingStorage(["train"])
    storage.put_step("train", {"IoU": 0.5}, batch_size=4, finite=True, times={})
    batch = {"skipped": torch.tensor([[0, 2, 0, 0, 0, 0, 0]])}  # (B, R): SKIP_REASONS order
    storage.put_samples(batch, batch_size=4, stack_dim=0)
    storage.put_nonfinite()
    with caplog.at_level(logging.WARNING):
        storage.close_epoch(3, {"train": [0.1, 0.01]}, is_main=True)
    meters = storage.meters["train"]
    assert meters["IoU"].history == [0.5] and meters["LearningRate/group1"].history == [0.01]
    assert "epoch 3: 1 training steps skipped" in caplog.text
    assert "epoch 3: skipped 2 draws (33.33% of draws): corrupt_image 2" in caplog.text
    storage.close_epoch(4, {}, is_main=True)
    assert meters["IoU"].history == [0.5]  # an epoch without data adds no history entry


def test_state_round_trip_keeps_histories_and_counts():
    storage = TrainingStorage(["train", "val"])
    storage.put_step("train", {"Loss/total": 3.0}, batch_size=1, finite=True, times={})
    storage.put_nonfinite()
    storage.close_epoch(1, {"train": [0.1]}, is_main=False)
    state = storage.state_dict()
    assert set(state) == {"stats", "nonfinite_steps"}  # the checkpoint keys the trainer always wrote
    restored = TrainingStorage(["train", "val"])
    restored.load_state_dict(state)
    assert restored.meters["train"]["Loss/total"].history == [3.0] and restored.meters["val"] is None
    assert restored.nonfinite_steps == 1
