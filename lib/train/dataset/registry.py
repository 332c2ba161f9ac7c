"""Training dataset registry: the names of ``DATA.TRAIN/VAL.DATASETS_NAME`` mapped to constructors (spec 5.1).

Each constructor takes ``(env, use_lmdb, image_loader)``; roots come from the path settings
(:func:`lib.utils.environment.env_settings`), so a missing folder is one clear error naming the setting.
"""

from __future__ import annotations

import logging
from typing import Callable

from lib.train.dataset.base_video_dataset import BaseVideoDataset
from lib.train.dataset.coco_seq import MSCOCOSeq
from lib.train.dataset.custom import CustomDataset
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.imagenetvid import ImagenetVID
from lib.train.dataset.lasot import Lasot
from lib.train.dataset.storage import ImageDecoder
from lib.train.dataset.trackingnet import TrackingNet
from lib.utils.errors import ConfigError
from lib.utils.registry import Registry

__all__ = ["DATASET_REGISTRY", "build_dataset", "names2datasets"]

logger = logging.getLogger(__name__)

Constructor = Callable[[object, bool, ImageDecoder | None], BaseVideoDataset]


def _root(env, key: str, lmdb_key: str | None, use_lmdb: bool, name: str):
    return env.dataset_dir(lmdb_key if use_lmdb else key, dataset=name)


def _got10k(split: str | None, name: str) -> Constructor:
    def build(env, use_lmdb: bool, image_loader: ImageDecoder | None) -> BaseVideoDataset:
        return Got10k(_root(env, "got10k_dir", "got10k_lmdb_dir", use_lmdb, name), split=split, use_lmdb=use_lmdb,
                      image_loader=image_loader, name=name)
    return build


def _got10k_official_val(env, use_lmdb: bool, image_loader: ImageDecoder | None) -> BaseVideoDataset:
    if use_lmdb:
        # matches OSTrack: the LMDB layout only holds GOT-10k's train folder
        raise ConfigError("GOT10K_official_val has no LMDB layout (the original raised here too); train with "
                          "--use_lmdb 0 or validate on GOT10K_votval.")
    return Got10k(env.dataset_dir("got10k_val_dir", dataset="GOT10K_official_val"), split=None,
                  image_loader=image_loader, name="GOT10K_official_val")


def _synthetic(split: str, name: str) -> Constructor:
    def build(env, use_lmdb: bool, image_loader: ImageDecoder | None) -> BaseVideoDataset:
        if use_lmdb:
            logger.info("%s is always read from its folder (--use_lmdb applies to the public datasets)", name)
        root = env.dataset_dir("synthetic_dir", dataset=name) / split
        return Got10k(root, split=None, image_loader=image_loader, name=name)
    return build


def _lasot(env, use_lmdb, image_loader):
    return Lasot(_root(env, "lasot_dir", "lasot_lmdb_dir", use_lmdb, "LASOT"), split="train", use_lmdb=use_lmdb,
                 image_loader=image_loader, name="LASOT")


def _coco(env, use_lmdb, image_loader):
    return MSCOCOSeq(_root(env, "coco_dir", "coco_lmdb_dir", use_lmdb, "COCO17"), version="2017", use_lmdb=use_lmdb,
                     image_loader=image_loader, name="COCO17")


def _vid(env, use_lmdb, image_loader):
    return ImagenetVID(_root(env, "imagenet_dir", "imagenet_lmdb_dir", use_lmdb, "VID"), use_lmdb=use_lmdb,
                       image_loader=image_loader, name="VID")


def _trackingnet(env, use_lmdb, image_loader):
    return TrackingNet(_root(env, "trackingnet_dir", "trackingnet_lmdb_dir", use_lmdb, "TRACKINGNET"),
                       use_lmdb=use_lmdb, image_loader=image_loader, name="TRACKINGNET")


def _custom(env, use_lmdb, image_loader):
    return CustomDataset(env.dataset_dir("custom_dir", dataset="CUSTOM"), use_lmdb=False, image_loader=image_loader,
                         name="CUSTOM")


DATASET_REGISTRY: Registry[Constructor] = Registry("training dataset", "", {
    "LASOT": _lasot,
    "GOT10K_vottrain": _got10k("vottrain", "GOT10K_vottrain"),
    "GOT10K_votval": _got10k("votval", "GOT10K_votval"),
    "GOT10K_train_full": _got10k("train_full", "GOT10K_train_full"),
    "GOT10K_official_val": _got10k_official_val,
    "COCO17": _coco,
    "VID": _vid,
    "TRACKINGNET": _trackingnet,
    "SYNTHETIC_train": _synthetic("train", "SYNTHETIC_train"),
    "SYNTHETIC_val": _synthetic("val", "SYNTHETIC_val"),
    "CUSTOM": _custom,
})


def build_dataset(name: str, env, use_lmdb: bool = False, image_loader: ImageDecoder | None = None) -> BaseVideoDataset:
    """Construct the training dataset registered under ``name``."""
    return DATASET_REGISTRY.build(name, env, use_lmdb, image_loader)


def names2datasets(names: list[str], env, use_lmdb: bool = False,
                   image_loader: ImageDecoder | None = None) -> list[BaseVideoDataset]:
    """The datasets for a DATASETS_NAME list, in order (the original's names2datasets)."""
    return [build_dataset(name, env, use_lmdb, image_loader) for name in names]
