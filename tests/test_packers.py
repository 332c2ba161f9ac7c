"""Submission packers: exact server zip layouts, lossless values, validation, raw results kept."""

from __future__ import annotations

import zipfile

import pytest

from lib.test.evaluation.results import dataset_results_dir, tracker_results_dir
from lib.test.utils import transform_got10k, transform_trackingnet
from lib.test.utils.packing import ExpectedSequences, SubmissionError, pack_got10k, pack_trackingnet
from lib.utils.environment import env_settings


def fill(folder, names, rows=3, times=True, value="10\t20\t30.5\t40"):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.txt").write_text("".join(f"{value}\n" for _ in range(rows)))
        if times:
            (folder / f"{name}_time.txt").write_text("".join("0.012345\n" for _ in range(rows)))


def test_got10k_zip_layout_is_exact_and_lossless(tmp_path):
    src = tmp_path / "got10k"
    names = ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    fill(src, names)
    (src / "GOT-10k_Test_all_boxes.txt").write_text("skipped\n")  # names with 'all' are not results
    out = pack_got10k(src, tmp_path / "got10k_submit.zip", ExpectedSequences(names=tuple(names),
                                                                              frames={n: 3 for n in names}))
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(
            [f"{n}/" for n in names] + [f"{n}/{n}_001.txt" for n in names] + [f"{n}/{n}_time.txt" for n in names])
        assert zf.read(f"{names[0]}/{names[0]}_001.txt").decode() == "10,20,30.5,40\n" * 3  # no int cast
        assert zf.read(f"{names[0]}/{names[0]}_time.txt").decode() == "0.012345\n" * 3
    assert sorted(p.name for p in src.iterdir()) == sorted(  # raw results kept
        [f"{n}.txt" for n in names] + [f"{n}_time.txt" for n in names] + ["GOT-10k_Test_all_boxes.txt"])


def test_got10k_validation_before_zipping(tmp_path):
    src = tmp_path / "got10k"
    names = ["GOT-10k_Test_000001", "GOT-10k_Test_000002", "GOT-10k_Test_000003"]
    fill(src, names[:2])
    expected = ExpectedSequences(names=tuple(names), frames={n: 3 for n in names})
    zip_path = tmp_path / "s.zip"
    with pytest.raises(SubmissionError, match="1 sequence.*no result: GOT-10k_Test_000003"):
        pack_got10k(src, zip_path, expected)
    assert not zip_path.exists()
    assert pack_got10k(src, zip_path, expected, allow_incomplete=True).is_file()
    (src / f"{names[0]}_time.txt").write_text("0.1\n0.1\n")
    with pytest.raises(SubmissionError, match="3 boxes but 2 times"):
        pack_got10k(src, zip_path, expected, allow_incomplete=True)
    fill(src, names[:1], rows=2)
    with pytest.raises(SubmissionError, match="2 boxes for 3 frames"):
        pack_got10k(src, zip_path, expected, allow_incomplete=True)
    with pytest.raises(SubmissionError, match="found 2 sequences, the got10k test set has 180"):
        pack_got10k(src, zip_path, ExpectedSequences())  # no dataset on disk: the official count


def test_trackingnet_zip_layout(tmp_path):
    src = tmp_path / "trackingnet"
    fill(src, ["video_a", "video_b"], times=True)
    out = pack_trackingnet(src, tmp_path / "tn.zip", ExpectedSequences(names=("video_a", "video_b")))
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["video_a.txt", "video_b.txt"]
        assert zf.read("video_b.txt").decode() == "10,20,30.5,40\n" * 3


def test_packer_scripts_keep_the_original_arguments(tmp_path, capsys):
    save_dir = tmp_path / "out"
    env = env_settings(save_dir=str(save_dir), data_dir=str(tmp_path / "data"))
    results = tracker_results_dir(env.results_path, "ostrack", "cfg")
    # the GOT-10k test set on disk decides what a complete submission is
    test_split = env.got10k_path / "test"
    test_split.mkdir(parents=True)
    (test_split / "list.txt").write_text("GOT-10k_Test_000001\n")
    (test_split / "GOT-10k_Test_000001").mkdir()
    (test_split / "GOT-10k_Test_000001" / "groundtruth.txt").write_text("1,2,3,4\n")
    for i in range(3):
        (test_split / "GOT-10k_Test_000001" / f"{i + 1:08d}.jpg").write_bytes(b"")
    fill(dataset_results_dir(results, "got10k"), ["GOT-10k_Test_000001"])
    args = ["--tracker_name", "ostrack", "--cfg_name", "cfg", "--save_dir", str(save_dir), "--data_dir",
            str(tmp_path / "data")]
    assert transform_got10k.main(args) == 0
    assert zipfile.ZipFile(results / "got10k_submit.zip").namelist() == [
        "GOT-10k_Test_000001/", "GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt",
        "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt"]
    fill(dataset_results_dir(results, "trackingnet"), ["v1"])
    assert transform_trackingnet.main(args + ["--allow_incomplete", "1"]) == 0  # no TrackingNet on disk: count only
    assert zipfile.ZipFile(results / "trackingnet_submit.zip").namelist() == ["v1.txt"]
    assert "raw results kept" in capsys.readouterr().out
