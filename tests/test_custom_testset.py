"""Custom test sets: a folder of sequences (frames + groundtruth.txt, optional absence.label) run by test.py and
scored by analysis_results.py with ``--dataset custom --data_dir PATH`` or the ``custom_dir`` setting."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from lib.test.evaluation.customdataset import CustomTestDataset, load_test_sequences, path_overrides
from lib.utils.environment import env_settings
from lib.utils.errors import DatasetNotFoundError, OSTrackError
from script_loader import load_tracking_script


def write_custom_set(root: Path, names=("cars", "dogs"), frames: int = 5, size=(64, 48), seed: int = 0,
                     subfolder: str = "", pattern: str = "{:04d}.jpg") -> Path:
    """Sequence folders with noise frames and a box moving 2 px per frame; returns root."""
    rng = np.random.default_rng(seed)
    for name in names:
        folder = root / name / subfolder
        folder.mkdir(parents=True)
        for i in range(frames):
            cv2.imwrite(str(folder / pattern.format(i + 1)), rng.integers(0, 255, (size[1], size[0], 3), np.uint8))
        gt = [[10 + 2 * i, 8 + i, 16, 12] for i in range(frames)]
        (root / name / "groundtruth.txt").write_text("".join(",".join(map(str, b)) + "\n" for b in gt))
    return root


def test_layout_natural_order_img_subfolder_and_missing_boxes_stay_aligned(tmp_path, caplog):
    root = tmp_path / "set"
    write_custom_set(root, names=("a",), frames=12, pattern="frame{}.png")  # frame2 must sort before frame10
    write_custom_set(root, names=("b",), frames=4, subfolder="img")
    (root / "notes").mkdir()  # a folder without groundtruth.txt is skipped, not an error
    # an empty and a non-numeric line are frames without a box: later boxes keep their frames
    (root / "a" / "groundtruth.txt").write_text("10,8,16,12\n12,9,16,12\n\nNaN,NaN,NaN,NaN\n" +
                                                "".join(f"{10 + 2 * i},{8 + i},16,12\n" for i in range(4, 12)))
    (root / "a" / "absence.label").write_text("0\n0\n0\n0\n1\n" + "0\n" * 7)
    with caplog.at_level(logging.WARNING):
        dataset = CustomTestDataset(root)
    assert dataset.sequence_names() == ["a", "b"] and "notes" in caplog.text
    seq_a, seq_b = dataset.get_sequence_list()
    assert [Path(f).name for f in seq_a.frames[:3]] == ["frame1.png", "frame2.png", "frame3.png"]
    assert Path(seq_a.frames[9]).name == "frame10.png" and len(seq_a.frames) == 12
    assert seq_a.ground_truth_rect[11].tolist() == [32, 19, 16, 12]  # not shifted by the two missing lines
    assert seq_a.ground_truth_rect[2].tolist() == [0, 0, 0, 0]
    assert seq_a.target_visible.tolist() == [True, True, False, False, False] + [True] * 7
    assert all(Path(f).parent.name == "img" for f in seq_b.frames) and len(seq_b.frames) == 4
    assert seq_a.dataset == "custom"


def test_count_mismatch_is_trimmed_once_with_a_warning(tmp_path, caplog):
    root = write_custom_set(tmp_path / "set", names=("a",), frames=6)
    (root / "a" / "groundtruth.txt").write_text("10,8,16,12\n" * 4)
    with caplog.at_level(logging.WARNING):
        (seq,) = CustomTestDataset(root).get_sequence_list()
    assert len(seq.frames) == 4 and len(seq.ground_truth_rect) == 4
    assert caplog.text.count("6 frames but 4 ground-truth lines") == 1


def test_bad_test_sets_are_clear_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist.*custom_dir"):
        CustomTestDataset(tmp_path / "nowhere")
    (tmp_path / "empty" / "x").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="no sequence folder with a groundtruth.txt"):
        CustomTestDataset(tmp_path / "empty")
    root = write_custom_set(tmp_path / "set", names=("a",))
    (root / "a" / "groundtruth.txt").write_text("\n1,1,5,5\n")
    with pytest.raises(OSTrackError, match="first line .* must be the x,y,w,h box"):
        CustomTestDataset(root).get_sequence_list()
    with pytest.raises(OSTrackError, match="cannot be combined with other datasets"):
        path_overrides(["custom", "otb"], None, str(root))


def test_custom_dir_from_the_settings_file(tmp_path, monkeypatch):
    root = write_custom_set(tmp_path / "my_set")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"custom_dir: {root}\n")
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))
    sequences = load_test_sequences(["custom"], env_settings())
    assert sequences.names() == ["cars", "dogs"]


def test_test_py_and_analysis_on_a_custom_set_with_a_missing_frame(tmp_path, capsys):
    root = write_custom_set(tmp_path / "set", names=("cars", "dogs", "gaps"), frames=6)
    (root / "gaps" / "0004.jpg").unlink()  # frame 4 missing: that sequence fails by name, the others finish
    save = str(tmp_path / "out")
    test_py = load_tracking_script("test")
    args = ["first_box", "default", "--dataset", "custom", "--data_dir", str(root), "--save_dir", save,
            "--no_progress"]
    assert test_py.main(args) == 1
    out = capsys.readouterr().out
    assert "2 done" in out and "FAILED first_box/default on gaps" in out and "missing frame number 4" in out
    results = tmp_path / "out" / "test" / "tracking_results" / "first_box" / "default"
    boxes = np.loadtxt(results / "cars.txt", delimiter="\t")
    assert boxes.shape == (6, 4) and (boxes == [10, 8, 16, 12]).all()
    assert not (results / "gaps.txt").exists()

    analysis = load_tracking_script("analysis_results")
    (root / "gaps").rename(tmp_path / "gaps")  # score the two finished sequences
    assert analysis.main(["--dataset", "custom", "--data_dir", str(root), "--tracker", "first_box", "--param",
                          "default", "--save_dir", save, "--plots"]) == 0
    table = capsys.readouterr().out
    assert "first_box/default" in table and "2 / 2 sequences" in table
