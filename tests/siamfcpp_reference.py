"""SiamFC++ reference material for the tests: file lookup, the weight recipe, comparison helpers.

The reference files (``siamfcpp_<backbone>_reference.pt``, ``siamfcpp_track_sequence.pt``) and key lists are found
as in :mod:`tests.siamese_reference` (tests/data/siamese, $OSTRACK_REFERENCE_DIR, ../shared/reference/siamese);
a test that needs a missing file is skipped. The recipe rebuilds the reference weights from a key list
(../shared/reference/siamese/README-siamfcpp.md, section 1; it differs from the PySOT-family recipe).
"""

from __future__ import annotations

import math

import torch

from tests.siamese_reference import load_reference, read_keys, reference_path

__all__ = ["BACKBONES", "BI", "GAINS", "siamfcpp_recipe", "siamfcpp_recipe_state_dict", "load_siamfcpp_reference",
           "keys_file", "assert_close_to_max", "reference_path", "read_keys"]

BACKBONES = ("alexnet", "googlenet", "shufflenetv2x1_0")

BI = {"alexnet": 1.05, "googlenet": 1.5, "shufflenetv2x1_0": 0.95}
SI = 0.5

_SHARED_GAINS = {"c_x.conv.weight": 0.7, "r_x.conv.weight": 0.7}
GAINS = {
    "alexnet": {**_SHARED_GAINS, "basemodel.conv1.conv.weight": 1 / 128, "basemodel.conv5.conv.weight": 0.33,
                "c_z_k.conv.weight": 0.25, "r_z_k.conv.weight": 0.25, "head.cls_score_p5.conv.weight": 1.25,
                "head.ctr_score_p5.conv.weight": 1.25, "head.bbox_offsets_p5.conv.weight": 0.065},
    "googlenet": {**_SHARED_GAINS, "basemodel.channel_reduce.0.weight": 0.5, "c_z_k.conv.weight": 0.33,
                  "r_z_k.conv.weight": 0.33, "head.cls_score_p5.conv.weight": 1.0,
                  "head.ctr_score_p5.conv.weight": 1.0, "head.bbox_offsets_p5.conv.weight": 0.15},
    "shufflenetv2x1_0": {**_SHARED_GAINS, "basemodel._model.channel_reduce.0.weight": 0.15,
                         "c_z_k.conv.weight": 0.1, "r_z_k.conv.weight": 0.1, "head.cls_score_p5.conv.weight": 0.5,
                         "head.ctr_score_p5.conv.weight": 0.5, "head.bbox_offsets_p5.conv.weight": 0.06},
}


def keys_file(backbone: str) -> str:
    """File name of a backbone's state-dict key list."""
    return f"siamfcpp_{backbone}_state_dict_keys.txt"


def siamfcpp_recipe(keys: list[tuple[str, tuple[int, ...], str]], backbone: str) -> dict[str, torch.Tensor]:
    """The deterministic SiamFC++ reference weights, rebuilt from a key list (README-siamfcpp.md section 1).

    One CPU generator seeded with 0 draws every tensor in key-list order: conv weights
    randn * gain * sqrt(2) / sqrt(fan_in), BatchNorm weights randn * 0.1 + 1, BatchNorm biases and running means
    randn * 0.1, running variances rand + 0.5, conv biases randn * 0.01; ``head.bi`` / ``head.si`` are constants.
    """
    g = torch.Generator().manual_seed(0)
    names = {k for k, _, _ in keys}
    gains = GAINS[backbone]
    out: dict[str, torch.Tensor] = {}
    for key, shape, dtype in keys:
        prefix, _, leaf = key.rpartition(".")
        if leaf == "num_batches_tracked":
            out[key] = torch.tensor(0, dtype=getattr(torch, dtype))
        elif key == "head.bi":
            out[key] = torch.tensor(BI[backbone], dtype=torch.float32)
        elif key == "head.si":
            out[key] = torch.tensor(SI, dtype=torch.float32)
        elif leaf == "weight" and len(shape) == 4:
            default = math.sqrt(0.5) if shape[1] == 1 else 1.0
            gain = gains.get(key, default)
            fan_in = shape[1] * shape[2] * shape[3]
            out[key] = torch.randn(shape, generator=g) * (gain * math.sqrt(2.0) / math.sqrt(fan_in))
        elif leaf == "weight" and len(shape) == 1:
            out[key] = torch.randn(shape, generator=g) * 0.1 + 1.0
        elif leaf == "bias":
            scale = 0.1 if f"{prefix}.running_mean" in names else 0.01
            out[key] = torch.randn(shape, generator=g) * scale
        elif leaf == "running_mean":
            out[key] = torch.randn(shape, generator=g) * 0.1
        elif leaf == "running_var":
            out[key] = torch.rand(shape, generator=g) + 0.5
        else:
            raise ValueError(f"the SiamFC++ recipe has no rule for {key} {shape}")
    return out


def siamfcpp_recipe_state_dict(backbone: str) -> dict[str, torch.Tensor]:
    """Recipe weights of one backbone's reference model."""
    return siamfcpp_recipe(read_keys(keys_file(backbone)), backbone)


def load_siamfcpp_reference(backbone: str) -> dict:
    """``siamfcpp_<backbone>_reference.pt`` (skips the test when it is missing)."""
    return load_reference(f"siamfcpp_{backbone}_reference.pt")


def assert_close_to_max(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float = 0.0,
                        what: str = "") -> None:
    """max |actual - expected| <= rtol * max |expected| + atol (the README's "relative to the largest value")."""
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    actual, expected = actual.double(), expected.double()
    err = (actual - expected).abs().max().item() if expected.numel() else 0.0
    bound = rtol * (expected.abs().max().item() if expected.numel() else 0.0) + atol
    assert err <= bound, f"{what}: max abs error {err:.3e} > {bound:.3e} (rtol {rtol}, atol {atol})"
