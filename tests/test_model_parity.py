"""Checkpoint compatibility and numerical parity with the original OSTrack.

Reference data (from the original code): the state-dict key lists of the ViT-B CE configs and
``ostrack_tiny_reference.pt`` (weights, inputs and outputs of the original architecture at ViT-Tiny width).
They are looked up in tests/data/, then in $OSTRACK_REFERENCE_DIR, then in ../shared/reference next to the
project; tests that need a missing file are skipped with the reason.
"""

import copy
import os
from pathlib import Path

import pytest
import torch

from lib.config.ostrack.config import get_defaults, list_configs, load_config, merge_config
from lib.models.ostrack import build_ostrack


ROOT = Path(__file__).resolve().parents[1]
OUTPUT_KEYS = ("pred_boxes", "score_map", "size_map", "offset_map", "backbone_feat")


def reference_file(name: str) -> Path:
    candidates = [ROOT / "tests" / "data" / name]
    if os.environ.get("OSTRACK_REFERENCE_DIR"):
        candidates.append(Path(os.environ["OSTRACK_REFERENCE_DIR"]) / name)
    candidates.append(ROOT.parent / "shared" / "reference" / name)
    for path in candidates:
        if path.is_file():
            return path
    pytest.skip(f"reference file {name} not found (looked in {', '.join(map(str, candidates))})")


def read_key_list(name: str) -> dict[str, tuple[int, ...]]:
    keys = {}
    for line in reference_file(name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, _dtype = line.split("\t")
        keys[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return keys


def meta_state_shapes(cfg) -> dict[str, tuple[int, ...]]:
    # Shape-only build: the meta device skips weight initialisation of the full-size model.
    with torch.device("meta"):
        model = build_ostrack(cfg, training=False)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def tiny_reference():
    return torch.load(reference_file("ostrack_tiny_reference.pt"), weights_only=True)


@pytest.fixture(scope="module")
def reference_model(tiny_reference):
    model = build_ostrack(tiny_cfg(tiny_reference["arch"]), training=False).eval()
    model.load_state_dict(tiny_reference["state_dict"], strict=True)
    return model


def tiny_cfg(arch: dict):
    cfg = get_defaults()
    merge_config(cfg, {
        "MODEL": {"PRETRAIN_FILE": "",
                  "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "STRIDE": arch["patch_size"],
                               "CE_LOC": list(arch["ce_loc"]), "CE_KEEP_RATIO": list(arch["ce_keep_ratio"]),
                               "CE_TEMPLATE_RANGE": arch["ce_template_range"]},
                  "HEAD": {"TYPE": arch["head_type"], "NUM_CHANNELS": arch["head_channels"]}},
        "DATA": {"SEARCH": {"SIZE": arch["search_size"]}, "TEMPLATE": {"SIZE": arch["template_size"]}},
    })
    return cfg.freeze()


@pytest.mark.parametrize("config,key_list", [
    ("vitb_256_mae_ce_32x4_ep300", "ostrack_vitb_256_ce_state_dict_keys.txt"),
    ("vitb_384_mae_ce_32x4_ep300", "ostrack_vitb_384_ce_state_dict_keys.txt"),
])
def test_state_dict_keys_and_shapes_match_the_original(config, key_list):
    expected = read_key_list(key_list)
    assert len(expected) == 242
    assert meta_state_shapes(load_config(config)) == expected


def test_all_six_original_configs_have_the_original_keys():
    expected = {256: read_key_list("ostrack_vitb_256_ce_state_dict_keys.txt"),
                384: read_key_list("ostrack_vitb_384_ce_state_dict_keys.txt")}
    configs = [c for c in list_configs() if c.startswith("vitb_")]
    assert len(configs) == 6
    for name in configs:
        cfg = load_config(name)
        assert meta_state_shapes(cfg) == expected[cfg.DATA.SEARCH.SIZE], name


def test_full_size_original_state_dict_loads_strictly():
    expected = read_key_list("ostrack_vitb_256_ce_state_dict_keys.txt")
    with torch.device("meta"):
        model = build_ostrack(load_config("vitb_256_mae_ce_32x4_ep300"), training=False)
        state = {k: torch.empty(shape) for k, shape in expected.items()}
    result = model.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_tiny_reference_loads_strictly_and_reproduces_every_output(tiny_reference, reference_model):
    model = reference_model
    inputs = tiny_reference["inputs"]
    assert set(tiny_reference["outputs"]) == {"keep_default", "keep_1.0", "keep_0.5"}
    for impl in ("sdpa", "explicit"):
        model.set_attn_impl(impl)
        for case, expected in tiny_reference["outputs"].items():  # keep rates None, 1.0, 0.5
            with torch.no_grad():
                out = model(inputs["template"], inputs["search"], ce_template_mask=inputs["ce_template_mask"],
                            ce_keep_rate=expected["ce_keep_rate"])
            for key in OUTPUT_KEYS:
                assert out[key].shape == expected[key].shape, (impl, case, key)
                diff = (out[key] - expected[key]).abs().max().item()
                assert diff < 1e-5, f"{impl} {case} {key}: max |diff| {diff:.2e}"
    model.set_attn_impl("sdpa")


def test_tiny_reference_removed_index_shapes(tiny_reference, reference_model):
    inputs = tiny_reference["inputs"]
    with torch.no_grad():
        out = reference_model(inputs["template"], inputs["search"], ce_template_mask=inputs["ce_template_mask"])
    # 256 -> 180 -> 126 -> 89 search tokens (spec 8.7).
    assert [tuple(r.shape) for r in out["removed_indexes_s"]] == [(2, 76), (2, 54), (2, 37)]
    assert out["attn"] is None


def test_sdpa_and_explicit_attention_agree(reference_model):
    sdpa = reference_model
    explicit = copy.deepcopy(reference_model)
    explicit.set_attn_impl("explicit")
    torch.manual_seed(0)
    z, x = torch.randn(3, 3, 128, 128), torch.randn(3, 3, 256, 256)
    for rate in (None, 1.0):
        with torch.no_grad():
            a = sdpa(z, x, ce_keep_rate=rate)
            b = explicit(z, x, ce_keep_rate=rate)
        for key in OUTPUT_KEYS:
            assert (a[key] - b[key]).abs().max().item() < 1e-5, (rate, key)


def test_last_attention_is_returned_on_request(reference_model):
    with torch.no_grad():
        out = reference_model(torch.randn(1, 3, 128, 128), torch.randn(1, 3, 256, 256), return_last_attn=True)
    n = 64 + 89  # template tokens + search tokens left after three CE layers
    assert out["attn"].shape == (1, 3, n, n)
    assert torch.allclose(out["attn"].sum(-1), torch.ones(1, 3, n))
