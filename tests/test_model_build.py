"""Builder, registries, every registered backbone/head, trainable parameters and pretrained weights."""

import copy
import logging

import pytest
import torch

from lib.config.ostrack.config import get_defaults, merge_config
from lib.models.layers.head import CenterPredictor
from lib.models.layers.tokens import combine_tokens, recover_tokens
from lib.models.ostrack import OSTrack, build_ostrack
from lib.models.ostrack.registry import BACKBONES, HEADS
from lib.utils.errors import CheckpointError, ConfigError


TINY = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                                    "CE_KEEP_RATIO": [0.7, 0.7, 0.7],
                                                    "CE_TEMPLATE_RANGE": "CTR_POINT"},
                  "HEAD": {"NUM_CHANNELS": 64}},
        "DATA": {"SEARCH": {"SIZE": 128}, "TEMPLATE": {"SIZE": 64}}}


def make_cfg(*updates: dict):
    cfg = get_defaults()
    for update in (TINY, *updates):
        merge_config(cfg, update)
    return cfg.freeze()


def _fast_random_init(model: torch.nn.Module) -> None:
    """Materialise a meta-built model with cheap random weights (trunc-normal init of ViT-B/S is slow)."""
    model.to_empty(device="cpu")
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.fill_(1.0)
            elif name.endswith("num_batches_tracked"):
                tensor.zero_()
            elif tensor.is_floating_point():
                tensor.normal_(0, 0.02)


@pytest.mark.parametrize("backbone", BACKBONES.names())
@pytest.mark.parametrize("head", HEADS.names())
def test_every_registered_backbone_and_head_runs(backbone, head):
    # CE after blocks 1, 3 and 5 fits every depth (the 6-block nano size too)
    cfg = make_cfg({"MODEL": {"BACKBONE": {"TYPE": backbone, "CE_LOC": [1, 3, 5]}, "HEAD": {"TYPE": head}}})
    if "tiny" in backbone or "nano" in backbone:
        model = build_ostrack(cfg, training=False)
    else:
        with torch.device("meta"):
            model = build_ostrack(cfg, training=False)
        if "large" not in backbone:  # ViT-L (300M parameters) runs shape-only on the meta device
            _fast_random_init(model)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64, device=device), torch.randn(2, 3, 128, 128, device=device))
    sizes = {"nano": (128, 6, 4), "tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12),
             "large": (1024, 24, 16)}
    dim = model.backbone.embed_dim
    assert (dim, len(model.backbone.blocks), model.backbone.num_heads) == sizes[backbone.split("_")[1]]
    assert out["pred_boxes"].shape == (2, 1, 4)
    assert out["score_map"].shape == (2, 1, 8, 8)
    assert out["size_map"].shape == out["offset_map"].shape == (2, 2, 8, 8)
    assert out["backbone_feat"].shape == (2, 16 + 64, dim)
    if backbone.endswith("_ce"):
        assert [r.shape[1] for r in out["removed_indexes_s"]] == [64 - 45, 45 - 32, 32 - 23]
    else:
        assert "removed_indexes_s" not in out and out["attn"] is None
    if device.type == "cpu":
        assert torch.isfinite(out["pred_boxes"]).all()
        assert ((out["score_map"] >= 1e-4) & (out["score_map"] <= 1 - 1e-4)).all()


def test_unknown_backbone_and_head_list_the_known_ones():
    with pytest.raises(ConfigError, match="vit_base_patch16_224_ce") as err:
        build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"TYPE": "vit_huge_patch14"}}}), training=False)
    assert "MODEL.BACKBONE.TYPE" in str(err.value)
    for head in ("MLP", "CORNER"):  # broken in the original (spec 8.4 item 26): not registered
        with pytest.raises(ConfigError, match="Known head types: CENTER"):
            build_ostrack(make_cfg({"MODEL": {"HEAD": {"TYPE": head}}}), training=False)


def test_ce_with_a_non_direct_cat_mode_or_a_layer_beyond_the_depth_is_a_config_error():
    with pytest.raises(ConfigError, match="CAT_MODE"):
        build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"CAT_MODE": "template_central"}}}), training=False)
    with pytest.raises(ConfigError, match="CE_LOC"):
        build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"TYPE": "vit_nano_patch16_224_ce"}}}), training=False)


