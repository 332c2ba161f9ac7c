"""The SiamRPN++ and SiamBAN models (PySOT's ``ModelBuilder``) and their builders (spec 3.1).

A model is backbone -> optional neck -> correlation head, applied to the template and to the search crop
with shared weights. Tracking computes the template branch once (:meth:`template`) and then each search
crop (:meth:`track`); training runs both branches and the losses in :meth:`forward`. Inputs are raw 0..255
BGR pixels as float32, without normalisation, as the released weights expect.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Mapping, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from lib.utils.registry import Registry
from lib.models.siamese.losses import select_cross_entropy_loss, select_iou_loss, weight_l1_loss
from lib.models.siamese.neck import SIAMBAN_CROP_START
from lib.models.siamese.registry import BACKBONES, BAN_HEADS, NECKS, RPN_HEADS
from lib.utils.errors import ConfigError

__all__ = ["SiamRPN", "SiamBAN", "build_siamrpn", "build_siamban"]

logger = logging.getLogger(__name__)

Features = torch.Tensor | list[torch.Tensor]


class _SiameseModel(nn.Module):
    """Shared tracking and training paths; subclasses name the head attribute and give the two loss inputs.

    Subclasses set ``head_attr`` (the head's attribute, hence its state-dict prefix), ``required_keys`` (the
    batch targets), :meth:`log_softmax` and :meth:`loc_loss`.

    Args:
        backbone: feature extractor (one map or a list of maps).
        neck: adjust layer(s), or None.
        head: the correlation head, stored under ``head_attr``.
        cls_loss_weight: weight of the classification loss (TRAIN.CLS_WEIGHT).
        loc_loss_weight: weight of the regression loss (TRAIN.LOC_WEIGHT).
    """

    head_attr = "head"
    required_keys: tuple[str, ...] = ()

    def __init__(self, backbone: nn.Module, neck: nn.Module | None, head: nn.Module,
                 cls_loss_weight: float = 1.0, loc_loss_weight: float = 1.0):
        super().__init__()
        # attribute order fixes the state-dict order: backbone., neck., then the head
        self.backbone = backbone
        self.neck = neck
        setattr(self, self.head_attr, head)
        self.cls_loss_weight = cls_loss_weight
        self.loc_loss_weight = loc_loss_weight
        self.zf: Features | None = None

    @property
    def _head(self) -> nn.Module:
        return getattr(self, self.head_attr)

    def _features(self, image: torch.Tensor) -> Features:
        features = self.backbone(image)
        return self.neck(features) if self.neck is not None else features

    def template(self, z: torch.Tensor) -> None:
        """Compute and store the template features ``self.zf`` from a (B, 3, 127, 127) crop."""
        self.zf = self._features(z)  # e.g. 3 x (B, 256, 7, 7) after the neck's crop

    def _search_features(self, x: torch.Tensor) -> Features:
        if self.zf is None:
            raise RuntimeError(f"{type(self).__name__}.track() needs the template features: call template(z) "
                               f"with the template crop first")
        return self._features(x)

    def track(self, x: torch.Tensor, return_levels: bool = False) -> dict[str, Any]:
        """Head outputs for a search crop (B, 3, S, S) against the stored template: {"cls", "loc"}.

        Args:
            x: the search crop, raw pixels.
            return_levels: also return the per-level head outputs before fusion under "levels", e.g.
                {"rpn2": {"cls", "loc"}, ...} (SiamBAN: "box2", ..., loc before ``exp``); multi-level heads only.
        """
        xf = self._search_features(x)
        if not return_levels:
            cls, loc = self._head(self.zf, xf)
            return {"cls": cls, "loc": loc}
        if not hasattr(self._head, "forward_levels"):
            raise TypeError(f"{type(self._head).__name__} has a single level; return_levels needs a multi-level "
                            f"head (MultiRPN / MultiBAN)")
        levels = self._head.forward_levels(self.zf, xf)
        cls, loc = self._head.fuse(levels)
        return {"cls": cls, "loc": loc,
                "levels": {name: {"cls": c, "loc": l} for name, (c, l) in levels.items()}}

    def forward_train(self, template: torch.Tensor, search: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw fused head outputs (cls, loc) for batched template (B, 3, 127, 127) and search (B, 3, 255, 255)."""
        # matches PySOT: both crops go through the backbone before either goes through the neck (the BatchNorm
        # running statistics are updated template first, then search)
        zf = self.backbone(template)
        xf = self.backbone(search)
        if self.neck is not None:
            zf = self.neck(zf)
            xf = self.neck(xf)
        return self._head(zf, xf)

    def _check_batch(self, data: Mapping[str, torch.Tensor]) -> None:
        missing = [k for k in ("template", "search", *self.required_keys) if k not in data]
        if missing:
            raise ValueError(f"{type(self).__name__}.forward needs a batch with the keys template, search, "
                             f"{', '.join(self.required_keys)}; missing: {', '.join(missing)}")

    @staticmethod
    def log_softmax(cls: torch.Tensor) -> torch.Tensor:
        """Raw cls logits -> log-probabilities with the (background, foreground) pair last."""
        raise NotImplementedError

    def loc_loss(self, loc: torch.Tensor, data: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The unweighted regression loss of the raw fused ``loc`` against the batch's targets."""
        raise NotImplementedError

    def forward(self, data: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Training step outputs: {"total_loss", "cls_loss", "loc_loss", "cls", "loc"} (the head's raw cls / loc).

        Args:
            data: ``template`` (B, 3, 127, 127), ``search`` (B, 3, 255, 255) and the targets of
                ``required_keys`` (shapes in the subclass docstring).
        """
        self._check_batch(data)
        cls, loc = self.forward_train(data["template"], data["search"])
        cls_loss = select_cross_entropy_loss(self.log_softmax(cls), data["label_cls"])
        loc_loss = self.loc_loss(loc, data)
        total_loss = self.cls_loss_weight * cls_loss + self.loc_loss_weight * loc_loss
        return {"total_loss": total_loss, "cls_loss": cls_loss, "loc_loss": loc_loss, "cls": cls, "loc": loc}


class SiamRPN(_SiameseModel):
    """SiamRPN / SiamRPN++: anchor-based classification and box regression (attributes backbone, neck, rpn_head).

    Training batches (:meth:`forward`) hold ``label_cls`` (B, A, S, S) int64, ``label_loc`` (B, 4, A, S, S) and
    ``label_loc_weight`` (B, A, S, S).

    Args:
        backbone: feature extractor (one map or a list of maps).
        neck: adjust layer(s), or None (ADJUST.ADJUST false, e.g. AlexNet).
        rpn_head: DepthwiseRPN / MultiRPN / UPChannelRPN.
        cls_loss_weight: weight of the classification loss (TRAIN.CLS_WEIGHT).
        loc_loss_weight: weight of the regression loss (TRAIN.LOC_WEIGHT).
    """

    head_attr = "rpn_head"
    required_keys = ("label_cls", "label_loc", "label_loc_weight")

    # its own signature for the keyword ``rpn_head`` and PySOT's default LOC_WEIGHT 1.2
    def __init__(self, backbone: nn.Module, neck: nn.Module | None, rpn_head: nn.Module,
                 cls_loss_weight: float = 1.0, loc_loss_weight: float = 1.2):
        super().__init__(backbone, neck, rpn_head, cls_loss_weight, loc_loss_weight)

    @staticmethod
    def log_softmax(cls: torch.Tensor) -> torch.Tensor:
        """(B, 2A, S, S) logits -> (B, A, S, S, 2) log-probabilities (background, foreground).

        matches PySOT (quirk 5): channels are laid out (2, A), the A background logits first.
        """
        b, a2, h, w = cls.size()
        cls = cls.view(b, 2, a2 // 2, h, w).permute(0, 2, 3, 4, 1).contiguous()
        return F.log_softmax(cls, dim=4)

    def loc_loss(self, loc: torch.Tensor, data: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Weighted L1 of the (B, 4A, S, S) offsets."""
        return weight_l1_loss(loc, data["label_loc"], data["label_loc_weight"])


class SiamBAN(_SiameseModel):
    """SiamBAN: anchor-free per-point classification and box-side distances (attributes backbone, neck, head).

    Training batches (:meth:`forward`) hold ``label_cls`` (B, S, S) int64 and ``label_loc`` (B, 4, S, S); the
    ``loc`` output is in search pixels.

    Args:
        backbone: feature extractor.
        neck: adjust layer(s), or None.
        head: MultiBAN / DepthwiseBAN / UPChannelBAN.
        cls_loss_weight: weight of the classification loss (TRAIN.CLS_WEIGHT).
        loc_loss_weight: weight of the IoU loss (TRAIN.LOC_WEIGHT).
    """

    head_attr = "head"
    required_keys = ("label_cls", "label_loc")

    @staticmethod
    def log_softmax(cls: torch.Tensor) -> torch.Tensor:
        """(B, 2, S, S) logits -> (B, S, S, 2) log-probabilities (background, foreground)."""
        return F.log_softmax(cls.permute(0, 2, 3, 1).contiguous(), dim=3)

    def loc_loss(self, loc: torch.Tensor, data: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """IoU loss of the (B, 4, S, S) distances at the positive points."""
        return select_iou_loss(loc, data["label_loc"], data["label_cls"])


def _build_part(registry: Registry, type_name: str, kwargs: Mapping[str, Any] | None, key: str,
                **defaults: Any) -> nn.Module:
    """Look ``type_name`` up and call it with ``kwargs`` (a CfgNode is turned into a plain dict first)."""
    constructor: Callable[..., nn.Module] = registry.get(type_name)
    arguments = {**defaults, **dict(kwargs or {})}
    try:
        return constructor(**arguments)
    except TypeError as err:
        raise ConfigError(f"{key} {dict(kwargs or {})} does not fit the {registry.kind} {type_name!r} ({err}). "
                          f"Its arguments are: {inspect.signature(constructor)}.") from err


ModelT = TypeVar("ModelT", bound=_SiameseModel)


def _build_model(model_class: type[ModelT], cfg: Any, heads: Registry, head_section: str,
                 **neck_defaults: Any) -> ModelT:
    """Backbone, optional neck and the head of config section ``head_section`` ("RPN" / "BAN"), in that order."""
    backbone = _build_part(BACKBONES, cfg.BACKBONE.TYPE, cfg.BACKBONE.KWARGS, "BACKBONE.KWARGS")
    neck = None
    if cfg.ADJUST.ADJUST:
        neck = _build_part(NECKS, cfg.ADJUST.TYPE, cfg.ADJUST.KWARGS, "ADJUST.KWARGS", **neck_defaults)
    head_cfg = cfg[head_section]
    head = _build_part(heads, head_cfg.TYPE, head_cfg.KWARGS, f"{head_section}.KWARGS")
    model = model_class(backbone, neck, head, cls_loss_weight=float(cfg.TRAIN.CLS_WEIGHT),
                        loc_loss_weight=float(cfg.TRAIN.LOC_WEIGHT))
    logger.debug("built %s: backbone %s, neck %s, head %s", model_class.__name__, cfg.BACKBONE.TYPE,
                 cfg.ADJUST.TYPE if neck is not None else None, head_cfg.TYPE)
    return model


def build_siamrpn(cfg: Any) -> SiamRPN:
    """SiamRPN++ from a PySOT-style config (BACKBONE, ADJUST, RPN, TRAIN.CLS_WEIGHT / LOC_WEIGHT)."""
    if cfg.get("MASK", {}).get("MASK", False):
        raise ConfigError("MASK.MASK is true, but the SiamMask branch is not supported: set MASK.MASK to false "
                          "(the SiamRPN++ configs all do).")
    return _build_model(SiamRPN, cfg, RPN_HEADS, "RPN")


def build_siamban(cfg: Any) -> SiamBAN:
    """SiamBAN from a SiamBAN-style config (BACKBONE, ADJUST, BAN, TRAIN.CLS_WEIGHT / LOC_WEIGHT)."""
    if not cfg.BAN.BAN:
        raise ConfigError("BAN.BAN is false, so the config builds no head: set BAN.BAN to true for a SiamBAN "
                          "model (the SiamBAN experiment configs do).")
    # matches SiamBAN: its neck crops the template features at the fixed window [4:11] (quirk 3)
    return _build_model(SiamBAN, cfg, BAN_HEADS, "BAN", crop_start=SIAMBAN_CROP_START)
