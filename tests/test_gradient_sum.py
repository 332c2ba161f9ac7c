"""PySOT's reduce_gradients under torchrun: wrap_distributed(..., gradient_reduction="sum") sums the gradients
over the processes (spec quirk 31: the published learning rates assume the sum), "mean" averages them as DDP."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from lib.train.admin.settings import Settings
from lib.train.train_script import wrap_distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, reduction: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = nn.Linear(3, 2)
        settings = Settings(save_dir=out, world_size=world, rank=rank, device=torch.device("cpu"))
        net = wrap_distributed(model, settings, gradient_reduction=reduction)
        x = torch.full((4, 3), float(rank + 1))  # rank r sees inputs r + 1
        net(x).sum().backward()
        if rank == 0:
            torch.save(model.weight.grad, os.path.join(out, f"grad_{reduction}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("reduction, factor", [("sum", 1.0), ("mean", 0.5)])
def test_gradients_are_summed_or_averaged_over_ranks(tmp_path, reduction, factor):
    mp.spawn(_worker, args=(2, _free_port(), reduction, str(tmp_path)), nprocs=2, join=True)
    grad = torch.load(tmp_path / f"grad_{reduction}.pt", weights_only=True)
    # d(sum of Wx)/dW = 4 * x per rank: 4 * 1 and 4 * 2, summed 12 (or averaged 6)
    torch.testing.assert_close(grad, torch.full((2, 3), 12.0 * factor))
    with pytest.raises(ValueError, match="gradient_reduction"):
        wrap_distributed(nn.Linear(1, 1), Settings(save_dir=tmp_path), gradient_reduction="max")
