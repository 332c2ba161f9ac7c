"""Each training dataset class on a small fixture in its real on-disk layout, from folders and from LMDB."""

import json
import logging
import shutil

import cv2
import numpy as np
import pytest
import torch

from lib.config.ostrack.config import TRAIN_DATASET_NAMES
from lib.utils.environment import env_settings
from lib.train.dataset.base_video_dataset import EmptyDatasetError, parse_boxes
from lib.train.dataset.coco_seq import MSCOCOSeq
from lib.train.dataset.custom import CustomDataset
from lib.train.dataset.got10k import DATA_SPECS_DIR, GOT10K_SPLIT_FILES, Got10k, read_split_names
from lib.train.dataset.imagenetvid import ImagenetVID
from lib.train.dataset.lasot import Lasot
from lib.train.dataset.lmdb_convert import convert_dataset
from lib.train.dataset.registry import DATASET_REGISTRY, build_dataset
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.train.dataset.trackingnet import TrackingNet
from lib.utils.errors import ConfigError, DatasetNotFoundError

SIZE = (96, 64)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("datasets")
    common = dict(frames=22, size=SIZE, seed=3, workers=1)
    generate_dataset(base / "got10k", layout="got10k", num_train=3, num_val=1, num_test=1, **common)
    generate_dataset(base / "lasot", layout="lasot", num_train=3, num_val=0, num_test=0, **common)
    generate_dataset(base / "trackingnet", layout="trackingnet", num_train=3, num_val=0, num_test=1,
                     train_chunks=2, **common)
    return base


def _write_jpg(path, seed, size=SIZE):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _make_coco(root):
    images = [{"id": 1, "file_name": "000001.jpg", "height": 64, "width": 96},
              {"id": 2, "file_name": "000002.jpg", "height": 64, "width": 96}]
    annos = [
        {"id": 10, "image_id": 1, "category_id": 3, "iscrowd": 0, "bbox": [10, 5, 60, 55], "area": 3300,
         "segmentation": [[10, 5, 70, 5, 70, 60, 10, 60]]},
        {"id": 11, "image_id": 2, "category_id": 3, "iscrowd": 0, "bbox": [2, 3, 20, 10], "area": 200,
         "segmentation": [[2, 3, 22, 3, 22, 13, 2, 13]]},
        {"id": 12, "image_id": 2, "category_id": 3, "iscrowd": 1, "bbox": [0, 0, 5, 5], "area": 25,
         "segmentation": {"counts": [0, 25], "size": [64, 96]}},
    ]
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(
        {"images": images, "annotations": annos, "categories": [{"id": 3, "name": "car", "supercategory": "vehicle"}]}))
    for img in images:
        _write_jpg(root / "images" / "train2017" / img["file_name"], img["id"])


def _make_vid(root, frames=25):
    ann = root / "Annotations" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "ILSVRC2015_train_00000007"
    ann.mkdir(parents=True)
    for f in range(frames):
        objects = []
        for track, (x, present) in {"0": (5 + f, True), "1": (40, f < 8)}.items():
            if present:
                objects.append(f"<object><trackid>{track}</trackid><name>n0123</name><bndbox><xmax>{x + 20}</xmax>"
                               f"<xmin>{x}</xmin><ymax>40</ymax><ymin>10</ymin></bndbox>"
                               f"<occluded>{int(f == 3)}</occluded></object>")
        (ann / f"{f:06d}.xml").write_text(f"<annotation><size><width>{SIZE[0]}</width><height>{SIZE[1]}</height>"
                                          f"</size>{''.join(objects)}</annotation>")
        _write_jpg(root / "Data" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "ILSVRC2015_train_00000007" /
                   f"{f:06d}.JPEG", f)


def _make_custom(root, frames=21):
    for s, sub in (("seq_a", ""), ("seq_b", "img")):
        seq = root / s
        for f in range(frames):
            _write_jpg(seq / sub / f"frame{f + 1}.jpg", f)  # natural order: frame2 before frame10
        (seq / "groundtruth.txt").write_text("".join(f"{f}\t3 20 15\n" for f in range(frames)))
    (root / "notes.txt").write_text("not a sequence")


def _assert_same(folder_ds, lmdb_ds, frame_ids=(0, 5)):
    assert folder_ds.sequence_list == lmdb_ds.sequence_list
    for seq_id in range(folder_ds.get_num_sequences()):
        a, b = folder_ds.get_sequence_info(seq_id), lmdb_ds.get_sequence_info(seq_id)
        for key in ("bbox", "valid", "visible"):
            assert torch.equal(a[key], b[key]), key
        fa, annos, meta = folder_ds.get_frames(seq_id, list(frame_ids), a)
        fb, _, _ = lmdb_ds.get_frames(seq_id, list(frame_ids), b)
        for x, y in zip(fa, fb):
            assert x.dtype == np.uint8 and x.shape == (SIZE[1], SIZE[0], 3)
            np.testing.assert_array_equal(x, y)
        assert torch.equal(annos["bbox"][0], a["bbox"][frame_ids[0]])


