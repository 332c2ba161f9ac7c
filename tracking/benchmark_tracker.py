"""Benchmark the test side: the tracker per backend and precision, and the time to analyse a LaSOT-sized run.

1. Tracker (any family: ``--script ostrack|siamrpn|siamban|siamfcpp``), random weights unless ``--checkpoint``:
   PyTorch fp32, PyTorch bf16 (where the CPU or GPU runs it natively) and ONNX Runtime fp32 (the network exported
   to a temporary file) run over the same generated JPEG frames, interleaved frame by frame (with random weights
   each tracker's state is put on the true box after each frame, untimed, so that its crop keeps a realistic size).
   Per variant it prints the network alone (the backend's forward on a fixed crop, interleaved rounds), the network
   inside the loop, the full loop per frame (JPEG decode, crop and resize, normalisation, forward,
   post-processing), what the loop adds to a frame's forward, split into the JPEG decode and the tracker's own work
   (crop, conversion, post-processing), and the loop / network ratio (medians of the per-frame values; target: at
   most 1.05). Then each variant tracks the first ``--val_sequences`` sequences of the synthetic val split
   (``--val_frames`` frames each), and the mean IoU of its boxes with PyTorch fp32's boxes is printed with the share
   of frames above IoU 0.99. The CPU's vector and matrix features are named first: bf16 is fast only with
   AVX512-BF16 or AMX.
2. Analysis: 280 sequences (the LaSOT test names, LaSOT layout) of 2,500 frames with generated ground truth and
   result files; timed: loading the dataset, evaluating (no cache), the scores, a cached rerun, and the plots
   (target: under 10 s for the evaluation).

Example: ``python tracking/benchmark_tracker.py --script ostrack --config vitb_256_mae_ce_32x4_ep300 --threads 2
--skip_analysis``
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from lib.models.profiling import measure_latency_interleaved
from lib.test.analysis.extract_results import extract_results
from lib.test.analysis.metrics import iou_continuous
from lib.test.analysis.plots import plot_results
from lib.test.analysis.report import compute_scores
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.lasotdataset import LaSOTDataset, sequence_list_data
from lib.test.evaluation.results import write_results
from lib.test.evaluation.tracker import TRACKERS, Tracker
from lib.utils.image import read_image
from lib.test.tracker.backends import FAMILY_CALLS, export_tracker, set_runtime_options
from lib.test.tracker.precision import native_bf16
from lib.utils.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.device import resolve_device
from lib.utils.errors import ConfigError
from lib.utils.registry import load_target

CPU_FEATURES = {"avx2": "AVX2", "avx512f": "AVX512", "avx512_bf16": "AVX512-BF16", "avx512_fp16": "AVX512-FP16",
                "amx_tile": "AMX", "amx_bf16": "AMX-BF16", "amx_fp16": "AMX-FP16"}


def cpu_features() -> str:
    """The CPU's model name and which of the vector / matrix features that matter here it has."""
    flags: set[str] = set()
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    have = [name for flag, name in CPU_FEATURES.items() if flag in flags]
    lacks = [name for flag, name in CPU_FEATURES.items() if flag not in flags]
    return (f"{model}: has {', '.join(have) or 'none of them'}; lacks {', '.join(lacks) or 'none'} "
            f"(torch CPU capability {torch.backends.cpu.get_cpu_capability()})")


def _frames(folder: Path, n: int, size: tuple[int, int], box: list[float]) -> list[tuple[str, list[float]]]:
    """JPEG frames with a textured object moving over a textured background; returns (path, box) pairs."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    background = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    patch = rng.integers(0, 255, (int(box[3]), int(box[2]), 3), dtype=np.uint8)
    out = []
    for i in range(n):
        x = int(box[0] + 40 * np.sin(i / 15)) % (width - patch.shape[1])
        y = int(box[1] + 20 * np.cos(i / 20)) % (height - patch.shape[0])
        frame = background.copy()
        frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
        path = folder / f"{i + 1:08d}.jpg"
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append((str(path), [x, y, box[2], box[3]]))
    return out


class _TimedBackend:
    """Wraps a tracker's backend: times each ``track`` call and keeps the last search crop."""

    def __init__(self, backend, device: torch.device):
        self.backend = backend
        self.device = device
        self.times: list[float] = []
        self.last_search: torch.Tensor | None = None

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def set_template(self, *inputs):
        self.backend.set_template(*inputs)

    def track(self, search):
        _sync(self.device)
        start = time.perf_counter()
        out = self.backend.track(search)
        _sync(self.device)
        self.times.append(time.perf_counter() - start)
        self.last_search = search
        return out


