"""The video demo on a short generated video: RGB frames to the tracker, an annotated video out."""

from __future__ import annotations

import runpy

import cv2
import numpy as np
import pytest
import torch

from lib.test.evaluation import video as video_module
from lib.test.evaluation.video import VideoError, run_video
from lib.utils.environment import PROJECT_ROOT

N_FRAMES = 8


@pytest.fixture
def clip(tmp_path):
    """A blue (BGR) 96 x 64 clip with a white square moving right."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    assert writer.isOpened()
    for i in range(N_FRAMES):
        frame = np.zeros((64, 96, 3), np.uint8)
        frame[:, :, 0] = 255  # blue in OpenCV's BGR order
        frame[24:40, 20 + 3 * i:36 + 3 * i] = 255
        writer.write(frame)
    writer.release()
    return path


class RecordingTracker:
    def __init__(self):
        self.images = []

    def initialize(self, image, info):
        self.images.append(image)
        self.box = list(info["init_bbox"])

    def track(self, image, info=None):
        self.images.append(image)
        self.box[0] += 3
        return {"target_bbox": list(self.box)}


def frame_count(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_frames_reach_the_tracker_as_rgb_and_an_annotated_video_is_written(clip, tmp_path):
    tracker = RecordingTracker()
    out = tmp_path / "annotated.mp4"
    result = run_video(tracker, str(clip), init_bbox=[20, 24, 16, 16], output=out)
    assert len(result.boxes) == N_FRAMES and result.boxes[-1][0] == 20 + 3 * (N_FRAMES - 1)
    corner = tracker.images[0][2, 2]
    assert corner[2] > 200 and corner[0] < 60  # blue background arrives in channel 2 (RGB order)
    assert frame_count(out) == N_FRAMES


def test_no_initial_box_without_a_display_is_a_clear_error(clip, monkeypatch):
    monkeypatch.setattr(video_module, "has_display", lambda: False)
    with pytest.raises(VideoError, match="--init_bbox"):
        run_video(RecordingTracker(), str(clip))
    with pytest.raises(VideoError, match="cannot open the video"):
        run_video(RecordingTracker(), str(clip.with_name("missing.avi")), init_bbox=[1, 1, 5, 5])


def test_video_demo_cli_with_a_tiny_model(clip, tmp_path, capsys, one_torch_thread):
    pytest.importorskip("lib.models.ostrack")
    import yaml

    from lib.config.ostrack.config import get_defaults, merge_config
    from lib.models.ostrack import build_ostrack

    tiny = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224"}, "HEAD": {"NUM_CHANNELS": 32}},
            "DATA": {"SEARCH": {"SIZE": 64}, "TEMPLATE": {"SIZE": 32}},
            "TEST": {"SEARCH_SIZE": 64, "TEMPLATE_SIZE": 32, "SEARCH_FACTOR": 4.0}}
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(tiny))
    ckpt = tmp_path / "tiny.pth.tar"
    torch.save({"net": build_ostrack(merge_config(get_defaults(), tiny), training=False).state_dict()}, ckpt)
    namespace = runpy.run_path(str(PROJECT_ROOT / "tracking" / "video_demo.py"), run_name="cli")
    out = tmp_path / "tracked.avi"
    code = namespace["main"](["ostrack", str(cfg_path), str(clip), "--init_bbox", "20,24,16,16", "--output", str(out),
                              "--checkpoint", str(ckpt), "--device", "cpu", "--save_results", "--save_dir",
                              str(tmp_path / "out")])
    assert code == 0 and frame_count(out) == N_FRAMES
    saved = tmp_path / "out" / "test" / "tracking_results" / "ostrack" / "tiny" / "video_clip.txt"
    rows = saved.read_text().splitlines()
    assert len(rows) == N_FRAMES and rows[0] == "20\t24\t16\t16"
    with pytest.raises(namespace["BoxArgumentError"]):
        namespace["parse_box"]("1,2,3")
