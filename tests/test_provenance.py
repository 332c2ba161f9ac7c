"""Result provenance: a results folder records what produced it; test.py refuses to mix results of another
checkpoint or config (a new --runid or --overwrite), analysis refuses a folder whose records disagree, and a result
file left half-written by a killed run is never taken as finished."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lib.test.analysis.extract_results import extract_results
from lib.test.evaluation.customdataset import CustomTestDataset
from lib.test.evaluation.provenance import (ProvenanceError, check_and_record, check_folder, make_record,
                                            read_records)
from lib.test.evaluation.results import box_file, time_file, write_results
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import Tracker
from lib.test.tracker.basetracker import BaseTracker
from lib.test.utils.params import TrackerParams
from script_loader import load_tracking_script
from test_custom_testset import write_custom_set
from test_sweep import tiny_ostrack


class ShiftTracker(BaseTracker):
    """Stub: moves the box by ``params.step`` pixels per frame (the network is not the point here)."""

    def __init__(self, params, device="cpu"):
        super().__init__(params)

    def initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def track(self, image, info=None):
        self.box = [self.box[0] + self.params.step, self.box[1], self.box[2], self.box[3]]
        return {"target_bbox": self.box}


@pytest.fixture
def dataset(tmp_path):
    return CustomTestDataset(write_custom_set(tmp_path / "set", names=("a", "b", "c"), frames=5)).get_sequence_list()


def stub(tmp_path, checkpoint=None, step=1.0, run_id=None) -> Tracker:
    params = TrackerParams(debug=0, step=step, checkpoint=checkpoint, cfg={"TEST": {"STEP": step}})
    return Tracker("stub", "shift", tracker_class=ShiftTracker, params=params, run_id=run_id,
                   env_overrides={"save_dir": str(tmp_path / "out")})


def test_record_identity_mismatch_is_refused_with_what_differs(tmp_path):
    ckpt_a, ckpt_b = tmp_path / "a.pth.tar", tmp_path / "b.pth.tar"
    ckpt_a.write_bytes(b"weights A")
    ckpt_b.write_bytes(b"weights B")
    folder = tmp_path / "results"
    params = TrackerParams(debug=0, checkpoint=ckpt_a, cfg={"TEST": {"SEARCH_FACTOR": 4.0, "EPOCH": 300}})
    first = make_record("ostrack", "cfg", params, ["lasot"])
    check_and_record(folder, first)
    check_and_record(folder, make_record("ostrack", "cfg", params, ["otb"]))  # same identity: appended
    assert [r["datasets"] for r in read_records(folder)] == [["lasot"], ["otb"]]
    assert first["framework_version"] and first["torch_version"] and len(first["checkpoint_sha256"]) == 64

    params_b = TrackerParams(debug=1, checkpoint=ckpt_b, cfg={"TEST": {"SEARCH_FACTOR": 4.0, "EPOCH": 300}})
    with pytest.raises(ProvenanceError) as err:
        check_and_record(folder, make_record("ostrack", "cfg", params_b, ["lasot"]))
    message = str(err.value)
    assert "a.pth.tar" in message and "b.pth.tar" in message and "--runid" in message and "--overwrite" in message
    tuned = TrackerParams(debug=0, checkpoint=ckpt_a, cfg={"TEST": {"SEARCH_FACTOR": 4.5, "EPOCH": 300}})
    with pytest.raises(ProvenanceError, match=r"cfg.TEST.SEARCH_FACTOR: 4.0 -> 4.5"):
        check_and_record(folder, make_record("ostrack", "cfg", tuned, ["lasot"]))
    assert len(read_records(folder)) == 2  # refused runs leave the record as it was

    (folder / "provenance.json").write_text("{not json")
    with pytest.raises(ProvenanceError, match="is not a provenance record"):
        check_and_record(folder, first)


def test_results_without_a_record_are_refused_and_overwrite_starts_afresh(tmp_path):
    folder = tmp_path / "results"
    write_results(folder / "seq", [[1, 1, 5, 5]] * 3, [0.1] * 3)
    write_results(folder / "got10k" / "GOT-10k_Val_000001", [[1, 1, 5, 5]] * 3, [0.1] * 3)
    record = make_record("stub", "shift", TrackerParams(debug=0), ["otb"])
    with pytest.raises(ProvenanceError, match="holds 4 result file.*but no provenance.json"):
        check_and_record(folder, record)
    check_and_record(folder, record, overwrite=True)
    assert not box_file(folder / "seq").exists() and not box_file(folder / "got10k" / "GOT-10k_Val_000001").exists()
    assert len(read_records(folder)) == 1


def test_runner_refuses_another_checkpoint_and_resumes_the_same(tmp_path, dataset):
    ckpt_a, ckpt_b = tmp_path / "a.pth.tar", tmp_path / "b.pth.tar"
    ckpt_a.write_bytes(b"A")
    ckpt_b.write_bytes(b"B")
    summary = run_dataset(dataset, [stub(tmp_path, ckpt_a)], device="cpu", progress=False)
    assert summary.count("done") == 3
    files = [box_file(stub(tmp_path).result_base(s)) for s in dataset]
    before = [f.read_text() for f in files]
    with pytest.raises(ProvenanceError, match="another configuration"):
        run_dataset(dataset, [stub(tmp_path, ckpt_b)], device="cpu", progress=False)
    with pytest.raises(ProvenanceError, match="STEP: 1.0 -> 2.0"):
        run_dataset(dataset, [stub(tmp_path, ckpt_a, step=2.0)], device="cpu", progress=False)
    assert [f.read_text() for f in files] == before
    assert run_dataset(dataset, [stub(tmp_path, ckpt_a)], device="cpu", progress=False).count("skipped") == 3
    # a new run id is a separate folder; --overwrite redoes the folder with the new configuration
    other = stub(tmp_path, ckpt_b, step=2.0, run_id=1)
    assert run_dataset(dataset, [other], device="cpu", progress=False).count("done") == 3
    summary = run_dataset(dataset, [stub(tmp_path, ckpt_b, step=2.0)], device="cpu", progress=False, overwrite=True)
    assert summary.count("done") == 3 and [f.read_text() for f in files] != before
    (run,) = read_records(files[0].parent)
    assert run["checkpoint"] == str(ckpt_b)


def test_a_half_written_result_is_redone(tmp_path, dataset, caplog):
    trk = stub(tmp_path)
    run_dataset(dataset, [trk], device="cpu", progress=False)
    files = [box_file(trk.result_base(s)) for s in dataset]
    complete = files[0].read_text()
    # a killed writer of an older version or another tool: a short box file; a temporary leftover of ours
    files[0].write_text("".join(complete.splitlines(keepends=True)[:2]))
    leftover = files[1].with_name(f".{files[1].name}.4242.deadbeef.tmp")
    leftover.write_text("10\t8\t16")
    files[1].unlink()
    time_file(trk.result_base(dataset[2])).unlink()  # box file without its time file: not ours, not finished
    summary = run_dataset(dataset, [trk], device="cpu", progress=False)
    assert summary.count("done") == 3, summary.format()
    # (every sequence of the fixture has the same ground truth, so the same boxes)
    assert files[0].read_text() == complete and files[1].read_text() == complete
    assert "2 rows for a sequence of 5 frames" in caplog.text  # the leftover was never read as a result


def test_analysis_refuses_a_folder_whose_records_disagree(tmp_path, dataset):
    trk = stub(tmp_path)
    run_dataset(dataset, [trk], device="cpu", progress=False)
    assert len(check_folder(trk.results_dir)) == 1
    record_file = trk.results_dir / "provenance.json"
    data = json.loads(record_file.read_text())
    # a second run that raced in with another checkpoint (e.g. on a shared disk without file locks)
    data["runs"].append(dict(data["runs"][0], checkpoint="/x/other.pth.tar", checkpoint_sha256="ab" * 32))
    record_file.write_text(json.dumps(data))
    with pytest.raises(ProvenanceError, match="records runs of different configurations.*other.pth.tar"):
        extract_results([trk], dataset, "r", result_plot_path=tmp_path / "plots")


def _first_test_py_run(tmp_path, **tiny_kwargs):
    """test.py run once with a tiny OSTrack on a one-sequence custom set: (module, args, result file, its text)."""
    pytest.importorskip("lib.models.ostrack")
    save_dir = tmp_path / "out"
    cfg_path = tiny_ostrack(tmp_path, save_dir, **tiny_kwargs)
    root = write_custom_set(tmp_path / "set", names=("a",), frames=3)
    test_py = load_tracking_script("test")
    args = ["ostrack", str(cfg_path), "--dataset", "custom", "--data_dir", str(root), "--device", "cpu",
            "--save_dir", str(save_dir), "--no_progress"]
    assert test_py.main(args) == 0
    result = save_dir / "test" / "tracking_results" / "ostrack" / "tiny" / "a.txt"
    return test_py, args, result, result.read_text()


def test_test_py_stale_checkpoint_or_config_refused_then_overwrite_or_new_runid(tmp_path, capsys):
    test_py, args, result, first = _first_test_py_run(tmp_path, epochs=(3, 4))
    other = tmp_path / "out" / "checkpoints" / "train" / "ostrack" / "tiny" / "OSTrack_ep0004.pth.tar"
    with pytest.raises(SystemExit) as exit_info:
        test_py.run_cli(lambda: test_py.main(args + ["--checkpoint", str(other)]))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "OSTrack_ep0004.pth.tar" in err and "--overwrite" in err
    assert result.read_text() == first
    assert test_py.main(args + ["--checkpoint", str(other), "--overwrite"]) == 0
    assert "1 done" in capsys.readouterr().out
    (run,) = read_records(result.parent)
    assert run["checkpoint"] == str(other) and np.loadtxt(result).shape == (3, 4)

    # a test-time override is another config: refused in this folder, fine in a new run folder
    tuned = args + ["--checkpoint", str(other), "--opts", "TEST.SEARCH_FACTOR", "4.5"]
    with pytest.raises(SystemExit) as exit_info:
        test_py.run_cli(lambda: test_py.main(tuned))
    assert exit_info.value.code == 2 and "TEST.SEARCH_FACTOR: 4.0 -> 4.5" in capsys.readouterr().err
    assert test_py.main(tuned + ["--runid", "1"]) == 0
    (run,) = read_records(result.parent.with_name("tiny_001"))
    assert run["parameters"]["search_factor"] == 4.5 and run["parameters"]["cfg"]["TEST"]["SEARCH_FACTOR"] == 4.5


def _runtime_params(ckpt, backend="pytorch", precision="fp32", onnx=None) -> TrackerParams:
    params = TrackerParams(debug=0, checkpoint=ckpt, cfg={"TEST": {"SEARCH_FACTOR": 4.0}})
    params.backend, params.precision, params.onnx = backend, precision, onnx
    return params


def test_backend_precision_and_onnx_file_are_part_of_the_identity(tmp_path, monkeypatch):
    ckpt, onnx_a, onnx_b = tmp_path / "a.pth.tar", tmp_path / "a.onnx", tmp_path / "b.onnx"
    ckpt.write_bytes(b"weights")
    onnx_a.write_bytes(b"graph A")
    onnx_b.write_bytes(b"graph B")
    folder = tmp_path / "results"
    fp32 = make_record("ostrack", "cfg", _runtime_params(ckpt), ["lasot"])
    assert (fp32["backend"], fp32["precision"], fp32["onnx_sha256"]) == ("pytorch", "fp32", None)
    assert "precision" not in fp32["parameters"]  # recorded apart, resolved; the config hash is the config's
    check_and_record(folder, fp32)
    with pytest.raises(ProvenanceError, match="precision 'fp32' there, 'bf16' now.*--runid.*--overwrite"):
        check_and_record(folder, make_record("ostrack", "cfg", _runtime_params(ckpt, precision="bf16"), ["lasot"]))
    ort = make_record("ostrack", "cfg", _runtime_params(ckpt, "onnxruntime", "auto", onnx_a), ["lasot"])
    assert ort["precision"] == "fp32" and len(ort["onnx_sha256"]) == 64 and ort["onnx"] == str(onnx_a)
    with pytest.raises(ProvenanceError, match="backend 'pytorch' there, 'onnxruntime' now"):
        check_and_record(folder, ort)
    ort_folder = tmp_path / "ort"
    check_and_record(ort_folder, ort)
    check_and_record(ort_folder, make_record("ostrack", "cfg", _runtime_params(ckpt, "onnxruntime", "fp32", onnx_a)))
    with pytest.raises(ProvenanceError, match=r"ONNX file .*a.onnx \(sha256 [0-9a-f]{12}\) there, .*b.onnx"):
        check_and_record(ort_folder, make_record("ostrack", "cfg", _runtime_params(ckpt, "onnxruntime", "fp32", onnx_b)))
    # 'auto' is recorded as what it resolves to on the device
    from lib.test.tracker import precision as precision_module
    for native, chosen in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(precision_module, "cpu_has_fast_bf16", lambda native=native: native)
        auto = make_record("ostrack", "cfg", _runtime_params(ckpt, precision="auto"), device="cpu")
        assert auto["precision"] == chosen


def test_a_record_without_backend_fields_means_pytorch_fp32(tmp_path):
    ckpt = tmp_path / "a.pth.tar"
    ckpt.write_bytes(b"weights")
    folder = tmp_path / "results"
    old = make_record("ostrack", "cfg", TrackerParams(debug=0, checkpoint=ckpt, cfg={"TEST": {"EPOCH": 3}}))
    for key in ("backend", "precision", "onnx", "onnx_sha256"):
        del old[key]  # written by a version before the backend choice existed
    (folder).mkdir()
    (folder / "provenance.json").write_text(json.dumps({"format": 1, "runs": [old]}))
    same = TrackerParams(debug=0, checkpoint=ckpt, cfg={"TEST": {"EPOCH": 3}}, backend="pytorch", precision="fp32",
                         onnx=None)
    check_and_record(folder, make_record("ostrack", "cfg", same))
    with pytest.raises(ProvenanceError, match="precision 'fp32' there, 'bf16' now"):
        check_and_record(folder, make_record("ostrack", "cfg", _runtime_params(ckpt, precision="bf16")))
    # a development version hashed the backend choice into the config: the config itself still matches
    dev = dict(old, parameters={**old["parameters"], "backend": "pytorch", "precision": "fp32", "onnx": None},
               config_sha256="0" * 64)
    (folder / "provenance.json").write_text(json.dumps({"format": 1, "runs": [dev]}))
    check_and_record(folder, make_record("ostrack", "cfg", same))
    assert len(check_folder(folder)) == 2


def test_test_py_refuses_another_precision_in_the_same_folder(tmp_path, capsys):
    test_py, args, result, first = _first_test_py_run(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        test_py.run_cli(lambda: test_py.main(args + ["--precision", "bf16"]))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "precision 'fp32' there, 'bf16' now" in err and "--runid" in err
    assert result.read_text() == first
    assert test_py.main(args + ["--precision", "fp32"]) == 0  # the same settings: accepted (resumed)
    assert "1 skipped" in capsys.readouterr().out
    assert test_py.main(args + ["--precision", "bf16", "--runid", "1"]) == 0
    (run,) = read_records(result.parent.with_name("tiny_001"))
    assert (run["backend"], run["precision"], run["onnx_sha256"]) == ("pytorch", "bf16", None)
    assert run["config_sha256"] == read_records(result.parent)[0]["config_sha256"]
