"""What an exported tracker graph records about its origin, and the check that a file fits a tracker.

Every ONNX file written by tracking/export_onnx.py carries (as ``metadata_props``) the tracker family, the config
name, SHA-256 hashes of the whole config and of the part that builds the network (model sections and input sizes,
without training-only keys such as pretrained-file names), and the checkpoint's name and SHA-256. The ONNX Runtime
backend compares them with the tracker's own: a file of another network config, checkpoint or family is refused,
while a tracker-only setting (a search factor, a window influence) may differ.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from lib.test.utils.params import TrackerParams

__all__ = ["scrub_config", "file_sha256", "deploy_metadata", "metadata_mismatch"]

# config keys that choose training inputs (pretrained files, trained layers), not the network that is built
_TRAINING_ONLY_KEYS = {"PRETRAIN_FILE", "PRETRAINED", "TRAIN_LAYERS", "LAYERS_LR", "TRAIN_EPOCH",
                       "pretrain_model_path", "losses", "amp"}


def scrub_config(data: Any) -> Any:
    """Plain data of a config section without its training-only keys (pretrained files, trained layers)."""
    if isinstance(data, Mapping):
        return {str(k): scrub_config(v) for k, v in data.items() if k not in _TRAINING_ONLY_KEYS}
    if isinstance(data, (list, tuple)):
        return [scrub_config(v) for v in data]
    return data


def _sha256_of_data(data: Any) -> str:
    return hashlib.sha256(json.dumps(scrub_config(data) if isinstance(data, Mapping) else data, sort_keys=True,
                                     default=str).encode()).hexdigest()


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file (cached per path, size and modification time: a checkpoint is read once per process)."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
        _FILE_HASHES[key] = digest.hexdigest()
    return _FILE_HASHES[key]


def deploy_metadata(params: TrackerParams, calls: Any) -> dict[str, str]:
    """The metadata an exported file records and the ONNX Runtime backend checks.

    Args:
        params: the tracker's test parameters (``cfg``, ``yaml_name``, ``checkpoint``).
        calls: the family's FamilyCalls (its ``script`` and ``network_config``).
    """
    checkpoint = params.get("checkpoint", None)
    cfg = params.get("cfg", None)
    return {
        "family": calls.script,
        "config": str(params.get("yaml_name", "?")),
        "config_sha256": _sha256_of_data(cfg.to_dict() if hasattr(cfg, "to_dict") else cfg),
        "network_sha256": _sha256_of_data(calls.network_config(params)),
        "checkpoint": Path(checkpoint).name if checkpoint is not None else "none (random weights)",
        "checkpoint_sha256": file_sha256(checkpoint) if checkpoint is not None else "none",
        "torch_version": torch.__version__,
    }


def metadata_mismatch(path: Path, meta: Mapping[str, str], expected: Mapping[str, str]) -> str | None:
    """Why an ONNX file's metadata does not fit the tracker (a one-paragraph message), or None when it does."""
    if meta.get("family") != expected["family"]:
        return (f"the ONNX file {path} holds a {meta.get('family', 'non-tracker')!r} network, but the "
                f"tracker is {expected['family']!r}; pass the file exported for this tracker "
                f"(tracking/export_onnx.py {expected['family']} <config>).")
    if meta.get("network_sha256") != expected["network_sha256"]:
        return (f"the ONNX file {path} was exported from config {meta.get('config', '?')!r}, whose network "
                f"(model or input sizes) differs from that of the tracker's config "
                f"{expected['config']!r}; export this config with tracking/export_onnx.py "
                f"{expected['family']} {expected['config']}, or pass its ONNX file with --onnx.")
    if meta.get("checkpoint_sha256") != expected["checkpoint_sha256"]:
        return (f"the ONNX file {path} holds the weights of checkpoint {meta.get('checkpoint', '?')!r}, "
                f"not those of the tracker's checkpoint {expected['checkpoint']!r} (the SHA-256 hashes "
                f"differ); export that checkpoint (--checkpoint) or pass its ONNX file with --onnx.")
    return None
