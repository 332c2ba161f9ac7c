"""Reference material of the Siamese families (PySOT / SiamBAN / SiamFC++) for the tests.

Key lists are in tests/data/siamese/. The reference outputs of the original code (``*_reference.pt``, the
synthetic sequences) are looked up in tests/data/siamese/, then $OSTRACK_REFERENCE_DIR (and its ``siamese/``),
then ../shared/reference/siamese next to the project; a test that needs a missing file is skipped with the reason.
The PySOT-family weight recipe ``siam-recipe-v1`` rebuilds the reference weights from a key list
(../shared/reference/siamese/README.md, section 1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch

__all__ = ["ROOT", "reference_path", "load_reference", "read_keys", "siam_recipe_v1", "recipe_state_dict"]

ROOT = Path(__file__).resolve().parents[1]


def reference_path(name: str) -> Path:
    """Path of a reference file; skips the calling test when it is nowhere."""
    candidates = [ROOT / "tests" / "data" / "siamese" / name]
    if os.environ.get("OSTRACK_REFERENCE_DIR"):
        base = Path(os.environ["OSTRACK_REFERENCE_DIR"])
        candidates += [base / name, base / "siamese" / name]
    candidates.append(ROOT.parent / "shared" / "reference" / "siamese" / name)
    for path in candidates:
        if path.is_file():
            return path
    pytest.skip(f"reference file {name} not found (looked in {', '.join(map(str, candidates))})")


_CACHE: dict[str, dict] = {}


def load_reference(name: str) -> dict:
    """A reference .pt file (plain data, loaded with weights_only=True; cached per process)."""
    if name not in _CACHE:
        _CACHE[name] = torch.load(reference_path(name), map_location="cpu", weights_only=True)
    return _CACHE[name]


def read_keys(name: str) -> list[tuple[str, tuple[int, ...], str]]:
    """A state-dict key list: (key, shape, dtype name) in file order."""
    rows = []
    for line in reference_path(name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, shape, dtype = line.split("\t")
            rows.append((key, tuple(int(x) for x in shape.strip("()").split(",") if x.strip()), dtype))
    return rows


def siam_recipe_v1(keys: list[tuple[str, tuple[int, ...], str]], gain: float) -> dict[str, torch.Tensor]:
    """The deterministic weights of the PySOT-family references, rebuilt from a key list and a gain."""
    g = torch.Generator().manual_seed(0)
    bn_prefixes = {k[: -len(".running_mean")] for k, _, _ in keys if k.endswith(".running_mean")}
    out = {}
    for key, shape, dtype in keys:
        prefix, leaf = key.rsplit(".", 1)
        if dtype != "float32":
            out[key] = torch.zeros(shape, dtype=getattr(torch, dtype))
            continue
        if prefix in bn_prefixes:
            if leaf == "running_var":
                t = torch.rand(shape, generator=g) + 0.5
            elif leaf == "weight":
                t = torch.randn(shape, generator=g) * 0.1 + 1.0
            else:  # bias, running_mean
                t = torch.randn(shape, generator=g) * 0.1
        elif len(shape) >= 2:
            s = gain / math.sqrt(math.prod(shape[1:]))
            if len(shape) == 4 and shape[1] == 3:
                s = s / 255.0  # the stem sees raw 0..255 pixels
            if key.endswith(".head.0.weight"):
                s = s * 0.05
            if key.endswith(".loc.head.3.weight"):
                s = s * 0.1
            t = torch.randn(shape, generator=g) * s
        elif leaf == "bias":
            t = torch.randn(shape, generator=g) * 0.01
            if key.startswith("head.") and key.endswith(".loc.head.3.bias"):
                t = t + 3.5
        else:
            t = torch.randn(shape, generator=g) * 0.1 + 1.0
        out[key] = t
    return out


def recipe_state_dict(config: str) -> dict[str, torch.Tensor]:
    """Recipe weights of a reference config (e.g. 'siamrpn_r50_l234_dwxcorr'), gain from its reference file."""
    gain = load_reference(f"{config}_reference.pt")["recipe"]["gain"]
    return siam_recipe_v1(read_keys(f"{config}_state_dict_keys.txt"), gain)
