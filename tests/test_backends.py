"""The trackers' network backends: with ONNX Runtime every family tracks a synthetic sequence as with PyTorch, a
missing onnxruntime and an ONNX file of another config, checkpoint or family are clear errors, and test.py passes
the choice to the tracker."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from lib.models.onnx_runtime import OnnxRuntimeError
from lib.test.tracker.backends import (BackendError, OrtBackend, TorchBackend, default_onnx_path, export_tracker,
                                       set_runtime_options)
from lib.utils.errors import ConfigError
from script_loader import load_tracking_script
from tests.deploy_helpers import (FAMILIES, make_tracker, write_moving_square_clip, run_boxes, synthetic_sequence, tiny_network, tiny_params,
                                  write_config)

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    return synthetic_sequence(tmp_path_factory.mktemp("data") / "synthetic")  # <data_dir>/synthetic: test.py's


def _exported(tmp_path, family, params, network):
    tracker = make_tracker(family, params, network=network)
    return tracker, export_tracker(tracker, tmp_path / f"{family}.onnx").paths[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_onnxruntime_tracker_gives_the_pytorch_boxes(tmp_path, sequence, family):
    params = tiny_params(family)
    torch_tracker, onnx = _exported(tmp_path, family, params, tiny_network(family, params))
    ort_tracker = make_tracker(family, params, backend="onnxruntime", onnx=onnx)
    assert isinstance(torch_tracker.backend, TorchBackend) and isinstance(ort_tracker.backend, OrtBackend)
    assert ort_tracker.network is None  # no PyTorch network is built or loaded
    expected = run_boxes(torch_tracker, sequence)
    boxes = run_boxes(ort_tracker, sequence)
    assert boxes.shape == expected.shape == (len(sequence.frames), 4)
    np.testing.assert_allclose(boxes, expected, rtol=0, atol=1e-3)  # the same candidate every frame


def test_missing_onnxruntime_is_a_clear_error(tmp_path, monkeypatch):
    params = tiny_params("siamfcpp")
    _, onnx = _exported(tmp_path, "siamfcpp", params, tiny_network("siamfcpp", params))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(OnnxRuntimeError, match=r"ONNX Runtime is not installed.*pip install onnxruntime"):
        make_tracker("siamfcpp", params, backend="onnxruntime", onnx=onnx)


def test_onnx_file_of_another_config_checkpoint_or_family_is_refused(tmp_path):
    params = tiny_params("ostrack", name="tiny_a")
    _, onnx = _exported(tmp_path, "ostrack", params, tiny_network("ostrack", params))
    other = tiny_params("ostrack", overrides={"MODEL": {"HEAD": {"NUM_CHANNELS": 16}}}, name="tiny_b")
    with pytest.raises(BackendError, match="exported from config 'tiny_a'.*tracker's config 'tiny_b'"):
        make_tracker("ostrack", other, backend="onnxruntime", onnx=onnx)
    # a tracker-only setting (the search factor) does not change the network: the file is accepted
    params.search_factor = 4.5
    make_tracker("ostrack", params, backend="onnxruntime", onnx=onnx)
    params.checkpoint = tmp_path / "OSTrack_ep0001.pth.tar"
    params.checkpoint.write_bytes(b"other weights")
    with pytest.raises(BackendError, match="not those of the tracker's checkpoint 'OSTrack_ep0001.pth.tar'"):
        make_tracker("ostrack", params, backend="onnxruntime", onnx=onnx)
    with pytest.raises(BackendError, match="holds a 'ostrack' network, but the tracker is 'siamfcpp'"):
        make_tracker("siamfcpp", tiny_params("siamfcpp"), backend="onnxruntime", onnx=onnx)
    with pytest.raises(BackendError, match="no such file"):
        make_tracker("ostrack", tiny_params("ostrack", name="tiny_a"), backend="onnxruntime",
                     onnx=tmp_path / "missing.onnx")


def test_runtime_options_are_checked(tmp_path):
    params = tiny_params("ostrack")
    with pytest.raises(ConfigError, match="--backend 'tensorrt' is not a backend"):
        set_runtime_options(params, "tensorrt")
    with pytest.raises(ConfigError, match="add --backend onnxruntime"):
        set_runtime_options(params, "pytorch", "fp32", tmp_path / "x.onnx")
    with pytest.raises(ConfigError, match="cannot be combined with --backend onnxruntime"):
        make_tracker("ostrack", params, backend="onnxruntime", precision="bf16", onnx=tmp_path / "x.onnx")
    with pytest.raises(BackendError, match="needs an ONNX file"):
        make_tracker("ostrack", params, backend="onnxruntime")
    lt = tiny_params("siamrpn", overrides={"TRACK": {"TYPE": "SiamRPNLTTracker"}})
    _, onnx = _exported(tmp_path, "siamrpn", tiny_params("siamrpn"), tiny_network("siamrpn", lt))
    with pytest.raises(ConfigError, match="long-term SiamRPN tracker.*--backend pytorch"):
        make_tracker("siamrpn", lt, backend="onnxruntime", onnx=onnx)


def test_test_py_runs_the_exported_graph_on_a_dataset(tmp_path, sequence):
    """export_onnx.py writes the default file, test.py --backend onnxruntime finds it and writes the boxes that
    the PyTorch backend writes."""
    config = write_config(tmp_path, "siamban")
    params = tiny_params("siamban")
    ckpt = tmp_path / "out/checkpoints/train/siamban/tiny_siamban" / f"SiamBAN_ep{params.cfg.TRAIN.EPOCH:04d}.pth.tar"
    ckpt.parent.mkdir(parents=True)
    torch.save({"net": tiny_network("siamban", params).state_dict()}, ckpt)
    out = str(tmp_path / "out")
    assert load_tracking_script("export_onnx").main(["siamban", str(config), "--save_dir", out]) == 0
    assert default_onnx_path(out, "siamban", "tiny_siamban").is_file()
    test = load_tracking_script("test").main
    data_dir = str(sequence.frames[0]).rsplit("/synthetic/", 1)[0]
    common = ["siamban", str(config), "--dataset", "synthetic_val", "--save_dir", out, "--data_dir", data_dir,
              "--no_progress"]
    assert test([*common, "--backend", "onnxruntime", "--runid", "1"]) == 0
    assert test([*common, "--runid", "2"]) == 0
    with pytest.raises(ConfigError, match="fp16 runs on CUDA devices only"):
        test([*common, "--runid", "3", "--precision", "fp16", "--device", "cpu"])
    results = tmp_path / "out/test/tracking_results/siamban"
    ort, = (results / "tiny_siamban_001").rglob(f"{sequence.name}.txt")
    pt, = (results / "tiny_siamban_002").rglob(f"{sequence.name}.txt")
    # integer boxes (truncated, as the original writes them): equal up to a float at an integer boundary
    np.testing.assert_allclose(np.loadtxt(ort), np.loadtxt(pt), rtol=0, atol=1)



def test_video_demo_runs_the_exported_graph(tmp_path):

    config = write_config(tmp_path, "siamfcpp")
    params = tiny_params("siamfcpp")
    epochs = params.cfg.train.track.trainer.RegularTrainer.max_epoch
    ckpt = tmp_path / "out/checkpoints/train/siamfcpp/tiny_siamfcpp" / f"SiamTrack_ep{epochs:04d}.pth.tar"
    ckpt.parent.mkdir(parents=True)
    torch.save({"net": tiny_network("siamfcpp", params).state_dict()}, ckpt)
    out = str(tmp_path / "out")
    assert load_tracking_script("export_onnx").main(["siamfcpp", str(config), "--save_dir", out]) == 0
    clip = write_moving_square_clip(tmp_path / "clip.avi", 4)
    demo = load_tracking_script("video_demo").main
    boxes = {}
    for backend in ("onnxruntime", "pytorch"):
        output = tmp_path / f"{backend}.avi"
        assert demo(["siamfcpp", str(config), str(clip), "--init_bbox", "30,40,30,30", "--output", str(output),
                     "--device", "cpu", "--save_dir", out, "--save_results", "--backend", backend]) == 0
        assert output.is_file()
        boxes[backend] = np.loadtxt(tmp_path / "out/test/tracking_results/siamfcpp/tiny_siamfcpp/video_clip.txt")
    np.testing.assert_allclose(boxes["onnxruntime"], boxes["pytorch"], rtol=0, atol=1)


@pytest.mark.parametrize("family", ["ostrack", "siamrpn"])
def test_benchmark_tracker_compares_the_backends(tmp_path, sequence, capsys, family):
    config = write_config(tmp_path, family)
    main = load_tracking_script("benchmark_tracker").main
    data_dir = str(sequence.frames[0]).rsplit("/synthetic/", 1)[0]
    assert main(["--script", family, "--config", str(config), "--frames", "2", "--warmup", "0", "--width", "320",
                 "--height", "240", "--val_sequences", "1", "--val_frames", "4", "--data_dir", data_dir,
                 "--skip_analysis", "--force_bf16"]) == 0
    text = capsys.readouterr().out
    assert "CPU: " in text and "AVX" in text  # the CPU's features are named
    for variant in ("pytorch fp32", "pytorch bf16", "onnxruntime fp32"):
        assert variant in text.split("medians in ms:")[1]
    iou = float(text.split("onnxruntime fp32   mean IoU ")[1].split(",")[0])
    assert iou > 0.99  # ONNX Runtime tracks as PyTorch fp32 does


def test_peak_decode_without_a_network_equals_the_heads_cal_bbox():
    """The tracker decodes the head maps itself (the ONNX Runtime backend has no network); matches OSTrack: the
    first maximum wins and the cell index maps to the cell's corner."""
    from lib.models.layers.head import CenterPredictor
    from lib.test.tracker.ostrack import peak_box

    head = CenterPredictor(inplanes=8, channel=16, feat_sz=5)
    generator = torch.Generator().manual_seed(0)
    score, size, offset = (torch.rand(2, c, 5, 5, generator=generator) for c in (1, 2, 2))
    score[1, 0, 1, 3] = score[1, 0, 3, 1] = 2.0  # a tie: row-major first maximum (row 1, column 3)
    expected = head.cal_bbox(score, size, offset)
    assert torch.equal(peak_box(score, size, offset, 5), expected)
    assert expected[1, 0].item() == pytest.approx((3 + offset[1, 0, 1, 3].item()) / 5)


