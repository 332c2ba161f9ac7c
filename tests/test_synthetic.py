"""The synthetic dataset generator: on-disk layouts read back with plain file reads, exact ground truth, label
consistency, determinism and the command-line errors."""

import dataclasses
import logging
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lib.train.dataset.synthetic_generator import (MARKER_FILE, SyntheticConfig, SyntheticDatasetError,
                                                   ensure_synthetic_dataset, generate_dataset, sequence_ground_truth)
from lib.train.dataset.synthetic_render import annotate_sequence, plan_sequence, render_sequence

W, H, FRAMES = 160, 96, 12
CFG = SyntheticConfig(exit_prob=1.0, occlusion_prob=1.0)
SCRIPT = Path(__file__).resolve().parents[1] / "tracking" / "make_synthetic_dataset.py"


def _read_boxes(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in path.read_text().splitlines()]).reshape(-1, 4)


def _read_labels(path: Path) -> np.ndarray:
    return np.array([int(line) for line in path.read_text().splitlines()])


def _read_row(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    return np.array([int(v) for v in lines[0].split(",")])


def _check_frames(paths: list[Path]) -> None:
    assert len(paths) == FRAMES
    for p in paths[:: FRAMES - 1]:
        image = cv2.imread(str(p))
        assert image is not None and image.shape == (H, W, 3)


@pytest.fixture(scope="module")
def got10k(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn") / "got10k"
    # objects that always leave the frame once, so the files hold out-of-view and cut frames to check
    summary = generate_dataset(root, layout="got10k", num_train=3, num_val=1, num_test=1, frames=FRAMES,
                               size=(W, H), seed=3, workers=1, config=CFG, return_annotations=True)
    return root, summary


def test_got10k_layout_and_ground_truth(got10k):
    root, summary = got10k
    assert (root / MARKER_FILE).is_file()
    seen_out = 0
    for split, n, prefix in (("train", 3, "GOT-10k_Train_"), ("val", 1, "GOT-10k_Val_"), ("test", 1, "GOT-10k_Test_")):
        names = (root / split / "list.txt").read_text().splitlines()
        assert names == [f"{prefix}{i:06d}" for i in range(1, n + 1)]
        for i, name in enumerate(names, 1):
            seq = root / split / name
            _check_frames(sorted(seq.glob("*.jpg")))
            assert (seq / f"{FRAMES:08d}.jpg").is_file() and (seq / "00000001.jpg").is_file()
            truth = sequence_ground_truth(3, split, i, FRAMES, (W, H), CFG)
            np.testing.assert_array_equal(truth.boxes_xywh, summary["annotations"][f"{split}/{name}"].boxes_xywh)
            boxes = _read_boxes(seq / "groundtruth.txt")
            if split == "test":  # only the first box, and no label files, as in GOT-10k's test split
                np.testing.assert_array_equal(boxes, truth.boxes_xywh[:1])
                assert not (seq / "absence.label").exists()
                continue
            out = truth.out_of_view == 1  # GOT-10k writes -1,-1,-1,-1 for an object outside the image
            np.testing.assert_array_equal(boxes[~out], truth.boxes_xywh[~out])
            assert (boxes[out] == -1).all() and (truth.boxes_xywh[out] == 0).all()
            seen_out += out.sum()
            absence, cover = _read_labels(seq / "absence.label"), _read_labels(seq / "cover.label")
            cut = _read_labels(seq / "cut_by_image.label")
            np.testing.assert_array_equal(absence, truth.absent)
            np.testing.assert_array_equal(cover, truth.cover)
            np.testing.assert_array_equal(cut, truth.cut_by_image)
            assert len(absence) == len(cover) == len(cut) == FRAMES
            assert ((absence == 1) == (cover == 0)).all() and cover.max() <= 8
            assert absence[0] == 0 and cover[0] == 8 and cut[0] == 0  # the first frame shows the whole object
            x, y, w, h = boxes[~out].T
            assert ((x >= 0) & (y >= 0) & (w > 0) & (h > 0) & (x + w <= W) & (y + h <= H)).all()
            touches = (x == 0) | (y == 0) | (x + w == W) | (y + h == H)
            assert (~(cut[~out] == 1) | touches).all()  # a cut object's box reaches the image border
            assert (cover[cut == 1] < 8).all() and (absence[out] == 1).all() and (cut[out] == 1).all()
    assert seen_out > 0


def test_got10k_meta_info_lines(got10k):
    root, _ = got10k
    lines = (root / "train" / "GOT-10k_Train_000001" / "meta_info.ini").read_text().splitlines()
    assert lines[0] == "[METAINFO]"
    # the original loader reads lines 6-10 (1-based) by position
    keys = [line.split(": ")[0] for line in lines[5:10]]
    assert keys == ["object_class", "motion_class", "major_class", "root_class", "motion_adverb"]
    assert all(line.split(": ")[1] for line in lines[5:10])


def test_lasot_layout(tmp_path):
    root = tmp_path / "lasot"
    summary = generate_dataset(root, layout="lasot", num_train=2, num_val=1, num_test=0, frames=FRAMES, size=(W, H),
                               seed=1, workers=1, return_annotations=True)
    rels = summary["sequences"]["all"]
    assert len(rels) == 3 and not (root / MARKER_FILE).exists()
    assert all(p.is_dir() for p in root.iterdir())  # the LaSOT loader treats every entry of the root as a class
    for index, rel in enumerate(rels, 1):
        cls, name = rel.split("/")
        assert name == f"{cls}-{index}"
        seq = root / rel
        _check_frames(sorted((seq / "img").glob("*.jpg")))
        truth = sequence_ground_truth(1, "train", index, FRAMES, (W, H))
        np.testing.assert_array_equal(_read_boxes(seq / "groundtruth.txt"), truth.boxes_xywh)
        out_of_view, occlusion = _read_row(seq / "out_of_view.txt"), _read_row(seq / "full_occlusion.txt")
        np.testing.assert_array_equal(out_of_view, truth.out_of_view)
        np.testing.assert_array_equal(occlusion, truth.full_occlusion)
        assert ((out_of_view == 1) == (truth.boxes_xywh[:, 2] == 0)).all()
        assert (seq / "nlp.txt").read_text().strip()


def test_trackingnet_layout(tmp_path):
    root = tmp_path / "tn"
    generate_dataset(root, layout="trackingnet", num_train=3, num_val=5, num_test=1, frames=FRAMES, size=(W, H),
                     seed=2, workers=1)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["TEST", "TRAIN_0", "TRAIN_1"]
    videos = sorted(p.stem for chunk in ("TRAIN_0", "TRAIN_1") for p in (root / chunk / "anno").glob("*.txt"))
    assert len(videos) == 3
    for chunk in ("TRAIN_0", "TRAIN_1"):
        for anno in (root / chunk / "anno").glob("*.txt"):
            index = int(anno.stem.rsplit("_", 1)[1])
            frames = root / chunk / "frames" / anno.stem
            assert sorted(int(p.stem) for p in frames.glob("*.jpg")) == list(range(FRAMES))  # 0-based, no padding
            _check_frames(sorted(frames.glob("*.jpg")))
            truth = sequence_ground_truth(2, "train", index, FRAMES, (W, H))
            np.testing.assert_array_equal(_read_boxes(anno), truth.boxes_xywh)
    test_anno = root / "TEST" / "anno" / "synthetic_test_00001.txt"
    np.testing.assert_array_equal(_read_boxes(test_anno), sequence_ground_truth(2, "test", 1, FRAMES, (W, H))
                                  .boxes_xywh[:1])
    assert len(list((root / "TEST" / "frames" / "synthetic_test_00001").glob("*.jpg"))) == FRAMES


def test_same_seed_same_bytes_any_worker_count(tmp_path, got10k):
    root_a, _ = got10k
    root_b = tmp_path / "b"
    generate_dataset(root_b, layout="got10k", num_train=3, num_val=1, num_test=1, frames=FRAMES, size=(W, H), seed=3,
                     workers=2, config=CFG)
    for split in ("train", "val", "test"):
        for seq in (root_a / split).iterdir():
            if seq.is_dir():
                for f in seq.iterdir():
                    assert f.read_bytes() == (root_b / split / seq.name / f.name).read_bytes(), f
    other = sequence_ground_truth(4, "train", 1, FRAMES, (W, H), CFG)
    assert not np.array_equal(other.boxes_xywh, sequence_ground_truth(3, "train", 1, FRAMES, (W, H), CFG).boxes_xywh)


def test_box_is_the_rendered_object_extent():
    # render each frame with and without the object: the changed pixels must be the ground-truth box
    cfg = SyntheticConfig(exit_prob=1.0, occlusion_prob=0.0)
    for index in (1, 2):
        plan = plan_sequence(7, "train", index, 30, W, H, cfg)
        empty = dataclasses.replace(plan, target=dataclasses.replace(plan.target, alpha=plan.target.alpha * 0))
        rendered = list(render_sequence(plan))
        truth = annotate_sequence(plan, [t for _, t in rendered])
        assert truth.out_of_view.any() and not truth.out_of_view.all()
        for (frame, _), (background, _), box in zip(rendered, render_sequence(empty), truth.boxes_xywh):
            changed = np.abs(frame.astype(int) - background.astype(int)).max(axis=2) > 0
            if box[2] == 0:  # out of view: at most the feathered rim shows at the image border
                assert not changed[2:-2, 2:-2].any()
                continue
            ys, xs = np.nonzero(changed)
            x, y, w, h = box
            # the feathered rim (mask < 0.5) may reach a pixel or two beyond the box, never further
            assert x - 2 <= xs.min() <= x and x + w - 1 <= xs.max() <= x + w + 1
            assert y - 2 <= ys.min() <= y and y + h - 1 <= ys.max() <= y + h + 1


def test_objects_leave_get_occluded_and_move():
    cfg = SyntheticConfig(exit_prob=1.0, occlusion_prob=1.0)
    truths = [sequence_ground_truth(0, "train", i, 60, (320, 180), cfg) for i in range(1, 5)]
    assert all(t.absent.any() for t in truths)  # every object leaves the frame once ...
    assert all((t.absent[-1] == 0) or t.absent[:-1].any() for t in truths)
    assert any(((t.cover > 0) & (t.cover < 8) & (t.cut_by_image == 0)).any() for t in truths)  # ... occluded
    # default motion: repeating the first box must score poorly, yet frame-to-frame motion stays moderate
    ious, jumps = [], []
    for i in range(1, 7):
        t = sequence_ground_truth(0, "val", i, 100, (640, 360))
        b = t.boxes_xywh.astype(float)
        valid = b[:, 2] > 0
        x0, y0 = np.maximum(b[0, 0], b[:, 0]), np.maximum(b[0, 1], b[:, 1])
        x1 = np.minimum(b[0, 0] + b[0, 2], b[:, 0] + b[:, 2])
        y1 = np.minimum(b[0, 1] + b[0, 3], b[:, 1] + b[:, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        ious.extend((inter / (b[0, 2] * b[0, 3] + b[:, 2] * b[:, 3] - inter))[valid])
        both = valid[1:] & valid[:-1] & (t.cut_by_image[1:] == 0) & (t.cut_by_image[:-1] == 0)
        centers = b[:, :2] + b[:, 2:] / 2
        size = np.sqrt(b[:, 2] * b[:, 3])
        jumps.extend(np.linalg.norm(np.diff(centers, axis=0), axis=1)[both] / size[1:][both])
    assert np.mean(ious) < 0.5
    assert np.max(jumps) < 0.5 and np.percentile(jumps, 95) < 0.25


def test_ensure_generates_once(tmp_path, caplog):
    root = tmp_path / "ens"
    stale = tmp_path / ".ens.partial-999999999"  # left by a killed run whose process is gone
    stale.mkdir()
    kwargs = dict(num_train=1, num_val=0, num_test=0, frames=3, size=(64, 48), workers=1)
    with caplog.at_level(logging.INFO):
        ensure_synthetic_dataset(root, **kwargs)
    assert "generating" in caplog.text and not stale.exists()
    stamp = (root / "train" / "list.txt").stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert ensure_synthetic_dataset(root, **kwargs) == root.resolve()
    assert "generating" not in caplog.text and (root / "train" / "list.txt").stat().st_mtime_ns == stamp
    with caplog.at_level(logging.INFO):
        ensure_synthetic_dataset(root, **{**kwargs, "frames": 4})
    assert "frames: 3 on disk, 4 asked" in caplog.text
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(SyntheticDatasetError, match="no complete synthetic dataset"):
        ensure_synthetic_dataset(foreign, **kwargs)
    with pytest.raises(SyntheticDatasetError, match="refusing to overwrite"):
        generate_dataset(foreign, overwrite=True, **kwargs)
    generate_dataset(root, overwrite=True, seed=5, **kwargs)  # a generated dataset may be replaced
    assert (foreign / "notes.txt").read_text() == "mine"


def _run_cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    return exit_info.value.code, capsys.readouterr()


@pytest.mark.parametrize("case", ["layout", "file", "occupied", "frames"])
def test_cli_errors_are_one_message(tmp_path, monkeypatch, capsys, case):
    target = tmp_path / "out"
    if case == "layout":
        args, expected = ["--output", str(target), "--layout", "vot"], "invalid choice: 'vot'"
    elif case == "file":
        target.write_text("x")
        args, expected = ["--output", str(target)], "is a file"
    elif case == "occupied":
        target.mkdir()
        (target / "a.txt").write_text("x")
        args, expected = ["--output", str(target)], "not empty"
    else:
        args, expected = ["--output", str(target), "--frames", "1"], "at least 2"
    code, out = _run_cli(monkeypatch, capsys, *args)
    assert code == 2 and expected in out.err and "Traceback" not in out.err


def test_cli_writes_dataset(tmp_path, monkeypatch, capsys):
    target = tmp_path / "cli"
    code, out = _run_cli(monkeypatch, capsys, "--output", str(target), "--num_train", "1", "--num_val", "1",
                         "--num_test", "0", "--frames", "3", "--width", "64", "--height", "48", "--workers", "1")
    assert code == 0 and "train: 1 sequences" in out.out
    assert (target / "val" / "list.txt").read_text().splitlines() == ["GOT-10k_Val_000001"]
