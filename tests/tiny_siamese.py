"""A tiny SiamRPN++ (config + random checkpoint) and a tiny synthetic dataset, for the VOT, tuning and
evaluation-during-training tests: the full framework path (config, parameters, checkpoint, tracker) at CPU speed."""

from pathlib import Path

import torch
import yaml

from lib.config import load_script_config
from lib.train.dataset.synthetic_generator import ensure_synthetic_dataset

#: siamrpn_alex_synthetic at width 0.1 (25 channels): about 10 ms a frame on one CPU thread
TINY_RPN = {
    "BACKBONE": {"KWARGS": {"width_mult": 0.1}, "TRAIN_LAYERS": ["features"], "TRAIN_EPOCH": 0},
    "RPN": {"KWARGS": {"in_channels": 25, "out_channels": 25}},
    "TRAIN": {"EPOCH": 1, "BATCH_SIZE": 2, "NUM_WORKERS": 0, "PRINT_FREQ": 1, "LR_WARMUP": {"WARMUP": False}},
    "DATASET": {"VIDEOS_PER_EPOCH": 4},
}


def tiny_rpn_config(folder: Path, name: str = "tiny_rpn", extra: dict | None = None) -> Path:
    """The merged tiny config written as ``<folder>/<name>.yaml`` (validated as a user's file is)."""
    from lib.test.evaluation.tuning import merge_overrides

    overrides = merge_overrides(TINY_RPN, extra or {})
    path = Path(folder) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(load_script_config("siamrpn", "siamrpn_alex_synthetic", overrides).to_dict()))
    return path


def tiny_rpn_checkpoint(config: Path, path: Path, seed: int = 0) -> Path:
    """A randomly initialised network of ``config`` saved as a plain state dict (as a released model.pth)."""
    from lib.models.siamese.build import build_siamrpn_model

    torch.manual_seed(seed)
    model = build_siamrpn_model(load_script_config("siamrpn", str(config)))
    torch.save(model.state_dict(), path)
    return path


def tiny_synthetic(root: Path, num_val: int = 2, frames: int = 16) -> Path:
    """``<root>/synthetic`` with a few short sequences per split (the data_dir layout)."""
    ensure_synthetic_dataset(Path(root) / "synthetic", num_train=2, num_val=num_val, num_test=1, frames=frames,
                             size=(160, 120), workers=1)
    return Path(root)


def vot_from_synthetic(root: Path, frames: int = 16) -> dict:
    """A vot2018-layout dataset (``<data>/vot2018``) written from the synthetic generator's val split, with the tiny
    SiamRPN++ config and checkpoint: {'data', 'config', 'checkpoint'}."""
    from lib.test.evaluation.datasets import get_dataset
    from lib.test.vot.workspace import export_sequences
    from lib.utils.environment import env_settings

    root = Path(root)
    data = tiny_synthetic(root / "data", num_val=2, frames=frames)
    export_sequences(get_dataset("synthetic_val", env=env_settings(data_dir=str(data))), data / "vot2018")
    config = tiny_rpn_config(root)
    return {"data": data, "config": config, "checkpoint": tiny_rpn_checkpoint(config, root / "model.pth")}
