"""Evaluation datasets: each benchmark read from a tiny fixture in its real on-disk layout, and the registry."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from lib.test.evaluation.datasets import UnknownDatasetError, get_dataset, known_datasets, load_dataset
from lib.test.evaluation.lasotdataset import sequence_list_data
from lib.test.utils.load_text import TextFileError, load_boxes, load_text
from lib.utils.environment import env_settings
from lib.utils.errors import DatasetNotFoundError


@pytest.fixture
def env(tmp_path):
    return env_settings(data_dir=str(tmp_path / "data"), save_dir=str(tmp_path / "out"))


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def boxes_text(n, sep=",", row=(1, 2, 30, 40)):
    return "".join(sep.join(str(v) for v in row) + "\n" for _ in range(n))


def test_stored_sequence_lists_match_the_original_benchmarks():
    otb, uav, nfs = (sequence_list_data(n) for n in ("otb", "uav", "nfs"))
    lasot, ext = sequence_list_data("lasot"), sequence_list_data("lasot_extension_subset")
    assert (len(otb), len(uav), len(nfs), len(lasot), len(ext)) == (100, 123, 100, 280, 150)
    assert len({r["name"] for r in otb}) == 100 and len(set(lasot)) == 280 and len(set(ext)) == 150
    # a few facts of the original lists
    assert lasot[:4] == ("airplane-1", "airplane-9", "airplane-13", "airplane-15") and lasot[-1] == "volleyball-19"
    assert len({name.rsplit("-", 1)[0] for name in lasot}) == 70
    tiger1 = next(r for r in otb if r["name"] == "Tiger1")
    assert tiger1["initOmit"] == 5
    board = next(r for r in otb if r["name"] == "Board")
    assert board["nz"] == 5
    bird1_2 = next(r for r in uav if r["name"] == "uav_bird1_2")
    assert (bird1_2["startFrame"], bird1_2["endFrame"], bird1_2["path"]) == (775, 1477, "data_seq/UAV123/bird1")
    assert ext[20:22] == ("cosplay-1", "cosplay-10")


def test_otb_reads_the_listed_frame_ranges(env):
    root = env.otb_path
    for rec in sequence_list_data("otb"):
        n = rec["endFrame"] - rec["startFrame"] + 1
        # OTB annotation files use commas or whitespace; the Bolt file here uses tabs
        write(root / rec["anno_path"], boxes_text(n, sep="\t" if rec["name"] == "Bolt" else ","))
    seqs = get_dataset("otb", env=env)
    assert len(seqs) == 100 and {s.dataset for s in seqs} == {"otb"}
    assert all(len(s.frames) == len(s.ground_truth_rect) for s in seqs)
    tiger = seqs["Tiger1"]
    assert tiger.frames[0] == str(root / "Tiger1/img/0006.jpg") and len(tiger.frames) == 349
    assert seqs["Board"].frames[0].endswith("Board/img/00001.jpg")
    assert seqs["Jogging_2"].frames[0] == str(root / "Jogging/img/0001.jpg")
    assert seqs["BlurCar1"].frames[0].endswith("0247.jpg")
    assert seqs["Bolt"].init_info() == {"init_bbox": [1.0, 2.0, 30.0, 40.0]}


def test_uav_keeps_nan_annotations_and_nfs_reads_tabs(env):
    for rec in sequence_list_data("uav"):
        n = rec["endFrame"] - rec["startFrame"] + 1
        write(env.uav_path / rec["anno_path"], boxes_text(n - 1) + "NaN,NaN,NaN,NaN\n")
    seqs = get_dataset("uav", env=env)
    assert len(seqs) == 123
    seq = seqs["uav_bird1_2"]
    assert seq.frames[0] == str(env.uav_path / "data_seq/UAV123/bird1/000775.jpg")
    assert np.isnan(seq.ground_truth_rect[-1]).all() and len(seq.frames) == len(seq.ground_truth_rect)
    for rec in sequence_list_data("nfs"):
        write(env.nfs_path / rec["anno_path"], boxes_text(rec["endFrame"], sep="\t"))
    nfs = get_dataset("nfs", env=env)
    assert len(nfs) == 100 and nfs["nfs_bee"].frames[-1].endswith("sequences/bee/00045.jpg")
    assert nfs["nfs_bee"].ground_truth_rect.shape == (45, 4)


def _lasot_like(root, names, n=4):
    for name in names:
        folder = root / name.rsplit("-", 1)[0] / name
        write(folder / "groundtruth.txt", boxes_text(n))
        write(folder / "full_occlusion.txt", ",".join(["0", "1"] + ["0"] * (n - 2)) + "\n")
        write(folder / "out_of_view.txt", ",".join(["0", "0", "1"] + ["0"] * (n - 3)) + "\n")


def test_lasot_and_extension_subset(env):
    _lasot_like(env.lasot_path, sequence_list_data("lasot"))
    seqs = get_dataset("lasot", env=env)
    assert len(seqs) == 280 and seqs[0].name == "airplane-1"
    seq = seqs["rubicCube-6"]
    assert seq.frames[0] == str(env.lasot_path / "rubicCube/rubicCube-6/img/00000001.jpg")
    assert seq.target_visible.tolist() == [True, False, False, True] and seq.object_class == "rubicCube"
    _lasot_like(env.lasot_extension_subset_path, sequence_list_data("lasot_extension_subset"))
    ext = get_dataset("lasot_extension_subset", env=env)
    assert len(ext) == 150 and {s.dataset for s in ext} == {"lasot_extension_subset"}


def test_got10k_splits_sort_frames_numerically_and_read_cover(env, tmp_path):
    root = env.got10k_path
    for split, names in (("test", ["GOT-10k_Test_000001"]), ("val", ["GOT-10k_Val_000001", "GOT-10k_Val_000002"]),
                         ("train", ["GOT-10k_Train_000001", "GOT-10k_Train_000002", "GOT-10k_Train_000003"])):
        write(root / split / "list.txt", "".join(n + "\n" for n in names))
        for name in names:
            for i in (1, 2, 3) if split != "test" else range(1, 11):
                write(root / split / name / f"{i:08d}.jpg" if split != "test" else root / split / name / f"{i}.jpg")
            write(root / split / name / "groundtruth.txt", boxes_text(1 if split == "test" else 3))
            write(root / split / name / "cover.label", "8\n0\n5\n")
            write(root / split / name / "meta_info.ini", "[METAINFO]\nresolution: (1280, 720)\n")
    test = get_dataset("got10k_test", env=env)
    assert [os.path.basename(f) for f in test[0].frames] == [f"{i}.jpg" for i in range(1, 11)]
    assert test[0].ground_truth_rect.shape == (1, 4) and test[0].dataset == "got10k"
    val = get_dataset("got10k_val", env=env)
    assert val.names() == ["GOT-10k_Val_000001", "GOT-10k_Val_000002"]
    assert val[0].cover.tolist() == [8, 0, 5] and val[0].resolution == (1280, 720)
    # ltrval: indices into train/list.txt from the data-spec split file
    spec = tmp_path / "specs" / "got10k_val_split.txt"
    write(spec, "2\n0\n")
    env2 = dataclasses.replace(env, dataspec_path=spec.parent)
    ltrval = get_dataset("got10k_ltrval", env=env2)
    assert ltrval.names() == ["GOT-10k_Train_000003", "GOT-10k_Train_000001"]
    write(spec, "7\n")
    with pytest.raises(DatasetNotFoundError, match="out of range"):
        get_dataset("got10k_ltrval", env=env2)


def test_trackingnet_test_split(env):
    root = env.trackingnet_path / "TEST"
    for name in ("b_video", "a_video"):
        write(root / "anno" / f"{name}.txt", boxes_text(1))
        for i in range(11):
            write(root / "frames" / name / f"{i}.jpg")
    seqs = get_dataset("trackingnet", env=env)
    assert seqs.names() == ["a_video", "b_video"] and seqs[0].dataset == "trackingnet"
    assert [os.path.basename(f) for f in seqs[0].frames] == [f"{i}.jpg" for i in range(11)]


def test_tc128_tnl2k_itb(env):
    for name in ("Ball_ce1", "Bike"):
        folder = env.tc128_path / name
        write(folder / f"{name}_gt.txt", boxes_text(3))
        write(folder / f"{name}_frames.txt", "5,7\n")
    tc = get_dataset("tc128", env=env)
    assert tc.names() == ["Ball_ce1", "Bike"] and tc[1].frames[0] == str(env.tc128_path / "Bike/img/0005.jpg")
    assert get_dataset("tc128ce", env=env).names() == ["Ball_ce1"]
    write(env.tc128_path / "Bike" / "Bike_frames.txt", "5,9\n")
    bike = get_dataset("tc128", env=env)[1]  # a frame range longer than the annotation: reported and trimmed
    assert bike.trimmed == {"frames": 5, "boxes": 3} and len(bike.frames) == 3

    folder = env.tnl2k_path / "seqA"
    write(folder / "groundtruth.txt", boxes_text(2))
    write(folder / "language.txt", "the red car on the left\n")
    for f in ("00002.png", "00001.png"):
        write(folder / "imgs" / f)
    tnl = get_dataset("tnl2k", env=env)
    assert tnl[0].language == "the red car on the left" and tnl[0].frames[0].endswith("00001.png")

    video = env.itb_path / "scene1" / "video7"
    write(video / "groundtruth.txt", boxes_text(3, sep=" "))
    for i in (1, 2, 3):
        write(video / f"{i:05d}.jpg")
    itb = get_dataset("itb", env=env)
    assert itb[0].name == "video7" and itb[0].frames[-1] == str(video / "00003.jpg")


def test_synthetic_split_from_the_generator(tmp_path):
    from lib.train.dataset.synthetic_generator import generate_dataset

    root = tmp_path / "synthetic"
    generate_dataset(root, layout="got10k", num_train=1, num_val=2, num_test=1, frames=4, size=(64, 48), seed=1,
                     workers=1)
    env = env_settings(data_dir=str(tmp_path), synthetic_dir=str(root))
    val = get_dataset("synthetic_val", env=env)
    assert val.names() == ["GOT-10k_Val_000001", "GOT-10k_Val_000002"] and val[0].dataset == "synthetic"
    assert len(val[0].frames) == 4 == len(val[0].ground_truth_rect) and val[0].resolution == (64, 48)
    assert get_dataset("synthetic", env=env).names() == val.names()
    assert get_dataset("synthetic_test", env=env)[0].ground_truth_rect.shape == (1, 4)


def test_unknown_dataset_lists_the_known_ones_and_missing_root_is_clear(env):
    with pytest.raises(UnknownDatasetError) as err:
        get_dataset("lasott", env=env)
    assert "Did you mean `lasot`" in str(err.value) and all(n in str(err.value) for n in known_datasets())
    with pytest.raises(DatasetNotFoundError, match="OSTRACK_OTB_PATH"):
        load_dataset("otb", env=env)


def test_load_text_mixed_delimiters_and_errors(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("1,2,3,4\n5\t6\t7\t8\n\n9 10 11 12\n")
    assert load_boxes(f).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    f.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(TextFileError, match="line 2"):
        load_text(f)
    f.write_text("1,2,3\n")
    with pytest.raises(TextFileError, match="expected 4 values"):
        load_boxes(f)
    with pytest.raises(TextFileError, match="not found"):
        load_text(tmp_path / "missing.txt")
