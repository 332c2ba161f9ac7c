"""Build SiamFC++'s training data from a ``train.track.data`` node (the only data code here that reads a config).

Sample path (spec 7): :class:`~lib.train.data.siamfcpp.pair_sampler.TrackPairSampler` (datasets, filter) ->
:class:`~lib.train.data.siamfcpp.transformer.RandomCropTransformer` -> DenseboxTarget -> tensors -> batches of
``minibatch`` samples. Example::

    cfg = load_config("siamfcpp_alexnet-trn").train.track
    loader = build_siamfcpp_loader(cfg.data, env_settings(), seed=0)
    for epoch in range(cfg.data.num_epochs):
        loader.set_epoch(epoch)
        for batch in loader:          # TensorDict: im_z (B, 3, 127, 127) float 0..255 BGR, im_x, cls_gt, ...
            skips += count_skips(batch)

Datasets: video_analyst's dataset classes read their own folders (``dataset_root``) and write caches next to the
data (quirk Q30); here each selected class maps to one of the framework's datasets (lib.train.dataset.registry),
whose root comes from the path settings, so ``dataset_root`` and ``check_integrity`` are not used. The ``ratio``
and ``max_diff`` of each node are. The mapping (class, subset) -> framework dataset:

============================================  =======================  ==============================================
video_analyst                                  framework                 note
============================================  =======================  ==============================================
GOT10kDataset / GOT10kDatasetFixed, train      GOT10K_train_full         all train sequences (the Fixed class's
                                                                         replacement of listed sequences is not done)
GOT10kDataset, val                             GOT10K_official_val
GOT10kDataset, vottrain / votval               GOT10K_vottrain / _votval the framework's GOT-10k splits
GOT10kDataset, synthetic_train / _val          SYNTHETIC_train / _val    the embedded synthetic data (GOT-10k layout)
LaSOTDataset, train                            LASOT
TrackingNetDataset, train                      TRACKINGNET               all chunks TRAIN_0..11
VIDDataset, train                              VID                       each track is a sequence, as in the original
COCODataset, subsets [train2017]               COCO17                    one sequence per non-crowd object (the
                                                                         original: per image, a random object, crowd
                                                                         boxes included)
DETDataset                                     (none)                    not available: an error suggests COCO17
============================================  =======================  ==============================================
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.utils.data

from lib.train.data.loader import LTRLoader, ltr_collate
from lib.train.data.siamfcpp.pair_filter import TrackPairFilter
from lib.train.data.siamfcpp.pair_sampler import TrackPairSampler
from lib.train.data.siamfcpp.target import DenseboxTarget
from lib.train.data.siamfcpp.transformer import RandomCropTransformer
from lib.train.dataset.registry import build_dataset
from lib.train.dataset.storage import ImageDecoder
from lib.utils.errors import ConfigError
from lib.utils.tensor import TensorDict

__all__ = ["DATASET_MAP", "framework_dataset_name", "build_pair_filter", "build_transformers", "build_target",
           "SiamFCppProcessing", "to_tensors", "build_siamfcpp_sampler", "siamfcpp_collate", "build_siamfcpp_loader"]

logger = logging.getLogger(__name__)

#: (video_analyst dataset class, subset) -> framework training dataset name (see the module docstring)
DATASET_MAP: dict[tuple[str, str], str] = {
    **{(cls, subset): name for cls in ("GOT10kDataset", "GOT10kDatasetFixed") for subset, name in (
        ("train", "GOT10K_train_full"), ("val", "GOT10K_official_val"), ("vottrain", "GOT10K_vottrain"),
        ("votval", "GOT10K_votval"), ("synthetic_train", "SYNTHETIC_train"), ("synthetic_val", "SYNTHETIC_val"))},
    ("LaSOTDataset", "train"): "LASOT",
    ("TrackingNetDataset", "train"): "TRACKINGNET",
    ("VIDDataset", "train"): "VID",
    ("COCODataset", "train2017"): "COCO17",
}


def framework_dataset_name(class_name: str, node: Mapping[str, Any]) -> str:
    """The framework dataset that stands for a video_analyst dataset node (``names`` entry and its node)."""
    if class_name == "COCODataset":
        subsets = list(node.get("subsets", []))
        if subsets != ["train2017"]:
            raise ConfigError(f"data.sampler.submodules.dataset.COCODataset.subsets is {subsets}; this framework "
                              f"reads COCO 2017 train only (dataset COCO17): set subsets: [train2017].")
        return DATASET_MAP[(class_name, "train2017")]
    subset = str(node.get("subset", ""))
    if (class_name, subset) in DATASET_MAP:
        return DATASET_MAP[(class_name, subset)]
    known = sorted(s for c, s in DATASET_MAP if c == class_name)
    if not known:
        hint = " (ILSVRC DET is not available; use COCODataset with subsets [train2017])" \
            if class_name == "DETDataset" else ""
        raise ConfigError(f"data.sampler.submodules.dataset.names lists {class_name!r}, which has no framework "
                          f"dataset{hint}. Usable: {', '.join(sorted({c for c, _ in DATASET_MAP} | {'COCODataset'}))}.")
    raise ConfigError(f"data.sampler.submodules.dataset.{class_name}.subset is {subset!r}; this framework has "
                      f"{class_name} as subsets {', '.join(known)}.")


def build_pair_filter(filter_node: Mapping[str, Any]) -> TrackPairFilter | None:
    """The ``data.sampler.submodules.filter`` node's filter; None when its name is empty (no filter)."""
    if not filter_node.get("name"):
        return None
    hps = filter_node[filter_node["name"]]
    return TrackPairFilter(max_area_rate=float(hps["max_area_rate"]), min_area_rate=float(hps["min_area_rate"]),
                           max_ratio=float(hps["max_ratio"]), check_area=bool(hps.get("check_area", False)))