def test_unused_original_parameters_are_frozen_and_everything_else_gets_gradients():
    model = build_ostrack(make_cfg({"TRAIN": {"DROP_PATH_RATE": 0.1}}), training=True).train()
    state = model.state_dict()
    assert "backbone.cls_token" in state and state["backbone.pos_embed"].shape == (1, 197, 192)
    frozen = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
    assert frozen == ["backbone.cls_token", "backbone.pos_embed"]
    out = model(torch.randn(2, 3, 64, 64), torch.randn(2, 3, 128, 128), ce_keep_rate=0.8)
    (out["pred_boxes"].sum() + out["score_map"].mean() + out["size_map"].mean() + out["offset_map"].mean()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []  # so DDP needs no find_unused_parameters


def test_builder_reads_sizes_drop_path_and_attention_choice():
    model = build_ostrack(make_cfg({"TRAIN": {"DROP_PATH_RATE": 0.2}}), training=False, attn_impl="explicit")
    assert isinstance(model, OSTrack) and model.feat_sz_s == 8 and model.feat_len_s == 64
    assert model.backbone.pos_embed_z.shape == (1, 16, 192) and model.backbone.pos_embed_x.shape == (1, 64, 192)
    assert model.backbone.cat_mode == "direct"
    assert model.backbone.blocks[0].drop_path.__class__.__name__ == "Identity"
    assert model.backbone.blocks[-1].drop_path.drop_prob == pytest.approx(0.2)
    assert {blk.attn.attn_impl for blk in model.backbone.blocks} == {"explicit"}
    model.set_attn_impl("sdpa")
    assert {blk.attn.attn_impl for blk in model.backbone.blocks} == {"sdpa"}
    with pytest.raises(ValueError):
        model.set_attn_impl("flash")
    keys = set(build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"SEP_SEG": True}, "RETURN_INTER": True,
                                                 "RETURN_STAGES": [2, 5, 11]}}), training=False).state_dict())
    assert {"backbone.template_segment_pos_embed", "backbone.search_segment_pos_embed",
            "backbone.norm2.weight", "backbone.norm5.bias"} <= keys and "backbone.norm11.weight" not in keys


@pytest.mark.parametrize("mode", ["template_central", "partition"])
def test_token_concatenation_modes_give_the_direct_result(mode):
    """Attention has no relative position bias, so any token order gives the same (recovered) features."""
    torch.manual_seed(0)
    other = build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"TYPE": "vit_tiny_patch16_224", "CE_LOC": [],
                                                           "CE_KEEP_RATIO": [], "CAT_MODE": mode}}}),
                          training=False).eval()
    assert other.backbone.cat_mode == mode
    direct = copy.deepcopy(other)
    direct.backbone.cat_mode = "direct"
    z, x = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        a, b = direct(z, x), other(z, x)
    assert (a["backbone_feat"][:, -64:] - b["backbone_feat"][:, -64:]).abs().max() < 1e-5
    assert (a["pred_boxes"] - b["pred_boxes"]).abs().max() < 1e-5
    t, s = torch.randn(1, 16, 4), torch.randn(1, 64, 4)
    merged = combine_tokens(t, s, mode)
    assert merged.shape == (1, 80, 4)
    assert torch.equal(recover_tokens(merged, 16, 64, mode)[:, -64:], s)


@pytest.fixture(scope="module")
def tiny_backbone_state():
    torch.manual_seed(0)
    state = build_ostrack(make_cfg(), training=False).backbone.state_dict()
    state["pos_embed"] = torch.randn_like(state["pos_embed"])
    return state


def _mae_file(path, backbone_state, wrap="model", prefix="module.", extra=None):
    state = {prefix + k: v.clone() for k, v in backbone_state.items() if not k.startswith("pos_embed_")}
    state.update(extra or {})
    torch.save({wrap: state} if wrap else state, path)


def test_mae_style_pretrained_weights_are_loaded_and_reported(tmp_path, caplog, tiny_backbone_state):
    source = tiny_backbone_state
    _mae_file(tmp_path / "mae_tiny.pth", source,
              extra={"module.decoder_embed.weight": torch.zeros(2, 2), "module.mask_token": torch.zeros(1, 1, 2)})
    with caplog.at_level(logging.INFO):
        model = build_ostrack(make_cfg({"MODEL": {"PRETRAIN_FILE": "mae_tiny.pth"}}), training=True,
                              pretrained_dir=tmp_path)
    loaded = model.backbone.state_dict()
    for key in ("blocks.5.attn.qkv.weight", "patch_embed.proj.weight", "norm.bias", "pos_embed", "cls_token"):
        assert torch.equal(loaded[key], source[key]), key
    # the template/search tables are re-derived from the loaded 14x14 table (bicubic, as finetune_track)
    grid = source["pos_embed"][:, 1:].transpose(1, 2).reshape(1, 192, 14, 14)
    expected_x = torch.nn.functional.interpolate(grid, size=(8, 8), mode="bicubic", align_corners=False)
    assert torch.allclose(loaded["pos_embed_x"], expected_x.flatten(2).transpose(1, 2))
    assert "decoder_embed.weight" in caplog.text and "mask_token" in caplog.text


