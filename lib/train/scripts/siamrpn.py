"""SiamRPN++'s training script (PySOT's ``tools/train.py`` recipe, see :mod:`lib.train.scripts.pysot_family`)."""

from __future__ import annotations

from typing import Any

from lib.train.admin.settings import Settings
from lib.train.scripts.pysot_family import build_pysot_trainer, num_epochs, settings_from_cfg
from lib.train.trainers.ltr_trainer import LTRTrainer

__all__ = ["settings_from_cfg", "build_trainer", "num_epochs"]


def build_trainer(cfg: Any, settings: Settings) -> LTRTrainer:
    """SiamRPN++ with PySOT's anchor targets (label_cls, label_loc, label_loc_weight)."""
    from lib.models.siamese.model import build_siamrpn
    from lib.train.data.siamese.anchor_target import build_anchor_target

    return build_pysot_trainer(cfg, settings, build_siamrpn, build_anchor_target,
                               ("label_cls", "label_loc", "label_loc_weight"))
