"""SiamBAN's training script (PySOT's recipe with point targets, see :mod:`lib.train.scripts.pysot_family`)."""

from __future__ import annotations

from typing import Any

from lib.train.admin.settings import Settings
from lib.train.scripts.pysot_family import build_pysot_trainer, num_epochs, settings_from_cfg
from lib.train.trainers.ltr_trainer import LTRTrainer

__all__ = ["settings_from_cfg", "build_trainer", "num_epochs"]


def build_trainer(cfg: Any, settings: Settings) -> LTRTrainer:
    """SiamBAN with its point targets (label_cls, label_loc)."""
    from lib.models.siamese.model import build_siamban
    from lib.train.data.siamese.point_target import build_point_target

    return build_pysot_trainer(cfg, settings, build_siamban, build_point_target, ("label_cls", "label_loc"))
