"""The PySOT-family networks: SiamRPN++ (https://arxiv.org/abs/1812.11703) and SiamBAN.

Backbones (dilated ResNet, AlexNet, MobileNetV2), the adjust neck, RPN / BAN heads, their losses and weight
loading, with PySOT's module structure so that released weights load with the original key names
(reference: ../shared/reference/siamese/pysot-spec.md, section 3).
"""

from lib.models.siamese.model import SiamBAN, SiamRPN, build_siamban, build_siamrpn
from lib.models.siamese.registry import BACKBONES, BAN_HEADS, NECKS, RPN_HEADS
from lib.models.siamese.weights import load_model_weights, load_pretrain

__all__ = ["SiamRPN", "SiamBAN", "build_siamrpn", "build_siamban", "BACKBONES", "NECKS", "RPN_HEADS",
           "BAN_HEADS", "load_pretrain", "load_model_weights"]
