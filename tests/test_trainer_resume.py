"""A training process killed between epochs or in the middle of a checkpoint write resumes without losing a
finished epoch and ends with exactly the parameters of an uninterrupted run."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from test_trainer_helpers import final_parameters, make_trainer

HELPER = Path(__file__).resolve().parent / "test_trainer_helpers.py"
ROOT = HELPER.parents[1]


def _run_child(save_dir: Path, epochs: int, kill: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(HELPER), "--save_dir", str(save_dir), "--epochs", str(epochs)]
    if kill:
        cmd += ["--kill", kill]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the children train with one thread too: bitwise-comparable results
    yield
    torch.set_num_threads(threads)


def test_killed_run_resumes_exactly(tmp_path, one_thread):
    run_dir = tmp_path / "run"
    ckpt_dir = run_dir / "checkpoints/train/ostrack/tiny"

    first = _run_child(run_dir, 4, kill="after_epoch:1")
    assert first.returncode == -9, first.stderr
    assert [p.name for p in sorted(ckpt_dir.iterdir())] == ["TinyNet_ep0001.pth.tar"]

    second = _run_child(run_dir, 4, kill="during_save:3")
    assert second.returncode == -9, second.stderr
    assert "resumed from" in second.stderr and "TinyNet_ep0001.pth.tar" in second.stderr
    # Epoch 2's file is complete; epoch 3 died half-written under its temporary name, never as a .pth.tar.
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["TinyNet_ep0002.pth.tar", "TinyNet_ep0003.tmp"]

    third = _run_child(run_dir, 4)
    assert third.returncode == 0, third.stderr
    assert "TinyNet_ep0003.tmp" in third.stderr and "unfinished checkpoint" in third.stderr
    assert "resumed from" in third.stderr and "TinyNet_ep0002.pth.tar" in third.stderr
    # The rolling resume file is gone once a newer one exists; the cadence (last epoch) is kept.
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["TinyNet_ep0004.pth.tar"]
    resumed = torch.load(run_dir / "final.pt", weights_only=True)

    reference = make_trainer(tmp_path / "reference")
    reference.train(4)
    expected = final_parameters(reference)
    for name, value in expected.items():
        assert torch.equal(resumed[name], value), name

    # The loss curve continues as if never stopped: the per-epoch history matches the uninterrupted run.
    got = torch.load(ckpt_dir / "TinyNet_ep0004.pth.tar", weights_only=True)["stats"]["train"]["Loss/total"]
    assert got["history"] == reference.storage.meters["train"]["Loss/total"].history
    assert len(got["history"]) == 4
