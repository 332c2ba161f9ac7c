"""Distributed helpers: ranks from the torchrun environment, process-group set-up, cross-rank reductions.

Ranks come from the ``LOCAL_RANK`` / ``RANK`` / ``WORLD_SIZE`` environment variables that torchrun sets (the
original read only a ``--local_rank`` argument; spec 8.1 item 6). The backend is NCCL on CUDA and gloo on CPU.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

import torch
import torch.distributed as dist
from torch import nn


__all__ = [
    "DistInfo", "dist_info_from_env", "init_distributed", "cleanup_distributed",
    "is_dist", "get_rank", "get_world_size", "is_main_process", "is_multi_gpu", "unwrap_model",
    "all_reduce_sum", "any_rank", "barrier", "torchrun_arguments", "launch_torchrun",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job. ``local_rank`` is -1 for a plain single-process run (as the original)."""

    rank: int = 0
    local_rank: int = -1
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1 or self.local_rank >= 0


def dist_info_from_env(local_rank_arg: int | None = None) -> DistInfo:
    """Read LOCAL_RANK/RANK/WORLD_SIZE (torchrun); a legacy ``--local_rank`` argument is used when no env is set."""
    env = os.environ
    if "LOCAL_RANK" in env or "RANK" in env:
        local_rank = int(env.get("LOCAL_RANK", env.get("RANK", "0")))
        return DistInfo(rank=int(env.get("RANK", local_rank)), local_rank=local_rank,
                        world_size=int(env.get("WORLD_SIZE", "1")))
    if local_rank_arg is not None and local_rank_arg >= 0:
        return DistInfo(rank=local_rank_arg, local_rank=local_rank_arg, world_size=int(env.get("WORLD_SIZE", "1")))
    return DistInfo()


def init_distributed(info: DistInfo, device: torch.device, timeout_s: float = 1800.0) -> None:
    """Join the process group (env:// rendezvous from torchrun) when this is a distributed run."""
    if not info.distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, init_method="env://", timeout=timedelta(seconds=timeout_s))
    logger.info("joined process group: rank %d / %d (local rank %d), backend %s",
                dist.get_rank(), dist.get_world_size(), info.local_rank, backend)


def cleanup_distributed() -> None:
    """Leave the process group; call it after the DDP-wrapped model is released."""
    if dist.is_available() and dist.is_initialized():
        # A DDP reducer left in a reference cycle keeps gloo's worker threads alive until interpreter shutdown,
        # where destroying them aborts the process ("terminate called without an active exception").
        gc.collect()
        dist.destroy_process_group()


def is_dist() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def is_multi_gpu(net: nn.Module) -> bool:
    return isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel))


def unwrap_model(net: nn.Module) -> nn.Module:
    """The plain module inside a DDP/DataParallel wrapper (checkpoints hold its state dict)."""
    return net.module if is_multi_gpu(net) else net


def _reduce_device() -> torch.device:
    # NCCL only reduces CUDA tensors; gloo takes CPU tensors.
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Sum a list of numbers over all ranks (identity when not distributed). Every rank must call it."""
    if not is_dist() or not values:
        return [float(v) for v in values]
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_reduce_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.cpu().tolist()


def any_rank(flag: bool) -> bool:
    """True when ``flag`` is true on any rank (every rank must call it)."""
    if not is_dist():
        return bool(flag)
    return all_reduce_sum([1.0 if flag else 0.0])[0] > 0


def barrier() -> None:
    if is_dist():
        dist.barrier()


def torchrun_arguments(nproc_per_node: int, nnodes: int = 1, node_rank: int = 0, master_addr: str | None = None,
                       master_port: int | None = None) -> list[str]:
    """torchrun options: one node on a free port (``--standalone``), or a static multi-node rendezvous."""
    args = ["--nproc_per_node", str(nproc_per_node)]
    if nnodes <= 1 and master_addr is None:
        # The original picked a random port in [10000, 50000] (collisions possible); torchrun finds a free one.
        return args + ["--standalone"]
    return args + ["--nnodes", str(nnodes), "--node_rank", str(node_rank), "--master_addr", str(master_addr),
                   "--master_port", str(master_port)]


def launch_torchrun(launcher_args: list[str], module: str, module_args: list[str]) -> int:
    """Run ``python -m module module_args`` in each process through torchrun's Python API; returns 0 or 1."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    argv = [*launcher_args, "--module", module, *module_args]
    logger.info("torchrun %s", " ".join(argv))
    try:
        torchrun.main(argv)
    except ChildFailedError as err:
        failures = "; ".join(f"rank {rank}: exit code {f.exitcode}" for rank, f in sorted(err.failures.items()))
        logger.error("training failed (%s); see the messages above for the cause", failures)
        return 1
    return 0
