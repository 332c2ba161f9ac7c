"""Annotations stay aligned with frames: a bad line is a missing box at its frame (never dropped), count mismatches
are reported once per sequence and trimmed or skipped, and a missing or corrupt evaluation frame fails only its
sequence, naming it and the frame."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.got10kdataset import SyntheticDataset
from lib.test.evaluation.lasotdataset import LaSOTDataset
from lib.test.evaluation.results import box_file
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import FrameReadError, Tracker, track_sequence
from lib.test.tracker.basetracker import BaseTracker
from lib.test.utils.load_text import TextFileError, load_ground_truth
from lib.test.utils.params import TrackerParams
from lib.train.dataset.base_video_dataset import AnnotationError, parse_boxes, parse_labels
from lib.train.dataset.custom import CustomDataset
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.imagenetvid import ImagenetVID
from lib.train.dataset.lasot import Lasot
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.train.dataset.trackingnet import TrackingNet

FRAMES = 12


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """Pristine synthetic datasets in the GOT-10k, LaSOT and TrackingNet layouts (copied per test)."""
    root = tmp_path_factory.mktemp("layouts")
    for layout, extra in (("got10k", {"num_val": 2}), ("lasot", {}), ("trackingnet", {"train_chunks": 1})):
        generate_dataset(root / layout, layout=layout, num_train=2, num_test=0, frames=FRAMES, size=(64, 48),
                         workers=1, seed=5, **{"num_val": 0, **extra})
    return root


@pytest.fixture
def data(layouts, tmp_path):
    shutil.copytree(layouts, tmp_path / "data")
    return tmp_path / "data"


def warnings_about(caplog, text):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and text in r.getMessage()]


def test_a_bad_groundtruth_line_is_a_missing_box_at_its_frame(caplog):
    text = "1,2,3,4\n\n5,6,7,8\nabc,def,1,2\n9,10,11\n13;14;15;16\n\n\n"  # trailing blank lines are not frames
    with caplog.at_level(logging.WARNING):
        boxes = parse_boxes(text, "seq/groundtruth.txt")
    assert boxes.shape == (6, 4)
    assert np.isnan(boxes[[1, 3, 4]]).all()
    assert boxes[[0, 2, 5]].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [13, 14, 15, 16]]
    assert warnings_about(caplog, "seq/groundtruth.txt: 3 line(s)") and "line 2, 4, 5" in caplog.text
    with pytest.raises(AnnotationError, match="empty.txt is empty"):
        parse_boxes("\n\n", "empty.txt")
    # one flag per line: a blank line is a missing flag (-1, not visible) at its frame; one comma-separated line works
    assert parse_labels("0\n\n1\n0\n").tolist() == [0, -1, 1, 0]
    assert parse_labels("0,0,1,0").tolist() == [0, 0, 1, 0]


def test_evaluation_ground_truth_keeps_line_positions(tmp_path, caplog):
    path = tmp_path / "groundtruth.txt"
    path.write_text("1,2,3,4\n\n5\t6\t7\t8\nNaN,NaN,NaN,NaN\nx y z w\n")
    with caplog.at_level(logging.WARNING):
        gt = load_ground_truth(path)
    assert gt.shape == (5, 4) and gt[2].tolist() == [5, 6, 7, 8]
    assert np.isnan(gt[[1, 3, 4]]).all()
    assert warnings_about(caplog, "2 line(s) are empty or do not hold four numbers") and "line 2, 5" in caplog.text
    path.write_text("frame,x,y,w,h\n")
    with pytest.raises(TextFileError, match="groundtruth.txt: no line holds four numbers"):
        load_ground_truth(path)


def test_got10k_blank_line_keeps_later_boxes_on_their_frames(data):
    seq = data / "got10k" / "train" / "GOT-10k_Train_000001"
    rows = (seq / "groundtruth.txt").read_text().splitlines()
    (seq / "groundtruth.txt").write_text("\n".join(rows[:3] + [""] + rows[4:]) + "\n")  # frame 4 lost its box
    info = Got10k(data / "got10k" / "train").get_sequence_info(0)
    expected = np.array([[float(v) for v in r.split(",")] for r in rows], dtype=np.float32)
    assert info["bbox"].shape == (FRAMES, 4) and not info["valid"][3] and not info["visible"][3]
    assert np.array_equal(info["bbox"][4:].numpy(), expected[4:])


@pytest.mark.parametrize("case", ["fewer_boxes", "fewer_frames", "fewer_flags"])
def test_got10k_count_mismatch_is_reported_once_and_trimmed(data, caplog, case):
    seq = data / "got10k" / "train" / "GOT-10k_Train_000002"
    if case == "fewer_boxes":
        rows = (seq / "groundtruth.txt").read_text().splitlines()
        (seq / "groundtruth.txt").write_text("\n".join(rows[:9]) + "\n")
    elif case == "fewer_frames":
        for k in (11, 12):
            (seq / f"{k:08d}.jpg").unlink()
    else:
        (seq / "cover.label").write_text("".join("8\n" for _ in range(7)))
    ds = Got10k(data / "got10k" / "train")
    with caplog.at_level(logging.WARNING):
        info = ds.get_sequence_info(1)
        ds._info_cache.clear()
        ds.get_sequence_info(1)
    n = {"fewer_boxes": 9, "fewer_frames": 10, "fewer_flags": 7}[case]
    assert all(len(v) == n for v in (info["bbox"], info["valid"], info["visible"], info["visible_ratio"]))
    messages = warnings_about(caplog, "GOT-10k_Train_000002")
    assert len(messages) == 1 and f"using its first {n} frames" in messages[0] and "groundtruth.txt" in messages[0]
    assert ds.misaligned == {"GOT-10k_Train_000002"}
    assert len(ds.get_sequence_info(0)["bbox"]) == FRAMES and not warnings_about(caplog, "GOT-10k_Train_000001")


def test_a_sequence_without_frames_is_skipped_with_its_name(data):
    seq = data / "got10k" / "train" / "GOT-10k_Train_000001"
    for f in seq.glob("*.jpg"):
        f.unlink()
    with pytest.raises(AnnotationError, match="GOT-10k_Train_000001: no usable frame .0 frames, 12 boxes"):
        Got10k(data / "got10k" / "train").get_sequence_info(0)


def test_a_frame_missing_inside_a_sequence_does_not_shift_boxes(data):
    seq = data / "got10k" / "train" / "GOT-10k_Train_000001"
    (seq / "00000005.jpg").unlink()
    ds = Got10k(data / "got10k" / "train")
    assert len(ds.get_sequence_info(0)["bbox"]) == FRAMES and not ds.misaligned  # frames are read by number
    with pytest.raises(FileNotFoundError, match="00000005.jpg"):
        ds.get_frames(0, [4])


def test_lasot_and_trackingnet_mismatches_are_trimmed(data, caplog):
    lasot_root = data / "lasot"
    cls = sorted(p for p in lasot_root.iterdir())[0]
    seq = sorted(cls.iterdir())[0]
    (seq / "full_occlusion.txt").write_text(",".join(["0"] * 8))
    lasot = Lasot(lasot_root, split=None)
    seq_id = lasot.sequence_list.index(seq.name)
    with caplog.at_level(logging.WARNING):
        assert len(lasot.get_sequence_info(seq_id)["visible"]) == 8
    assert warnings_about(caplog, f"{seq.name}: 12 frames, 12 boxes, 8 occlusion flags")

    chunk = data / "trackingnet" / "TRAIN_0"
    video = sorted(chunk.glob("anno/*.txt"))[0].stem
    (chunk / "frames" / video / f"{FRAMES - 1}.jpg").unlink()
    tn = TrackingNet(data / "trackingnet", set_ids=[0])
    seq_id = [v for _, v in tn.sequence_list].index(video)
    with caplog.at_level(logging.WARNING):
        assert len(tn.get_sequence_info(seq_id)["bbox"]) == FRAMES - 1
    assert warnings_about(caplog, f"TRAIN_0/{video}: 11 frames, 12 boxes")


def test_vid_track_longer_than_its_frames_is_trimmed(tmp_path, caplog):
    video = tmp_path / "vid" / "Data/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000001"
    video.mkdir(parents=True)
    for k in range(2, 6):  # frames 2..5 exist; the track starts at frame 2 and claims 6 boxes
        (video / f"{k:06d}.JPEG").write_bytes(b"")
    track = {"set_id": 0, "vid_id": 1, "class_name": "n01", "start_frame": 2, "anno": [[1, 1, 10, 10]] * 6,
             "target_visible": [True] * 6, "image_size": [100, 100]}
    (tmp_path / "vid" / "cache.json").write_text(json.dumps([track]))
    with caplog.at_level(logging.WARNING):
        info = ImagenetVID(tmp_path / "vid").get_sequence_info(0)
    assert len(info["bbox"]) == 4 and warnings_about(caplog, "4 frames, 6 boxes, 6 visibility flags")


def test_custom_dataset_matches_boxes_to_frame_numbers(tmp_path, caplog):
    seq = tmp_path / "custom" / "walk"
    seq.mkdir(parents=True)
    for k in (1, 2, 3, 5, 6):  # frame4.jpg is missing
        (seq / f"frame{k}.jpg").write_bytes(b"")
    (seq / "groundtruth.txt").write_text("".join(f"{k},1,10,10\n" for k in range(1, 8)))  # 7 boxes for 6 frames
    ds = CustomDataset(tmp_path / "custom")
    with caplog.at_level(logging.WARNING):
        info = ds.get_sequence_info(0)
    assert len(info["bbox"]) == 6 and warnings_about(caplog, "walk: 6 frames, 7 boxes")
    keys = ds._frame_keys(0)
    assert keys[4] == "walk/frame5.jpg" and info["bbox"][4, 0] == 5  # box 5 still goes with frame5.jpg
    with pytest.raises(FileNotFoundError, match="walk: frame 3"):
        ds.get_frames(0, [3])


class CountingTracker(BaseTracker):
    """Stub tracker: repeats the first box."""

    def __init__(self, params, device="cpu"):
        super().__init__(params)

    def initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def track(self, image, info=None):
        return {"target_bbox": self.box}


def test_a_missing_evaluation_frame_keeps_its_place_and_fails_its_sequence(data, tmp_path):
    val = data / "got10k" / "val"
    (val / "GOT-10k_Val_000001" / "00000006.jpg").unlink()
    sequences = SyntheticDataset(data / "got10k", "val").get_sequence_list()
    first = sequences[0]
    assert len(first.frames) == FRAMES and first.frames[5].endswith("00000006.jpg")  # not shifted to frame 7
    with pytest.raises(FrameReadError, match="sequence GOT-10k_Val_000001, frame 5 of 12: .*00000006.jpg"):
        track_sequence(CountingTracker(TrackerParams()), first)
    tracker = Tracker("ostrack", "stub", env_overrides={"save_dir": tmp_path / "out"},
                      tracker_class=CountingTracker, params=TrackerParams())
    summary = run_dataset(sequences, [tracker], progress=False)
    assert summary.count("done") == 1 and [o.sequence for o in summary.failed] == ["GOT-10k_Val_000001"]
    assert "frame 5 of 12" in summary.failed[0].error
    assert box_file(tracker.result_base(sequences[1])).is_file()


def test_a_corrupt_or_truncated_evaluation_frame_fails_with_its_name(data):
    seq = SyntheticDataset(data / "got10k", "val").get_sequence_list()[1]
    frame = seq.frames[3]
    original = open(frame, "rb").read()
    with open(frame, "wb") as f:
        f.write(original[: len(original) // 2])  # cut short: OpenCV alone would decode it with grey pixels
    with pytest.raises(FrameReadError, match="frame 3 of 12: .*truncated JPEG"):
        track_sequence(CountingTracker(TrackerParams()), seq)
    with open(frame, "wb") as f:
        f.write(b"\x00" * 100)
    with pytest.raises(FrameReadError, match="frame 3 of 12: .*not an image"):
        track_sequence(CountingTracker(TrackerParams()), seq)


def test_evaluation_count_mismatch_is_trimmed_and_reported(data, caplog):
    seq_dir = data / "got10k" / "val" / "GOT-10k_Val_000002"
    for k in (11, 12):
        (seq_dir / f"{k:08d}.jpg").unlink()
    with caplog.at_level(logging.WARNING):
        seq = SyntheticDataset(data / "got10k", "val").get_sequence_list()[1]
    assert seq.trimmed == {"frames": 10, "boxes": 12, "cover flags": 12}
    assert len(seq.frames) == len(seq.ground_truth_rect) == len(seq.cover) == 10
    assert warnings_about(caplog, "GOT-10k_Val_000002 (synthetic): 10 frames, 12 boxes")

    lasot_seq = sorted((data / "lasot").glob("*/*"))[0]
    (lasot_seq / "out_of_view.txt").write_text(",".join(["0"] * 9))
    got = LaSOTDataset(data / "lasot", names=[lasot_seq.name]).get_sequence_list()[0]
    assert got.trimmed == {"frames": 12, "boxes": 12, "target visible flags": 9} and len(got.frames) == 9
    # a test split (first box only) is not a mismatch
    assert Sequence("t", ["a.jpg", "b.jpg", "c.jpg"], "got10k", np.ones((1, 4))).trimmed is None


def test_a_missing_first_box_fails_its_sequence_not_the_dataset(data):
    gt = data / "got10k" / "val" / "GOT-10k_Val_000001" / "groundtruth.txt"
    rows = gt.read_text().splitlines()
    gt.write_text("\n".join([""] + rows[1:]) + "\n")
    sequences = SyntheticDataset(data / "got10k", "val").get_sequence_list()  # the dataset still loads
    with pytest.raises(FrameReadError, match="sequence GOT-10k_Val_000001: the initial box .* is not a box"):
        track_sequence(CountingTracker(TrackerParams()), sequences[0])
    assert len(track_sequence(CountingTracker(TrackerParams()), sequences[1])["target_bbox"]) == FRAMES
