"""The SiamFC++ tracker of video_analyst: crop -> network -> penalty and cosine window -> smoothed box (spec 10).

Per frame: one square search crop around the previous centre (side rounded, scale not, quirk Q18), one forward
pass giving a score (sigmoid(cls) * sigmoid(ctr)) and an xyxy box per score-map position, a scale/ratio-change
penalty against the previous size, a cosine window, then the centre moves fully to the best candidate and the
size by the learning rate penalty * score * test_lr; centre and size are clipped to the first frame's extent.

The arithmetic is the original's under NumPy 2: the state (position, size, crop scale) is float32 (quirk Q22),
the window float64. The framework hands RGB frames; video_analyst trains and tracks on BGR, so the tracker reverses
the channels itself. Paper: SiamFC++ (Xu et al., AAAI 2020), https://arxiv.org/abs/1911.06188.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from lib.test.tracker.backends import FamilyCalls, create_backend
from lib.test.tracker.basetracker import BaseTracker
from lib.test.tracker.deploy_metadata import scrub_config
from lib.test.utils.params import TrackerParams
from lib.utils.subwindow import cxywh2xywh, get_subwindow_tracking, xywh2cxywh, xyxy2cxywh
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["SiamFCppTracker", "TRACKER_DEFAULTS", "get_crop", "tracker_score_size", "make_window",
           "load_siamfcpp_network", "SIAMFCPP_CALLS"]

logger = logging.getLogger(__name__)

#: video_analyst's SiamFCppTracker default_hyper_params (spec 10.1); parameters() overrides them from the config
TRACKER_DEFAULTS = {"total_stride": 8, "context_amount": 0.5, "test_lr": 0.52, "penalty_k": 0.04,
                    "window_influence": 0.21, "windowing": "cosine", "z_size": 127, "x_size": 303, "num_conv3x3": 3,
                    "min_w": 10, "min_h": 10}


def tracker_score_size(x_size: int, z_size: int, total_stride: int, num_conv3x3: int) -> int:
    """Score-map side the tracker expects: (x - z) // stride + 1 - 2 * num_conv3x3 (17 for 303 / 3 convs).

    matches video_analyst: derived here independently of the head's configured score_size (quirk Q10).
    """
    return (x_size - z_size) // total_stride + 1 - 2 * num_conv3x3


def make_window(score_size: int, windowing: str = "cosine") -> np.ndarray:
    """The flattened (S*S,) float64 window: outer product of numpy hanning windows (0 at both ends), or ones.

    The original's "uniform" window was left (S, S) and could not be used (quirk Q21, fixed).
    """
    if windowing == "cosine":
        return np.outer(np.hanning(score_size), np.hanning(score_size)).reshape(-1)
    if windowing == "uniform":
        return np.ones(score_size * score_size)
    raise ConfigError(f"SiamFCppTracker windowing must be 'cosine' or 'uniform', got {windowing!r}.")


def get_crop(image: np.ndarray, pos: np.ndarray, size: np.ndarray, z_size: int, x_size: int | None,
             avg_chans: np.ndarray, context_amount: float) -> tuple[np.ndarray, np.float32]:
    """The tracker crop around the target (video_analyst's ``get_crop``).

    Args:
        image: (H, W, 3) uint8 BGR frame.
        pos: float32 (cx, cy).
        size: float32 (w, h).
        z_size: template side; the context square maps onto it.
        x_size: output side (None: the template crop).
        avg_chans: padding value per channel.
        context_amount: context around the target, as a fraction of w + h.

    Returns:
        (patch (x_size, x_size, 3) uint8, scale = output pixels per frame pixel, float32).
    """
    w, h = size[0], size[1]
    wc = w + context_amount * (w + h)
    hc = h + context_amount * (w + h)
    scale = z_size / np.sqrt(wc * hc)
    out_size = z_size if x_size is None else x_size
    side = out_size / scale
    # matches video_analyst: the crop side is rounded (half to even) while the returned scale is not (quirk Q18)
    patch = get_subwindow_tracking(image, pos, out_size, round(side), avg_chans)
    return patch, scale


def _to_tensor(patch: np.ndarray, device: torch.device, out: torch.Tensor | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 0..255 (the network normalises per backbone itself).

    Args:
        patch: the crop; any strides (the tracker passes a channel-reversed view).
        device: where the tensor goes.
        out: a (1, 3, H, W) float32 buffer on ``device`` to write into (the tracker reuses one for every search
            crop); by default a new tensor. The same values either way (uint8 -> float32 is exact).
    """
    chw = patch.transpose(2, 0, 1)  # (3, H, W) view
    if out is None:
        return torch.from_numpy(np.ascontiguousarray(chw)).to(device).float().unsqueeze(0)
    if out.device.type == "cpu":
        # one pass: the interleaved uint8 pixels converted straight into the planar float32 buffer, no temporaries
        np.copyto(out.numpy()[0], chw)
    else:
        out[0].copy_(torch.from_numpy(np.ascontiguousarray(chw)).to(out.device))  # only uint8 crosses to the device
    return out


_NETWORK_CACHE: dict[tuple, nn.Module] = {}


def load_siamfcpp_network(params: TrackerParams, device: torch.device) -> nn.Module:
    """Build the test model from ``params.cfg`` and load ``params.checkpoint`` strictly (cached per process).

    The model is built without its own ``pretrain_model_path`` (parameters() resolved it into params.checkpoint),
    so the weights are read once, and every tensor must fit: a file that lacks some is an error, unlike the
    original, which only warned.
    """
    from lib.models.siamfcpp import build_siamfcpp
    from lib.models.siamfcpp.weights import extract_state_dict
    from lib.utils.checkpoint_io import load_checkpoint

    checkpoint = params.get("checkpoint", None)
    stamp = os.stat(checkpoint).st_mtime_ns if checkpoint is not None else None
    model_cfg = params.model_cfg
    key = (json.dumps(model_cfg.to_dict(), sort_keys=True, default=str), str(checkpoint), stamp, str(device))
    if key not in _NETWORK_CACHE:
        _NETWORK_CACHE.clear()
        network = build_siamfcpp(model_cfg, load_weights=False)
        if checkpoint is not None:
            state = extract_state_dict(load_checkpoint(checkpoint), checkpoint)
            try:
                network.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise CheckpointError(f"checkpoint {checkpoint} does not fit the SiamFC++ model of config "
                                      f"{params.get('yaml_name', '?')}: {str(err)[:2000]}") from None
        else:
            logger.warning("no checkpoint given: the SiamFC++ network keeps its initialisation")
        _NETWORK_CACHE[key] = network.to(device).eval()
    return _NETWORK_CACHE[key]


def _template_call(network: nn.Module, template: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(network(template, phase="feature"))  # the correlation kernels c_z_k, r_z_k


def _track_call(network: nn.Module, search: torch.Tensor, *kernels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    score, box = network(search, *kernels, phase="track")[:2]
    return score, box  # (1, S*S, 1) sigmoid(cls) * sigmoid(ctr), (1, S*S, 4) xyxy in crop pixels


def _network_config(params: TrackerParams) -> dict:
    return {"model": scrub_config(params.model_cfg), "z_size": params.get("z_size", TRACKER_DEFAULTS["z_size"]),
            "x_size": params.get("x_size", TRACKER_DEFAULTS["x_size"])}


#: how the tracker calls the network; the head's three 1x1 outputs stay float32 under bf16 / fp16, so the score
#: sigmoids and the box decode (exp, grid offsets) run in float32
SIAMFCPP_CALLS = FamilyCalls("siamfcpp", _template_call, _track_call, _network_config,
                             keep_fp32=("head.cls_score_p5", "head.ctr_score_p5", "head.bbox_offsets_p5"))


class SiamFCppTracker(BaseTracker):
    """SiamFC++ inference on one sequence (video_analyst's SiamFCppTracker).

    Args:
        params: from lib.test.parameter.siamfcpp.parameters(): the hyper-parameters of :data:`TRACKER_DEFAULTS`
            as attributes (missing ones take the defaults), plus ``model_cfg`` and ``checkpoint`` when no network
            is given.
        device: where the network runs ('cpu', 'cuda', ...).
        network: an already built SiamTrack (tests, benchmarks); by default it is built from ``params``.
    """

    def __init__(self, params: TrackerParams, device: str | torch.device = "cpu", network: nn.Module | None = None):
        super().__init__(params)
        self.device = torch.device(device)
        hps = {name: params.get(name, default) for name, default in TRACKER_DEFAULTS.items()}
        self.hps = hps
        self.context_amount = float(hps["context_amount"])
        self.test_lr = float(hps["test_lr"])
        self.penalty_k = float(hps["penalty_k"])
        self.window_influence = float(hps["window_influence"])
        self.z_size = int(hps["z_size"])
        self.x_size = int(hps["x_size"])
        self.min_w, self.min_h = float(hps["min_w"]), float(hps["min_h"])
        self.score_size = tracker_score_size(self.x_size, self.z_size, int(hps["total_stride"]),
                                             int(hps["num_conv3x3"]))
        if self.score_size < 1:
            raise ConfigError(f"SiamFCppTracker: x_size {self.x_size}, z_size {self.z_size}, total_stride "
                              f"{hps['total_stride']} and num_conv3x3 {hps['num_conv3x3']} leave no score map.")
        self.window = make_window(self.score_size, hps["windowing"])
        # the window's share of the windowed score, the same every frame (the same float64 products as per frame)
        self._window_term = self.window * self.window_influence
        self.backend = create_backend(params, SIAMFCPP_CALLS, self.device, network,
                                      lambda: load_siamfcpp_network(params, self.device))
        self.network = self.backend.network  # None with ONNX Runtime
        self.state: tuple[np.ndarray, np.ndarray] | None = None
        self.avg_chans: np.ndarray | None = None
        self.image_hw: tuple[int, int] = (0, 0)
        self.last: dict[str, Any] = {}
        # the search crop's network input, reused every frame: no per-frame float32 allocation
        self._search = torch.empty(1, 3, self.x_size, self.x_size, device=self.device)

    @torch.no_grad()
    def initialize(self, image: np.ndarray, info: dict) -> None:
        """Start on ``info['init_bbox']`` = [x, y, w, h] in the RGB ``image``."""
        box = xywh2cxywh(info["init_bbox"])  # float32 state (quirk Q22)
        pos, size = box[:2], box[2:]
        self.image_hw = image.shape[:2]
        # matches video_analyst: the first frame's mean (in its BGR order) pads every later crop (quirk Q18)
        self.avg_chans = np.mean(image[..., ::-1], axis=(0, 1))
        z_patch, _ = self._crop_bgr(image, pos, size, None)
        self.backend.set_template(_to_tensor(z_patch, self.device))
        self.state = (pos, size)
        self.last = {"z_crop": z_patch}

    @torch.no_grad()
    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """Return ``{'target_bbox': [x, y, w, h]}`` for the next RGB frame."""
        if self.state is None:
            raise RuntimeError("SiamFCppTracker.track called before initialize")
        pos, size = self.state
        x_patch, scale_x = self._crop_bgr(image, pos, size, self.x_size)
        score, box = self.backend.track(_to_tensor(x_patch, self.device, out=self._search))  # float32
        score = score[0, :, 0].cpu().numpy()  # (S*S,) float32
        box = box[0].cpu().numpy()  # (S*S, 4) xyxy in crop pixels
        if score.shape[0] != self.window.shape[0]:
            # matches video_analyst's derivation (quirk Q10), but with an error instead of a broadcast crash
            raise ConfigError(f"SiamFCppTracker: the network gives {score.shape[0]} scores per frame but the tracker "
                              f"expects {self.score_size}x{self.score_size} from x_size {self.x_size} and num_conv3x3 "
                              f"{self.hps['num_conv3x3']}; make the pipeline and DenseboxHead settings agree.")
        best, penalty, pscore = self._select(score, box, size * scale_x)
        pos, size = self._update(box[best], float(penalty[best] * score[best]), pos, size, scale_x)
        self.state = (pos, size)
        self.last = {"score": score, "best_id": best, "pscore_best": float(pscore[best]), "scale_x": scale_x,
                     "x_crop": x_patch, "bbox_pred_in_crop": np.rint(box[best]).astype(int)}
        return {"target_bbox": [float(v) for v in cxywh2xywh(np.concatenate([pos, size]))]}

    def _crop_bgr(self, image: np.ndarray, pos: np.ndarray, size: np.ndarray, x_size: int | None
                  ) -> tuple[np.ndarray, np.float32]:
        """get_crop of the frame in video_analyst's BGR order: (patch (S, S, 3) BGR view, scale).

        The crop is taken from the RGB frame itself, with the padding value in RGB order, and its channels are
        reversed afterwards: the warp treats each channel alone, so the pixels are those of the BGR frame's crop,
        but OpenCV reads the contiguous frame in place instead of first copying a reversed view of all of it.
        """
        patch, scale = get_crop(image, pos, size, self.z_size, x_size, self.avg_chans[::-1], self.context_amount)
        return patch[..., ::-1], scale

    def example_inputs(self, generator: torch.Generator) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        """Random (template inputs, search crop) of the shapes the tracker feeds, raw 0..255 pixels (export check)."""
        template = torch.rand(1, 3, self.z_size, self.z_size, generator=generator) * 255
        search = torch.rand(1, 3, self.x_size, self.x_size, generator=generator) * 255
        return (template,), search

    def _select(self, score: np.ndarray, box_xyxy: np.ndarray, prev_size_in_crop: np.ndarray
                ) -> tuple[int, np.ndarray, np.ndarray]:
        """(best candidate, penalty, windowed penalised score) for the candidates of one frame."""
        box = _xyxy2cxywh_rows(box_xyxy)  # (S*S, 4) float32
        # scale change against the previous size in crop pixels, ratio change against its aspect ratio
        s_c = _change(_padded_side(box[:, 2], box[:, 3]) / _padded_side(prev_size_in_crop[0], prev_size_in_crop[1]))
        r_c = _change((prev_size_in_crop[0] / prev_size_in_crop[1]) / (box[:, 2] / box[:, 3]))
        penalty = np.exp(-(r_c * s_c - 1) * self.penalty_k)
        pscore = penalty * score
        pscore = pscore * (1 - self.window_influence) + self._window_term
        return int(np.argmax(pscore)), penalty, pscore  # argmax: the first maximum (quirk Q22)

    def _update(self, box_xyxy: np.ndarray, penalised_score: float, pos: np.ndarray, size: np.ndarray,
                scale_x: np.float32) -> tuple[np.ndarray, np.ndarray]:
        """New (centre, size): the centre moves fully, the size by lr = penalty * score * test_lr; then clipped."""
        # matches video_analyst: predicted sizes get the +1 of inclusive pixels (quirk Q19)
        pred = xyxy2cxywh(box_xyxy) / np.float32(scale_x)
        lr = np.float32(penalised_score) * self.test_lr
        # the crop centre is (x_size - 1) / 2 = x_size // 2 crop pixels for an odd x_size
        offset = (self.x_size // 2) / scale_x
        cx = pred[0] + pos[0] - offset
        cy = pred[1] + pos[1] - offset
        w = size[0] * (1 - lr) + pred[2] * lr
        h = size[1] * (1 - lr) + pred[3] * lr
        height, width = self.image_hw
        # matches video_analyst: centre clipped to [0, W] x [0, H] (not W - 1), size to [10, W] x [10, H], with the
        # first frame's W, H; the box itself may leave the image (quirk Q20)
        new_pos = np.array([np.clip(cx, 0, width), np.clip(cy, 0, height)], dtype=np.float32)
        new_size = np.array([max(self.min_w, min(width, w)), max(self.min_h, min(height, h))], dtype=np.float32)
        return new_pos, new_size


def _xyxy2cxywh_rows(box: np.ndarray) -> np.ndarray:
    """Rows of xyxy -> cxywh, float32, w = x1 - x0 + 1."""
    box = box.astype(np.float32, copy=False)
    return np.stack([(box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2, box[:, 2] - box[:, 0] + 1,
                     box[:, 3] - box[:, 1] + 1], axis=1)


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


def _padded_side(w, h):
    """sqrt((w + p)(h + p)) with p = (w + h) / 2: the side of the context square of a w x h box."""
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))
