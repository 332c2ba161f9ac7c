"""Build the PySOT-family training data from a config (the only place in lib/train/data/siamese that reads cfg).

Example::

    cfg = load_config("siamrpn_r50_l234_dwxcorr_8gpu")
    datasets = build_siamese_datasets(cfg, env_settings())
    train_set = build_siamese_pair_dataset(cfg, datasets, target_fn, seed=123456)
    loader = LTRLoader("train", train_set, batch_size=cfg.TRAIN.BATCH_SIZE, num_workers=4, stack_dim=0)

Where each dataset of DATASET.NAMES is read from, first match wins (section ``DATASET.<NAME>``):

1. ``DATASET.<NAME>.DATASET``, when set: that framework dataset (a name of :mod:`lib.train.dataset.registry`, with
   its root from the path settings); context crops are made on the fly;
2. PySOT's pre-cropped layout, when ``ROOT`` is an existing folder and ``ANNO`` an existing file (absolute, or
   relative to the data directory of the path settings, where PySOT took them relative to its repository);
3. the framework dataset that PySOT's name stands for (:data:`PYSOT_TO_FRAMEWORK`; a registry name also stands
   for itself), crops on the fly;
4. otherwise one error naming the dataset and the three ways to provide it (DET and YOUTUBEBB have no framework
   dataset: they need their pre-cropped layout).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lib.train.data.siamese.augmentation import Augmentation
from lib.train.data.siamese.crop import FrameSource
from lib.train.data.siamese.pair_dataset import SiamesePairDataset, SubDatasetSpec, TargetFn
from lib.train.data.siamese.precropped import PrecroppedSource
from lib.train.dataset.registry import DATASET_REGISTRY, build_dataset
from lib.train.dataset.storage import ImageDecoder
from lib.utils.errors import ConfigError

__all__ = ["PYSOT_TO_FRAMEWORK", "build_siamese_datasets", "build_augmentation", "build_siamese_pair_dataset",
           "resolve_data_path"]

logger = logging.getLogger(__name__)

PYSOT_TO_FRAMEWORK = {
    "VID": "VID",
    "COCO": "COCO17",
    "GOT10K": "GOT10K_train_full",
    "LASOT": "LASOT",
    "TRACKINGNET": "TRACKINGNET",
    "SYNTHETIC": "SYNTHETIC_train",
    "CUSTOM": "CUSTOM",
}


def _get(node: Any, key: str, where: str) -> Any:
    if not isinstance(node, dict) or key not in node:
        full = f"{where}.{key}" if where else key
        raise ConfigError(f"the config has no key {full}; it is needed to build the Siamese training data.")
    return node[key]


def resolve_data_path(path: str, env) -> Path:
    """An absolute path as is; a relative one under the data directory of the path settings (``env.data_dir``)."""
    p = Path(str(path)).expanduser()
    return p if p.is_absolute() else Path(env.data_dir) / p


def _source(name: str, node: dict, env, use_lmdb: bool, image_loader: ImageDecoder | None):
    framework = str(node.get("DATASET", "") or "")
    if framework:
        return FrameSource(build_dataset(framework, env, use_lmdb, image_loader), name=name)
    root, anno = str(node.get("ROOT", "") or ""), str(node.get("ANNO", "") or "")
    root_path = resolve_data_path(root, env) if root else None
    anno_path = resolve_data_path(anno, env) if anno else None
    has_root = root_path is not None and root_path.is_dir()
    has_anno = anno_path is not None and anno_path.is_file()
    if has_root and has_anno:
        return PrecroppedSource(root_path, anno_path, name=name, image_loader=image_loader)
    if has_root != has_anno:
        logger.warning("DATASET.%s: %s exists but %s does not, so the pre-cropped layout is not used", name,
                       root_path if has_root else anno_path, anno_path if has_root else root_path)
    mapped = PYSOT_TO_FRAMEWORK.get(name, name if name in DATASET_REGISTRY else None)
    if mapped is not None:
        return FrameSource(build_dataset(mapped, env, use_lmdb, image_loader), name=name)
    raise ConfigError(
        f"DATASET.NAMES lists {name!r}, which is neither a framework dataset nor available pre-cropped: "
        f"DATASET.{name}.ROOT ({root_path}) must be PySOT's crop511 folder and DATASET.{name}.ANNO ({anno_path}) its "
        f"train.json (relative paths are under the data directory {env.data_dir}). Alternatively set "
        f"DATASET.{name}.DATASET to one of {', '.join(DATASET_REGISTRY)}, or use one of the names "
        f"{', '.join(PYSOT_TO_FRAMEWORK)}.")


def build_siamese_datasets(cfg, env, use_lmdb: bool = False,
                           image_loader: ImageDecoder | None = None) -> list[SubDatasetSpec]:
    """The datasets of DATASET.NAMES with their FRAME_RANGE and NUM_USE (precedence: see the module docstring).

    Args:
        cfg: a PySOT-family config (DATASET.NAMES and a DATASET.<NAME> section per name).
        env: path settings (:func:`lib.utils.environment.env_settings`).
        use_lmdb: read framework datasets from their LMDB layout.
        image_loader: image decoder (bytes -> RGB uint8).

    Raises:
        ConfigError: a name without a section, an unknown dataset, or a dataset that is nowhere available.
        DatasetNotFoundError: a framework dataset's folder is missing.
    """
    data = _get(cfg, "DATASET", "")
    names = list(_get(data, "NAMES", "DATASET"))
    if not names:
        raise ConfigError("DATASET.NAMES is empty; list the training datasets, e.g. [VID, COCO].")
    specs = []
    for name in names:
        if name not in data or not isinstance(data[name], dict):
            raise ConfigError(f"DATASET.NAMES lists {name!r}, but there is no DATASET.{name} section with FRAME_RANGE "
                              f"and NUM_USE (and ROOT/ANNO for pre-cropped data, or DATASET for a framework dataset).")
        node = data[name]
        where = f"DATASET.{name}"
        frame_range, num_use = _get(node, "FRAME_RANGE", where), _get(node, "NUM_USE", where)
        source = _source(name, node, env, use_lmdb, image_loader)
        logger.info("dataset %s: %s", name, source.describe())
        specs.append(SubDatasetSpec(name, source, int(frame_range), int(num_use)))
    return specs


def build_augmentation(node, where: str) -> Augmentation:
    """Augmentation from a DATASET.TEMPLATE or DATASET.SEARCH section (SHIFT, SCALE, BLUR, FLIP, COLOR)."""
    values = {key.lower(): float(_get(node, key, where)) for key in ("SHIFT", "SCALE", "BLUR", "FLIP", "COLOR")}
    return Augmentation(**values)


def build_siamese_pair_dataset(cfg, datasets: list[SubDatasetSpec], target_fn: TargetFn | None,
                               seed: int) -> SiamesePairDataset:
    """PySOT's TrkDataset / BANDataset over ``datasets`` (from :func:`build_siamese_datasets`).

    Reads DATASET.TEMPLATE.*, DATASET.SEARCH.*, DATASET.NEG, GRAY, VIDEOS_PER_EPOCH and TRAIN.EXEMPLAR_SIZE,
    SEARCH_SIZE, OUTPUT_SIZE; when TRAIN.BASE_SIZE and ANCHOR.STRIDE (or POINT.STRIDE) are present, checks that
    OUTPUT_SIZE = (SEARCH_SIZE - EXEMPLAR_SIZE) / STRIDE + 1 + BASE_SIZE as PySOT's dataset does (spec 4.1).
    """
    data, train = _get(cfg, "DATASET", ""), _get(cfg, "TRAIN", "")
    exemplar = int(_get(train, "EXEMPLAR_SIZE", "TRAIN"))
    search = int(_get(train, "SEARCH_SIZE", "TRAIN"))
    output = int(_get(train, "OUTPUT_SIZE", "TRAIN"))
    stride_node = next((cfg[k] for k in ("ANCHOR", "POINT") if k in cfg and "STRIDE" in cfg[k]), None)
    if "BASE_SIZE" in train and stride_node is not None:
        expected = (search - exemplar) / stride_node["STRIDE"] + 1 + train["BASE_SIZE"]
        if expected != output:
            raise ConfigError(f"TRAIN.OUTPUT_SIZE is {output}, but (SEARCH_SIZE - EXEMPLAR_SIZE) / STRIDE + 1 + "
                              f"BASE_SIZE = ({search} - {exemplar}) / {stride_node['STRIDE']} + 1 + "
                              f"{train['BASE_SIZE']} = {expected:g} (PySOT: 'size not match!'). Set OUTPUT_SIZE or "
                              f"BASE_SIZE to match the network (AlexNet: BASE_SIZE 0, OUTPUT_SIZE 17).")
    return SiamesePairDataset(
        datasets, build_augmentation(_get(data, "TEMPLATE", "DATASET"), "DATASET.TEMPLATE"),
        build_augmentation(_get(data, "SEARCH", "DATASET"), "DATASET.SEARCH"), target_fn=target_fn,
        exemplar_size=exemplar, search_size=search, output_size=output,
        videos_per_epoch=int(_get(data, "VIDEOS_PER_EPOCH", "DATASET")), neg=float(_get(data, "NEG", "DATASET")),
        gray=float(_get(data, "GRAY", "DATASET")), seed=seed)
