"""The OSTrack tracker: per-frame crop -> network -> windowed peak decode -> box in the image (spec 7.2).

Per frame it does each piece of work once on the smallest image that serves: one crop-and-resize of the search
region (the ``sample_target`` crop of lib.utils.crop, shared with training), one normalisation of
the crop, one forward pass, and the head's decode of size and offset at the windowed peak.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lib.models.ostrack import build_ostrack
from lib.test.tracker.backends import FamilyCalls, create_backend
from lib.test.tracker.basetracker import BaseTracker
from lib.test.tracker.deploy_metadata import scrub_config
from lib.test.tracker.hann import hann2d
from lib.test.tracker.preprocessing import Preprocessor
from lib.test.utils.params import TrackerParams
from lib.utils.crop import crop_resize, crop_window, transform_image_to_crop
from lib.utils.box_ops import clip_box
from lib.utils.ce_utils import generate_mask_cond
from lib.utils.checkpoint_io import checkpoint_origin, extract_net_state_dict, load_checkpoint, state_dict_mismatch
from lib.utils.errors import CheckpointError

__all__ = ["OSTrackTracker", "map_box_back", "crop_search_region", "peak_box", "OSTRACK_CALLS"]

logger = logging.getLogger(__name__)


# One network per process: the runner creates a tracker per sequence (as the original), and rebuilding the
# model and re-reading the checkpoint for every sequence would dominate short sequences.
_NETWORK_CACHE: dict[tuple, nn.Module] = {}


def _load_network(params: TrackerParams, device: torch.device) -> nn.Module:
    """Build the model from params.cfg and load params.checkpoint strictly (cached per process)."""
    checkpoint = params.get("checkpoint", None)
    stamp = os.stat(checkpoint).st_mtime_ns if checkpoint is not None else None
    key = (json.dumps(params.cfg.to_dict(), sort_keys=True), str(checkpoint), stamp, str(device))
    if key not in _NETWORK_CACHE:
        _NETWORK_CACHE.clear()
        network = build_ostrack(params.cfg, training=False)
        if checkpoint is not None:
            ckpt = load_checkpoint(checkpoint)
            state = extract_net_state_dict(ckpt, checkpoint)
            try:
                network.load_state_dict(state, strict=True)
            except RuntimeError:
                raise CheckpointError(
                    f"checkpoint {checkpoint} (written for {checkpoint_origin(ckpt)}) does not fit the model of the "
                    f"tracker's config {params.get('yaml_name', '?')!r} (backbone "
                    f"{params.cfg.MODEL.BACKBONE.TYPE}): {state_dict_mismatch(network.state_dict(), state)}. "
                    f"Expected a checkpoint trained with the same model config; pass the matching config name "
                    f"or --checkpoint.") from None
        else:
            logger.warning("no checkpoint given: the network keeps its random initialisation")
        _NETWORK_CACHE[key] = network.to(device).eval()
    return _NETWORK_CACHE[key]


def crop_search_region(image: np.ndarray, box: list[float], factor: float, output_sz: int) -> tuple[np.ndarray, float]:
    """The ``sample_target`` crop (same pixels) around ``box``; returns (crop (S, S, 3), resize_factor).

    Uses the shared crop_window/crop_resize, which skip building a padded copy when none is needed and do not
    resize a full-size attention mask (the network does not use it).
    """
    win = crop_window(box, factor, image.shape[:2])
    crop, _, _ = crop_resize(image, win, output_sz)
    return crop, output_sz / win.crop_sz


def map_box_back(pred_box_cxcywh: list[float], prev_state: list[float], search_size: int,
                 resize_factor: float) -> list[float]:
    """Search-crop box (cxcywh, original-image pixel units, relative to the crop) -> image xywh.

    matches OSTrack: assumes the crop is centred exactly on the previous box centre (the rounding of the crop
    corner in sample_target is ignored, spec 8.3 item 19).
    """
    cx_prev = prev_state[0] + 0.5 * prev_state[2]
    cy_prev = prev_state[1] + 0.5 * prev_state[3]
    cx, cy, w, h = pred_box_cxcywh
    half_side = 0.5 * search_size / resize_factor
    cx_real = cx + (cx_prev - half_side)
    cy_real = cy + (cy_prev - half_side)
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def peak_box(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor, feat_sz: int) -> torch.Tensor:
    """The box at the first maximum of ``score_map``: (B, 4) normalised cxcywh in the search crop.

    The decode of the CENTER head (CenterPredictor.cal_bbox), here so that it needs no PyTorch network (the ONNX
    Runtime backend has none). matches OSTrack: the cell index maps to the cell's corner (col / fs).

    Args:
        score_map: (B, 1, fs, fs), the Hann-windowed score map.
        size_map: (B, 2, fs, fs) normalised (w, h).
        offset_map: (B, 2, fs, fs) sub-cell (x, y) offsets.
        feat_sz: fs.
    """
    _, idx = torch.max(score_map.flatten(1), dim=1, keepdim=True)  # (B, 1): the first maximum, as cal_bbox
    gather_idx = idx.unsqueeze(1).expand(-1, 2, 1)  # (B, 2, 1)
    size = size_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)  # (B, 2)
    offset = offset_map.flatten(2).gather(dim=2, index=gather_idx).squeeze(-1)  # (B, 2)
    idx_y = torch.div(idx, feat_sz, rounding_mode="floor").float()
    idx_x = (idx % feat_sz).float()
    return torch.cat([(idx_x + offset[:, :1]) / feat_sz, (idx_y + offset[:, 1:]) / feat_sz, size], dim=1)


def _template_call(network: nn.Module, template: torch.Tensor, mask: torch.Tensor | None) -> tuple:
    return template, mask  # one-stream: the template goes through the network with every search crop


def _track_call(network: nn.Module, search: torch.Tensor, template: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    out = network(template=template, search=search, ce_template_mask=mask)
    return out["score_map"], out["size_map"], out["offset_map"]


def _network_config(params: TrackerParams) -> dict:
    cfg = params.cfg
    return {"MODEL": scrub_config(cfg.MODEL), "DATA.TEMPLATE.SIZE": cfg.DATA.TEMPLATE.SIZE,
            "DATA.SEARCH.SIZE": cfg.DATA.SEARCH.SIZE, "TEST.TEMPLATE_SIZE": params.template_size,
            "TEST.SEARCH_SIZE": params.search_size}


#: how the tracker calls the network; the 1x1 output convs stay float32 under bf16 / fp16 (the head's sigmoid
#: already computes in float32)
OSTRACK_CALLS = FamilyCalls("ostrack", _template_call, _track_call, _network_config,
                            keep_fp32=("box_head.conv5_ctr", "box_head.conv5_size", "box_head.conv5_offset"))


class OSTrackTracker(BaseTracker):
    """OSTrack inference on one sequence.

    Args:
        params: from lib.test.parameter.ostrack.parameters() (cfg, sizes, factors, checkpoint).
        device: where the network runs ('cpu', 'cuda', 'cuda:1', ...).
        network: an already built network (tests, benchmarks); by default the model is built from
            ``params.cfg`` and ``params.checkpoint`` is loaded strictly.

    ``params.backend`` ('pytorch' or 'onnxruntime'), ``params.precision`` and ``params.onnx`` choose how the network
    runs (lib.test.tracker.backends); the per-frame logic is the same for all.
    """

    def __init__(self, params: TrackerParams, device: str | torch.device = "cpu", network: nn.Module | None = None):
        super().__init__(params)
        self.device = torch.device(device)
        self.cfg = params.cfg
        self.backend = create_backend(params, OSTRACK_CALLS, self.device, network,
                                      lambda: _load_network(params, self.device))
        self.network = self.backend.network  # None with ONNX Runtime
        self.preprocessor = Preprocessor(self.cfg.DATA.MEAN, self.cfg.DATA.STD, self.device)
        self.feat_sz = params.search_size // self.cfg.MODEL.BACKBONE.STRIDE
        self.output_window = hann2d((self.feat_sz, self.feat_sz), centered=True).to(self.device)
        self.debug = int(params.get("debug", 0))
        self.debug_dir = params.get("debug_dir", None)
        self.state: list[float] | None = None
        self.frame_id = 0
        self.template: torch.Tensor | None = None
        self.box_mask_z: torch.Tensor | None = None
        self._search: torch.Tensor | None = None  # the normalised search crop, reused every frame

    def initialize(self, image: np.ndarray, info: dict) -> None:
        init_bbox = [float(v) for v in info["init_bbox"]]
        z_patch, resize_factor = crop_search_region(image, init_bbox, self.params.template_factor,
                                                    self.params.template_size)
        self.template = self.preprocessor.process(z_patch)  # (1, 3, T, T)
        self.box_mask_z = None
        if self.cfg.MODEL.BACKBONE.CE_LOC:
            # matches OSTrack: the template box in normalised crop coordinates, centred at (T - 1) / 2.
            box = torch.tensor(init_bbox, dtype=torch.float32)
            crop_sz = torch.tensor([self.params.template_size, self.params.template_size], dtype=torch.float32)
            template_bbox = transform_image_to_crop(box, box, resize_factor, crop_sz, normalize=True).view(1, 4)
            # matches OSTrack: the mask is sized by DATA.TEMPLATE.SIZE (equal to TEST.TEMPLATE_SIZE in practice).
            self.box_mask_z = generate_mask_cond(self.cfg.MODEL.BACKBONE.CE_TEMPLATE_RANGE, 1,
                                                 self.cfg.DATA.TEMPLATE.SIZE, self.cfg.MODEL.BACKBONE.STRIDE,
                                                 self.device, template_bbox.to(self.device))
        self.backend.set_template(self.template, self.box_mask_z)
        self.state = init_bbox
        self.frame_id = 0

    @torch.no_grad()
    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        height, width = image.shape[:2]
        self.frame_id += 1
        x_patch, resize_factor = crop_search_region(image, self.state, self.params.search_factor,
                                                    self.params.search_size)
        if self._search is None:
            self._search = torch.empty(1, 3, *x_patch.shape[:2], device=self.device)
        search = self.preprocessor.process(x_patch, out=self._search)  # (1, 3, S, S), one buffer for all frames
        score_map, size_map, offset_map = self.backend.track(search)  # float32 whatever the precision
        # matches OSTrack: the window multiplies the score map and only moves the peak; size and offset are
        # read at the windowed peak.
        response = self.output_window * score_map  # (1, 1, fs, fs)
        pred_boxes = peak_box(response, size_map, offset_map, self.feat_sz).view(-1, 4)
        pred_box = (pred_boxes.mean(dim=0) * self.params.search_size / resize_factor).tolist()
        box = map_box_back(pred_box, self.state, self.params.search_size, resize_factor)
        self.state = clip_box(box, height, width, margin=10)
        if self.debug and self.debug_dir:
            self._save_debug_frame(image)
        return {"target_bbox": self.state}

    def example_inputs(self, generator: torch.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor | None],
                                                                  torch.Tensor]:
        """Random (template inputs, search crop) of the shapes the tracker feeds (for the ONNX export check)."""
        t_sz, s_sz = self.params.template_size, self.params.search_size
        template = torch.randn(1, 3, t_sz, t_sz, generator=generator)
        search = torch.randn(1, 3, s_sz, s_sz, generator=generator)
        mask = None
        if self.cfg.MODEL.BACKBONE.CE_LOC:
            box = torch.tensor([[0.3, 0.35, 0.4, 0.3]])  # normalised xywh, as the tracker's template box
            mask = generate_mask_cond(self.cfg.MODEL.BACKBONE.CE_TEMPLATE_RANGE, 1, self.cfg.DATA.TEMPLATE.SIZE,
                                      self.cfg.MODEL.BACKBONE.STRIDE, torch.device("cpu"), box)
        return (template, mask), search

    def _save_debug_frame(self, image: np.ndarray) -> None:
        import cv2  # only in debug mode

        x, y, w, h = (int(v) for v in self.state)
        frame = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 0, 255), 2)
        out_dir = Path(self.debug_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out_dir / f"{self.frame_id:04d}.jpg"), frame)
