"""The OSTrack tracker: crop, normalisation, windowed decode, map-back and clip against hand-computed values;
test parameters and checkpoint resolution; a tiny real model over a synthetic sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.config.ostrack.config import get_defaults, merge_config
from lib.test.parameter.ostrack import parameters
from lib.test.tracker.hann import hann1d, hann2d
from lib.test.tracker.preprocessing import Preprocessor
from lib.test.utils.params import TrackerParams
from lib.utils.environment import env_settings
from lib.utils.errors import CheckpointError

pytest.importorskip("lib.models.ostrack")
from lib.models.layers.head import CenterPredictor  # noqa: E402
from lib.test.tracker.ostrack import OSTrackTracker  # noqa: E402
from lib.utils.crop import sample_target  # noqa: E402
from lib.utils.ce_utils import generate_mask_cond  # noqa: E402

TINY = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                                    "CE_KEEP_RATIO": [0.7, 0.7, 0.7],
                                                    "CE_TEMPLATE_RANGE": "CTR_POINT"},
                  "HEAD": {"NUM_CHANNELS": 32}},
        "DATA": {"SEARCH": {"SIZE": 64, "FACTOR": 4.0}, "TEMPLATE": {"SIZE": 32},
                 "MEAN": [0.5, 0.4, 0.3], "STD": [0.25, 0.2, 0.1]},
        "TEST": {"SEARCH_SIZE": 64, "TEMPLATE_SIZE": 32, "SEARCH_FACTOR": 4.0, "TEMPLATE_FACTOR": 2.0, "EPOCH": 7}}


def tiny_cfg():
    return merge_config(get_defaults(), TINY).freeze()


class MapsNet(nn.Module):
    """Returns fixed head maps and records what the tracker feeds it."""

    def __init__(self, score, size, offset):
        super().__init__()
        fs = score.shape[-1]
        self.box_head = CenterPredictor(inplanes=8, channel=16, feat_sz=fs)  # its cal_bbox decodes
        self.maps = {"score_map": score, "size_map": size, "offset_map": offset}
        self.calls = []

    def forward(self, template, search, ce_template_mask=None, ce_keep_rate=None):
        self.calls.append({"template": template, "search": search, "mask": ce_template_mask,
                           "keep_rate": ce_keep_rate})
        return dict(self.maps)


def maps(peak_rc, offset_xy, size_wh, fs=4, background=0.1):
    score = torch.full((1, 1, fs, fs), background)
    score[0, 0, peak_rc[0], peak_rc[1]] = 0.95
    size = torch.zeros(1, 2, fs, fs)
    offset = torch.zeros(1, 2, fs, fs)
    size[0, :, peak_rc[0], peak_rc[1]] = torch.tensor(size_wh)
    offset[0, :, peak_rc[0], peak_rc[1]] = torch.tensor(offset_xy)
    return score, size, offset


def make_tracker(net):
    cfg = tiny_cfg()
    params = TrackerParams(cfg=cfg, template_factor=2.0, template_size=32, search_factor=4.0, search_size=64, debug=0)
    return OSTrackTracker(params, device="cpu", network=net)


def test_hann_window_is_the_centred_cosine():
    fs = 16
    expected = [0.5 * (1 - math.cos(2 * math.pi * k / (fs + 1))) for k in range(1, fs + 1)]
    assert np.allclose(hann1d(fs).numpy(), expected, atol=1e-6)
    window = hann2d((fs, fs))
    assert window.shape == (1, 1, fs, fs) and window.min() > 0
    assert torch.allclose(window[0, 0], hann1d(fs)[:, None] * hann1d(fs)[None, :])


def test_preprocessor_uses_the_given_mean_and_std():
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = Preprocessor([0.5, 0.4, 0.3], [0.25, 0.2, 0.1]).process(image)
    assert out.shape == (1, 3, 5, 7) and out.dtype == torch.float32
    expected = (image.astype(np.float32) / 255 - [0.5, 0.4, 0.3]) / np.array([0.25, 0.2, 0.1], np.float32)
    assert np.allclose(out[0].permute(1, 2, 0).numpy(), expected, atol=1e-5)


def test_crop_decode_map_back_and_clip_match_hand_computed_values():
    image = np.random.default_rng(1).integers(0, 256, (150, 200, 3), dtype=np.uint8)  # H=150, W=200
    net = MapsNet(*maps(peak_rc=(1, 2), offset_xy=(0.5, 0.25), size_wh=(0.25, 0.125)))
    tracker = make_tracker(net)
    tracker.initialize(image, {"init_bbox": [50, 40, 20, 10]})
    out = tracker.track(image)
    # crop side ceil(sqrt(20*10) * 4) = 57, resize factor 64/57. Peak (row 1, col 2): cx = (2 + 0.5) / 4,
    # cy = (1 + 0.25) / 4 -> 35.625, 17.8125 px in the crop, w, h = 14.25, 7.125; the crop is centred on the
    # previous centre (60, 45) with half side 28.5 -> centre (67.125, 34.3125) -> [60, 30.75, 14.25, 7.125];
    # clip_box with margin 10 raises h to 10.
    assert out["target_bbox"] == pytest.approx([60.0, 30.75, 14.25, 10.0], abs=1e-4)

    # what the network saw: sample_target crops normalised with the config's DATA.MEAN / DATA.STD
    mean, std = np.array(TINY["DATA"]["MEAN"]), np.array(TINY["DATA"]["STD"])
    z_crop, _, _ = sample_target(image, [50, 40, 20, 10], 2.0, output_sz=32)
    x_crop, factor, _ = sample_target(image, [50, 40, 20, 10], 4.0, output_sz=64)
    assert factor == pytest.approx(64 / 57)
    call = net.calls[0]
    assert np.allclose(call["template"][0].permute(1, 2, 0).numpy(), (z_crop / 255 - mean) / std, atol=1e-5)
    assert np.allclose(call["search"][0].permute(1, 2, 0).numpy(), (x_crop / 255 - mean) / std, atol=1e-5)
    # CE: the centre template token (CTR_POINT) and the layers' own keep ratios (no keep rate at test time)
    assert torch.equal(call["mask"], generate_mask_cond("CTR_POINT", 1, 32, 16))
    assert call["keep_rate"] is None


def test_clip_at_the_image_border_and_multiplicative_window():
    image = np.zeros((150, 200, 3), dtype=np.uint8)
    score, size, offset = maps(peak_rc=(3, 3), offset_xy=(0.9, 0.9), size_wh=(0.5, 0.5))
    tracker = make_tracker(MapsNet(score, size, offset))
    tracker.initialize(image, {"init_bbox": [185, 140, 10, 8]})
    # crop 36 px (resize 64/36): centre (3.9/4 * 36 = 35.1) + (190 - 18) = 207.1 -> box [198.1, 152.1, 18, 18]
    # is clipped into the 200 x 150 image keeping 10 px: [190, 140, 10, 10]
    assert tracker.track(image)["target_bbox"] == pytest.approx([190.0, 140.0, 10.0, 10.0], abs=1e-4)

    # a raw corner peak loses against a weaker central one once the Hann window multiplies the map
    score = torch.full((1, 1, 4, 4), 0.1)
    score[0, 0, 0, 0], score[0, 0, 1, 1] = 0.9, 0.5
    size = torch.full((1, 2, 4, 4), 0.25)
    tracker = make_tracker(MapsNet(score, size, torch.zeros(1, 2, 4, 4)))
    tracker.initialize(image, {"init_bbox": [50, 40, 20, 10]})
    box = tracker.track(image)["target_bbox"]
    # cell (1, 1): centre (1/4 * 57) + (60 - 28.5) = 45.75 -> x = 45.75 - 7.125
    assert box[0] == pytest.approx(45.75 - 7.125, abs=1e-4)


def test_parameters_resolve_the_training_checkpoint(tmp_path):
    env = env_settings(save_dir=str(tmp_path))
    folder = tmp_path / "checkpoints" / "train" / "ostrack" / "vitb_256_mae_ce_32x4_ep300"
    folder.mkdir(parents=True)
    (folder / "OSTrack_ep0300.pth.tar").write_bytes(b"")
    params = parameters("vitb_256_mae_ce_32x4_ep300", env=env)
    assert params.checkpoint == folder / "OSTrack_ep0300.pth.tar"
    assert (params.template_size, params.search_size, params.search_factor, params.template_factor) == \
           (128, 256, 4.0, 2.0)
    assert params.cfg.MODEL.BACKBONE.CE_LOC == [3, 6, 9]
    (folder / "OSTrack_ep0300.pth.tar").rename(folder / "OSTrack_ep0240.pth.tar")
    with pytest.raises(CheckpointError) as err:
        parameters("vitb_256_mae_ce_32x4_ep300", env=env)
    assert "OSTrack_ep0300.pth.tar does not exist" in str(err.value) and "OSTrack_ep0240.pth.tar" in str(err.value)
    assert parameters("vitb_256_mae_ce_32x4_ep300", checkpoint=folder / "OSTrack_ep0240.pth.tar",
                      env=env).checkpoint == folder / "OSTrack_ep0240.pth.tar"
    with pytest.raises(CheckpointError, match="no such file"):
        parameters("vitb_256_mae_ce_32x4_ep300", checkpoint=tmp_path / "nope.pth", env=env)
    with pytest.raises(CheckpointError, match="does not exist"):
        parameters("vitb_384_mae_ce_32x4_ep300", env=env)


def test_tiny_model_tracks_a_synthetic_sequence_and_rejects_a_wrong_checkpoint(tmp_path, one_torch_thread):
    from lib.models.ostrack import build_ostrack
    from lib.test.evaluation.got10kdataset import SyntheticDataset
    from lib.test.evaluation.tracker import track_sequence
    from lib.train.dataset.synthetic_generator import generate_dataset

    generate_dataset(tmp_path / "syn", layout="got10k", num_train=1, num_val=1, num_test=1, frames=4,
                     size=(96, 64), seed=5, workers=1)
    seq = SyntheticDataset(tmp_path / "syn", "val").get_sequence_list()[0]
    cfg = tiny_cfg()
    torch.manual_seed(0)
    ckpt = tmp_path / "OSTrack_ep0007.pth.tar"
    torch.save({"net": build_ostrack(cfg, training=False).state_dict()}, ckpt)
    params = TrackerParams(cfg=cfg, template_factor=2.0, template_size=32, search_factor=4.0, search_size=64,
                           debug=0, checkpoint=ckpt, yaml_name="tiny")
    out = track_sequence(OSTrackTracker(params, device="cpu"), seq)
    boxes = np.array(out["target_bbox"])
    assert boxes.shape == (4, 4) and len(out["time"]) == 4
    assert (boxes[1:, 2:] >= 10).all() and (boxes[1:, 0] <= 96 - 10).all() and (boxes[1:, 1] <= 64 - 10).all()

    wrong = tmp_path / "wrong.pth.tar"
    torch.save({"net": {"backbone.nonsense": torch.zeros(1)}}, wrong)
    params.checkpoint = wrong
    with pytest.raises(CheckpointError, match="does not fit the model"):
        OSTrackTracker(params, device="cpu")
