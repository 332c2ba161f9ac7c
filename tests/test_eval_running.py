"""Result files, the runner (workers, resume, failure summary) and tracking/test.py end to end."""

from __future__ import annotations

import contextlib
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.test.analysis.extract_results import extract_results
from lib.test.evaluation.data import Sequence, SequenceNotFoundError
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.results import box_file, result_base, time_file, write_results
from lib.test.evaluation.running import run_dataset, worker_device
from lib.test.evaluation.tracker import Tracker, UnknownTrackerError
from lib.test.tracker.basetracker import BaseTracker
from lib.test.utils.params import TrackerParams
from lib.utils.environment import PROJECT_ROOT, env_settings
from test_sweep import tiny_ostrack  # the same tiny CE config and its checkpoints

TEST_PY = PROJECT_ROOT / "tracking" / "test.py"


class ShiftTracker(BaseTracker):
    """Stub: moves the box by a fractional step per frame (the network is not the point here)."""

    def __init__(self, params, device="cpu"):
        super().__init__(params)
        self.device = device

    def initialize(self, image, info):
        assert image.dtype == np.uint8 and image.ndim == 3
        self.box = list(info["init_bbox"])

    def track(self, image, info=None):
        self.box = [self.box[0] + 0.7, self.box[1] - 0.7, self.box[2], self.box[3]]
        return {"target_bbox": self.box}


@contextlib.contextmanager
def corrupted(path: Path):
    """Temporarily replace an image by bytes no decoder reads."""
    original = path.read_bytes()
    path.write_bytes(b"not an image")
    try:
        yield
    finally:
        path.write_bytes(original)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    from lib.train.dataset.synthetic_generator import generate_dataset

    root = tmp_path_factory.mktemp("data") / "synthetic"
    generate_dataset(root, layout="got10k", num_train=1, num_val=3, num_test=1, frames=5, size=(96, 64), seed=3,
                     workers=1)
    return root


def test_result_format_truncates_to_int_and_one_path_function(tmp_path):
    seq = Sequence("GOT-10k_Val_000001", ["a.jpg"] * 3, "got10k", np.array([[10, 10, 20, 20]] * 3))
    base = result_base(tmp_path, seq.dataset, seq.name)
    assert base == tmp_path / "got10k" / "GOT-10k_Val_000001"  # matches OSTrack: got10k/ sub-folder
    assert result_base(tmp_path, "lasot", "car-2") == tmp_path / "car-2"
    write_results(base, [[10, 10, 20, 20], [3.9, -0.7, 20.5, 19.99], [-1.2, 5.0, 7.0, 8.0]], [0.5, 0.025, 1 / 3])
    # matches OSTrack: astype(int) truncates toward zero; tab separated; times "%f"
    assert box_file(base).read_text() == "10\t10\t20\t20\n3\t0\t20\t19\n-1\t5\t7\t8\n"
    assert time_file(base).read_text() == "0.500000\n0.025000\n0.333333\n"
    assert not list(base.parent.glob(".*tmp"))
    # analysis finds the got10k/ files through the same function (the original's extract_results did not)
    trk = Tracker("ostrack", "cfg", result_only=True, env_overrides={"save_dir": str(tmp_path)})
    trk.results_dir = tmp_path
    data = extract_results([trk], [seq], "r", result_plot_path=tmp_path / "plots")
    assert data["valid_sequence"].tolist() == [True]


def test_unknown_tracker_and_sequence_are_clear_errors(tmp_path, synthetic_root):
    with pytest.raises(UnknownTrackerError, match="Did you mean `ostrack`\? Known trackers: ostrack, first_box"):
        Tracker("ostrak", "cfg")
    main = runpy.run_path(str(TEST_PY), run_name="test_py")["main"]
    args = ["ostrack", "vitb_256_mae_ce_32x4_ep300", "--dataset", "synthetic_val", "--data_dir",
            str(synthetic_root.parent), "--save_dir", str(tmp_path)]
    with pytest.raises(SequenceNotFoundError, match="indices 0-2"):
        main(args + ["--sequence", "3"])
    with pytest.raises(SequenceNotFoundError, match="no sequence named 'nope'"):
        main(args + ["--sequence", "nope"])


