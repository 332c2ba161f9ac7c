"""SiamTrack, the SiamFC++ network (video_analyst's siamese_track.py), spec 4.2.

A shared backbone embeds the template z and the search patch x; four 3x3 neck convolutions turn the template
feature into classification / regression correlation kernels (``c_z_k``, ``r_z_k``) and the search feature into
the maps they slide over (``c_x``, ``r_x``); a depthwise cross-correlation per branch feeds the DenseboxHead.
Paper: SiamFC++ (Xu et al., AAAI 2020), https://arxiv.org/abs/1911.06188.

Phases (``forward(*args, phase=...)``, as in video_analyst, plus named methods):

* ``"train"``: a batch dict with ``im_z`` (B, 3, 127, 127) and ``im_x`` (B, 3, X, X) -> ``cls_pred``,
  ``ctr_pred`` (B, S*S, 1) logits and ``box_pred`` (B, S*S, 4) xyxy in search-patch pixels;
* ``"feature"``: template image -> [c_z_k, r_z_k];
* ``"track"``: (search image, c_z_k, r_z_k) or (c_z_k, r_z_k, c_x, r_x) -> (score, box, cls_prob, ctr_prob,
  extra);
* ``"freeze_track_fea"``: search image -> [c_x, r_x]; ``"freeze_track_head"``: (c_out, r_out) -> the head's
  raw [cls, ctr, offsets].
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Mapping

import torch
from torch import nn

from lib.models.layers.xcorr import xcorr_depthwise
from lib.models.siamfcpp.common import ConvBnRelu
from lib.models.siamfcpp.head import DenseboxHead

__all__ = ["SiamTrack", "PHASES"]

logger = logging.getLogger(__name__)

PHASES = ("train", "feature", "track", "freeze_track_fea", "freeze_track_head")


class SiamTrack(nn.Module):
    """Backbone, DenseboxHead and the four neck convolutions of SiamFC++.

    Args:
        backbone: maps (B, 3, H, W) BGR 0..255 images to (B, head_width, h, w) features (registered as
            ``basemodel``, the state-dict prefix of video_analyst).
        head: the DenseboxHead.
        losses: training losses by name ("cls", "ctr", "reg"); kept in a plain dict, so that (as in
            video_analyst) they are not part of the state dict.
        head_width: channels of the backbone output and of the neck.
        conv_weight_std: standard deviation of the original initialisation of the neck convolutions.
        corr_fea_output: also return the classification tower output (``corr_fea``) in the train phase.
        amp: run the train phase under autocast (CUDA only; a no-op on CPU).
    """

    def __init__(self, backbone: nn.Module, head: DenseboxHead, losses: Mapping[str, nn.Module] | None = None,
                 head_width: int = 256, conv_weight_std: float = 0.01, corr_fea_output: bool = False,
                 amp: bool = False):
        super().__init__()
        self.basemodel = backbone
        self.head = head
        # neck: valid 3x3 conv + BatchNorm, no ReLU; registered in the original's order r_z_k, c_z_k, r_x, c_x
        self.r_z_k = ConvBnRelu(head_width, head_width, kernel_size=3, has_relu=False)
        self.c_z_k = ConvBnRelu(head_width, head_width, kernel_size=3, has_relu=False)
        self.r_x = ConvBnRelu(head_width, head_width, kernel_size=3, has_relu=False)
        self.c_x = ConvBnRelu(head_width, head_width, kernel_size=3, has_relu=False)
        self.conv_weight_std = conv_weight_std
        self.corr_fea_output = corr_fea_output
        self.amp = amp
        self.loss: dict[str, nn.Module] = dict(losses or {})
        self._phase = "train"
        self.reset_neck()

    def reset_neck(self) -> None:
        """The original initialisation of the neck: conv weights N(0, conv_weight_std), the rest PyTorch's."""
        for block in (self.r_z_k, self.c_z_k, self.r_x, self.c_x):
            nn.init.normal_(block.conv.weight, std=self.conv_weight_std)

    @property
    def phase(self) -> str:
        """The phase ``forward`` runs when none is given ("train" after construction)."""
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        if value not in PHASES:
            raise ValueError(f"unknown SiamTrack phase {value!r}; expected one of {', '.join(PHASES)}.")
        self._phase = value

    def template_features(self, im_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Correlation kernels of a template: (B, 3, 127, 127) -> c_z_k, r_z_k (B, C, k, k)."""
        f_z = self.basemodel(im_z)  # (B, C, 6, 6) for AlexNet
        return self.c_z_k(f_z), self.r_z_k(f_z)

    def search_features(self, im_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Search maps: (B, 3, X, X) -> c_x, r_x (B, C, h, w)."""
        f_x = self.basemodel(im_x)  # (B, C, 28, 28) for AlexNet at 303
        return self.c_x(f_x), self.r_x(f_x)

    def train_forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Training predictions for a batch with ``im_z`` (B, 3, 127, 127) and ``im_x`` (B, 3, X, X)."""
        amp = torch.autocast("cuda") if self.amp and batch["im_x"].is_cuda else contextlib.nullcontext()
        with amp:
            # matches video_analyst (quirk Q14): two backbone calls, so every backbone BatchNorm updates its
            # running statistics twice per step, once per image size
            c_z_k, r_z_k = self.template_features(batch["im_z"])
            c_x, r_x = self.search_features(batch["im_x"])
            r_out = xcorr_depthwise(r_x, r_z_k)  # (B, C, S', S')
            c_out = xcorr_depthwise(c_x, c_z_k)
            cls, ctr, box, corr_fea = self.head(c_out, r_out, batch["im_x"].shape[-1])
        out = {"cls_pred": cls, "ctr_pred": ctr, "box_pred": box}
        if self.corr_fea_output:
            out["corr_fea"] = corr_fea
        return out

    def track(self, im_x: torch.Tensor | None, c_z_k: torch.Tensor, r_z_k: torch.Tensor,
              c_x: torch.Tensor | None = None, r_x: torch.Tensor | None = None, x_size: int = 0
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Scores and boxes of a search patch against template kernels.

        Args:
            im_x: (B, 3, X, X) search patch, or None when ``c_x`` / ``r_x`` are given.
            c_z_k: (B, C, k, k) classification kernel from :meth:`template_features`.
            r_z_k: (B, C, k, k) regression kernel.
            c_x: precomputed classification search map (with ``r_x``).
            r_x: precomputed regression search map.
            x_size: search side for the grid with input_size_adapt (default: the image's side, else unused).

        Returns:
            score (B, S*S, 1) = sigmoid(cls) * sigmoid(ctr), box (B, S*S, 4) xyxy in patch pixels, cls_prob,
            ctr_prob (B, S*S, 1), and extra {c_x, r_x, corr_fea}.
        """
        if im_x is not None:
            c_x, r_x = self.search_features(im_x)
            x_size = x_size or im_x.shape[-1]
        elif c_x is None or r_x is None:
            raise ValueError("SiamTrack.track needs a search image or both precomputed maps c_x and r_x.")
        # the precomputed form (c_z_k, r_z_k, c_x, r_x) works here; video_analyst's raises (quirk Q17, fixed)
        r_out = xcorr_depthwise(r_x, r_z_k)
        c_out = xcorr_depthwise(c_x, c_z_k)
        cls, ctr, box, corr_fea = self.head(c_out, r_out, x_size)
        cls_prob = torch.sigmoid(cls)
        ctr_prob = torch.sigmoid(ctr)
        score = cls_prob * ctr_prob
        return score, box, cls_prob, ctr_prob, {"c_x": c_x, "r_x": r_x, "corr_fea": corr_fea}

    def forward(self, *args: Any, phase: str | None = None) -> Any:
        """Run one phase (default: :attr:`phase`); see the module docstring for arguments and outputs."""
        phase = self._phase if phase is None else phase
        if phase == "train":
            return self.train_forward(args[0])
        if phase == "feature":
            return list(self.template_features(args[0]))
        if phase == "track":
            if len(args) == 3:
                return self.track(args[0], args[1], args[2])
            if len(args) == 4:
                return self.track(None, args[0], args[1], c_x=args[2], r_x=args[3])
            raise TypeError(f"SiamTrack phase 'track' takes (search image, c_z_k, r_z_k) or (c_z_k, r_z_k, c_x, "
                            f"r_x); got {len(args)} arguments.")
        if phase == "freeze_track_fea":
            return list(self.search_features(args[0]))
        if phase == "freeze_track_head":
            return list(self.head.forward_raw(args[0], args[1])[:3])
        raise ValueError(f"unknown SiamTrack phase {phase!r}; expected one of {', '.join(PHASES)}.")

    def compute_losses(self, predictions: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, dict]]:
        """Apply every training loss: (total, losses by name, extras by name); weights are already applied."""
        if not self.loss:
            raise ValueError("SiamTrack has no losses: build it from a config with model.losses.names set "
                             "(the train branch), or pass losses=... to the constructor.")
        losses, extras = {}, {}
        for name, loss_fn in self.loss.items():
            losses[name], extras[name] = loss_fn(predictions, batch)
        total = sum(losses.values())
        return total, losses, extras
