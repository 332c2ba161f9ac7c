"""SiamFC++ tracker: the original's boxes on the reference sequence, the kept quirks, parameters and weights."""

import numpy as np
import pytest
import torch
from torch import nn

from lib.config.siamfcpp.config import load_config
from lib.models.siamfcpp import build_siamfcpp
from lib.test.parameter.siamfcpp import default_checkpoint, parameters
from lib.test.tracker.siamfcpp import TRACKER_DEFAULTS, SiamFCppTracker, get_crop, make_window
from lib.test.utils.params import TrackerParams
from lib.utils.environment import env_settings
from lib.utils.subwindow import get_subwindow_tracking
from lib.utils.errors import CheckpointError, ConfigError
from tests.siamese_reference import load_reference
from tests.siamfcpp_reference import siamfcpp_recipe_state_dict

# frames tracked from the reference's own previous state (teacher forcing); GoogLeNet is slow on CPU
FORCED_FRAMES = {"alexnet": range(2, 20), "googlenet": (2, 10, 19), "shufflenetv2x1_0": range(2, 20)}


@pytest.fixture
def one_thread():
    """One thread: on shared cores several threads per process slow the forward passes down many times; the
    references (made with 2 threads) then differ by float32 rounding only, which the tolerances cover."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("backbone", ["alexnet", "googlenet", "shufflenetv2x1_0"])
def test_tracker_matches_the_original_on_the_reference_sequence(backbone, one_thread):
    seq = load_reference("siamfcpp_track_sequence.pt")
    ref = seq["results"][backbone]
    params = parameters(f"siamfcpp_{backbone}", resolve=False)
    assert {k: params.get(k) for k in TRACKER_DEFAULTS} == {k: ref["tracker_hps"][k] for k in TRACKER_DEFAULTS}
    network = build_siamfcpp(params.model_cfg, load_weights=False)
    network.load_state_dict(siamfcpp_recipe_state_dict(backbone), strict=True)
    tracker = SiamFCppTracker(params, network=network)
    frames_rgb = seq["frames"].numpy()[..., ::-1]  # the runner hands RGB; the tracker goes back to BGR
    boxes = ref["boxes_xywh"].numpy()

    tracker.initialize(frames_rgb[0], {"init_bbox": seq["init_xywh"].tolist()})
    assert np.array_equal(tracker.last["z_crop"], ref["init"]["z_crop"].numpy())
    assert np.array_equal(tracker.avg_chans, ref["init"]["avg_chans"].numpy())
    assert np.array_equal(tracker.window, ref["init"]["window"].numpy())

    def check(frame, out):
        assert tracker.last["best_id"] == ref["best_id"][frame - 1], frame  # another candidate = a real difference
        np.testing.assert_allclose(tracker.last["score"], ref["score"][frame - 1].numpy(), rtol=0, atol=1e-4)
        np.testing.assert_allclose(out["target_bbox"], boxes[frame], rtol=0, atol=2e-3, err_msg=f"frame {frame}")

    check(1, tracker.track(frames_rgb[1]))
    assert np.array_equal(tracker.last["x_crop"], ref["x_crop_frame1"].numpy())
    # Later frames start from the original's state. Free-running, float32 noise of the network (~1e-6 on scores,
    # ~1e-5 px on the state) moves the next crop's bilinear samples and grows from frame to frame (by frame 15
    # ShuffleNet picks another candidate); from the same state every step must agree.
    for frame in FORCED_FRAMES[backbone]:
        tracker.state = (np.array(ref["target_pos"][frame - 2], np.float32),
                         np.array(ref["target_sz"][frame - 2], np.float32))
        check(frame, tracker.track(frames_rgb[frame]))


class FakeNetwork(nn.Module):
    """Returns fixed scores (S*S,) and xyxy boxes (S*S, 4) in crop pixels; records its inputs."""

    def __init__(self, score, box):
        super().__init__()
        self.score = torch.as_tensor(score, dtype=torch.float32)
        self.box = torch.as_tensor(box, dtype=torch.float32).expand(len(self.score), 4)
        self.inputs = []

    def forward(self, *args, phase):
        self.inputs.append(args[0])
        if phase == "feature":
            return [torch.zeros(1), torch.zeros(1)]
        return self.score[None, :, None], self.box[None], None, None, {}


def fake_tracker(score=None, box=(131, 131, 171, 171), **hps):
    """A tracker on a 200x200 frame, target (80, 80, 40, 40): crop scale 127 / 80, crop centre 151."""
    hps = {"penalty_k": 0.0, "window_influence": 0.0, "test_lr": 2.0, **hps}
    score = np.full(289, 0.5) if score is None else score
    tracker = SiamFCppTracker(TrackerParams(**hps), network=FakeNetwork(score, box))
    image = np.full((200, 200, 3), 90, np.uint8)
    tracker.initialize(image, {"init_bbox": [80, 80, 40, 40]})
    return tracker, image


def test_quirk_q19_predicted_sizes_get_plus_one():
    tracker, image = fake_tracker()  # lr = 0.5 * 2 = 1: the size becomes the prediction
    out = tracker.track(image)["target_bbox"]
    scale = np.float32(127) / np.float32(80)
    assert out[2] == pytest.approx(41 / scale, rel=1e-6)  # xyxy 131..171 is 41 pixels wide, not 40
    assert out[0] + (out[2] - 1) / 2 == pytest.approx(99.5, abs=1e-4)  # centre kept; rect x = cx - (w - 1) / 2


def test_quirk_q20_centre_clipped_to_the_image_size_and_size_to_10_w():
    far = (131 + 300, 131 + 300, 171 + 300, 171 + 300)  # centre 300 crop pixels right of and below the crop centre
    tracker, image = fake_tracker(box=far)
    x, y, w, h = tracker.track(image)["target_bbox"]
    # clipped to W, H (not W - 1)
    assert x + (w - 1) / 2 == pytest.approx(200.0, abs=1e-4) and y + (h - 1) / 2 == pytest.approx(200.0, abs=1e-4)
    huge = (0, 0, 999, 999)
    tracker, image = fake_tracker(box=huge)
    assert tracker.track(image)["target_bbox"][2:] == [200.0, 200.0]
    tiny = (150, 150, 151, 151)
    tracker, image = fake_tracker(box=tiny)
    assert tracker.track(image)["target_bbox"][2:] == [10.0, 10.0]


def test_quirk_q22_first_maximum_wins():
    score = np.zeros(289)
    score[[5, 200]] = 0.9
    tracker, image = fake_tracker(score=score)
    tracker.track(image)
    assert tracker.last["best_id"] == 5


def test_quirk_q18_crop_side_rounded_scale_not():
    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    pos, size = np.array([150.3, 120.7], np.float32), np.array([50, 50], np.float32)
    avg = image.mean(axis=(0, 1))
    patch, scale = get_crop(image, pos, size, 127, 303, avg, 0.5)
    assert scale == np.float32(127) / np.float32(100)  # side 303 / scale = 238.58 is rounded to 239 for the crop
    assert np.array_equal(patch, get_subwindow_tracking(image, pos, 303, 239, avg))
    assert not np.array_equal(patch, get_subwindow_tracking(image, pos, 303, 303 / scale, avg))


def test_quirk_q21_fixed_uniform_window_works():
    window = make_window(17, "uniform")
    assert window.shape == (289,) and (window == 1).all()
    assert make_window(3, "cosine").tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    tracker, image = fake_tracker(windowing="uniform", window_influence=0.21)
    assert len(tracker.track(image)["target_bbox"]) == 4
    with pytest.raises(ConfigError, match="windowing must be 'cosine' or 'uniform'"):
        make_window(17, "hamming")


def test_quirk_q10_score_map_mismatch_is_a_clear_error():
    tracker, image = fake_tracker(score=np.ones(100))  # a network whose head was built for another map size
    with pytest.raises(ConfigError, match="gives 100 scores per frame but the tracker expects 17x17"):
        tracker.track(image)


def test_frames_reach_the_network_as_bgr():
    tracker, _ = fake_tracker()
    red = np.zeros((200, 200, 3), np.uint8)
    red[..., 0] = 255  # RGB red
    tracker.initialize(red, {"init_bbox": [80, 80, 40, 40]})
    template = tracker.network.inputs[-1]
    assert template.shape == (1, 3, 127, 127) and template.dtype == torch.float32
    assert template[0, 2].min() == 255 and template[0, 0].max() == 0  # channel order B, G, R; values 0..255


def test_parameters_resolve_the_weights_file(tmp_path):
    env = env_settings(save_dir=str(tmp_path / "out"), pretrained_dir=str(tmp_path / "pre"))
    with pytest.raises(CheckpointError, match="pretrain_model_path 'models/siamfcpp/siamfcpp-alexnet-got"):
        parameters("siamfcpp_alexnet", env=env)
    released = tmp_path / "pre" / "siamfcpp-alexnet-got-md5_5e01cf6271ad42e935032b61b05854d3.pkl"
    released.parent.mkdir()
    released.write_bytes(b"")
    assert parameters("siamfcpp_alexnet", env=env).checkpoint == released
    with pytest.raises(CheckpointError, match="no such file"):
        parameters("siamfcpp_alexnet", checkpoint=tmp_path / "missing.pth", env=env)
    # a -trn config names its own run's video_analyst snapshot epoch-19.pkl: this framework's epoch 20
    own = tmp_path / "out" / "checkpoints" / "train" / "siamfcpp" / "siamfcpp_alexnet-trn" / "SiamTrack_ep0020.pth.tar"
    with pytest.raises(CheckpointError, match="SiamTrack_ep0020.pth.tar does not exist"):
        parameters("siamfcpp_alexnet-trn", env=env)
    own.parent.mkdir(parents=True)
    own.write_bytes(b"")
    assert parameters("siamfcpp_alexnet-trn", env=env).checkpoint == own
    # no pretrain path: the training output at the trainer's last epoch
    cfg = load_config("siamfcpp_alexnet-trn", overrides={"test": {"track": {"model": {"task_model": {
        "SiamTrack": {"pretrain_model_path": ""}}}}}})
    assert default_checkpoint(cfg, "siamfcpp_alexnet-trn", env) == own


def test_tracker_loads_its_checkpoint_strictly(tmp_path):
    params = parameters("siamfcpp_alexnet", resolve=False)
    weights = siamfcpp_recipe_state_dict("alexnet")
    params.checkpoint = tmp_path / "SiamTrack_ep0020.pth.tar"
    torch.save({"net": weights}, params.checkpoint)
    tracker = SiamFCppTracker(params)
    assert torch.equal(tracker.network.head.bi, weights["head.bi"]) and not tracker.network.training
    params.checkpoint = tmp_path / "partial.pkl"
    torch.save({"model_state_dict": {k: v for k, v in weights.items() if not k.startswith("c_x.")}}, params.checkpoint)
    with pytest.raises(CheckpointError, match="does not fit the SiamFC\\+\\+ model of config siamfcpp_alexnet"):
        SiamFCppTracker(params)
