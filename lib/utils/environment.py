"""Path settings: one resolver for data, output and pretrained-model directories, training and testing alike.

Each setting resolves, first match wins, from

1. a command-line flag (passed in as ``overrides``, e.g. ``--data_dir``, ``--save_dir``),
2. an environment variable ``OSTRACK_<NAME>`` (e.g. ``OSTRACK_DATA_DIR``, ``OSTRACK_GOT10K_DIR``),
3. an optional local settings file outside the package code: the YAML file named by ``OSTRACK_SETTINGS``, else
   ``<project root>/local_settings.yaml`` (written by ``tracking/create_default_local_file.py``),
4. defaults: ``./data``, ``./output``, ``./pretrained_models`` under the project root, and each dataset's root
   under the data directory in the layout of the original ``create_default_local_file.py``.

Nothing is generated into the package and nothing is imported from a generated file (spec 8.2 item 10).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from lib.utils.errors import DatasetNotFoundError, PathSettingsError
from lib.utils.registry import did_you_mean

__all__ = ["EnvSettings", "env_settings", "settings_file", "PROJECT_ROOT", "DATASET_LAYOUTS"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Dataset root keys and their default location relative to the data directory (the original's layout,
# spec 6.10 and 7.7). Training keys end in _dir, evaluation keys in _path, as in the original.
_DATA_DEFAULTS = {
    # training datasets
    "lasot_dir": "lasot",
    "got10k_dir": "got10k/train",
    "got10k_val_dir": "got10k/val",
    "trackingnet_dir": "trackingnet",
    "coco_dir": "coco",
    "imagenet_dir": "vid",
    "lasot_lmdb_dir": "lasot_lmdb",
    "got10k_lmdb_dir": "got10k_lmdb",
    "trackingnet_lmdb_dir": "trackingnet_lmdb",
    "coco_lmdb_dir": "coco_lmdb",
    "imagenet_lmdb_dir": "vid_lmdb",
    "synthetic_dir": "synthetic",
    "custom_dir": "custom",
    # evaluation datasets
    "otb_path": "otb",
    "nfs_path": "nfs",
    "uav_path": "uav",
    "tc128_path": "TC128",
    "got10k_path": "got10k",
    "got10k_lmdb_path": "got10k_lmdb",
    "lasot_path": "lasot",
    "lasot_lmdb_path": "lasot_lmdb",
    "lasot_extension_subset_path": "lasot_extension_subset",
    "trackingnet_path": "trackingnet",
    "tnl2k_path": "tnl2k",
    "itb_path": "itb",
    "vot18_path": "vot2018",
    "vot20_path": "vot2020",
    "vot22_path": "vot2022",
}

# Output sub-folders relative to the save (output) directory, as the original test local.py.
_OUTPUT_DEFAULTS = {
    "tensorboard_dir": "tensorboard",
    "results_path": "test/tracking_results",
    "result_plot_path": "test/result_plots",
    "segmentation_path": "test/segmentation_results",
    "network_path": "test/networks",
}

# Expected on-disk layouts, quoted in the "dataset not found" error.
DATASET_LAYOUTS = {
    "lasot_dir": "<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/00000001.jpg}",
    "got10k_dir": "<root> is GOT-10k's train folder: <root>/list.txt and <root>/GOT-10k_Train_NNNNNN/"
                  "{00000001.jpg, groundtruth.txt, absence.label, cover.label, meta_info.ini}",
    "got10k_val_dir": "<root> is GOT-10k's val folder: <root>/list.txt and <root>/GOT-10k_Val_NNNNNN/...",
    "trackingnet_dir": "<root>/TRAIN_<k>/{anno/<video>.txt, frames/<video>/<i>.jpg} for any k in 0..11",
    "coco_dir": "<root>/annotations/instances_train2017.json and <root>/images/train2017/<file>.jpg",
    "imagenet_dir": "<root>/Annotations/VID/train/<set>/<video>/*.xml and <root>/Data/VID/train/...",
    "synthetic_dir": "the GOT-10k layout: <root>/{train,val,test}/list.txt and one folder per sequence "
                     "(made by tracking/make_synthetic_dataset.py)",
    "custom_dir": "<root>/<sequence>/{groundtruth.txt, frames as *.jpg or img/*.jpg}",
    "got10k_path": "<root>/{train,val,test}/list.txt and <root>/<split>/<sequence>/{*.jpg, groundtruth.txt}",
    "lasot_path": "<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/*.jpg}",
    "trackingnet_path": "<root>/TEST/{anno/<video>.txt, frames/<video>/<i>.jpg}",
    "otb_path": "<root>/<Sequence>/{img/%04d.jpg, groundtruth_rect.txt}",
    "nfs_path": "<root>/sequences/<Name>/%05d.jpg and <root>/anno/nfs_<Name>.txt",
    "uav_path": "<root>/data_seq/UAV123/<seq>/%06d.jpg and <root>/anno/UAV123/<seq>.txt",
    "tc128_path": "<root>/<seq>/{<seq>_gt.txt, <seq>_frames.txt, img/%04d.jpg}",
    "tnl2k_path": "<root>/<seq>/{groundtruth.txt, language.txt, imgs/*}",
    "itb_path": "<root>/<scene>/<video>/{*.jpg, groundtruth.txt}",
    **{f"vot{year}_path": "<root>/list.txt and <root>/<sequence>/{groundtruth.txt, color/00000001.jpg}"
       for year in (18, 20, 22)},
}


def settings_file() -> Path:
    """The optional local settings file: $OSTRACK_SETTINGS, else <project root>/local_settings.yaml."""
    return Path(os.environ.get("OSTRACK_SETTINGS") or PROJECT_ROOT / "local_settings.yaml")


@dataclass(frozen=True)
class EnvSettings:
    """Resolved directories. Build it with :func:`env_settings`; every path is absolute."""

    workspace_dir: Path
    data_dir: Path
    save_dir: Path
    pretrained_dir: Path
    prj_dir: Path = PROJECT_ROOT
    dataspec_path: Path = PROJECT_ROOT / "lib" / "train" / "data_specs"
    datasets: Mapping[str, Path] = field(default_factory=dict)
    outputs: Mapping[str, Path] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Path:
        # Dataset roots and output folders read like the original's attributes (env.lasot_dir, env.results_path).
        for table in ("datasets", "outputs"):
            values = object.__getattribute__(self, table)
            if name in values:
                return values[name]
        raise AttributeError(f"no path setting {name!r}; known: {', '.join(self.keys())}")

    def keys(self) -> list[str]:
        return ["workspace_dir", "data_dir", "save_dir", "pretrained_dir", *self.datasets, *self.outputs]

    def dataset_dir(self, key: str, dataset: str | None = None, must_exist: bool = True) -> Path:
        """A dataset root; with must_exist, a missing folder is one clear error naming how to set it."""
        if key not in self.datasets:
            raise PathSettingsError(f"unknown dataset path setting {key!r}.{did_you_mean(key, self.datasets)} "
                                    f"Known: {', '.join(self.datasets)}.")
        path = self.datasets[key]
        if must_exist and not path.is_dir():
            layout = DATASET_LAYOUTS.get(key, "see README.md, section 'Data layout'")
            raise DatasetNotFoundError(
                f"dataset {dataset or key} not found: the directory {path} does not exist "
                f"(setting {key}, from {self.sources.get(key, 'the default')}). Set it with "
                f"the environment variable OSTRACK_{key.upper()}=/path, or `{key}: /path` in {settings_file()}, or "
                f"point --data_dir / OSTRACK_DATA_DIR at the folder holding it ({_DATA_DEFAULTS[key]} under the "
                f"data directory). Expected layout: {layout}.")
        return path


def _read_settings_file(path: Path) -> dict:
    if not path.is_file():
        if "OSTRACK_SETTINGS" in os.environ:
            raise PathSettingsError(f"OSTRACK_SETTINGS names {path}, which does not exist. Create it with "
                                    f"tracking/create_default_local_file.py or unset the variable.")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise PathSettingsError(f"{path}: not valid YAML ({err}).") from None
    if not isinstance(data, dict):
        raise PathSettingsError(f"{path}: expected a mapping of setting names to paths, got {type(data).__name__}.")
    known = {"workspace_dir", "data_dir", "save_dir", "pretrained_dir", *_DATA_DEFAULTS, *_OUTPUT_DEFAULTS}
    for key, value in data.items():
        if key not in known:
            raise PathSettingsError(f"{path}: unknown setting {key!r}.{did_you_mean(key, sorted(known))} Known settings: {', '.join(sorted(known))}.")
        if not isinstance(value, str) or not value:
            raise PathSettingsError(f"{path}: setting {key} must be a non-empty path string, got {value!r}.")
    return data


def _check_not_a_file(key: str, path: Path, source: str) -> None:
    """Raise when ``path``, or the nearest part of it that exists, is a file: it must be (or become) a folder."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"lies under {part}, which is a file"
                how = f"--{key} or " if key in ("data_dir", "save_dir", "pretrained_dir") else ""
                raise PathSettingsError(
                    f"path setting {key} (from {source}) is {path}, which {where}; expected a folder (created when "
                    f"missing). Point it at a folder ({how}OSTRACK_{key.upper()}), or move the file.")
            return


