"""STARK/OSTrack training processing (spec 5.5): jittered crops, attention masks, augmentation, normalisation.

For one sample (template and search frames with their boxes) it produces, per role s in (template, search):
``s_images`` (N, 3, S, S) float normalized, ``s_anno`` (N, 4) normalized xywh in the crop, ``s_att`` (N, S, S)
bool (True on padding), ``s_masks`` (N, S, S) float; plus ``dataset``, ``test_class`` and ``valid``. A sample the
original would mark invalid raises :class:`~lib.train.data.skips.SampleSkip` ('processing_invalid') so the
sampler counts it and draws again.
"""

from __future__ import annotations

import math
import random
from typing import Mapping, Sequence

import numpy as np
import torch

from lib.utils.crop import crop_resize, crop_window, jitter_box, transform_image_to_crop
from lib.train.data.skips import SampleSkip
from lib.train.data.transforms import (hflip_box, hflip_box_norm, hflip_image, image_to_normalized_tensor,
                                       normalize_lut, roll_crop, roll_joint, to_grayscale)
from lib.utils.tensor import TensorDict

__all__ = ["STARKProcessing", "ROLES"]

ROLES = ("template", "search")


_ZEROS: dict[tuple[int, int], torch.Tensor] = {}


def _zeros(n: int, size: int) -> torch.Tensor:
    # One shared read-only zero mask per shape: collation copies it into the batch, nothing writes to it.
    key = (n, size)
    if key not in _ZEROS:
        _ZEROS[key] = torch.from_numpy(np.zeros((n, size, size), np.float32))
    return _ZEROS[key]


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    # one frame per role in OSTrack: a view instead of a copy
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def _nearest_indices(size: int, out: int) -> np.ndarray:
    # F.interpolate(mode='nearest'): source index floor(dst * in / out)
    return np.minimum(np.floor(np.arange(out) * (size / out)).astype(np.int64), size - 1)


