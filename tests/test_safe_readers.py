"""Nothing we read executes code: every reader gets a crafted file that would create a marker file if its
contents were executed, and must refuse it with a clear error (or, for the analysis cache, ignore and recompute)."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from lib.config.core import read_yaml
from lib.models.ostrack.pretrained import load_pretrained_backbone
from lib.models.siamese.weights import load_pretrain
from lib.models.siamfcpp.weights import load_siamfcpp_weights
from lib.test.analysis.cache import CacheError, cache_file, fingerprint, load_cached, read_cache, save_cache
from lib.test.utils.load_text import TextFileError, load_boxes, load_ground_truth
from lib.utils.environment import env_settings
from lib.utils.image import CorruptImageError
from lib.train.dataset.base_video_dataset import AnnotationError, DatasetFileError, parse_boxes
from lib.train.dataset.coco_seq import MSCOCOSeq
from lib.train.dataset.imagenetvid import ImagenetVID
from lib.train.dataset.storage import LmdbStorage
from lib.train.dataset.trackingnet import TrackingNet
from lib.train.trainers.checkpoint import Checkpointer
from lib.utils import lmdb_utils
from lib.utils.checkpoint_io import load_checkpoint, load_net_state_dict
from lib.utils.errors import CheckpointError, ConfigError, PathSettingsError
from lib.utils.lmdb_utils import LmdbError, LmdbWriter


class Payload:
    """Unpickling this object calls open(marker, 'w'), i.e. creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "executed.marker"


@pytest.fixture
def pickled(marker):
    return pickle.dumps({"net": Payload(marker)}, protocol=2)


@pytest.fixture
def torch_file(tmp_path, marker):
    path = tmp_path / "payload.pth.tar"
    torch.save({"net": Payload(marker), "epoch": 3}, path)
    return path


def test_the_payloads_do_run_when_unpickled(pickled, torch_file, marker):
    # the control: these files would create the marker in a reader that unpickles them
    pickle.loads(pickled)["net"].close()
    assert marker.exists()
    marker.unlink()
    torch.load(torch_file, weights_only=False)["net"].close()
    assert marker.exists()


def test_analysis_cache_holding_a_pickle_is_refused_and_recomputed(tmp_path, pickled, marker, caplog):
    path = cache_file(tmp_path / "report", "pytracking")
    assert path.name == "eval_data.npz"
    path.parent.mkdir()
    path.write_bytes(pickled)
    with pytest.raises(CacheError, match="eval_data.npz cannot be read as an eval_data npz archive"):
        read_cache(path, "any")
    with caplog.at_level(logging.WARNING):
        assert load_cached(path, "any") is None
    assert any("ignoring the evaluation cache" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    assert not marker.exists()


def test_analysis_cache_with_a_pickled_object_array_is_refused(tmp_path, marker):
    path = tmp_path / "eval_data.npz"
    meta = '{"version": 3, "fingerprint": "f", "fields": {}}'
    np.savez(path, __meta__=np.array(meta), sequences=np.array([Payload(marker)], dtype=object))
    with pytest.raises(CacheError, match="it holds pickled Python objects, which are never unpickled"):
        read_cache(path, "f")
    assert not marker.exists()


def test_analysis_cache_is_plain_data_and_its_fingerprint_is_checked_first(tmp_path):
    key = fingerprint({"mode": "pytracking"}, [np.ones((3, 4))], [tmp_path / "missing.txt"])
    data = {"sequences": ["a", "b"], "trackers": [{"name": "ostrack", "run_id": None}], "mode": "pysot",
            "fingerprint": key, "valid_sequence": np.array([True, False]), "avg_overlap_all": np.full((2, 1), np.nan)}
    path = tmp_path / "eval_data.npz"
    save_cache(path, data)
    got = read_cache(path, key)
    assert got["sequences"] == ["a", "b"] and got["trackers"] == data["trackers"] and got["mode"] == "pysot"
    assert got["valid_sequence"].dtype == bool and np.isnan(got["avg_overlap_all"]).all()
    assert read_cache(path, "another fingerprint") is None
    with np.load(path, allow_pickle=False) as archive:  # readable without pickle by anyone
        assert set(archive.files) == {"__meta__", "valid_sequence", "avg_overlap_all"}
    with pytest.raises(CacheError, match="object array"):
        save_cache(path, {"bad": np.array([object()], dtype=object)})


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy_pickle"])
def test_checkpoint_loaders_refuse_a_payload(tmp_path, torch_file, pickled, marker, legacy):
    path = torch_file
    if legacy:
        path = tmp_path / "legacy.pth"
        path.write_bytes(pickled)
    for load in (load_checkpoint, load_net_state_dict):
        with pytest.raises(CheckpointError, match=str(path.name)):
            load(path)
    assert not marker.exists()


def test_resume_skips_a_payload_checkpoint(tmp_path, marker, caplog):
    ckpt = Checkpointer(tmp_path, "TinyNet")
    torch.save({"net": {}, "epoch": 1}, ckpt.path(1))
    torch.save({"net": Payload(marker), "epoch": 2}, ckpt.path(2))
    with caplog.at_level(logging.WARNING):
        path, state = ckpt.load_latest()
    assert path == ckpt.path(1) and state["epoch"] == 1
    assert any("skipping checkpoint" in r.getMessage() and "TinyNet_ep0002" in r.getMessage() for r in caplog.records)
    assert not marker.exists()


def test_pretrained_and_family_weight_loaders_refuse_a_payload(torch_file, marker):
    with pytest.raises(CheckpointError, match="payload.pth.tar"):
        load_pretrained_backbone(nn.Linear(2, 2), torch_file)
    with pytest.raises(CheckpointError, match="payload.pth.tar"):
        load_pretrain(nn.Linear(2, 2), torch_file)
    with pytest.raises(CheckpointError, match="payload.pth.tar"):
        load_siamfcpp_weights(nn.Linear(2, 2), torch_file)
    assert not marker.exists()


def test_yaml_readers_do_not_construct_python_objects(tmp_path, marker, monkeypatch):
    tag = f'!!python/object/apply:builtins.open ["{marker}", "w"]'
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(f"MODEL:\n  PRETRAIN_FILE: {tag}\n")
    with pytest.raises(ConfigError, match="experiment.yaml: not valid YAML"):
        read_yaml(experiment)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"data_dir: {tag}\n")
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))
    with pytest.raises(PathSettingsError, match="settings.yaml: not valid YAML"):
        env_settings()
    assert not marker.exists()


