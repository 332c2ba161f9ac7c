"""PySOT-family trackers (SiamRPN++, SiamBAN): crop, anchors/points, decoding, quirks 34-38, and the 20-frame runs
of the original trackers with the recipe weights (tests/siamese_reference.py; pysot-spec 9-12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.config.core import CfgNode
from lib.test.tracker.siamban import SiamBANTracker, generate_points
from lib.test.tracker.siamese_crop import channel_average, crop_corner, get_subwindow
from lib.test.tracker.siamrpn import (SiamRPNLTTracker, SiamRPNTracker, base_anchors, bbox_clip, build_tracker,
                                      generate_anchor, pysot_init_box, pysot_result_line, score_map_size,
                                      tracker_window)
from lib.test.utils.params import TrackerParams
from lib.utils.errors import CheckpointError, ConfigError
from tests.siamese_reference import load_reference, recipe_state_dict

RPN_CONFIGS = ["siamrpn_r50_l234_dwxcorr", "siamrpn_alex_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr"]
ALL_CONFIGS = RPN_CONFIGS + ["siamban_r50_l234"]

RPN_TRACK = {"TYPE": "SiamRPNTracker", "PENALTY_K": 0.04, "WINDOW_INFLUENCE": 0.44, "LR": 0.4, "EXEMPLAR_SIZE": 127,
             "INSTANCE_SIZE": 255, "BASE_SIZE": 8, "CONTEXT_AMOUNT": 0.5, "LOST_INSTANCE_SIZE": 831,
             "CONFIDENCE_LOW": 0.85, "CONFIDENCE_HIGH": 0.998}
ANCHOR = {"STRIDE": 8, "RATIOS": [0.33, 0.5, 1, 2, 3], "SCALES": [8], "ANCHOR_NUM": 5}


def rpn_params(**track) -> TrackerParams:
    return TrackerParams(cfg=CfgNode({"TRACK": {**RPN_TRACK, **track}, "ANCHOR": ANCHOR}), checkpoint=None, debug=0)


def ban_params(cls_out_channels: int = 2) -> TrackerParams:
    track = {k: RPN_TRACK[k] for k in ("PENALTY_K", "WINDOW_INFLUENCE", "LR", "EXEMPLAR_SIZE", "INSTANCE_SIZE",
                                       "BASE_SIZE", "CONTEXT_AMOUNT")}
    cfg = {"TRACK": {**track, "TYPE": "SiamBANTracker"}, "POINT": {"STRIDE": 8},
           "BAN": {"BAN": True, "TYPE": "MultiBAN", "KWARGS": {"cls_out_channels": cls_out_channels}}}
    return TrackerParams(cfg=CfgNode(cfg), checkpoint=None, debug=0)


class FakeNet(nn.Module):
    """Head maps of the size a search crop gives: ``fg`` foreground logit at one cell, zero offsets elsewhere.

    It records the crops it is fed (the tracker's get_subwindow output).
    """

    def __init__(self, channels_per_cell: int = 5, fg: float = 0.0, cell: tuple[int, int, int] | None = None,
                 fixed_size: int | None = None, cls_channels: int = 2):
        super().__init__()
        self.a, self.fg, self.cell, self.fixed_size, self.cls_channels = channels_per_cell, fg, cell, fixed_size, \
            cls_channels
        self.templates, self.searches = [], []

    def template(self, z):
        self.templates.append(z)

    def track(self, x):
        self.searches.append(x)
        s = self.fixed_size or (x.shape[-1] - 127) // 8 + 1 + 8
        cls = torch.zeros(1, self.cls_channels * self.a, s, s)
        if self.cell is not None:  # (anchor, row, col); foreground block is the second
            a, r, c = self.cell
            cls[0, (self.cls_channels - 1) * self.a + a, r, c] = self.fg
        return {"cls": cls, "loc": torch.zeros(1, 4 * self.a, s, s)}


def naive_subwindow(im, pos, model_sz, original_sz, avg_chans):
    """pysot-spec 9.1 literally: pad the whole frame, cut the window, resize (the oracle for get_subwindow)."""
    import cv2

    c = (original_sz + 1) / 2
    xmin, ymin = math.floor(pos[0] - c + 0.5), math.floor(pos[1] - c + 0.5)
    xmax, ymax = xmin + original_sz - 1, ymin + original_sz - 1
    h, w = im.shape[:2]
    left, top = int(max(0, -xmin)), int(max(0, -ymin))
    right, bottom = int(max(0, xmax - w + 1)), int(max(0, ymax - h + 1))
    canvas = np.zeros((h + top + bottom, w + left + right, 3), np.uint8)
    canvas[top:top + h, left:left + w] = im
    canvas[:top, left:left + w] = avg_chans
    canvas[top + h:, left:left + w] = avg_chans
    canvas[:, :left] = avg_chans
    canvas[:, left + w:] = avg_chans
    patch = canvas[ymin + top:ymax + top + 1, xmin + left:xmax + left + 1]
    if model_sz != original_sz:
        patch = cv2.resize(patch, (model_sz, model_sz))
    return torch.from_numpy(patch.transpose(2, 0, 1).astype(np.float32))[None]


# -- crop ------------------------------------------------------------------------------------------------------


def test_get_subwindow_equals_the_padded_frame_crop_of_the_spec():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    avg = channel_average(image)
    cases = [((40.0, 30.0), 127, 31), ((3.2, 57.9), 127, 45), ((79.5, 0.0), 255, 90), ((40.0, 30.0), 31, 31),
             ((-10.0, 70.0), 64, 33), ((200.0, 30.0), 20, 41)]
    for pos, model_sz, original_sz in cases:
        out = get_subwindow(image, pos, model_sz, original_sz, avg)
        assert out.dtype == torch.float32 and out.shape == (1, 3, model_sz, model_sz)
        assert torch.equal(out, naive_subwindow(image, pos, model_sz, original_sz, avg)), (pos, original_sz)
    # an RGB frame gives the BGR tensor of the converted frame
    rgb = get_subwindow(image, (3.2, 57.9), 127, 45, avg, reverse_channels=True)
    assert torch.equal(rgb, naive_subwindow(image[..., ::-1].copy(), (3.2, 57.9), 127, 45, avg[::-1]))


def test_crop_outside_the_frame_is_the_truncated_first_frame_mean():
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, :, 0], image[:, :, 1], image[0, :, 1], image[:, :, 2] = 200, 134, 1, 99  # means 200, 100.75, 99
    avg = channel_average(image)
    assert avg.tolist() == [200.0, 100.75, 99.0]
    image[:, :, 2] = 0  # a later frame: the padding keeps the first frame's mean
    out = get_subwindow(image, (100.0, 100.0), 16, 8, avg)  # window wholly outside the frame
    # matches PySOT: 100.75 is truncated to 100, not rounded (quirk 36)
    assert out[0, :, 0, 0].tolist() == [200.0, 100.0, 99.0] and bool((out == out[:, :, :1, :1]).all())


def test_crop_corner_rounds_half_up():
    # c = (5 + 1) / 2 = 3: x - c + 0.5 = 1.0 -> 1 (round half to even of 0.5 would give 0)
    assert crop_corner((3.5, 2.5), 5) == (1, 0)
    assert crop_corner((-0.5, 0.0), 4) == (-3, -2)


# -- geometry against the reference ----------------------------------------------------------------------------


@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_tracker_score_size_window_and_grid_match_the_reference(config):
    ref = load_reference(f"{config}_reference.pt")
    cfg = CfgNode(ref["cfg"])
    anchors = ref["anchors"]
    params = TrackerParams(cfg=cfg, checkpoint=None, debug=0)
    if ref["family"] == "siamban":
        tracker = SiamBANTracker(params, network=FakeNet(1))
        assert np.array_equal(tracker.points, anchors["tracker_points"].numpy())
        assert tracker.points.dtype == np.float32
    else:
        tracker = SiamRPNTracker(params, network=FakeNet())
        assert np.array_equal(base_anchors(8, cfg.ANCHOR.RATIOS, cfg.ANCHOR.SCALES), anchors["base_anchors"].numpy())
        assert np.array_equal(tracker.anchors, anchors["tracker_anchors"].numpy())
        assert tracker.anchors.dtype == np.float32
    assert tracker.score_size == anchors["tracker_score_size"]
    assert tracker.window.dtype == np.float64 and np.array_equal(tracker.window, anchors["tracker_window"].numpy())


def test_anchor_and_point_order_is_anchor_major_then_row_major():
    anchors = generate_anchor(5, 8, [0.33, 0.5, 1, 2, 3], [8])
    index = 2 * 25 + 1 * 5 + 4  # anchor 2 (64x64), row 1, column 4
    assert anchors[index].tolist() == [16.0, -8.0, 64.0, 64.0]
    assert generate_points(8, 5)[1 * 5 + 4].tolist() == [16.0, -8.0]
    window = tracker_window(5, 5)
    assert np.array_equal(window[:25], window[50:75]) and window[12] == 1.0 and window[0] == 0.0
    assert score_map_size(287, 127, 8, 0) == 21 and score_map_size(255, 127, 8, 8) == 25


# -- init and output conventions, clipping (quirks 34-37) ------------------------------------------------------


def test_init_box_and_centre_conventions():
    # quirk 35: the init box (and first result line) is [x + 0.5, y + 0.5, w, h]
    assert pysot_init_box([124.0, 123.0, 31.0, 79.0]) == [124.5, 123.5, 31.0, 79.0]
    # an axis-aligned polygon [x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y] gives the same box
    x, y, w, h = 10.0, 20.0, 30.0, 40.0
    polygon = [x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y]
    assert pysot_init_box(polygon) == pytest.approx([x, y, w, h])
    with pytest.raises(ValueError, match="4 values"):
        pysot_init_box([1.0, 2.0, 3.0])

    image = np.full((240, 320, 3), 50, np.uint8)
    net = FakeNet(fg=5.0, cell=(2, 12, 12))  # anchor 64x64 at the centre wins, zero deltas
    tracker = SiamRPNTracker(rpn_params(), network=net)
    assert tracker.initialize(image, {"init_bbox": [100.0, 80.0, 40.0, 20.0]}) == {
        "target_bbox": [100.5, 80.5, 40.0, 20.0]}
    # quirk 34: centre x + (w - 1) / 2 of the init box, i.e. x + w / 2 of the ground truth
    assert tracker.center_pos == (120.0, 90.0)
    assert tracker.last_crop.center_x == 120.0 and tracker.last_crop.model_sz == 127
    out = tracker.track(image)
    assert out["best_idx"] == 2 * 625 + 12 * 25 + 12
    assert tracker.center_pos == (120.0, 90.0)  # zero deltas: the centre stays
    width, height = tracker.size
    # ... but the output box starts at cx - w / 2 (half a pixel left of where the init box started)
    assert out["target_bbox"] == [120.0 - width / 2, 90.0 - height / 2, width, height]


def test_template_crop_side_is_rounded_half_to_even():
    # w = h = 3.25: w_z = h_z = 6.5, s_z = 6.5 -> Python round gives 6 (quirk 36), not 7
    tracker = SiamRPNTracker(rpn_params(), network=FakeNet())
    tracker.initialize(np.zeros((50, 50, 3), np.uint8), {"init_bbox": [10.0, 10.0, 3.25, 3.25]})
    assert tracker.last_crop.original_sz == 6


def test_bbox_clip_clips_the_centre_and_keeps_python_ints():
    # quirk 37: the centre goes into [0, W] x [0, H] and the size into [10, W] x [10, H]
    out = bbox_clip(-3.0, 500.0, 5.0, 1000.0, (240, 320))
    assert out == (0, 240, 10, 240) and all(type(v) is int for v in out)
    assert bbox_clip(330.5, 12.25, 400.0, 9.5, (240, 320)) == (320, 12.25, 320, 10)
    assert pysot_result_line([0 - 10 / 2, 12.25, 10, 30.5]) == "-5.0,12.25,10,30.5"


def test_tracker_clips_the_state_and_the_long_term_tracker_only_the_output():
    image = np.full((100, 120, 3), 80, np.uint8)
    gt = [-41.0, 30.0, 40.0, 20.0]  # centre x = -21: outside the frame
    plain = SiamRPNTracker(rpn_params(), network=FakeNet())
    plain.initialize(image, {"init_bbox": gt})
    out = plain.track(image)
    assert plain.center_pos[0] == 0 and out["target_bbox"][0] == -out["target_bbox"][2] / 2
    # long-term: the score 0.5 < CONFIDENCE_LOW keeps the unclipped state (quirk 38) and enters the lost state
    lt = SiamRPNLTTracker(rpn_params(TYPE="SiamRPNLTTracker"), network=FakeNet())
    lt.initialize(image, {"init_bbox": gt})
    out = lt.track(image)
    assert out["best_score"] == 0.5 and lt.center_pos == (-21.0, 40.0) and lt.size == (40.0, 20.0)
    assert out["target_bbox"] == [0 - 20.0, 40.0 - 10.0, 40.0, 20.0] and lt.longterm_state
    assert lt.last_crop.model_sz == 255


def test_long_term_tracker_searches_wider_when_lost_and_recovers():
    image = np.full((100, 120, 3), 80, np.uint8)
    net = FakeNet()
    tracker = build_tracker(rpn_params(TYPE="SiamRPNLTTracker"), network=net)
    assert isinstance(tracker, SiamRPNLTTracker)
    tracker.initialize(image, {"init_bbox": [40.0, 30.0, 40.0, 20.0]})
    tracker.track(image)  # score 0.5: lost
    net.fg, net.cell = 12.0, (2, 48, 48)  # LOST_INSTANCE_SIZE 831 -> 97x97 map; a confident centre anchor
    out = tracker.track(image)
    assert tracker.last_crop.model_sz == 831 and net.searches[-1].shape == (1, 3, 831, 831)
    assert out["best_idx"] == 2 * 97 * 97 + 48 * 97 + 48 and out["best_score"] > 0.998
    assert not tracker.longterm_state
    net.cell = None
    tracker.track(image)
    assert tracker.last_crop.model_sz == 255


def test_siamban_decodes_distances_around_points_with_one_or_two_class_channels():
    for channels in (1, 2):
        tracker = SiamBANTracker(ban_params(channels), network=FakeNet(1, cls_channels=channels))
        loc = torch.zeros(1, 4, 25, 25)
        loc[0, :, 3, 5] = torch.tensor([1.0, 2.0, 3.0, 6.0])
        boxes = tracker._convert_bbox(loc, tracker.points)
        # point (5, 3) sits at (-56, -72): x1 = -57, y1 = -74, x2 = -53, y2 = -66
        assert boxes[:, 3 * 25 + 5].tolist() == [-55.0, -70.0, 4.0, 8.0] and boxes.dtype == np.float32
        cls = torch.zeros(1, channels, 25, 25)
        cls[0, -1, 3, 5] = 2.0
        score = tracker._convert_score(cls)
        expected = 1 / (1 + math.exp(-2.0))  # sigmoid(2) = softmax([0, 2])[1]
        assert score[3 * 25 + 5] == pytest.approx(expected, rel=1e-6) and score[0] == pytest.approx(0.5)


# -- bad input -------------------------------------------------------------------------------------------------


def test_bad_configs_are_config_errors():
    image = np.zeros((50, 50, 3), np.uint8)
    tracker = SiamRPNTracker(rpn_params(), network=FakeNet(fixed_size=17))
    tracker.initialize(image, {"init_bbox": [10.0, 10.0, 20.0, 20.0]})
    with pytest.raises(ConfigError, match=r"score map is \(17, 17\) but .* expects 25x25"):
        tracker.track(image)
    with pytest.raises(ConfigError, match="TRACK.PENALTY_K"):
        SiamRPNTracker(TrackerParams(cfg=CfgNode({"TRACK": {"EXEMPLAR_SIZE": 127, "INSTANCE_SIZE": 255,
                                                            "BASE_SIZE": 8, "CONTEXT_AMOUNT": 0.5}}),
                                     checkpoint=None), network=FakeNet())
    with pytest.raises(ConfigError, match="cls_out_channels is 3"):
        SiamBANTracker(ban_params(3), network=FakeNet(1))
    tracker = SiamBANTracker(ban_params(1), network=FakeNet(1, cls_channels=2))
    tracker.initialize(image, {"init_bbox": [10.0, 10.0, 20.0, 20.0]})
    with pytest.raises(ConfigError, match="gives 2 class channels"):
        tracker.track(image)
    with pytest.raises(ValueError, match="has no area"):
        tracker.initialize(image, {"init_bbox": [10.0, 10.0, 0.0, 20.0]})
    with pytest.raises(ConfigError, match="SiamMaskTracker"):
        build_tracker(rpn_params(TYPE="SiamMaskTracker"), network=FakeNet())


# -- the original trackers' runs on the synthetic sequence (recipe weights, one thread) ----------------------

# The two ResNet-50 models cost about a second per frame on a shared CPU; their first 8 frames exercise the same
# code as the rest (padding, penalties, smoothing), while the cheap models run all 20 (mobilenet's last frames hit
# the size clip).
FRAMES = {"siamrpn_r50_l234_dwxcorr": 8, "siamban_r50_l234": 8}


def reference_network(config: str) -> nn.Module:
    models = pytest.importorskip("lib.models.siamese")
    ref = load_reference(f"{config}_reference.pt")
    build = models.build_siamban if ref["family"] == "siamban" else models.build_siamrpn
    network = build(CfgNode(ref["cfg"]))
    network.load_state_dict(recipe_state_dict(config), strict=True)
    return network.eval()


def run_sequence(tracker, num_frames: int) -> dict:
    """Drive a tracker as tools/test.py's OPE branch does, from the runner's RGB frames and 0-based ground truth."""
    seq = load_reference("siamese_synthetic_sequence.pt")
    frames = seq["frames"][:num_frames].numpy()[..., ::-1]  # stored BGR, as cv2.imread; the runner gives RGB
    out = tracker.initialize(np.ascontiguousarray(frames[0]), {"init_bbox": seq["groundtruth"][0].tolist()})
    run = {"boxes": [out["target_bbox"]], "crops": [tuple(tracker.last_crop)], "best_score": [math.nan],
           "best_idx": []}
    for frame in frames[1:]:
        out = tracker.track(np.ascontiguousarray(frame))
        run["boxes"].append(out["target_bbox"])
        run["crops"].append(tuple(tracker.last_crop))
        run["best_score"].append(out["best_score"])
        run["best_idx"].append(out["best_idx"])
    return run


@pytest.fixture(scope="module")
def reference_runs():
    """config -> the run of our tracker with the recipe weights (each model built and run once)."""
    runs = {}

    def get(config: str) -> dict:
        if config not in runs:
            ref = load_reference(f"{config}_reference.pt")
            tracker_cls = SiamBANTracker if ref["family"] == "siamban" else SiamRPNTracker
            tracker = tracker_cls(TrackerParams(cfg=CfgNode(ref["cfg"]), checkpoint=None, debug=0),
                                  network=reference_network(config))
            torch.set_num_threads(1)  # the references were made with one thread
            runs[config] = run_sequence(tracker, FRAMES.get(config, 20))
        return runs[config]

    return get


@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_tracker_run_matches_the_original_tracker(config, reference_runs):
    run = reference_runs(config)
    ref = load_reference(f"{config}_reference.pt")["tracker"]
    n = len(run["boxes"])
    assert run["boxes"][0] == ref["boxes"][0].tolist()  # the init box, exactly
    assert np.allclose(np.array(run["boxes"], np.float64), ref["boxes"][:n].numpy(), rtol=0, atol=1e-3)
    assert run["best_idx"] == ref["best_idx"][:n - 1].tolist()
    assert np.allclose(run["best_score"][1:], ref["best_score"][1:n].numpy(), rtol=0, atol=1e-5)
    crops, ref_crops = np.array(run["crops"], np.float64), ref["crops"][:n].numpy()
    # the crop sizes exactly, the first centre exactly; later centres are the previous boxes' centres, whose last
    # bits follow the network's (the CPU convolutions are not bitwise the reference machine's)
    assert np.array_equal(crops[:, 2:], ref_crops[:, 2:]) and np.array_equal(crops[0], ref_crops[0])
    assert np.allclose(crops, ref_crops, rtol=0, atol=1e-3)


@pytest.mark.parametrize("config", ["siamrpn_mobilev2_l234_dwxcorr", "siamrpn_alex_dwxcorr"])
def test_result_lines_have_pysots_text_format(config, reference_runs):
    run = reference_runs(config)
    ref_lines = load_reference(f"{config}_reference.pt")["tracker"]["result_lines"]
    lines = [pysot_result_line(box) for box in run["boxes"]]
    assert lines[0] == ref_lines[0] == "124.5,123.5,31.0,79.0"
    for line, ref_line in zip(lines, ref_lines):
        values, ref_values = line.split(","), ref_line.split(",")
        assert np.allclose([float(v) for v in values], [float(v) for v in ref_values], rtol=0, atol=1e-3)
        # a clipped size is PySOT's int 10 and prints as '10' (mobilenet's last frames), any other value is a float
        assert ["." in v for v in values] == ["." in v for v in ref_values], (line, ref_line)
    if config == "siamrpn_mobilev2_l234_dwxcorr":
        assert lines[-1].split(",")[2] == "10"


def test_tracker_loads_the_checkpoint_strictly(tmp_path):
    pytest.importorskip("lib.models.siamese")
    config = "siamrpn_alex_dwxcorr"
    ref = load_reference(f"{config}_reference.pt")
    state = recipe_state_dict(config)
    path = tmp_path / "model.pth"
    torch.save(state, path)  # a released PySOT model.pth is a plain state dict
    params = TrackerParams(cfg=CfgNode(ref["cfg"]), checkpoint=str(path), debug=0)
    tracker = build_tracker(params)
    assert isinstance(tracker, SiamRPNTracker) and not tracker.network.training
    run = run_sequence(tracker, 3)
    assert np.allclose(np.array(run["boxes"]), ref["tracker"]["boxes"][:3].numpy(), rtol=0, atol=1e-3)

    del state["rpn_head.cls.head.3.bias"]
    bad = tmp_path / "other.pth"
    torch.save(state, bad)
    with pytest.raises(CheckpointError, match="does not fit the SiamRPN model"):
        build_tracker(TrackerParams(cfg=CfgNode(ref["cfg"]), checkpoint=str(bad), debug=0))


# -- test parameters -------------------------------------------------------------------------------------------


def test_parameters_read_the_family_configs():
    from lib.test.parameter import siamban, siamrpn

    params = siamrpn.parameters("siamrpn_alex_dwxcorr", resolve=False)
    assert params.yaml_name == "siamrpn_alex_dwxcorr" and params.checkpoint is None
    assert params.cfg.TRACK.INSTANCE_SIZE == 287 and params.cfg.TRACK.BASE_SIZE == 0
    params = siamban.parameters("siamban_r50_l234", resolve=False)
    assert params.cfg.TRACK.TYPE == "SiamBANTracker" and params.cfg.POINT.STRIDE == 8
    # PySOT's experiments/<config>/config.yaml layout names the experiment by its folder
    assert siamrpn.experiment_name("/x/experiments/siamrpn_r50_l234_dwxcorr/config.yaml") == "siamrpn_r50_l234_dwxcorr"
    assert siamrpn.experiment_name("/x/my_run.yaml") == "my_run" and siamrpn.experiment_name("name") == "name"
    params = siamrpn.parameters("siamrpn_alex_dwxcorr", resolve=False, overrides={"TRACK": {"LR": 0.5}})
    assert params.cfg.TRACK.LR == 0.5


def test_parameters_resolve_the_family_checkpoint(tmp_path):
    from lib.test.parameter import siamban, siamrpn
    from lib.utils.environment import env_settings

    env = env_settings(save_dir=str(tmp_path))
    folder = tmp_path / "checkpoints" / "train" / "siamban" / "siamban_r50_l234"
    folder.mkdir(parents=True)
    (folder / "SiamBAN_ep0020.pth.tar").write_bytes(b"")  # TEST.EPOCH 0: the config's TRAIN.EPOCH (20)
    assert siamban.parameters("siamban_r50_l234", env=env).checkpoint.name == "SiamBAN_ep0020.pth.tar"
    with pytest.raises(CheckpointError, match="SiamBAN_ep0020.pth.tar; pass --epochs"):
        siamban.parameters("siamban_r50_l234", env=env, epoch=3)  # a checkpoint sweep asks for epoch 3
    with pytest.raises(CheckpointError, match="siamrpn_alex_dwxcorr"):
        siamrpn.parameters("siamrpn_alex_dwxcorr", env=env)
    explicit = tmp_path / "model.pth"
    explicit.write_bytes(b"")
    assert siamrpn.parameters("siamrpn_alex_dwxcorr", checkpoint=explicit, env=env).checkpoint == explicit.resolve()