@pytest.mark.parametrize("family", FAMILIES)
def test_search_crops_reuse_one_input_buffer(sequence, family):
    """Per frame the tracker writes the search crop into one network-input buffer (no per-frame float32
    allocation); the conversion into it gives the values of a fresh tensor."""
    params = tiny_params(family)
    tracker = make_tracker(family, params, network=tiny_network(family, params))
    inner = tracker.backend.track
    inputs = []
    tracker.backend.track = lambda search: (inputs.append(search), inner(search))[1]
    run_boxes(tracker, sequence)
    assert len(inputs) == len(sequence.frames) - 1 and len({t.data_ptr() for t in inputs}) == 1


def test_buffered_crop_conversion_equals_a_fresh_tensor():
    from lib.test.tracker.siamese_crop import get_subwindow
    from lib.test.tracker.siamfcpp import _to_tensor

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    avg = image.mean(axis=(0, 1))
    buffer = torch.full((1, 3, 31, 31), -1.0)
    for center, original_sz in (((40.0, 30.0), 21), ((3.2, 57.9), 45)):  # inside the frame, and padded
        for reverse in (False, True):
            expected = get_subwindow(image, center, 31, original_sz, avg, reverse_channels=reverse)
            out = get_subwindow(image, center, 31, original_sz, avg, reverse_channels=reverse, out=buffer)
            assert out is buffer and torch.equal(out, expected)
    bgr = image[:31, :31, ::-1]  # the SiamFC++ tracker's channel-reversed view of its RGB crop
    assert torch.equal(_to_tensor(bgr, torch.device("cpu"), out=buffer), _to_tensor(bgr, torch.device("cpu")))