def _follow(tracker, box_xywh: list[float]) -> None:
    """Put the tracker's state on the true box: with random weights the box drifts and grows until the crop is
    several times the frame, which no trained tracker does (used only without --checkpoint; not timed)."""
    x, y, w, h = (float(v) for v in box_xywh)
    if hasattr(tracker, "center_pos"):  # the PySOT family: centre x + (w - 1) / 2 and size
        tracker.center_pos, tracker.size = (x + (w - 1) / 2, y + (h - 1) / 2), (w, h)
    elif isinstance(tracker.state, tuple):  # SiamFC++: float32 (centre, size)
        tracker.state = (np.array([x + (w - 1) / 2, y + (h - 1) / 2], np.float32), np.array([w, h], np.float32))
    else:  # OSTrack: [x, y, w, h]
        tracker.state = [x, y, w, h]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_variants(script: str, config: str, checkpoint: str | None, device: torch.device, work_dir: Path,
                   variants: list[str]) -> dict[str, object]:
    """name -> tracker for each requested variant ('pytorch fp32', 'pytorch bf16', 'onnxruntime fp32')."""
    params_fn = load_target(TRACKERS[script][1])
    tracker_cls = load_target(TRACKERS[script][0])
    params = params_fn(config, checkpoint=checkpoint) if checkpoint else params_fn(config, resolve=False)
    torch.manual_seed(0)  # the same random weights in every run
    trackers = {"pytorch fp32": tracker_cls(set_runtime_options(copy.copy(params)), device=device)}
    if "pytorch bf16" in variants:
        trackers["pytorch bf16"] = tracker_cls(set_runtime_options(copy.copy(params), precision="bf16"),
                                               device=device)
    if "onnxruntime fp32" in variants:
        onnx = work_dir / f"{script}.onnx"
        result = export_tracker(trackers["pytorch fp32"], onnx)
        print(f"exported {script} to ONNX; check on random inputs, max |diff| (of max |output|): {result.summary()}")
        trackers["onnxruntime fp32"] = tracker_cls(set_runtime_options(copy.copy(params), "onnxruntime", "fp32", onnx),
                                                   device=device)
    return {name: trackers[name] for name in variants if name in trackers}


