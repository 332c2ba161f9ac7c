"""Two gloo processes started through torchrun's Python API train like one process with the same global batch."""

import os
import sys
from pathlib import Path

import torch

from lib.train.admin.multigpu import launch_torchrun, torchrun_arguments
from test_trainer_helpers import DDP_OPTIONS, final_parameters, make_trainer

TESTS = Path(__file__).resolve().parent


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path, monkeypatch):
    # Workers import the tiny model from this folder; OMP threads 1 keeps the two processes off each other's cores.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    dist_dir = tmp_path / "ddp"
    code = launch_torchrun(torchrun_arguments(2), "test_trainer_helpers",
                           ["--ddp", "--save_dir", str(dist_dir), "--epochs", "2"])
    assert code == 0
    distributed = torch.load(dist_dir / "final.pt", weights_only=True)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = make_trainer(tmp_path / "single", **DDP_OPTIONS, batch_size=8)
        single.train(2)
    finally:
        torch.set_num_threads(threads)
    reference = final_parameters(single)

    assert distributed.keys() == reference.keys()
    for name, value in reference.items():
        torch.testing.assert_close(distributed[name], value, atol=1e-5, rtol=0, msg=name)
    assert not torch.equal(reference["box_head.weight"], make_trainer(tmp_path / "init", **DDP_OPTIONS)
                           .actor.net.box_head.weight), "training must have changed the weights"

    # Statistics are reduced over both ranks before they are logged: the epoch loss equals the single run's.
    ckpt_dist = torch.load(dist_dir / "checkpoints/train/ostrack/tiny/TinyNet_ep0002.pth.tar", weights_only=True)
    ckpt_single = torch.load(tmp_path / "single/checkpoints/train/ostrack/tiny/TinyNet_ep0002.pth.tar",
                             weights_only=True)
    hist_dist = ckpt_dist["stats"]["train"]["Loss/total"]["history"]
    hist_single = ckpt_single["stats"]["train"]["Loss/total"]["history"]
    assert len(hist_dist) == 2
    torch.testing.assert_close(torch.tensor(hist_dist), torch.tensor(hist_single), atol=1e-5, rtol=0)
    assert ckpt_dist["settings"]["world_size"] == 2
    assert sys.modules.get("torch.distributed") is not None
