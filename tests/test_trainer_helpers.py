"""A tiny stand-in network, data and actor for the training-engine tests, plus a child-process entry.

Run as a script, it trains the tiny model (optionally killing itself at a chosen point), so tests can interrupt
a real training process and resume it:  python tests/test_trainer_helpers.py --save_dir D --epochs 4 --kill
after_epoch:1
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, default_collate

from lib.train.actors.base_actor import BaseActor
from lib.train.admin.settings import Settings
from lib.train.data.skips import SKIP_REASONS
from lib.train.optim import EpochLRScheduler, get_param_groups
from lib.train.trainers.hooks import HookBase
from lib.train.trainers.ltr_trainer import LTRTrainer


class TinyNet(nn.Module):
    """Backbone + head with an unused frozen parameter, like OSTrack's cls_token."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Dropout(dropout), nn.Linear(16, 16))
        self.box_head = nn.Linear(16, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 4), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.box_head(self.backbone(x))


class TinyDataset(Dataset):
    """Fixed regression pairs; ``noise`` > 0 adds augmentation noise from torch's global RNG (as a sampler would)."""

    def __init__(self, n: int = 32, noise: float = 0.0, nan_indices: tuple[int, ...] = (), skipped: bool = False):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.tanh(self.x @ torch.randn(4, 4, generator=g))
        self.noise = noise
        self.nan_indices = set(nan_indices)
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        x = self.x[index] + self.noise * torch.randn(4)
        if index in self.nan_indices:
            x = torch.full_like(x, float("nan"))
        sample = {"x": x, "y": self.y[index]}
        if self.skipped:
            sample["skipped"] = torch.zeros(len(SKIP_REASONS), dtype=torch.long)
            sample["skipped"][[0, 2]] = torch.tensor([1, 2])  # 1 missing_image, 2 bad_box
        return sample


def _collate(samples: list[dict]) -> dict:
    return default_collate(samples)  # stack_dim 0: "skipped" is (B, R), read by count_skips(batch, 0)


class TinyLoader(DataLoader):
    """A DataLoader with the LTRLoader attributes the trainer reads."""

    def __init__(self, name: str, dataset: Dataset, training: bool = True, batch_size: int = 4,
                 epoch_interval: int = 1, **kwargs):
        kwargs.setdefault("shuffle", training and kwargs.get("sampler") is None)
        super().__init__(dataset, batch_size=batch_size, drop_last=True, collate_fn=_collate, **kwargs)
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = 0


class TinyActor(BaseActor):
    def __call__(self, data):
        pred = self.net(data["x"])
        loss = F.mse_loss(pred, data["y"])
        return loss, {"Loss/total": loss.item(), "IoU": float(1.0 / (1.0 + loss.item()))}


def make_trainer(save_dir: Path, *, n_train: int = 32, batch_size: int = 4, noise: float = 0.1,
                 dropout: float = 0.1, nan_indices: tuple[int, ...] = (), val_interval: int = 2,
                 hooks_extra: list[HookBase] | None = None, net: nn.Module | None = None, sampler=None,
                 rank: int = 0, world_size: int = 1, lr: float = 1e-2, schedule: str = "step",
                 skipped: bool = False, distributed: bool = False, shuffle: bool = True,
                 **settings_kwargs) -> LTRTrainer:
    torch.manual_seed(0)
    net = net if net is not None else TinyNet(dropout)
    train_set = TinyDataset(n_train, noise, nan_indices, skipped)
    if distributed:
        net = nn.parallel.DistributedDataParallel(net)
        sampler = DistributedSampler(train_set, shuffle=False)
    loaders = [TinyLoader("train", train_set, batch_size=batch_size, sampler=sampler,
                          shuffle=shuffle and sampler is None),
               TinyLoader("val", TinyDataset(8), training=False, batch_size=4, epoch_interval=val_interval)]
    options = dict(print_interval=2, grad_clip_norm=1.0, batchsize=batch_size, seed=7, progress_bar=False,
                   save_every_epoch=False, save_interval=0, save_epochs=(), save_last=1, max_nonfinite_steps=3)
    options.update(settings_kwargs)
    settings = Settings(save_dir=Path(save_dir), config_name="tiny", rank=rank, world_size=world_size, **options)
    optimizer = torch.optim.AdamW(get_param_groups(net, lr, 0.1), lr=lr, weight_decay=1e-4)
    scheduler = EpochLRScheduler(optimizer, schedule, total_epochs=10, step_size=2, gamma=0.5)
    trainer = LTRTrainer(TinyActor(net), loaders, optimizer, settings, scheduler, cfg={"TRAIN": {"LR": lr}})
    trainer.register_hooks(hooks_extra or [])
    return trainer


class KillHook(HookBase):
    """Kill this process (SIGKILL, no clean-up) after a given epoch or inside a checkpoint write."""

    def __init__(self, spec: str):
        self.where, epoch = spec.split(":")
        self.epoch = int(epoch)

    def before_epoch(self) -> None:
        if self.where == "during_save" and self.trainer.epoch == self.epoch:
            real_save = torch.save

            def partial_save(obj, f, *args, **kwargs):
                real_save(obj, f, *args, **kwargs)
                f.flush()
                f.truncate(f.tell() // 2)  # half-written file, then die before the rename
                os.kill(os.getpid(), signal.SIGKILL)

            torch.save = partial_save

    def after_epoch(self) -> None:
        if self.where == "after_epoch" and self.trainer.epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


# Deterministic data and no dropout: one process with batch 2B must match 2 processes with batch B each.
DDP_OPTIONS = dict(noise=0.0, dropout=0.0, n_train=32, shuffle=False)


def final_parameters(trainer: LTRTrainer) -> dict[str, torch.Tensor]:
    net = trainer.actor.net
    net = net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _child_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--save_dir", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--kill", default=None)
    parser.add_argument("--ddp", action="store_true", help="one process of a torchrun gloo job")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from lib.utils.cli import setup_logging
    setup_logging()
    if args.ddp:
        from lib.train.admin.multigpu import dist_info_from_env, init_distributed
        info = dist_info_from_env()
        init_distributed(info, torch.device("cpu"))
        trainer = make_trainer(Path(args.save_dir), **DDP_OPTIONS, batch_size=4, distributed=True, rank=info.rank,
                               world_size=info.world_size)
    else:
        trainer = make_trainer(Path(args.save_dir), hooks_extra=[KillHook(args.kill)] if args.kill else [])
    trainer.train(args.epochs)
    if trainer.settings.rank == 0:
        torch.save(final_parameters(trainer), Path(args.save_dir) / "final.pt")
    if args.ddp:
        from lib.train.admin.multigpu import barrier, cleanup_distributed
        del trainer  # the DDP wrapper holds the process group: release it before the group is destroyed
        barrier()
        cleanup_distributed()  # exiting with a live gloo group can abort ("terminate called ...")


if __name__ == "__main__":
    _child_main()
