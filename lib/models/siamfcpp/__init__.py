"""SiamFC++ (video_analyst): backbones, DenseboxHead, SiamTrack, losses, weight loading and the builder.

Usage::

    from lib.config.siamfcpp.config import load_config
    from lib.models.siamfcpp import build_siamfcpp

    cfg = load_config("siamfcpp_alexnet")
    model = build_siamfcpp(cfg.test.track.model).eval()
    c_z_k, r_z_k = model(im_z, phase="feature")
    score, box, cls_prob, ctr_prob, extra = model(im_x, c_z_k, r_z_k, phase="track")
"""

from lib.models.siamfcpp.alexnet import AlexNet
from lib.models.siamfcpp.builder import BACKBONES, HEADS, LOSSES, TASK_MODELS, build_siamfcpp
from lib.models.siamfcpp.common import ConvBnRelu
from lib.models.siamfcpp.googlenet import Inception3
from lib.models.siamfcpp.head import DenseboxHead, score_grid, score_offset
from lib.models.siamfcpp.losses import FocalLoss, IOULoss, SigmoidCrossEntropyCenterness, SigmoidCrossEntropyRetina
from lib.models.siamfcpp.model import PHASES, SiamTrack
from lib.models.siamfcpp.shufflenet_v2 import ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0
from lib.models.siamfcpp.weights import WeightsLoadReport, load_backbone_weights, load_siamfcpp_weights

__all__ = [
    "AlexNet", "Inception3", "ShuffleNetV2", "shufflenet_v2_x1_0", "shufflenet_v2_x0_5", "ConvBnRelu",
    "DenseboxHead", "score_grid", "score_offset", "SiamTrack", "PHASES",
    "FocalLoss", "SigmoidCrossEntropyRetina", "SigmoidCrossEntropyCenterness", "IOULoss",
    "BACKBONES", "HEADS", "LOSSES", "TASK_MODELS", "build_siamfcpp",
    "WeightsLoadReport", "load_siamfcpp_weights", "load_backbone_weights",
]
