"""Benchmark the test side: tracker frames per second (full loop) and the time to analyse a LaSOT-sized run.

1. Tracker: OSTrack with random weights (no checkpoint needed) over generated JPEG frames. Each frame is timed
   end to end: JPEG decode, search-region crop and resize, normalisation, network forward, windowed decode,
   map-back and clip. The network forward is timed separately, so the share of a frame spent outside the
   network is reported (target: under 10%).
2. Analysis: 280 sequences (the LaSOT test names, LaSOT layout) of 2,500 frames with generated ground truth and
   result files; timed: loading the dataset, evaluating (no cache), the scores, a cached rerun, and the plots
   (target: under 10 s for the evaluation).

Example: ``python tracking/benchmark_tracker.py --config vitb_256_mae_ce_32x4_ep300 --device cpu``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.test.analysis.extract_results import extract_results
from lib.test.analysis.plots import plot_results
from lib.test.analysis.report import compute_scores
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.lasotdataset import LaSOTDataset, sequence_list_data
from lib.test.evaluation.results import write_results
from lib.test.evaluation.tracker import Tracker, read_image
from lib.test.parameter.ostrack import parameters
from lib.test.tracker.ostrack import OSTrackTracker
from lib.train.admin.environment import env_settings
from lib.utils.cli import run_cli
from lib.utils.device import check_device


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


def benchmark_tracker(config: str, device: str, n_frames: int, warmup: int, size: tuple[int, int],
                      work_dir: Path) -> None:
    cfg = load_config(config)
    params = parameters(config, resolve=False)
    net = build_ostrack(cfg, training=False)  # random weights: speed does not depend on them
    tracker = OSTrackTracker(params, device=device, network=net)
    frames = _frames(work_dir / "frames", n_frames + warmup + 1, size, [500.0, 260.0, 120.0, 90.0])

    forward_times = []

    def pre_hook(module, args, kwargs):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        module._bench_start = time.perf_counter()

    def post_hook(module, args, kwargs, output):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        forward_times.append(time.perf_counter() - module._bench_start)

    tracker.network.register_forward_pre_hook(pre_hook, with_kwargs=True)
    tracker.network.register_forward_hook(post_hook, with_kwargs=True)
    tracker.initialize(read_image(frames[0][0]), {"init_bbox": frames[0][1]})
    totals = []
    for i, (path, _) in enumerate(frames[1:]):
        start = time.perf_counter()
        image = read_image(path)  # JPEG decode + BGR->RGB
        tracker.track(image)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= warmup:
            totals.append(time.perf_counter() - start)
    forward = np.array(forward_times[-len(totals):])
    total = np.array(totals)
    outside = total - forward
    print(f"tracker {config} on {device} ({torch.get_num_threads()} threads), {size[0]}x{size[1]} JPEG frames, "
          f"{len(total)} timed frames after {warmup} warm-up:")
    print(f"  full loop   {1000 * total.mean():8.1f} ms/frame  ({1 / total.mean():.2f} FPS)")
    print(f"  network     {1000 * forward.mean():8.1f} ms/frame")
    print(f"  outside net {1000 * outside.mean():8.1f} ms/frame = {100 * outside.sum() / total.sum():.1f}% of a frame "
          f"(decode, crop, normalise, decode peak, map back)")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=str, default="vitb_256_mae_ce_32x4_ep300", help="experiment config")
    parser.add_argument("--device", type=str, default="cpu", help="cpu, cuda or cuda:<i>")
    parser.add_argument("--frames", type=int, default=30, help="timed tracker frames")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up frames")
    parser.add_argument("--width", type=int, default=1280, help="frame width")
    parser.add_argument("--height", type=int, default=720, help="frame height")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--num_seqs", type=int, default=280, help="sequences for the analysis benchmark")
    parser.add_argument("--seq_len", type=int, default=2500, help="frames per sequence for the analysis benchmark")
    parser.add_argument("--skip_tracker", action="store_true", help="only the analysis benchmark")
    parser.add_argument("--skip_analysis", action="store_true", help="only the tracker benchmark")
    args = parser.parse_args()
    check_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    work_dir = Path(tempfile.mkdtemp(prefix="ostrack_bench_"))
    try:
        with torch.inference_mode():
            if not args.skip_tracker:
                benchmark_tracker(args.config, args.device, args.frames, args.warmup, (args.width, args.height),
                                  work_dir)
        if not args.skip_analysis:
            benchmark_analysis(args.num_seqs, args.seq_len, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_cli(main)
