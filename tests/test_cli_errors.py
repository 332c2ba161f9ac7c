"""Expected failures of the command-line tools end in one paragraph on stderr and exit code 2, never a traceback:
output paths that are files or not writable, unknown devices, bad initial boxes, truncated videos, checkpoints of
another model, and user errors raised inside DataLoader worker processes."""

from __future__ import annotations

import errno
import os
import shutil

import cv2
import numpy as np
import pytest
import torch
import yaml

import lib.utils.cli as cli
from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.utils.device import resolve_device
from lib.train.data.loader import LTRLoader
from lib.train.data.processing import STARKProcessing
from lib.train.data.sampler import SamplingError, TrackingSampler
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.utils.device import DeviceError
from lib.utils.errors import ConfigError
from lib.utils.worker_errors import unwrap_worker_error
from script_loader import load_tracking_script

TINY_A = {
    "MODEL": {"PRETRAIN_FILE": "", "HEAD": {"NUM_CHANNELS": 16},
              "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [1], "CE_KEEP_RATIO": [0.7]}},
    "DATA": {"SEARCH": {"SIZE": 64, "FACTOR": 4.0}, "TEMPLATE": {"SIZE": 32}},
    "TEST": {"SEARCH_SIZE": 64, "TEMPLATE_SIZE": 32},
}


@pytest.fixture(autouse=True)
def quiet_logging(monkeypatch):
    # run_cli configures the root logger once per process; here that would keep a handler on a captured stream
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)


def run(script: str, argv: list[str], capsys) -> tuple[int, str]:
    """Run tracking/<script>.py's main through run_cli; (exit code, stderr)."""
    main = load_tracking_script(script).main
    with pytest.raises(SystemExit) as exc:
        cli.run_cli(lambda: main(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return exc.value.code, err


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_dataset(root / "synthetic", layout="got10k", num_train=2, num_val=1, num_test=0, frames=22,
                     size=(64, 48), workers=1, seed=2)
    return root


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(10):
        writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))  # noise: frames of similar size
    writer.release()
    return path