def test_got10k_folder_and_lmdb(roots, tmp_path):
    ds = Got10k(roots / "got10k" / "train", split=None, name="got")
    assert ds.get_num_sequences() == 3 and ds.has_class_info()
    info = ds.get_sequence_info(0)
    gt = parse_boxes((roots / "got10k" / "train" / ds.sequence_list[0] / "groundtruth.txt").read_text())
    np.testing.assert_allclose(info["bbox"].numpy(), gt)
    cover = np.loadtxt(roots / "got10k" / "train" / ds.sequence_list[0] / "cover.label")
    absent = np.loadtxt(roots / "got10k" / "train" / ds.sequence_list[0] / "absence.label")
    expected_visible = (absent == 0) & (cover > 0) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    np.testing.assert_array_equal(info["visible"].numpy(), expected_visible)
    assert ds.get_meta_info(0)["object_class_name"]
    frames, _, _ = ds.get_frames(0, [0, 0, 3])
    assert frames[0] is frames[1]  # a repeated frame id is decoded once
    np.testing.assert_array_equal(frames[2], cv2.imread(str(roots / "got10k" / "train" / ds.sequence_list[0] /
                                                          "00000004.jpg"))[:, :, ::-1])
    convert_dataset("got10k", roots / "got10k", tmp_path / "got10k_lmdb")
    _assert_same(ds, Got10k(tmp_path / "got10k_lmdb", split=None, use_lmdb=True, name="got"))


