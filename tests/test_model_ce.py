"""Candidate elimination: token counts, restored order, exact zeros, template masks, keep-rate schedule."""

import math

import pytest
import torch

from lib.config.ostrack.config import get_defaults, merge_config
from lib.models.layers.ce_block import CEBlock, candidate_elimination, template_attention_score
from lib.models.ostrack import build_ostrack
from lib.utils.ce_utils import adjust_keep_rate, generate_mask_cond


def tiny_model():
    cfg = get_defaults()
    merge_config(cfg, {"MODEL": {"PRETRAIN_FILE": "",
                                 "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                              "CE_KEEP_RATIO": [0.7, 0.7, 0.7], "CE_TEMPLATE_RANGE": "CTR_POINT"}},
                       "DATA": {"SEARCH": {"SIZE": 256}, "TEMPLATE": {"SIZE": 128}}})
    torch.manual_seed(0)
    return build_ostrack(cfg.freeze(), training=False).eval()


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(1)
    return torch.randn(2, 3, 128, 128), torch.randn(2, 3, 256, 256)


def search_token_counts(model, z, x, **kwargs) -> list[int]:
    counts = []
    hooks = [blk.register_forward_hook(lambda m, inp, out: counts.append(out[0].shape[1] - 64))
             for blk in model.backbone.blocks]
    try:
        with torch.no_grad():
            out = model(z, x, **kwargs)
    finally:
        for h in hooks:
            h.remove()
    return counts, out


def test_ce_keeps_ceil_of_keep_ratio_tokens_per_layer(model, images):
    mask = generate_mask_cond("CTR_POINT", 2, 128, 16)
    counts, out = search_token_counts(model, *images, ce_template_mask=mask)
    # blocks 3, 6, 9 eliminate after their attention: 256 -> 180 -> 126 -> 89
    assert counts == [256, 256, 256, 180, 180, 180, 126, 126, 126, 89, 89, 89]
    assert [r.shape[1] for r in out["removed_indexes_s"]] == [76, 54, 37]
    assert math.ceil(0.7 * 256) == 180 and math.ceil(0.7 * 180) == 126 and math.ceil(0.7 * 126) == 89


def test_runtime_keep_rate_overrides_and_one_disables(model, images):
    counts, out = search_token_counts(model, *images, ce_keep_rate=0.5)
    assert counts[-1] == 32  # 256 -> 128 -> 64 -> 32
    counts, out = search_token_counts(model, *images, ce_keep_rate=1.0)
    assert counts == [256] * 12 and out["removed_indexes_s"] == [None, None, None]
    counts, out = search_token_counts(model, *images, ce_keep_rate=[1.0, 0.5, 0.5])  # one rate per CE layer
    assert counts[-1] == 64 and out["removed_indexes_s"][0] is None


def test_removed_positions_are_exact_zeros_and_the_rest_match_raster_order_ce(model, images):
    mask = generate_mask_cond("CTR_POINT", 2, 128, 16)
    with torch.no_grad():
        out = model(*images, ce_template_mask=mask)
        for blk in model.backbone.blocks:
            blk.keep_score_order = False  # survivors stay in raster order: nothing is reordered
        try:
            ref = model(*images, ce_template_mask=mask)
        finally:
            for blk in model.backbone.blocks:
                blk.keep_score_order = True
    search = out["backbone_feat"][:, 64:]  # (B, 256, D)
    for b in range(2):
        removed = torch.cat([r[b] for r in out["removed_indexes_s"]]).long()
        assert len(set(removed.tolist())) == 256 - 89
        assert torch.equal(search[b, removed], torch.zeros_like(search[b, removed]))
        kept = torch.ones(256, dtype=torch.bool)
        kept[removed] = False
        assert (search[b, kept].abs().sum(-1) > 0).all()
        ref_removed = torch.cat([r[b] for r in ref["removed_indexes_s"]]).long()
        assert set(ref_removed.tolist()) == set(removed.tolist())
    assert (out["backbone_feat"] - ref["backbone_feat"]).abs().max() < 1e-5
    assert (out["pred_boxes"] - ref["pred_boxes"]).abs().max() < 1e-5


def test_gt_box_mask_with_different_box_sizes_in_one_batch(model):
    # CE_TEMPLATE_RANGE only decides how the mask is made; the model is the same for every range.
    torch.manual_seed(2)
    z, x = torch.randn(3, 3, 128, 128), torch.randn(3, 3, 256, 256)
    boxes = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.4, 0.3, 0.2, 0.45], [0.1, 0.1, 0.8, 0.7]])
    mask = generate_mask_cond("GT_BOX", 3, 128, 16, template_box_norm=boxes)
    counts = mask.sum(1).tolist()
    assert len(set(counts)) == 3  # the original's boolean-index-and-reshape failed on this batch
    with torch.no_grad():
        batched = model(z, x, ce_template_mask=mask)
        for i in range(3):  # the masked mean gives each sample what it gets alone
            single = model(z[i:i + 1], x[i:i + 1], ce_template_mask=mask[i:i + 1])
            assert (batched["pred_boxes"][i] - single["pred_boxes"][0]).abs().max() < 1e-5
            assert (batched["backbone_feat"][i] - single["backbone_feat"][0]).abs().max() < 1e-5