def test_unknown_devices_are_rejected_by_the_one_resolver():
    with pytest.raises(DeviceError, match="--device 'foo' is not a device; expected auto"):
        resolve_device("foo")
    with pytest.raises(DeviceError, match="'mps': the framework runs on the CPU or CUDA"):
        resolve_device("mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="asks for CUDA"):
            resolve_device("cuda:1")
        assert resolve_device("auto") == torch.device("cpu")
    assert str(resolve_device("cpu")) == "cpu"
    assert resolve_device("cpu", local_rank=1) == torch.device("cpu")  # a rank pins only a bare CUDA device


@pytest.mark.parametrize("script,argv", [
    ("train", ["--script", "ostrack", "--config", "vitn_128_ce_synthetic", "--mode", "single"]),
    ("test", ["first_box", "default", "--dataset", "synthetic_val"]),
    ("video_demo", ["first_box", "default", "CLIP", "--init_bbox", "10,10,20,20"]),
])
def test_device_foo_is_one_paragraph_and_exit_2(script, argv, synthetic, clip, tmp_path, capsys):
    argv = [str(clip) if a == "CLIP" else a for a in argv]
    code, err = run(script, argv + ["--device", "foo", "--save_dir", str(tmp_path / "out"), "--data_dir",
                                    str(synthetic)] if script != "video_demo" else
                    argv + ["--device", "foo", "--save_dir", str(tmp_path / "out")], capsys)
    assert code == 2 and "error: --device 'foo' is not a device" in err


@pytest.mark.parametrize("script,argv", [
    ("train", ["--script", "ostrack", "--config", "vitn_128_ce_synthetic", "--mode", "single"]),
    ("test", ["first_box", "default", "--dataset", "synthetic_val"]),
    ("analysis_results", ["--tracker", "first_box", "--param", "default", "--dataset", "synthetic_val"]),
    ("video_demo", ["first_box", "default", "CLIP", "--init_bbox", "10,10,20,20"]),
])
@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_save_dir_that_is_a_file(script, argv, where, synthetic, clip, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    save_dir = blocker if where == "file" else blocker / "out"
    argv = [str(clip) if a == "CLIP" else a for a in argv] + ["--save_dir", str(save_dir)]
    if script != "video_demo":
        argv += ["--data_dir", str(synthetic)]
    code, err = run(script, argv, capsys)
    assert code == 2 and f"error: path setting save_dir (from the command line) is {save_dir}" in err
    assert "expected a folder" in err


def test_output_sub_folder_blocked_by_a_file(synthetic, tmp_path, capsys):
    save = tmp_path / "out"
    (save / "test").mkdir(parents=True)
    (save / "test" / "tracking_results").write_text("in the way")
    code, err = run("test", ["first_box", "default", "--dataset", "synthetic_val", "--save_dir", str(save),
                             "--data_dir", str(synthetic)], capsys)
    assert code == 2 and "path setting results_path (from save_dir from the command line)" in err


def test_an_output_folder_that_cannot_be_created(synthetic, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        if str(path).startswith(str(locked)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    code, err = run("test", ["first_box", "default", "--dataset", "synthetic_val", "--save_dir", str(locked),
                             "--data_dir", str(synthetic)], capsys)
    assert code == 2 and f"error: Permission denied: {locked}" in err and "choose a folder you can write to" in err


@pytest.mark.parametrize("box,expected", [
    ("nan,10,20,20", "expected x,y,w,h (four finite numbers, w and h > 0)"),
    ("10,10,inf,20", "expected x,y,w,h (four finite numbers, w and h > 0)"),
    ("10,10,0,20", "expected x,y,w,h (four finite numbers, w and h > 0)"),
    ("500,10,20,20", "lies outside the first frame (96 x 64 pixels)"),
    ("-40,-40,20,20", "lies outside the first frame (96 x 64 pixels)"),
])
def test_video_demo_rejects_bad_initial_boxes(box, expected, clip, tmp_path, capsys):
    code, err = run("video_demo", ["first_box", "default", str(clip), f"--init_bbox={box}", "--device", "cpu",
                                   "--save_dir", str(tmp_path / "out")], capsys)
    assert code == 2 and expected in err


def test_video_demo_reports_a_truncated_video(clip, tmp_path, capsys):
    cut = tmp_path / "cut.avi"
    data = clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut_tracked.avi"
    code, err = run("video_demo", ["first_box", "default", str(cut), "--init_bbox", "10,10,20,20", "--device",
                                   "cpu", "--output", str(out), "--save_dir", str(tmp_path / "out")], capsys)
    assert code == 2 and "of the 10 frames its header states" in err and "cut.avi ended after" in err
    read = int(err.split("ended after ")[1].split(" ")[0])
    assert 0 < read < 10 and out.is_file()  # the frames read were still tracked and written


def test_video_demo_missing_or_unreadable_video(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a video")
    for source in (tmp_path / "missing.mp4", tmp_path / "notes.txt"):
        code, err = run("video_demo", ["first_box", "default", str(source), "--init_bbox", "1,1,5,5",
                                       "--device", "cpu", "--save_dir", str(tmp_path / "out")], capsys)
        assert code == 2 and f"cannot open the video {str(source)!r}" in err


def _tiny_config(path, **changes):
    cfg = yaml.safe_load(yaml.safe_dump(TINY_A))
    for key, value in changes.items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_checkpoint_of_another_architecture_names_both_configs(synthetic, tmp_path, capsys):
    config_a = _tiny_config(tmp_path / "tiny_a.yaml")
    config_b = _tiny_config(tmp_path / "tiny_b.yaml", **{"MODEL.HEAD.NUM_CHANNELS": 32})
    cfg_a = load_config(str(config_a))
    ckpt = tmp_path / "OSTrack_ep0001.pth.tar"
    torch.save({"net": build_ostrack(cfg_a, training=False).state_dict(), "epoch": 1, "cfg": cfg_a.to_dict(),
                "settings": {"config_name": "tiny_a", "script_name": "ostrack"}}, ckpt)
    code, err = run("test", ["ostrack", str(config_b), "--dataset", "synthetic_val", "--checkpoint", str(ckpt),
                             "--device", "cpu", "--save_dir", str(tmp_path / "out"), "--data_dir", str(synthetic)],
                    capsys)
    assert code == 2 and "(written for config 'tiny_a' (script ostrack, backbone vit_tiny_patch16_224_ce))" in err
    assert "the tracker's config 'tiny_b'" in err and "of another shape (box_head." in err
    assert not (tmp_path / "out" / "test").exists() or not any((tmp_path / "out" / "test").rglob("*.txt"))


def test_lmdb_and_synthetic_outputs_that_are_files(synthetic, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, err = run("convert_to_lmdb", ["--dataset", "got10k", "--src", str(synthetic / "synthetic" / "train"),
                                        "--dst", str(blocker), "--no_progress"], capsys)
    assert code == 2 and f"destination {blocker} is a file" in err
    code, err = run("make_synthetic_dataset", ["--output", str(blocker), "--num_train", "1", "--num_val", "0",
                                               "--num_test", "0", "--no_progress"], capsys)
    assert code == 2 and f"the output path {blocker} exists and is a file" in err


def _processing():
    return STARKProcessing({"template": 2.0, "search": 4.0}, {"template": 32, "search": 64},
                           {"template": 0, "search": 3}, {"template": 0, "search": 0.25})


def test_a_sampling_error_in_a_dataloader_worker_reaches_the_user_as_its_paragraph(synthetic, tmp_path, capsys):
    root = tmp_path / "train"
    shutil.copytree(synthetic / "synthetic" / "train", root)
    for f in root.glob("*/*.jpg"):
        if f.name != "00000022.jpg":  # the sequences keep their length, but no frame pair can be read
            f.unlink()
    sampler = TrackingSampler([Got10k(root)], None, 8, 200, 1, 1, _processing(), max_attempts=20)
    loader = LTRLoader("train", sampler, batch_size=2, num_workers=2, stack_dim=1)
    with pytest.raises(SamplingError) as exc:
        next(iter(loader))
    message = str(exc.value)
    assert message.startswith("no valid sample after 20 draws (skipped 20 draws: missing_image 20)")
    assert str(root) in message and "Traceback" not in message and "worker process" not in message

    with pytest.raises(SystemExit) as exit_info:
        cli.run_cli(lambda: next(iter(loader)))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: no valid sample after 20 draws")
    assert "Traceback" not in err


class _TwoArgumentError(ConfigError):
    def __init__(self, key, value):
        super().__init__(f"{key} = {value} is out of range")


def test_worker_errors_are_restored_and_bugs_are_left_alone():
    wrapped = ("Caught _TwoArgumentError in DataLoader worker process 1.\nOriginal Traceback (most recent call "
               "last):\n  File \"x.py\", line 1, in f\n" + f"{__name__}._TwoArgumentError: TRAIN.LR = -1 is out of "
               "range\n")
    restored = unwrap_worker_error(RuntimeError(wrapped))  # torch falls back to RuntimeError for such classes
    assert isinstance(restored, _TwoArgumentError) and str(restored) == "TRAIN.LR = -1 is out of range"
    bug = ValueError("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback ...\nValueError: x\n")
    assert unwrap_worker_error(bug) is bug
    plain = ConfigError("not from a worker")
    assert unwrap_worker_error(plain) is plain


def test_run_cli_prints_file_system_errors_as_one_paragraph(tmp_path, capsys):
    def main():
        raise FileExistsError(errno.EEXIST, "File exists", str(tmp_path / "logs"))

    with pytest.raises(SystemExit) as exc:
        cli.run_cli(main)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(f"error: File exists: {tmp_path / 'logs'}. Expected a usable path")

    def bug():
        raise KeyError("a bug keeps its traceback")

    with pytest.raises(KeyError):
        cli.run_cli(bug)