def benchmark_tracker(args: argparse.Namespace, device: torch.device, work_dir: Path) -> None:
    size = (args.width, args.height)
    print(f"CPU: {cpu_features()}")
    variants = ["pytorch fp32"]
    if native_bf16(device) or args.force_bf16:
        variants.append("pytorch bf16")
    else:
        print("pytorch bf16: skipped (no native bfloat16 on this device; --force_bf16 runs it emulated)")
    try:
        import onnxruntime  # noqa: F401
        variants.append("onnxruntime fp32")
    except ImportError:
        print("onnxruntime fp32: skipped (pip install onnxruntime)")
    trackers = build_variants(args.script, args.config, args.checkpoint, device, work_dir, variants)
    for tracker in trackers.values():
        tracker.backend = _TimedBackend(tracker.backend, device)
    frames = _frames(work_dir / "frames", args.frames + args.warmup + 1, size, [500.0, 260.0, 120.0, 90.0])
    first = read_image(frames[0][0])
    for tracker in trackers.values():
        tracker.initialize(first, {"init_bbox": frames[0][1]})
    totals: dict[str, list[float]] = {name: [] for name in trackers}
    in_loop: dict[str, list[float]] = {name: [] for name in trackers}
    decode: dict[str, list[float]] = {name: [] for name in trackers}
    for i, (path, box) in enumerate(frames[1:]):
        for name, tracker in trackers.items():  # interleaved: machine drift hits every variant alike
            start = time.perf_counter()
            image = read_image(path)  # JPEG decode straight to RGB
            decoded = time.perf_counter()
            tracker.track(image)  # the tracker's whole step
            _sync(device)
            if i >= args.warmup:
                totals[name].append(time.perf_counter() - start)
                decode[name].append(decoded - start)
                in_loop[name].append(tracker.backend.times[-1])
            if args.checkpoint is None:
                _follow(tracker, box)
    alone = measure_latency_interleaved(
        {name: (lambda t=t: t.backend.backend.track(t.backend.last_search)) for name, t in trackers.items()},
        device, iters=args.frames, warmup=2)
    print(f"{args.script} {args.config} on {device} ({torch.get_num_threads()} threads), {size[0]}x{size[1]} JPEG "
          f"frames, {args.frames} timed frames after {args.warmup} warm-up, medians in ms:")
    print(f"  {'variant':<18} {'network alone':>13} {'net in loop':>11} {'full loop':>9} {'outside net':>11} "
          f"{'decode':>6} {'tracker':>7} {'FPS':>6} {'loop/network':>12} {'vs fp32 net':>11}")
    base = None
    for result in alone:
        name = result.name
        net_loop = 1000 * statistics.median(in_loop[name])
        loop = 1000 * statistics.median(totals[name])
        # per frame: what the loop adds to that frame's forward (medians of per-frame values: robust to drift)
        outside = 1000 * statistics.median(t - n for t, n in zip(totals[name], in_loop[name]))
        # ... of which the JPEG decode, and the tracker's own work (crop, conversion, post-processing)
        decoding = 1000 * statistics.median(decode[name])
        own = 1000 * statistics.median(t - n - d for t, n, d in zip(totals[name], in_loop[name], decode[name]))
        ratio = statistics.median(t / n for t, n in zip(totals[name], in_loop[name]))
        base = base or result.median_ms
        print(f"  {name:<18} {result.median_ms:13.1f} {net_loop:11.1f} {loop:9.1f} {outside:11.1f} {decoding:6.2f} "
              f"{own:7.2f} {1000 / loop:6.2f} {ratio:12.3f} {result.median_ms / base:11.3f}")
    if args.val_sequences > 0:
        agreement(trackers, args.val_sequences, args.val_frames, args.data_dir)


def agreement(trackers: dict[str, object], num_sequences: int, num_frames: int, data_dir: str | None = None) -> None:
    """Mean IoU of each variant's boxes with PyTorch fp32's on the first sequences of the synthetic val split."""
    dataset = get_dataset("synthetic_val", env=env_settings(data_dir=data_dir) if data_dir else env_settings())
    sequences = [dataset[i] for i in range(min(num_sequences, len(dataset)))]
    boxes: dict[str, list[np.ndarray]] = {name: [] for name in trackers}
    for seq in sequences:
        images = [read_image(f) for f in seq.frames[:num_frames]]
        for name, tracker in trackers.items():
            out = tracker.initialize(images[0], {"init_bbox": list(seq.ground_truth_rect[0])})
            first = out.get("target_bbox") if isinstance(out, dict) else None
            track = [first if first is not None else list(seq.ground_truth_rect[0])]
            track += [tracker.track(image)["target_bbox"] for image in images[1:]]
            boxes[name].append(np.asarray(track[1:], dtype=np.float64))  # the first box is given, not tracked
    reference = np.concatenate(boxes["pytorch fp32"])
    total = len(reference)
    print(f"agreement with pytorch fp32 on {len(sequences)} synthetic val sequences ({total} tracked frames):")
    for name in trackers:
        if name == "pytorch fp32":
            continue
        iou = iou_continuous(np.concatenate(boxes[name]), reference)
        print(f"  {name:<18} mean IoU {iou.mean():.4f}, IoU > 0.99 on {100 * (iou > 0.99).mean():.1f}% of frames")


