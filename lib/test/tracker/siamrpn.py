"""The SiamRPN++ tracker of PySOT: crop -> network -> anchor decode -> penalties and cosine window -> smoothed box.

Per frame (pysot-spec 9.2): one square search crop around the previous centre, one forward pass, softmax scores and
anchor-decoded boxes for all A*S*S candidates, a scale/ratio-change penalty, a cosine window, and an update that
moves the centre fully and the size by a score-weighted learning rate. The post-processing follows the original's
numpy float32/float64 mixture exactly (spec 11); the float64 promotions that numpy 2 makes are written out, so
numpy 1.x gives the same numbers.

:class:`PySOTTracker` holds the per-frame logic shared with SiamBAN (lib.test.tracker.siamban), which differs only
in its candidate grid (points instead of anchors) and decoding. Paper: SiamRPN++, https://arxiv.org/abs/1812.11703.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib.test.tracker.backends import FamilyCalls, create_backend
from lib.test.tracker.basetracker import BaseTracker
from lib.test.tracker.deploy_metadata import scrub_config
from lib.test.tracker.siamese_crop import CropArgs, channel_average, get_subwindow
from lib.test.utils.params import TrackerParams
from lib.utils.registry import Registry
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["PySOTTracker", "SiamRPNTracker", "SiamRPNLTTracker", "SIAMRPN_TRACKERS", "build_tracker", "Candidate",
           "base_anchors", "generate_anchor", "tracker_window", "score_map_size", "pysot_init_box", "bbox_clip",
           "pysot_result_line", "cfg_value", "load_siamese_network", "pysot_calls", "SIAMRPN_CALLS"]

logger = logging.getLogger(__name__)

_MISSING = object()


def cfg_value(cfg: Any, key: str, default: Any = _MISSING) -> Any:
    """``cfg.A.B.C`` for key 'A.B.C'; a missing key is a ConfigError naming it (or ``default`` when given)."""
    node = cfg
    for part in key.split("."):
        try:
            node = node[part]
        except (KeyError, TypeError):
            if default is not _MISSING:
                return default
            raise ConfigError(f"the tracker config has no key {key!r}; the Siamese trackers need PySOT's TRACK, "
                              f"ANCHOR (SiamRPN++) or POINT/BAN (SiamBAN) sections (pysot-spec 2.1/2.2).") from None
    return node


def score_map_size(instance_size: int, exemplar_size: int, stride: int, base_size: int) -> int:
    """Side of the tracking score map (spec 4.1): (INSTANCE - EXEMPLAR) // STRIDE + 1 + BASE_SIZE."""
    return (instance_size - exemplar_size) // stride + 1 + base_size


def tracker_window(score_size: int, tiles: int = 1) -> np.ndarray:
    """The cosine window, float64 (tiles * S * S,), tiled anchor-major (np.hanning is zero at both ends)."""
    hanning = np.hanning(score_size)
    return np.tile(np.outer(hanning, hanning).flatten(), tiles)