def test_pretrained_pos_embed_of_another_grid_is_resized(tmp_path, caplog, tiny_backbone_state):
    source = dict(tiny_backbone_state)
    source["pos_embed"] = torch.randn(1, 1 + 7 * 7, 192)
    _mae_file(tmp_path / "small_grid.pth", source, wrap=None, prefix="")
    with caplog.at_level(logging.INFO):
        model = build_ostrack(make_cfg({"MODEL": {"PRETRAIN_FILE": "small_grid.pth"}}), pretrained_dir=tmp_path)
    assert model.backbone.pos_embed.shape == (1, 197, 192)
    assert torch.equal(model.backbone.pos_embed[:, 0], source["pos_embed"][:, 0])
    assert "resized pos_embed" in caplog.text


def test_pretrained_file_with_mismatched_blocks_is_an_error(tmp_path, tiny_backbone_state):
    with torch.device("meta"):
        small = build_ostrack(make_cfg({"MODEL": {"BACKBONE": {"TYPE": "vit_small_patch16_224_ce"}}}),
                              training=False).backbone.state_dict()
    _mae_file(tmp_path / "wrong_width.pth", {k: torch.zeros(v.shape) for k, v in small.items()})
    with pytest.raises(CheckpointError, match="do not match the backbone"):
        build_ostrack(make_cfg({"MODEL": {"PRETRAIN_FILE": "wrong_width.pth"}}), pretrained_dir=tmp_path)
    _mae_file(tmp_path / "shallow.pth", {k: v for k, v in tiny_backbone_state.items()
                                         if not k.startswith("blocks.11.")})
    with pytest.raises(CheckpointError, match="missing blocks.11"):
        build_ostrack(make_cfg({"MODEL": {"PRETRAIN_FILE": "shallow.pth"}}), pretrained_dir=tmp_path)


def test_missing_pretrained_file_names_where_it_was_looked_for(tmp_path):
    cfg = make_cfg({"MODEL": {"PRETRAIN_FILE": "mae_pretrain_vit_base.pth"}})
    with pytest.raises(CheckpointError) as err:
        build_ostrack(cfg, training=True, pretrained_dir=tmp_path)
    assert str(tmp_path / "mae_pretrain_vit_base.pth") in str(err.value)
    assert "PRETRAIN_FILE" in str(err.value)
    build_ostrack(cfg, training=False, pretrained_dir=tmp_path)  # test time: the tracker loads a checkpoint


def test_ostrack_checkpoint_as_pretrain_file_initialises_the_whole_model(tmp_path, caplog):
    torch.manual_seed(0)
    source = build_ostrack(make_cfg(), training=False)
    state = dict(source.state_dict())
    del state["box_head.conv5_size.bias"]
    torch.save({"net": state, "epoch": 100}, tmp_path / "OSTrack_ep0100.pth.tar")
    with caplog.at_level(logging.WARNING):
        model = build_ostrack(make_cfg({"MODEL": {"PRETRAIN_FILE": "OSTrack_ep0100.pth.tar"}}), training=True,
                              pretrained_dir=tmp_path)
    assert torch.equal(model.state_dict()["backbone.blocks.3.mlp.fc1.weight"],
                       source.state_dict()["backbone.blocks.3.mlp.fc1.weight"])
    assert "box_head.conv5_size.bias" in caplog.text


def test_center_head_decodes_the_box_at_the_first_peak_cell_corner():
    head = CenterPredictor(inplanes=8, channel=16, feat_sz=8, stride=16)
    score = torch.zeros(1, 1, 8, 8)
    score[0, 0, 2, 5] = score[0, 0, 6, 1] = 0.9  # a tie: the first maximum in raster order wins
    size = torch.zeros(1, 2, 8, 8)
    size[0, :, 2, 5] = torch.tensor([0.3, 0.4])
    offset = torch.zeros(1, 2, 8, 8)
    offset[0, :, 2, 5] = torch.tensor([0.25, 0.5])
    box, peak = head.cal_bbox(score, size, offset, return_score=True)
    # matches OSTrack: cx = (col + offset_x) / fs with the cell's corner, not its centre
    assert box.tolist() == [[pytest.approx(5.25 / 8), pytest.approx(2.5 / 8), pytest.approx(0.3), pytest.approx(0.4)]]
    assert peak.item() == pytest.approx(0.9)
    score_map, _, size_map, offset_map = head(torch.randn(2, 8, 8, 8))
    assert score_map.min() >= 1e-4 and score_map.max() <= 1 - 1e-4 and size_map.min() >= 1e-4
    assert offset_map.shape == (2, 2, 8, 8)