def env_settings(**overrides: str | os.PathLike | None) -> EnvSettings:
    """Resolve every path setting (flag > environment variable > local settings file > default).

    Args:
        overrides: values from command-line flags, by setting name (``data_dir``, ``save_dir``, ``pretrained_dir``,
            ``workspace_dir`` or any dataset key such as ``got10k_dir``); None values are ignored.
    """
    overrides = {k: v for k, v in overrides.items() if v not in (None, "")}
    file_path = settings_file()
    file_values = _read_settings_file(file_path)
    sources: dict[str, str] = {}

    def resolve(key: str, default: Path) -> Path:
        if key in overrides:
            sources[key] = "the command line"
            value = overrides[key]
        elif os.environ.get(f"OSTRACK_{key.upper()}"):
            sources[key] = f"the environment variable OSTRACK_{key.upper()}"
            value = os.environ[f"OSTRACK_{key.upper()}"]
        elif key in file_values:
            sources[key] = str(file_path)
            value = file_values[key]
        else:
            sources[key] = "the default"
            value = default
        path = Path(value).expanduser()
        return (path if path.is_absolute() else Path.cwd() / path).resolve()

    unknown = set(overrides) - {"workspace_dir", "data_dir", "save_dir", "pretrained_dir", *_DATA_DEFAULTS,
                                *_OUTPUT_DEFAULTS}
    if unknown:
        raise PathSettingsError(f"unknown path settings {sorted(unknown)}.")

    workspace = resolve("workspace_dir", PROJECT_ROOT)
    data_dir = resolve("data_dir", PROJECT_ROOT / "data")
    save_dir = resolve("save_dir", PROJECT_ROOT / "output")
    pretrained = resolve("pretrained_dir", PROJECT_ROOT / "pretrained_models")
    datasets = {k: resolve(k, data_dir / rel) for k, rel in _DATA_DEFAULTS.items()}
    outputs = {k: resolve(k, save_dir / rel) for k, rel in _OUTPUT_DEFAULTS.items()}
    # A root not set on its own is derived from data_dir / save_dir: say where that one came from.
    for keys, parent in ((_DATA_DEFAULTS, "data_dir"), (_OUTPUT_DEFAULTS, "save_dir")):
        for key in keys:
            if sources[key] == "the default":
                sources[key] = f"{parent} {'from ' + sources[parent] if sources[parent] != 'the default' else 'default'}"
    folders = {"workspace_dir": workspace, "data_dir": data_dir, "save_dir": save_dir, "pretrained_dir": pretrained,
               **outputs}
    for key, path in folders.items():
        _check_not_a_file(key, path, sources[key])
    return EnvSettings(workspace_dir=workspace, data_dir=data_dir, save_dir=save_dir, pretrained_dir=pretrained,
                       datasets=datasets, outputs=outputs, sources=sources)


def write_settings_file(values: Mapping[str, str | os.PathLike], path: Path | None = None) -> Path:
    """Write the optional local settings file (used by tracking/create_default_local_file.py)."""
    path = Path(path or settings_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ("# Local path settings for the OSTrack framework (optional; see README.md, 'Paths').\n"
            "# Command-line flags and OSTRACK_<NAME> environment variables take precedence.\n")
    text += yaml.safe_dump({k: str(v) for k, v in values.items()}, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path