def base_anchors(stride: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """The A anchor shapes as float32 (A, 4) corners centred on 0 (pysot-spec 4.2).

    matches PySOT: ws = int(sqrt(stride^2 / r)) and hs = int(ws * r) are truncated, so the ratios are not exact
    (104x32, 88x40, 64x64, 40x80, 32x96 for the configs; quirk 12).
    """
    size = stride * stride
    anchors = np.zeros((len(ratios) * len(scales), 4), dtype=np.float32)
    index = 0
    for ratio in ratios:  # ratio outer, scale inner: the anchor order of the released heads
        ws = int(math.sqrt(size * 1.0 / ratio))
        hs = int(ws * ratio)
        for scale in scales:
            w, h = ws * scale, hs * scale
            anchors[index] = [-w * 0.5, -h * 0.5, w * 0.5, h * 0.5]
            index += 1
    return anchors


def generate_anchor(score_size: int, stride: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """Tracker anchors float32 (A*S*S, 4) as (cx, cy, w, h), centres relative to the search-crop centre.

    Anchor-major order: index = a * S * S + y * S + x (the order of the head's channels after flattening).
    """
    corners = base_anchors(stride, ratios, scales)
    num = corners.shape[0]
    shapes = np.stack([corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]], 1)  # (A, 2)
    anchors = np.zeros((num, score_size * score_size, 4), dtype=np.float32)
    offsets = (-(score_size // 2) * stride + stride * np.arange(score_size)).astype(np.float32)
    anchors[:, :, 0] = np.tile(offsets, score_size)  # x varies fastest
    anchors[:, :, 1] = np.repeat(offsets, score_size)
    anchors[:, :, 2:] = shapes[:, None, :]
    return anchors.reshape(-1, 4)


def pysot_init_box(region: Sequence[float]) -> list[float]:
    """The box PySOT's test script initialises with, from a ground-truth rect or 8-value polygon.

    matches PySOT (tools/test.py, get_axis_aligned_bbox): a rect [x, y, w, h] gives [x + 0.5, y + 0.5, w, h],
    computed as cx - (w - 1) / 2 with cx = x + w / 2 (quirk 35); a polygon gives its area-preserving
    axis-aligned box.
    """
    region = np.asarray(region, dtype=np.float64)
    if region.size == 8:
        xs, ys = region[0::2], region[1::2]
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        x1, x2, y1, y2 = float(np.min(xs)), float(np.max(xs)), float(np.min(ys)), float(np.max(ys))
        area_poly = float(np.linalg.norm(region[0:2] - region[2:4]) * np.linalg.norm(region[2:4] - region[4:6]))
        area_box = (x2 - x1) * (y2 - y1)
        if area_box <= 0:
            raise ValueError(f"the initial polygon {region.tolist()} has no area.")
        s = math.sqrt(area_poly / area_box)
        w, h = s * (x2 - x1) + 1, s * (y2 - y1) + 1
    elif region.size == 4:
        x, y, w, h = (float(v) for v in region)
        cx, cy = x + w / 2, y + h / 2
    else:
        raise ValueError(f"an initial box has 4 values [x, y, w, h] or 8 polygon values, got {region.size}.")
    return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]


def bbox_clip(cx: float, cy: float, width: float, height: float,
              boundary: Sequence[int]) -> tuple[float, float, float, float]:
    """Clip the state to the frame of size ``boundary`` = (H, W).

    matches PySOT (_bbox_clip, quirk 37): the centre, not the box, is clipped to [0, W] x [0, H] and the size to
    [10, W] x [10, H], with Python min/max, so a clipped value is the bound itself (an int: PySOT writes it as
    '10', not '10.0').
    """
    cx = max(0, min(cx, boundary[1]))
    cy = max(0, min(cy, boundary[0]))
    width = max(10, min(width, boundary[1]))
    height = max(10, min(height, boundary[0]))
    return cx, cy, width, height


def pysot_result_line(box: Sequence[float]) -> str:
    """One line of PySOT's OPE result files: ``','.join(str(v))`` of the tracker's box values."""
    return ",".join(str(v) for v in box)


# One network per process: the runner creates a tracker per sequence, and rebuilding the model and re-reading the
# checkpoint for every sequence would dominate short sequences.
_NETWORK_CACHE: dict[tuple, nn.Module] = {}


def load_siamese_network(params: TrackerParams, device: torch.device, builder: Callable[[Any], nn.Module],
                         family: str) -> nn.Module:
    """Build the model from params.cfg, load params.checkpoint strictly, move it to ``device`` (cached)."""
    from lib.models.siamese.weights import load_model_weights  # the model package is imported on first use

    checkpoint = params.get("checkpoint", None)
    stamp = os.stat(checkpoint).st_mtime_ns if checkpoint is not None else None
    cfg = params.cfg
    cfg_data = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    key = (family, json.dumps(cfg_data, sort_keys=True, default=str), str(checkpoint), stamp, str(device))
    if key not in _NETWORK_CACHE:
        _NETWORK_CACHE.clear()
        network = builder(cfg)
        if checkpoint is not None:
            try:
                network.load_state_dict(load_model_weights(checkpoint), strict=True)
            except RuntimeError as err:
                raise CheckpointError(f"checkpoint {checkpoint} does not fit the {family} model of config "
                                      f"{params.get('yaml_name', '?')}: {str(err)[:2000]}") from None
        else:
            logger.warning("no checkpoint given: the %s network keeps its random initialisation", family)
        _NETWORK_CACHE[key] = network.to(device).eval()
    return _NETWORK_CACHE[key]


def _template_call(network: nn.Module, template: torch.Tensor) -> tuple:
    network.template(template)  # the network keeps its template features
    return ()


def _track_call(network: nn.Module, search: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    outputs = network.track(search)
    return outputs["cls"], outputs["loc"]


def pysot_calls(script: str, head_key: str) -> FamilyCalls:
    """How the PySOT-family trackers call their network (``template`` once, ``track`` per frame).

    Args:
        script: 'siamrpn' or 'siamban'.
        head_key: the config section of the head ('RPN' or 'BAN').
    """
    def network_config(params: TrackerParams) -> dict:
        cfg = params.cfg
        sections = ("BACKBONE", "ADJUST", head_key, "MASK")
        return {**{key: scrub_config(cfg_value(cfg, key, None)) for key in sections},
                "EXEMPLAR_SIZE": cfg_value(cfg, "TRACK.EXEMPLAR_SIZE"),
                "INSTANCE_SIZE": cfg_value(cfg, "TRACK.INSTANCE_SIZE")}

    # the heads' last 1x1 convs (logits and box regression) stay float32 under bf16 / fp16
    return FamilyCalls(script, _template_call, _track_call, network_config,
                       keep_fp32=("*.cls.head.3", "*.loc.head.3", "*.loc_adjust"))


SIAMRPN_CALLS = pysot_calls("siamrpn", "RPN")


class Candidate(NamedTuple):
    """The chosen candidate of one frame."""

    bbox: tuple[float, float, float, float]  # (cx, cy, w, h) in frame pixels, centre relative to the old centre
    lr: float  # size learning rate: penalty * score * TRACK.LR
    best_score: float
    best_idx: int


class PySOTTracker(BaseTracker):
    """Per-frame logic shared by PySOT's SiamRPN++ tracker and SiamBAN's tracker (spec 9.2 / 9.3).

    Subclasses set ``stride`` from their grid config and provide the candidate grid (:meth:`_grid`), the score and
    box decoding and the model builder.

    Args:
        params: test parameters with ``cfg`` (PySOT key names) and ``checkpoint`` (None: random weights).
        device: where the network runs.
        network: an already built network in eval mode (tests, benchmarks); by default it is built from
            ``params.cfg`` and ``params.checkpoint`` is loaded strictly.
    """

    family = "pysot"
    calls: FamilyCalls  # set by each family

    def __init__(self, params: TrackerParams, device: str | torch.device = "cpu", network: nn.Module | None = None):
        super().__init__(params)
        self.device = torch.device(device)
        cfg = params.cfg
        self.exemplar_size = int(cfg_value(cfg, "TRACK.EXEMPLAR_SIZE"))
        self.instance_size = int(cfg_value(cfg, "TRACK.INSTANCE_SIZE"))
        self.base_size = int(cfg_value(cfg, "TRACK.BASE_SIZE"))
        self.context_amount = float(cfg_value(cfg, "TRACK.CONTEXT_AMOUNT"))
        self.penalty_k = float(cfg_value(cfg, "TRACK.PENALTY_K"))
        self.window_influence = float(cfg_value(cfg, "TRACK.WINDOW_INFLUENCE"))
        self.lr = float(cfg_value(cfg, "TRACK.LR"))
        self._read_grid_config(cfg)
        self._grids: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
        self.score_size, self.window, _ = self._grid_for(self.instance_size)
        self.backend = create_backend(params, self.calls, self.device, network,
                                      lambda: load_siamese_network(params, self.device, self._builder(), self.family))
        self.network = self.backend.network  # None with ONNX Runtime
        self.center_pos = (0.0, 0.0)  # (cx, cy) in frame pixels, PySOT's convention
        self.size = (0.0, 0.0)  # (w, h)
        self.channel_average: np.ndarray | None = None  # (3,) in the frame's (RGB) order
        self.last_crop: CropArgs | None = None
        # search side -> the network input of the search crop, reused every frame (no per-frame float32 allocation;
        # the long-term tracker has a second side)
        self._search_buffers: dict[int, torch.Tensor] = {}

    # -- what a family defines -------------------------------------------------------------------------------
    def _read_grid_config(self, cfg: Any) -> None:
        raise NotImplementedError

    def _grid(self, score_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(window float64 (N,), grid float32) for a score-map side."""
        raise NotImplementedError

    def _convert_score(self, cls: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def _convert_bbox(self, loc: torch.Tensor, grid: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _builder(self) -> Callable[[Any], nn.Module]:
        raise NotImplementedError

    # -- shared logic ----------------------------------------------------------------------------------------
    def _grid_for(self, instance_size: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(score size, window, grid) for a search size (cached: the long-term tracker switches sizes)."""
        if instance_size not in self._grids:
            size = score_map_size(instance_size, self.exemplar_size, self.stride, self.base_size)
            self._grids[instance_size] = (size, *self._grid(size))
        return self._grids[instance_size]

    def _crop(self, image: np.ndarray, model_sz: int, original_sz: int, search: bool = False) -> torch.Tensor:
        """The crop as the network's (1, 3, model_sz, model_sz) float32 BGR input; a search crop is written into the
        tracker's buffer for its side (the template crop is a new tensor: the network may keep it)."""
        self.last_crop = CropArgs(self.center_pos[0], self.center_pos[1], model_sz, original_sz)
        out = None
        if search:
            out = self._search_buffers.get(model_sz)
            if out is None:
                out = self._search_buffers[model_sz] = torch.empty(1, 3, model_sz, model_sz, device=self.device)
        # the runner gives RGB frames; PySOT's networks take BGR
        return get_subwindow(image, self.center_pos, model_sz, original_sz, self.channel_average,
                             device=self.device, reverse_channels=True, out=out)

    def _context_side(self) -> float:
        """sqrt(w_z * h_z): the side of the square context region around the current size."""
        w, h = self.size
        context = self.context_amount * (w + h)
        return math.sqrt((w + context) * (h + context))

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        """Crop the template around ``info['init_bbox']`` (ground truth [x, y, w, h]); returns the init box.

        matches PySOT: the box is first turned into PySOT's init box [x + 0.5, y + 0.5, w, h], which is the first
        result line (quirk 35), and its centre is x + (w - 1) / 2 (quirk 34).
        """
        box = pysot_init_box(info["init_bbox"])
        if not (box[2] > 0 and box[3] > 0):
            raise ValueError(f"the initial box {list(info['init_bbox'])} has no area; the tracker needs a box "
                             f"[x, y, w, h] with w > 0 and h > 0.")
        self.center_pos = (box[0] + (box[2] - 1) / 2, box[1] + (box[3] - 1) / 2)
        self.size = (box[2], box[3])
        # matches PySOT: the template crop side is rounded half to even (Python round), the window corner half up
        s_z = round(self._context_side())
        self.channel_average = channel_average(image)
        self.backend.set_template(self._crop(image, self.exemplar_size, s_z))
        return {"target_bbox": box}

    @torch.no_grad()
    def _locate(self, image: np.ndarray, instance_size: int, window_influence: float) -> Candidate:
        """Search around the current centre; returns the best candidate (offsets in frame pixels)."""
        score_size, window, grid = self._grid_for(instance_size)
        s_z = self._context_side()
        scale_z = self.exemplar_size / s_z
        s_x = s_z * (instance_size / self.exemplar_size)
        cls, loc = self.backend.track(self._crop(image, instance_size, round(s_x), search=True))  # float32
        if tuple(cls.shape[-2:]) != (score_size, score_size):
            raise ConfigError(
                f"the {self.family} network's score map is {tuple(cls.shape[-2:])} but the tracker config "
                f"expects {score_size}x{score_size} = (INSTANCE_SIZE {instance_size} - EXEMPLAR_SIZE "
                f"{self.exemplar_size}) // STRIDE {self.stride} + 1 + BASE_SIZE {self.base_size}; fix TRACK.* in the "
                f"config to match the model.")
        score = self._convert_score(cls)  # float32 (N,)
        pred_bbox = self._convert_bbox(loc, grid)  # float32 (4, N): cx, cy, w, h in crop pixels

        def change(r: np.ndarray) -> np.ndarray:
            return np.maximum(r, 1.0 / r)

        def sz(w, h):
            pad = (w + h) * 0.5
            return np.sqrt((w + pad) * (h + pad))

        # matches PySOT under numpy 2: float32 maps divided by float64 scalars become float64
        target_sz = sz(self.size[0] * scale_z, self.size[1] * scale_z)
        s_c = change(sz(pred_bbox[2], pred_bbox[3]).astype(np.float64) / target_sz)
        r_c = change((self.size[0] / self.size[1]) / (pred_bbox[2] / pred_bbox[3]).astype(np.float64))
        penalty = np.exp(-(r_c * s_c - 1) * self.penalty_k)
        pscore = penalty * score.astype(np.float64)
        pscore = pscore * (1 - window_influence) + window * window_influence
        best = int(np.argmax(pscore))  # the first maximum, anchor-major
        bbox = pred_bbox[:, best].astype(np.float64) / scale_z
        best_score = float(score[best])
        return Candidate(bbox=tuple(float(v) for v in bbox), lr=float(penalty[best]) * best_score * self.lr,
                         best_score=best_score, best_idx=best)

    def example_inputs(self, generator: torch.Generator) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        """Random (template inputs, search crop) of the shapes the tracker feeds, raw 0..255 pixels (export check)."""
        template = torch.rand(1, 3, self.exemplar_size, self.exemplar_size, generator=generator) * 255
        search = torch.rand(1, 3, self.instance_size, self.instance_size, generator=generator) * 255
        return (template,), search

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """Track one frame; returns ``{'target_bbox': [x, y, w, h], 'best_score': s, 'best_idx': i}``."""
        cand = self._locate(image, self.instance_size, self.window_influence)
        dx, dy, bw, bh = cand.bbox
        lr = cand.lr
        # matches PySOT: the position jumps fully, only the size is smoothed
        cx, cy, width, height = bbox_clip(dx + self.center_pos[0], dy + self.center_pos[1],
                                          self.size[0] * (1 - lr) + bw * lr, self.size[1] * (1 - lr) + bh * lr,
                                          image.shape[:2])
        self.center_pos, self.size = (cx, cy), (width, height)
        # matches PySOT: the output box is cx - w/2 while the input centre was x + (w - 1)/2 (quirk 34)
        return {"target_bbox": [cx - width / 2, cy - height / 2, width, height],
                "best_score": cand.best_score, "best_idx": cand.best_idx}


class SiamRPNTracker(PySOTTracker):
    """PySOT's SiamRPNTracker: A anchors per position, softmax over (background, foreground) logits."""

    family = "SiamRPN"
    calls = SIAMRPN_CALLS

    def _read_grid_config(self, cfg: Any) -> None:
        self.stride = int(cfg_value(cfg, "ANCHOR.STRIDE"))
        self.ratios = [float(r) for r in cfg_value(cfg, "ANCHOR.RATIOS")]
        self.scales = [float(s) for s in cfg_value(cfg, "ANCHOR.SCALES")]
        self.anchor_num = len(self.ratios) * len(self.scales)

    def _grid(self, score_size: int) -> tuple[np.ndarray, np.ndarray]:
        return (tracker_window(score_size, self.anchor_num),
                generate_anchor(score_size, self.stride, self.ratios, self.scales))

    @property
    def anchors(self) -> np.ndarray:
        """float32 (A*S*S, 4) anchors of the normal search size."""
        return self._grid_for(self.instance_size)[2]

    def _convert_score(self, cls: torch.Tensor) -> np.ndarray:
        # (1, 2A, S, S) -> (2, A*S*S): background block first (quirk 5) -> (A*S*S, 2) -> foreground probability
        score = cls.permute(1, 2, 3, 0).contiguous().view(2, -1).permute(1, 0)
        return F.softmax(score, dim=1)[:, 1].cpu().numpy()

    def _convert_bbox(self, loc: torch.Tensor, grid: np.ndarray) -> np.ndarray:
        delta = loc.permute(1, 2, 3, 0).contiguous().view(4, -1).cpu().numpy()  # (4, A*S*S): dx, dy, dw, dh
        out = np.empty_like(delta)
        out[0] = delta[0] * grid[:, 2] + grid[:, 0]
        out[1] = delta[1] * grid[:, 3] + grid[:, 1]
        out[2] = np.exp(delta[2]) * grid[:, 2]
        out[3] = np.exp(delta[3]) * grid[:, 3]
        return out

    def _builder(self) -> Callable[[Any], nn.Module]:
        from lib.models.siamese import build_siamrpn

        return build_siamrpn


class SiamRPNLTTracker(SiamRPNTracker):
    """PySOT's long-term SiamRPNLTTracker (the ``_lt`` config).

    A frame scored below TRACK.CONFIDENCE_LOW keeps the previous state and enters the lost state, in which the
    search region is TRACK.LOST_INSTANCE_SIZE wide and the window weight is 0.001; a score above
    TRACK.CONFIDENCE_HIGH leaves it.
    """

    family = "SiamRPN"
    lost_window_influence = 0.001

    def __init__(self, params: TrackerParams, device: str | torch.device = "cpu", network: nn.Module | None = None):
        super().__init__(params, device=device, network=network)
        if self.backend.name != "pytorch":
            raise ConfigError("the long-term SiamRPN tracker (TRACK.TYPE SiamRPNLTTracker) searches a larger region "
                              "(TRACK.LOST_INSTANCE_SIZE) after losing the target, but an exported ONNX graph has "
                              "one fixed search size; run it with --backend pytorch.")
        self.lost_instance_size = int(cfg_value(params.cfg, "TRACK.LOST_INSTANCE_SIZE"))
        self.confidence_low = float(cfg_value(params.cfg, "TRACK.CONFIDENCE_LOW"))
        self.confidence_high = float(cfg_value(params.cfg, "TRACK.CONFIDENCE_HIGH"))
        self.longterm_state = False

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        self.longterm_state = False
        return super().initialize(image, info)

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        if self.longterm_state:
            cand = self._locate(image, self.lost_instance_size, self.lost_window_influence)
        else:
            cand = self._locate(image, self.instance_size, self.window_influence)
        best_score = cand.best_score
        if best_score >= self.confidence_low:
            dx, dy, bw, bh = cand.bbox
            lr = cand.lr
            cx, cy = dx + self.center_pos[0], dy + self.center_pos[1]
            width, height = self.size[0] * (1 - lr) + bw * lr, self.size[1] * (1 - lr) + bh * lr
        else:
            (cx, cy), (width, height) = self.center_pos, self.size
        # matches PySOT: the state is stored before clipping; only the output is clipped (quirk 38)
        self.center_pos, self.size = (cx, cy), (width, height)
        cx, cy, width, height = bbox_clip(cx, cy, width, height, image.shape[:2])
        if best_score < self.confidence_low:
            self.longterm_state = True
        elif best_score > self.confidence_high:
            self.longterm_state = False
        return {"target_bbox": [cx - width / 2, cy - height / 2, width, height],
                "best_score": best_score, "best_idx": cand.best_idx}


#: TRACK.TYPE -> tracker class of the SiamRPN++ family (SiamMaskTracker is out of scope)
SIAMRPN_TRACKERS: Registry[type[SiamRPNTracker]] = Registry(
    "SiamRPN++ tracker type", "TRACK.TYPE", {"SiamRPNTracker": SiamRPNTracker, "SiamRPNLTTracker": SiamRPNLTTracker},
    plural="SiamRPN++ tracker types (SiamMaskTracker is not supported)")


def build_tracker(params: TrackerParams, device: str | torch.device = "cpu",
                  network: nn.Module | None = None) -> SiamRPNTracker:
    """The tracker class the config's TRACK.TYPE names (PySOT's ``build_tracker``), built from ``params``."""
    return SIAMRPN_TRACKERS.build(cfg_value(params.cfg, "TRACK.TYPE"), params, device=device, network=network)
