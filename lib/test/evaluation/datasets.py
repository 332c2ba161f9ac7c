"""The evaluation dataset registry: ``get_dataset('lasot')`` -> SequenceList (spec 7.5).

Names are case-insensitive. Each entry names the path setting holding the dataset root (see
lib.utils.environment); a missing root is one DatasetNotFoundError naming the setting and the layout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lib.test.evaluation.data import BaseDataset, SequenceList
from lib.test.evaluation.folder_datasets import ITBDataset, TC128Dataset, TNL2kDataset
from lib.test.evaluation.got10kdataset import GOT10KDataset, SyntheticDataset
from lib.test.evaluation.lasotdataset import LaSOTDataset, LaSOTExtensionSubsetDataset
from lib.test.evaluation.listed_datasets import NFSDataset, OTBDataset, UAVDataset
from lib.test.evaluation.trackingnetdataset import TrackingNetDataset
from lib.test.evaluation.votdataset import VOTDataset
from lib.utils.environment import EnvSettings, env_settings
from lib.utils.registry import Registry, UnknownNameError

__all__ = ["UnknownDatasetError", "DatasetEntry", "DATASETS", "known_datasets", "load_dataset", "get_dataset"]

logger = logging.getLogger(__name__)


class UnknownDatasetError(UnknownNameError):
    """An evaluation dataset name is not registered."""


@dataclass(frozen=True)
class DatasetEntry:
    """How to build one evaluation dataset: the path setting of its root and a constructor."""

    path_key: str
    build: Callable[[Path, EnvSettings], BaseDataset]
    description: str


_ALIASES = {"synthetic": "synthetic_val"}

DATASETS: Registry[DatasetEntry] = Registry("evaluation dataset", "", {
    "otb": DatasetEntry("otb_path", lambda root, env: OTBDataset(root), "OTB-2015, 100 sequences"),
    "nfs": DatasetEntry("nfs_path", lambda root, env: NFSDataset(root), "NfS 30 fps, 100 sequences"),
    "uav": DatasetEntry("uav_path", lambda root, env: UAVDataset(root), "UAV123, 123 sequences"),
    "tc128": DatasetEntry("tc128_path", lambda root, env: TC128Dataset(root), "Temple Color 128"),
    "tc128ce": DatasetEntry("tc128_path", lambda root, env: TC128Dataset(root, ce_only=True),
                            "TC128 sequences named *_ce (78)"),
    "trackingnet": DatasetEntry("trackingnet_path", lambda root, env: TrackingNetDataset(root),
                                "TrackingNet test, 511 sequences (server evaluation)"),
    "got10k_test": DatasetEntry("got10k_path", lambda root, env: GOT10KDataset(root, "test"),
                                "GOT-10k test, 180 sequences (server evaluation)"),
    "got10k_val": DatasetEntry("got10k_path", lambda root, env: GOT10KDataset(root, "val"),
                               "GOT-10k val, 180 sequences"),
    "got10k_ltrval": DatasetEntry(
        "got10k_path",
        lambda root, env: GOT10KDataset(root, "ltrval", Path(env.dataspec_path) / "got10k_val_split.txt"),
        "GOT-10k train sequences of the got10k_val_split.txt split"),
    "lasot": DatasetEntry("lasot_path", lambda root, env: LaSOTDataset(root), "LaSOT test, 280 sequences"),
    "lasot_extension_subset": DatasetEntry("lasot_extension_subset_path",
                                           lambda root, env: LaSOTExtensionSubsetDataset(root),
                                           "LaSOT extension subset, 150 sequences"),
    "tnl2k": DatasetEntry("tnl2k_path", lambda root, env: TNL2kDataset(root), "TNL2K"),
    "itb": DatasetEntry("itb_path", lambda root, env: ITBDataset(root), "ITB"),
    # VOT short-term (tag 'vot'): tracking/test.py runs them with the reset protocol (lib.test.evaluation.vot_protocol)
    "vot18": DatasetEntry("vot18_path", lambda root, env: VOTDataset(root, 18), "VOT2018 short-term, 60 sequences"),
    "vot20": DatasetEntry("vot20_path", lambda root, env: VOTDataset(root, 20),
                          "VOT2020 short-term, 60 sequences (mask ground truth)"),
    "vot22": DatasetEntry("vot22_path", lambda root, env: VOTDataset(root, 22), "VOT2022 short-term, 62 sequences"),
    "synthetic_train": DatasetEntry("synthetic_dir", lambda root, env: SyntheticDataset(root, "train"),
                                    "generated synthetic data, train split"),
    "synthetic_val": DatasetEntry("synthetic_dir", lambda root, env: SyntheticDataset(root, "val"),
                                  "generated synthetic data, val split"),
    "synthetic_test": DatasetEntry("synthetic_dir", lambda root, env: SyntheticDataset(root, "test"),
                                   "generated synthetic data, test split"),
}, error=UnknownDatasetError, normalize=lambda name: _ALIASES.get(name.strip().lower(), name.strip().lower()))


def known_datasets() -> list[str]:
    """Registered evaluation dataset names (plus aliases)."""
    return sorted([*DATASETS, *_ALIASES])


def _entry(name: str) -> tuple[str, DatasetEntry]:
    entry = DATASETS.get(name)
    return DATASETS.normalize(name), entry


def load_dataset(name: str, env: EnvSettings | None = None) -> BaseDataset:
    """Build one registered dataset (its root must exist)."""
    key, entry = _entry(name)
    env = env or env_settings()
    root = env.dataset_dir(entry.path_key, dataset=key)
    return entry.build(root, env)


def get_dataset(*names: str, env: EnvSettings | None = None) -> SequenceList:
    """Sequences of one or more datasets, concatenated in the given order."""
    env = env or env_settings()
    sequences = SequenceList()
    for name in names:
        loaded = load_dataset(name, env).get_sequence_list()
        trimmed = [s.name for s in loaded if s.trimmed]
        if trimmed:
            logger.warning("%s: %d of %d sequences had frame and annotation counts that do not match and were "
                           "trimmed (see the warnings above): %s", name, len(trimmed), len(loaded),
                           ", ".join(trimmed[:10]) + (", ..." if len(trimmed) > 10 else ""))
        sequences += loaded
    return sequences