def test_text_readers_refuse_a_pickle(tmp_path, pickled, marker):
    path = tmp_path / "result.txt"
    path.write_bytes(pickled)
    with pytest.raises(TextFileError, match="result.txt"):
        load_boxes(path)  # result files
    with pytest.raises(TextFileError, match="result.txt"):
        load_ground_truth(path)  # evaluation ground truth
    with pytest.raises(AnnotationError, match="groundtruth.txt has no line with four numbers"):
        parse_boxes(pickled.decode("utf-8", errors="replace"), "groundtruth.txt")  # training annotations
    assert not marker.exists()


def test_lmdb_values_are_never_unpickled(tmp_path, pickled, marker):
    with LmdbWriter(tmp_path / "db", map_size=1 << 24) as writer:
        writer.put("seq/00000001.jpg", pickled)
        writer.put("seq/info.json", pickled)
        writer.put("seq/groundtruth.txt", pickled)
    storage = LmdbStorage(tmp_path / "db")
    with pytest.raises(CorruptImageError, match="00000001.jpg"):
        storage.read_image("seq/00000001.jpg")
    with pytest.raises(LmdbError, match="info.json"):
        lmdb_utils.decode_json(tmp_path / "db", "seq/info.json")
    with pytest.raises(AnnotationError, match="groundtruth.txt"):
        parse_boxes(storage.read_text("seq/groundtruth.txt"), storage.describe("seq/groundtruth.txt"))
    (tmp_path / "db" / "seq_list.json").write_bytes(pickled)  # TrackingNet's plain file next to the environment
    with pytest.raises(DatasetFileError, match="seq_list.json is not a readable JSON file"):
        TrackingNet(tmp_path / "db", use_lmdb=True)
    assert not marker.exists()


def test_dataset_index_files_are_json_only(tmp_path, pickled, marker):
    (tmp_path / "vid").mkdir()
    (tmp_path / "vid" / "cache.json").write_bytes(pickled)
    with pytest.raises(DatasetFileError, match="cache.json is not a readable JSON file"):
        ImagenetVID(tmp_path / "vid")
    (tmp_path / "coco" / "annotations").mkdir(parents=True)
    (tmp_path / "coco" / "annotations" / "instances_train2017.json").write_bytes(pickled)
    with pytest.raises(DatasetFileError, match="instances_train2017.json is not a readable JSON file"):
        MSCOCOSeq(tmp_path / "coco")
    assert not marker.exists()


def test_a_corrupt_lmdb_environment_is_a_clear_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "data.mdb").write_bytes(b"not an lmdb file" * 100)
    with pytest.raises(LmdbError, match="is not a readable LMDB environment"):
        lmdb_utils.read_lmdb(tmp_path / "bad", "key")