def test_worker_gpu_assignment_is_explicit(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [worker_device("cuda", i, num_gpus=4) for i in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert [worker_device("cuda", i, num_gpus=1) for i in range(3)] == ["cuda:0"] * 3
    assert worker_device("cuda:1", 5, num_gpus=4) == "cuda:1" and worker_device("cpu", 3, 4) == "cpu"


def test_runner_resumes_and_reports_failures(tmp_path, synthetic_root):
    env = env_settings(save_dir=str(tmp_path / "out"), synthetic_dir=str(synthetic_root))
    dataset = get_dataset("synthetic_val", env=env)
    params = TrackerParams(debug=0)
    trk = Tracker("stub", "shift", tracker_class=ShiftTracker, params=params,
                  env_overrides={"save_dir": str(tmp_path / "out")})
    # (worker processes are covered by the test.py end-to-end test below)
    summary = run_dataset(dataset, [trk], threads=0, device="cpu", progress=False)
    assert summary.count("done") == 3 and not summary.failed
    files = [box_file(trk.result_base(s)) for s in dataset]
    first = files[0].read_text().splitlines()
    x0, y0 = dataset[0].ground_truth_rect[0][:2]
    assert len(first) == 5 and first[1].split("\t")[:2] == [str(int(x0 + 0.7)), str(int(y0 - 0.7))]
    stamps = [f.stat().st_mtime_ns for f in files]

    summary = run_dataset(dataset, [trk], threads=0, device="cpu", progress=False)
    assert summary.count("skipped") == 3 and [f.stat().st_mtime_ns for f in files] == stamps

    # one broken sequence: reported, no result file, the others finish
    files[1].unlink()
    files[2].unlink()
    with corrupted(Path(dataset[1].frames[3])):
        summary = run_dataset(dataset, [trk], threads=0, device="cpu", progress=False)
    assert (summary.count("skipped"), summary.count("done"), len(summary.failed)) == (1, 1, 1)
    assert summary.failed[0].sequence == dataset[1].name and "FrameReadError" in summary.failed[0].error
    assert not files[1].exists() and files[2].exists()
    assert "1 failed" in summary.format() and dataset[1].name in summary.format()


# --- tracking/test.py with a tiny real model ------------------------------------------------------------------


def test_test_py_end_to_end_two_workers_resume_and_failure(tmp_path, synthetic_root, capsys, one_torch_thread):
    pytest.importorskip("lib.models.ostrack")
    save_dir = tmp_path / "out"
    cfg_path = tiny_ostrack(tmp_path, save_dir)
    main = runpy.run_path(str(TEST_PY), run_name="test_py")["main"]
    data = synthetic_root.parent
    args = ["ostrack", str(cfg_path), "--dataset", "synthetic_val", "--device", "cpu", "--save_dir", str(save_dir),
            "--data_dir", str(data), "--no_progress"]
    assert main(args + ["--threads", "2"]) == 0
    results = save_dir / "test" / "tracking_results" / "ostrack" / "tiny"
    names = ["GOT-10k_Val_000001", "GOT-10k_Val_000002", "GOT-10k_Val_000003"]
    assert sorted(p.name for p in results.glob("*.txt")) == sorted([f"{n}.txt" for n in names] +
                                                                    [f"{n}_time.txt" for n in names])
    boxes = np.loadtxt(results / f"{names[0]}.txt", delimiter="\t")
    assert boxes.shape == (5, 4) and (boxes[1:, 2:] >= 10).all()  # clip_box keeps >= 10 px
    assert "3 done" in capsys.readouterr().out

    assert main(args) == 0  # a rerun resumes: nothing left to do
    assert "3 skipped" in capsys.readouterr().out

    # a sequence with a missing frame fails; the summary names it and the exit code is non-zero
    (results / f"{names[2]}.txt").unlink()
    with corrupted(synthetic_root / "val" / names[2] / "00000004.jpg"):
        assert main(args + ["--sequence", names[2]]) == 1
    out = capsys.readouterr().out
    assert f"FAILED ostrack/tiny on {names[2]}" in out and "1 failed" in out
    assert not (results / f"{names[2]}.txt").exists()


def test_test_py_missing_checkpoint_is_one_clear_error(tmp_path, synthetic_root, capsys):
    pytest.importorskip("lib.models.ostrack")
    save_dir = tmp_path / "out"
    cfg_path = tiny_ostrack(tmp_path, save_dir, epochs=(2,))  # TEST.EPOCH is 3
    namespace = runpy.run_path(str(TEST_PY), run_name="test_py")
    with pytest.raises(SystemExit) as exit_info:
        namespace["run_cli"](lambda: namespace["main"](
            ["ostrack", str(cfg_path), "--dataset", "synthetic_val", "--save_dir", str(save_dir), "--data_dir",
             str(synthetic_root.parent), "--no_progress"]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "OSTrack_ep0003.pth.tar does not exist" in err and "OSTrack_ep0002.pth.tar" in err and "--checkpoint" in err