def test_got10k_partial_download_skips_with_one_warning(roots, tmp_path, caplog):
    root = tmp_path / "train"
    shutil.copytree(roots / "got10k" / "train", root)
    shutil.rmtree(root / "GOT-10k_Train_000002")
    with caplog.at_level(logging.WARNING):
        ds = Got10k(root, seq_names=["GOT-10k_Train_000001", "GOT-10k_Train_000002", "GOT-10k_Train_000003"])
    assert ds.sequence_list == ["GOT-10k_Train_000001", "GOT-10k_Train_000003"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 of 3" in warnings[0].getMessage()
    with pytest.raises(EmptyDatasetError, match=str(root)):
        Got10k(root, split="votval")  # real split names, none of them on disk


def test_got10k_split_files_hold_names_with_the_original_counts():
    counts = {"train": 7934, "val": 1401, "train_full": 9335, "vottrain": 7086, "votval": 1249}
    names = {s: read_split_names(DATA_SPECS_DIR / f) for s, f in GOT10K_SPLIT_FILES.items()}
    for split, n in counts.items():
        assert len(names[split]) == n and len(set(names[split])) == n
        assert all(x.startswith("GOT-10k_Train_") for x in names[split])
    assert set(names["train"]) | set(names["val"]) == set(names["train_full"])
    assert not set(names["train"]) & set(names["val"])
    assert set(names["vottrain"]) <= set(names["train"]) and set(names["votval"]) <= set(names["val"])
    lasot = read_split_names(DATA_SPECS_DIR / "lasot_train_split.txt")
    assert len(lasot) == 1120 and len({n.rsplit("-", 1)[0] for n in lasot}) == 70


def test_lasot_folder_and_lmdb_and_classes_from_names(roots, tmp_path):
    root = tmp_path / "lasot"
    shutil.copytree(roots / "lasot", root)
    (root / "README.txt").write_text("stray file")  # must not become a class (spec 8.3 item 14)
    ds = Lasot(root, split=None)
    assert ds.get_num_sequences() == 3
    assert ds.get_class_list() == sorted({n.rsplit("-", 1)[0] for n in ds.sequence_list})
    seq_dir = root / ds.get_class_name(0) / ds.sequence_list[0]
    occ = np.loadtxt(seq_dir / "full_occlusion.txt", delimiter=",")
    oov = np.loadtxt(seq_dir / "out_of_view.txt", delimiter=",")
    info = ds.get_sequence_info(0)
    np.testing.assert_array_equal(info["visible"].numpy(), (occ == 0) & (oov == 0) & info["valid"].numpy())
    named = Lasot(root, split=None, seq_names=[ds.sequence_list[0], "cat-99"])
    assert named.sequence_list == [ds.sequence_list[0]] and named.get_class_list() == [ds.get_class_name(0)]
    convert_dataset("lasot", root, tmp_path / "lasot_lmdb")
    _assert_same(named, Lasot(tmp_path / "lasot_lmdb", split=None, use_lmdb=True,
                              seq_names=[ds.sequence_list[0], "cat-99"]))


def test_trackingnet_any_chunks_folder_and_lmdb(roots, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = TrackingNet(roots / "trackingnet")
    assert ds.get_num_sequences() == 3
    assert "TRAIN_2" in caplog.text  # the absent chunks are named once
    only0 = TrackingNet(roots / "trackingnet", set_ids=[0])
    assert {k for k, _ in only0.sequence_list} == {0}
    convert_dataset("trackingnet", roots / "trackingnet", tmp_path / "tn_lmdb")
    assert (tmp_path / "tn_lmdb" / "seq_list.json").is_file()
    _assert_same(ds, TrackingNet(tmp_path / "tn_lmdb", use_lmdb=True), frame_ids=(0, 21))


def test_coco_one_frame_sequences_folder_and_lmdb(tmp_path):
    _make_coco(tmp_path / "coco")
    ds = MSCOCOSeq(tmp_path / "coco")
    assert ds.get_num_sequences() == 2 and not ds.is_video_sequence()  # the crowd annotation is dropped
    info = ds.get_sequence_info(0)
    assert info["mask"].shape == (1, 64, 96) and info["mask"][0, 30, 40] == 1 and info["mask"][0, 2, 2] == 0
    assert info["valid"].tolist() == [True] and ds.get_sequence_info(1)["valid"].tolist() == [False]  # w,h > 50
    frames, annos, meta = ds.get_frames(0, [1, 1])
    assert frames[0] is frames[1] and meta["object_class_name"] == "car" and meta["major_class"] == "vehicle"
    assert annos["bbox"][1].tolist() == [10, 5, 60, 55]
    convert_dataset("coco", tmp_path / "coco", tmp_path / "coco_lmdb")
    lmdb_ds = MSCOCOSeq(tmp_path / "coco_lmdb", use_lmdb=True)
    np.testing.assert_array_equal(lmdb_ds.get_frames(1, [1])[0][0], ds.get_frames(1, [1])[0][0])


def test_imagenet_vid_tracks_cache_and_lmdb(tmp_path):
    _make_vid(tmp_path / "vid")
    ds = ImagenetVID(tmp_path / "vid")
    assert (tmp_path / "vid" / "cache.json").is_file()
    lengths = sorted(len(ds.get_sequence_info(i)["bbox"]) for i in range(ds.get_num_sequences()))
    assert lengths == [8, 25]  # track 1 ends when it disappears
    long_id = max(range(2), key=lambda i: len(ds.get_sequence_info(i)["bbox"]))
    info = ds.get_sequence_info(long_id)
    assert info["bbox"][2].tolist() == [7, 10, 20, 30] and not info["visible"][3] and info["visible"][4]
    assert ds.get_meta_info(long_id)["object_class"] == "n0123"
    convert_dataset("vid", tmp_path / "vid", tmp_path / "vid_lmdb")
    _assert_same(ds, ImagenetVID(tmp_path / "vid_lmdb", use_lmdb=True))


def test_custom_dataset_folder_and_lmdb(tmp_path):
    _make_custom(tmp_path / "custom")
    ds = CustomDataset(tmp_path / "custom")
    assert ds.sequence_list == ["seq_a", "seq_b"]
    np.testing.assert_array_equal(ds.get_frames(0, [1])[0][0], cv2.imread(str(tmp_path / "custom" / "seq_a" /
                                                                               "frame2.jpg"))[:, :, ::-1])
    assert ds.get_sequence_info(1)["bbox"][4].tolist() == [4, 3, 20, 15]
    convert_dataset("custom", tmp_path / "custom", tmp_path / "custom_lmdb")
    _assert_same(ds, CustomDataset(tmp_path / "custom_lmdb", use_lmdb=True), frame_ids=(0, 11))


def test_registry_names_and_roots(roots, tmp_path):
    assert tuple(DATASET_REGISTRY) == TRAIN_DATASET_NAMES
    env = env_settings(data_dir=str(tmp_path / "nothing"), synthetic_dir=str(roots / "got10k"))
    train = build_dataset("SYNTHETIC_train", env)
    assert train.get_name() == "SYNTHETIC_train" and train.get_num_sequences() == 3
    assert build_dataset("SYNTHETIC_val", env).get_num_sequences() == 1
    with pytest.raises(DatasetNotFoundError, match="got10k_dir"):
        build_dataset("GOT10K_vottrain", env)
    with pytest.raises(ConfigError, match="GOT10K_votval"):
        build_dataset("GOT10K_votvall", env)
    with pytest.raises(ConfigError, match="LMDB"):
        build_dataset("GOT10K_official_val", env, use_lmdb=True)


def test_convert_to_lmdb_errors(tmp_path):
    from lib.utils.errors import PathSettingsError
    with pytest.raises(PathSettingsError, match="unknown dataset kind"):
        convert_dataset("otb", tmp_path, tmp_path / "out")
    with pytest.raises(PathSettingsError, match="does not exist"):
        convert_dataset("got10k", tmp_path / "missing", tmp_path / "out")
    (tmp_path / "src").mkdir()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(PathSettingsError, match="not empty"):
        convert_dataset("custom", tmp_path / "src", tmp_path / "busy")
    with pytest.raises(PathSettingsError, match="TRAIN_"):
        convert_dataset("trackingnet", tmp_path / "src", tmp_path / "tn")
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "tracking" / "convert_to_lmdb.py"), "--dataset", "lasot",
                           "--src", str(tmp_path / "missing"), "--dst", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=root)
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_an_empty_dataset_folder_is_an_error_naming_the_path(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(EmptyDatasetError, match=str(tmp_path / "train")):
        Got10k(tmp_path / "train")
    with pytest.raises(EmptyDatasetError, match="custom"):
        CustomDataset(tmp_path / "train")