def build_transformers(transformer_node: Mapping[str, Any]) -> list[RandomCropTransformer]:
    """The ``data.transformer.names`` transformers, in order."""
    out = []
    for name in transformer_node["names"]:
        if name != "RandomCropTransformer":
            raise ConfigError(f"data.transformer.names: unknown transformer {name!r}; known: RandomCropTransformer.")
        hps = transformer_node[name]
        out.append(RandomCropTransformer(
            context_amount=hps["context_amount"], max_scale=hps["max_scale"], max_shift=hps["max_shift"],
            max_scale_temp=hps["max_scale_temp"], max_shift_temp=hps["max_shift_temp"], z_size=hps["z_size"],
            x_size=hps["x_size"]))
    return out


def build_target(target_node: Mapping[str, Any]) -> DenseboxTarget:
    """The ``data.target`` node's DenseboxTarget (score size and offset are derived, quirk Q10)."""
    if target_node["name"] != "DenseboxTarget":
        raise ConfigError(f"data.target.name: unknown target {target_node['name']!r}; known: DenseboxTarget.")
    hps = target_node["DenseboxTarget"]
    return DenseboxTarget(z_size=hps["z_size"], x_size=hps["x_size"], total_stride=hps["total_stride"],
                          num_conv3x3=hps["num_conv3x3"])


def to_tensors(sample: Mapping[str, Any]) -> dict[str, Any]:
    """numpy arrays -> float32 tensors (video_analyst's convert_numpy_to_tensor); tensors and numbers unchanged."""
    out = {}
    for key, value in sample.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value)).float()
        elif isinstance(value, Mapping):
            value = to_tensors(value)
        out[key] = value
    return out


class SiamFCppProcessing:
    """Transformers, then the target, then tensors: what the sampler applies to a raw pair.

    Args:
        transformers: called as ``t(sample, rng)`` in order (the crops).
        target: called as ``target(sample)`` (labels and the final sample layout).
    """

    def __init__(self, transformers: Sequence[Callable[[dict, Any], dict]], target: Callable[[dict], dict]):
        self.transformers = list(transformers)
        self.target = target

    def __call__(self, sample: dict, rng: np.random.RandomState) -> dict:
        for transformer in self.transformers:
            sample = transformer(sample, rng)
        return to_tensors(self.target(sample))