def test_template_attention_score_is_a_masked_mean_per_sample():
    torch.manual_seed(3)
    attn = torch.rand(2, 3, 4, 5)
    mask = torch.tensor([[True, False, True, False], [False, False, False, False]])
    score = template_attention_score(attn, mask)
    assert torch.allclose(score[0], attn[0][:, [0, 2]].mean(1).mean(0))
    assert torch.allclose(score[1], attn[1].mean(1).mean(0))  # an empty mask falls back to all rows
    assert torch.allclose(template_attention_score(attn, None), attn.mean(2).mean(1))


def test_candidate_elimination_keeps_the_most_attended_tokens_in_score_order():
    tokens = torch.arange(2 * 6, dtype=torch.float32).view(1, 6, 2)  # 2 template + 4 search tokens
    attn = torch.tensor([0.1, 0.3, 0.2, 0.4]).view(1, 1, 1, 4).expand(1, 1, 2, 4)
    index = torch.tensor([[10.0, 11.0, 12.0, 13.0]])  # global raster indices of the current search tokens
    new_tokens, kept, removed = candidate_elimination(attn, tokens, 2, 0.5, index)
    # matches OSTrack: survivors in descending score order, removed ones in score order too
    assert kept.tolist() == [[13.0, 11.0]] and removed.tolist() == [[12.0, 10.0]]
    assert torch.equal(new_tokens[0, :2], tokens[0, :2])
    assert torch.equal(new_tokens[0, 2:], tokens[0, 2 + torch.tensor([3, 1])])
    _, kept, _ = candidate_elimination(attn, tokens, 2, 0.5, index, keep_score_order=False)
    assert kept.tolist() == [[11.0, 13.0]]
    same, kept, removed = candidate_elimination(attn, tokens, 2, 1.0, index)
    assert removed is None and same is tokens


def test_ce_block_without_ratio_never_eliminates():
    blk = CEBlock(dim=8, num_heads=2, keep_ratio=1.0)
    x, index = torch.randn(1, 6, 8), torch.arange(4, dtype=torch.float32)[None]
    out, new_index, removed, attn = blk(x, index, 2, keep_rate=0.5)
    assert out.shape == x.shape and removed is None and attn is None and new_index is index


def test_generate_mask_cond_matches_the_original_cells():
    point8 = generate_mask_cond("CTR_POINT", 2, 128, 16)
    assert point8.shape == (2, 64) and point8.dtype == torch.bool
    assert point8[0].nonzero().flatten().tolist() == [27]  # (3, 3) of 8x8
    assert generate_mask_cond("CTR_POINT", 1, 192, 16)[0].nonzero().flatten().tolist() == [65]  # (5, 5) of 12x12
    assert generate_mask_cond("CTR_REC", 1, 128, 16)[0].nonzero().flatten().tolist() == [27, 28, 35, 36]
    assert generate_mask_cond("CTR_REC", 1, 112, 16)[0].nonzero().flatten().tolist() == [24]  # 7x7: one cell
    assert generate_mask_cond("CTR_POINT", 1, 64, 16)[0].nonzero().flatten().tolist() == [5]  # 4x4 (new size)
    assert generate_mask_cond("ALL", 2, 128, 16) is None
    with pytest.raises(ValueError):
        generate_mask_cond("NOPE", 1, 128, 16)
    with pytest.raises(ValueError):
        generate_mask_cond("GT_BOX", 1, 128, 16)


def test_gt_box_mask_selects_the_cells_whose_centre_the_box_covers():
    quarter = generate_mask_cond("GT_BOX", 1, 128, 16, template_box_norm=torch.tensor([[0.0, 0.0, 0.5, 0.5]]))
    grid = quarter.view(8, 8)
    assert grid[:4, :4].all() and grid.sum() == 16
    whole = generate_mask_cond("GT_BOX", 1, 128, 16, template_box_norm=torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    assert whole.all()


def test_adjust_keep_rate_schedule():
    assert adjust_keep_rate(1, 20, 100, 0.7) == 1.0
    assert adjust_keep_rate(19, 20, 100, 0.7) == 1.0
    assert adjust_keep_rate(20, 20, 100, 0.7) == pytest.approx(1.0)  # start of the cosine: still no CE
    assert adjust_keep_rate(60, 20, 100, 0.7) == pytest.approx(0.85)  # half way
    assert adjust_keep_rate(100, 20, 100, 0.7) == 0.7
    assert adjust_keep_rate(70, 20, 70, 0.7) == 0.7  # GOT-10k configs: 50 warm-up epochs
    rates = [adjust_keep_rate(e, 20, 100, 0.7) for e in range(20, 101)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
