"""Build the training and validation loaders from a config (the only place in the data pipeline that reads cfg).

Example::

    cfg = load_config("vitb_256_mae_ce_32x4_ep300")
    loader_train, loader_val = build_dataloaders(cfg, env_settings(), num_workers=4)
    for epoch in range(1, cfg.TRAIN.EPOCH + 1):
        loader_train.set_epoch(epoch)
        for batch in loader_train:            # TensorDict: search_images (1, B, 3, 256, 256), ...
            skips += count_skips(batch)
"""

from __future__ import annotations

import logging

import torch.distributed as dist
import torch.utils.data

from lib.train.data.loader import LTRLoader
from lib.train.data.processing import STARKProcessing
from lib.train.data.sampler import TrackingSampler
from lib.train.dataset.registry import names2datasets
from lib.train.dataset.storage import ImageDecoder

__all__ = ["build_processing", "build_sampler", "build_dataloaders"]

logger = logging.getLogger(__name__)


def build_processing(cfg, training: bool = True) -> STARKProcessing:
    """STARKProcessing with the DATA.* factors, sizes and jitters of ``cfg`` (spec 5.5)."""
    data = cfg.DATA
    return STARKProcessing(
        search_area_factor={"template": data.TEMPLATE.FACTOR, "search": data.SEARCH.FACTOR},
        output_sz={"template": data.TEMPLATE.SIZE, "search": data.SEARCH.SIZE},
        center_jitter_factor={"template": data.TEMPLATE.CENTER_JITTER, "search": data.SEARCH.CENTER_JITTER},
        scale_jitter_factor={"template": data.TEMPLATE.SCALE_JITTER, "search": data.SEARCH.SCALE_JITTER},
        mean=data.MEAN, std=data.STD, stride=cfg.MODEL.BACKBONE.STRIDE, training=training)


def build_sampler(cfg, split: str, env, use_lmdb: bool = False, seed: int = 42,
                  image_loader: ImageDecoder | None = None, datasets=None) -> TrackingSampler:
    """The TrackingSampler of DATA.TRAIN (split 'train') or DATA.VAL (split 'val')."""
    part = cfg.DATA.TRAIN if split == "train" else cfg.DATA.VAL
    if datasets is None:
        datasets = names2datasets(list(part.DATASETS_NAME), env, use_lmdb, image_loader)
    return TrackingSampler(
        datasets, list(part.DATASETS_RATIO), samples_per_epoch=part.SAMPLE_PER_EPOCH,
        max_gap=cfg.DATA.MAX_SAMPLE_INTERVAL, num_search_frames=cfg.DATA.SEARCH.NUMBER,
        num_template_frames=cfg.DATA.TEMPLATE.NUMBER, processing=build_processing(cfg, training=split == "train"),
        frame_sample_mode=cfg.DATA.SAMPLER_MODE, seed=seed + (0 if split == "train" else 1))


def build_dataloaders(cfg, env, use_lmdb: bool = False, distributed: bool = False, seed: int = 42,
                      num_workers: int | None = None) -> tuple[LTRLoader, LTRLoader]:
    """(loader_train, loader_val) as the original's build_dataloaders (spec 5.8).

    Args:
        cfg: the experiment config.
        env: path settings (:func:`lib.utils.environment.env_settings`).
        use_lmdb: read the datasets' LMDB layouts.
        distributed: split each epoch's samples across ranks with a DistributedSampler (needs an initialised
            process group).
        seed: base seed; the same seed gives the same batches.
        num_workers: DataLoader workers (default TRAIN.NUM_WORKER).

    Returns:
        Two LTRLoaders; call ``loader.set_epoch(epoch)`` before each epoch (it also sets the DistributedSampler's
        epoch, reachable as ``loader.sampler``).
    """
    workers = cfg.TRAIN.NUM_WORKER if num_workers is None else int(num_workers)
    loaders = []
    for split in ("train", "val"):
        sampler_ds = build_sampler(cfg, split, env, use_lmdb, seed)
        dist_sampler = None
        if distributed:
            dist_sampler = torch.utils.data.distributed.DistributedSampler(
                sampler_ds, num_replicas=dist.get_world_size(), rank=dist.get_rank(), shuffle=True, seed=seed)
        loaders.append(LTRLoader(
            split, sampler_ds, training=split == "train", batch_size=cfg.TRAIN.BATCH_SIZE,
            shuffle=dist_sampler is None, num_workers=workers, drop_last=True, stack_dim=1, sampler=dist_sampler,
            epoch_interval=1 if split == "train" else cfg.TRAIN.VAL_EPOCH_INTERVAL, seed=seed,
            persistent_workers=False))
        logger.info("%s loader: %d samples per epoch from %s (ratios %s), batch %d, %d workers", split,
                    len(sampler_ds), [d.get_name() for d in sampler_ds.datasets],
                    [round(p, 3) for p in sampler_ds.p_datasets], cfg.TRAIN.BATCH_SIZE, workers)
    return loaders[0], loaders[1]