def build_siamfcpp_sampler(data_cfg: Mapping[str, Any], env: Any, seed: int = 0, use_lmdb: bool = False,
                           image_loader: ImageDecoder | None = None, datasets: Sequence | None = None,
                           samples_per_epoch: int | None = None) -> TrackPairSampler:
    """The TrackPairSampler of a ``train.track.data`` node.

    Args:
        data_cfg: the data node.
        env: path settings (dataset roots).
        seed: base seed of the per-sample streams (sampling and augmentation).
        use_lmdb: read the datasets' LMDB layouts.
        image_loader: image decoder for the datasets.
        datasets: ready datasets, one per ``names`` entry (tests); by default built from the path settings.
        samples_per_epoch: default ``nr_image_per_epoch``.
    """
    if data_cfg["sampler"]["name"] != "TrackPairSampler":
        raise ConfigError(f"data.sampler.name: unknown sampler {data_cfg['sampler']['name']!r}; known: "
                          f"TrackPairSampler.")
    node = data_cfg["sampler"]["submodules"]["dataset"]
    names = list(node["names"])
    if datasets is None:
        datasets = [build_dataset(framework_dataset_name(n, node[n]), env, use_lmdb, image_loader) for n in names]
    elif len(datasets) != len(names):
        raise ConfigError(f"{len(datasets)} datasets given for the {len(names)} names {names}.")
    processing = SiamFCppProcessing(build_transformers(data_cfg["transformer"]), build_target(data_cfg["target"]))
    sampler = TrackPairSampler(
        datasets, [node[n]["ratio"] for n in names], [node[n].get("max_diff", 0) for n in names],
        samples_per_epoch=int(samples_per_epoch or data_cfg["nr_image_per_epoch"]),
        negative_pair_ratio=float(data_cfg["sampler"]["TrackPairSampler"]["negative_pair_ratio"]),
        pair_filter=build_pair_filter(data_cfg["sampler"]["submodules"]["filter"]), processing=processing, seed=seed)
    logger.info("SiamFC++ training data: %s (ratios %s), negative pairs %.2f, %d samples per epoch",
                [d.get_name() for d in datasets], [round(float(r), 3) for r in sampler.ratios],
                sampler.negative_pair_ratio, len(sampler))
    return sampler


def siamfcpp_collate(batch: list[dict]) -> TensorDict:
    """Stack samples along a new dim 0 (``skipped`` becomes (B, R), which count_skips reads with stack_dim 0)."""
    return TensorDict(ltr_collate(batch))


def build_siamfcpp_loader(data_cfg: Mapping[str, Any], env: Any, seed: int = 0, num_workers: int | None = None,
                          distributed: bool = False, sampler: TrackPairSampler | None = None,
                          **sampler_kwargs: Any) -> LTRLoader:
    """The training loader: ``minibatch`` samples per batch, last partial batch dropped (as the original).

    With ``distributed`` each rank gets minibatch // world_size samples and num_workers // world_size workers,
    as in video_analyst, and a DistributedSampler splits each epoch's indices. Call ``set_epoch`` per epoch.
    """
    sampler = sampler or build_siamfcpp_sampler(data_cfg, env, seed=seed, **sampler_kwargs)
    world = dist.get_world_size() if distributed else 1
    workers = int(data_cfg["num_workers"] if num_workers is None else num_workers) // world
    batch_size = int(data_cfg["minibatch"]) // world
    if batch_size < 1:
        raise ConfigError(f"data.minibatch {data_cfg['minibatch']} is smaller than the {world} processes.")
    dist_sampler = None
    if distributed:
        dist_sampler = torch.utils.data.distributed.DistributedSampler(
            sampler, num_replicas=world, rank=dist.get_rank(), shuffle=False, seed=seed)
    return LTRLoader("train", sampler, training=True, batch_size=batch_size, shuffle=False, num_workers=workers,
                     drop_last=True, stack_dim=0, sampler=dist_sampler, seed=seed, collate_fn=siamfcpp_collate,
                     pin_memory=bool(data_cfg["pin_memory"]) and torch.cuda.is_available())