def benchmark_analysis(n_seqs: int, seq_len: int, work_dir: Path) -> None:
    rng = np.random.default_rng(0)
    env = env_settings(save_dir=str(work_dir / "out"), data_dir=str(work_dir / "data"))
    names = list(sequence_list_data("lasot"))[:n_seqs]
    start = time.perf_counter()
    trk = Tracker("ostrack", "bench", env_overrides={"save_dir": str(work_dir / "out")})
    for name in names:
        folder = env.lasot_path / name.rsplit("-", 1)[0] / name
        folder.mkdir(parents=True)
        centre = np.cumsum(rng.normal(0, 2, (seq_len, 2)), axis=0) + 300
        wh = np.abs(60 + np.cumsum(rng.normal(0, 0.5, (seq_len, 2)), axis=0)) + 5
        gt = np.concatenate([centre - wh / 2, wh], axis=1)
        np.savetxt(folder / "groundtruth.txt", gt.round(), fmt="%d", delimiter=",")
        occluded = (rng.random(seq_len) < 0.05).astype(int)
        (folder / "full_occlusion.txt").write_text(",".join(map(str, occluded)) + "\n")
        (folder / "out_of_view.txt").write_text(",".join(["0"] * seq_len) + "\n")
        pred = gt + rng.normal(0, 8, gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        base = env.results_path / "ostrack" / "bench" / name
        write_results(base, pred, rng.uniform(0.005, 0.02, seq_len))
    print(f"generated {n_seqs} LaSOT-layout sequences x {seq_len} frames and results in "
          f"{time.perf_counter() - start:.1f} s")

    t0 = time.perf_counter()
    if n_seqs == len(sequence_list_data("lasot")):
        dataset = get_dataset("lasot", env=env)
    else:
        dataset = LaSOTDataset(env.lasot_path, names).get_sequence_list()
    t1 = time.perf_counter()
    data = extract_results([trk], dataset, "bench", force_evaluation=True, result_plot_path=env.result_plot_path)
    t2 = time.perf_counter()
    scores = compute_scores(data)[0]
    t3 = time.perf_counter()
    extract_results([trk], dataset, "bench", result_plot_path=env.result_plot_path)
    t4 = time.perf_counter()
    plot_results(data, env.result_plot_path / "bench", "LaSOT")
    t5 = time.perf_counter()
    print(f"analysis of {n_seqs} sequences x {seq_len} frames (1 tracker):")
    print(f"  load dataset (ground truth, visibility) {t1 - t0:6.2f} s")
    print(f"  evaluate result files (no cache)       {t2 - t1:6.2f} s")
    print(f"  scores                                 {t3 - t2:6.3f} s   AUC {scores['AUC']:.2f}, "
          f"Precision {scores['Precision']:.2f}, Norm Precision {scores['Norm Precision']:.2f}")
    print(f"  total (load + evaluate + scores)       {t3 - t0:6.2f} s   (target < 10 s)")
    print(f"  rerun with the cache (fingerprint)     {t4 - t3:6.2f} s")
    print(f"  three PNG plots                        {t5 - t4:6.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=str, default="ostrack", help="tracker: ostrack, siamrpn, siamban, siamfcpp")
    parser.add_argument("--config", type=str, default="vitb_256_mae_ce_32x4_ep300", help="experiment config")
    parser.add_argument("--checkpoint", type=str, default=None, help="checkpoint (default: random weights)")
    parser.add_argument("--device", type=str, default="cpu", help="cpu, cuda or cuda:<i>")
    parser.add_argument("--frames", type=int, default=30, help="timed tracker frames")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up frames")
    parser.add_argument("--width", type=int, default=1280, help="frame width")
    parser.add_argument("--height", type=int, default=720, help="frame height")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--force_bf16", action="store_true", help="also run bf16 where it is emulated")
    parser.add_argument("--val_sequences", type=int, default=5,
                        help="synthetic val sequences for the box agreement (0: skip)")
    parser.add_argument("--val_frames", type=int, default=50, help="frames per val sequence for the agreement")
    parser.add_argument("--data_dir", type=str, default=None,
                        help="data folder holding synthetic/ (default: the path settings)")
    parser.add_argument("--num_seqs", type=int, default=280, help="sequences for the analysis benchmark")
    parser.add_argument("--seq_len", type=int, default=2500, help="frames per sequence for the analysis benchmark")
    parser.add_argument("--skip_tracker", action="store_true", help="only the analysis benchmark")
    parser.add_argument("--skip_analysis", action="store_true", help="only the tracker benchmark")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    FAMILY_CALLS.get(args.script)  # a tracker with a network; an unknown name lists the families
    if args.frames < 1 or args.warmup < 0:
        raise ConfigError(f"--frames must be >= 1 and --warmup >= 0, got {args.frames} and {args.warmup}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    work_dir = Path(tempfile.mkdtemp(prefix="ostrack_bench_"))
    try:
        if not args.skip_tracker:
            # random weights on raw-pixel Siamese inputs give huge logits: NumPy's overflow warnings say nothing here
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                benchmark_tracker(args, device, work_dir)
        if not args.skip_analysis:
            benchmark_analysis(args.num_seqs, args.seq_len, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_cli(main)