class STARKProcessing:
    """Turn sampled frames and boxes into network inputs.

    Args:
        search_area_factor: crop side / sqrt(box area), per role ({'template': 2.0, 'search': 4.0}).
        output_sz: crop side in pixels, per role.
        center_jitter_factor: centre jitter, per role.
        scale_jitter_factor: scale jitter, per role.
        mean: normalisation mean (DATA.MEAN).
        std: normalisation std (DATA.STD).
        stride: backbone stride (MODEL.BACKBONE.STRIDE); the validity check downsamples the attention mask to
            output_sz // stride (the original hard-coded 16, spec 8.3 item 21).
        training: brightness jitter and per-crop flips (training) or plain conversion (validation).
        grayscale_prob: joint grayscale probability.
        joint_flip_prob: joint full-frame flip probability.
        brightness_jitter: per-crop brightness jitter (training).
        crop_flip_prob: per-crop flip probability (training).
    """

    def __init__(self, search_area_factor: Mapping[str, float], output_sz: Mapping[str, int],
                 center_jitter_factor: Mapping[str, float], scale_jitter_factor: Mapping[str, float],
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 stride: int = 16, training: bool = True, grayscale_prob: float = 0.05, joint_flip_prob: float = 0.5,
                 brightness_jitter: float = 0.2, crop_flip_prob: float = 0.5):
        self.search_area_factor = dict(search_area_factor)
        self.output_sz = {k: int(v) for k, v in output_sz.items()}
        self.center_jitter_factor = dict(center_jitter_factor)
        self.scale_jitter_factor = dict(scale_jitter_factor)
        self.mean, self.std = tuple(mean), tuple(std)
        self.stride = int(stride)
        self.training = training
        self.grayscale_prob = grayscale_prob
        self.joint_flip_prob = joint_flip_prob
        self.brightness_jitter = brightness_jitter
        self.crop_flip_prob = crop_flip_prob
        self._plain_lut = normalize_lut(self.mean, self.std, None)

    supports_out = True  # __call__ can write the images into given tensors (the sampler's batch buffers)

    def image_shape(self, role: str, num_frames: int) -> tuple[int, int, int, int]:
        """Shape of ``{role}_images`` for ``num_frames`` frames: (N, 3, S, S)."""
        return (num_frames, 3, self.output_sz[role], self.output_sz[role])

    def __call__(self, data: Mapping, rng: random.Random, out: Mapping[str, torch.Tensor] | None = None) -> TensorDict:
        """Process one sample.

        Args:
            data: ``{role}_images`` (lists of (H, W, 3) RGB uint8 arrays), ``{role}_anno`` (lists of xywh boxes),
                ``{role}_masks`` (lists of (H, W) float masks, or None), ``dataset``, ``test_class``.
            rng: the sample's random stream.
            out: optional ``{role}_images`` tensors of :meth:`image_shape` to write the images into (returned as
                the sample's images), so that a batch can be assembled without copying.
        """
        joint = roll_joint(rng, self.grayscale_prob, self.joint_flip_prob)
        result = TensorDict()
        for role in ROLES:
            buffer = None if out is None else out.get(f"{role}_images")
            result.update(self._process_role(role, data[f"{role}_images"], data[f"{role}_anno"],
                                             data.get(f"{role}_masks"), joint, rng, buffer))
        result["dataset"] = data.get("dataset")
        result["test_class"] = data.get("test_class")
        result["valid"] = True
        return result

    def _process_role(self, role: str, frames, boxes, masks, joint, rng: random.Random,
                      buffer: torch.Tensor | None = None) -> dict:
        # The joint grayscale and flip apply to the full frames in the original; here they are applied to the
        # cropped region only (same pixels: both are per-pixel or mirror operations).
        masks = [None] * len(frames) if masks is None else [None if m is None else np.asarray(m, np.float32)
                                                           for m in masks]
        if joint.flip:
            boxes = [hflip_box(b, f.shape[1]) for b, f in zip(boxes, frames)]
        gray = to_grayscale if joint.grayscale else None
        factor = self.search_area_factor[role]
        out_sz = self.output_sz[role]
        jittered = [jitter_box(b, self.scale_jitter_factor[role], self.center_jitter_factor[role], rng) for b in boxes]
        for jb in jittered:
            if not math.ceil(math.sqrt(max(jb[2] * jb[3], 0.0)) * factor) >= 1:
                raise SampleSkip("processing_invalid", f"{role} crop side < 1")
        images, annos, atts, mask_crops = [], [], [], []
        for frame, box, jb, mask in zip(frames, boxes, jittered, masks):
            try:
                win = crop_window(jb, factor, frame.shape[:2])
                crop, att, mask_crop = crop_resize(frame, win, out_sz, mask, hflip=joint.flip, transform=gray)
            except ValueError as err:
                raise SampleSkip("processing_invalid", f"{role}: {err}") from None
            anno = transform_image_to_crop(np.asarray(box, np.float64), jb, out_sz / win.crop_sz, out_sz,
                                           normalize=True).astype(np.float64)
            lut = self._plain_lut
            if self.training:
                roll = roll_crop(rng, self.brightness_jitter, self.crop_flip_prob)
                lut = normalize_lut(self.mean, self.std, roll.brightness)
                if roll.flip:
                    crop, att = hflip_image(crop), hflip_image(att)
                    mask_crop = None if mask_crop is None else hflip_image(mask_crop)
                    anno = hflip_box_norm(anno)
            self._check_att(role, att)
            images.append(image_to_normalized_tensor(crop, lut, None if buffer is None else buffer[len(images)]))
            annos.append(anno)
            atts.append(torch.from_numpy(att))
            mask_crops.append(mask_crop)
        if all(m is None for m in mask_crops):  # video datasets: the original cropped all-zero masks
            masks_t = _zeros(len(frames), out_sz)
        else:
            masks_t = _stack([torch.from_numpy(np.zeros((out_sz, out_sz), np.float32) if m is None
                                               else np.ascontiguousarray(m)) for m in mask_crops])
        return {f"{role}_images": buffer if buffer is not None else _stack(images),
                f"{role}_anno": torch.from_numpy(np.stack(annos).astype(np.float32)),
                f"{role}_att": _stack(atts), f"{role}_masks": masks_t}

    def _check_att(self, role: str, att: np.ndarray) -> None:
        if att.all():
            raise SampleSkip("processing_invalid", f"{role} crop is all padding")
        feat = self.output_sz[role] // self.stride
        idx = _nearest_indices(att.shape[0], feat)
        if att[np.ix_(idx, idx)].all():
            raise SampleSkip("processing_invalid", f"{role} crop is padding at every feature cell")
