"""Benchmark one training step (forward + backward + clip + AdamW step) of a config, with AMP off and bfloat16 on,
in one process, and optionally compare their loss curves on the synthetic dataset.

Example (the figures in README.md):
    python tracking/benchmark_train.py --config vitb_256_mae_ce_32x4_ep300 --batch 8 --device cpu
    python tracking/benchmark_train.py --curve_iters 200          # + fp32 vs bf16 loss curves, small model

Speed uses random crops of the config's sizes and a CE keep rate of CE_KEEP_RATIO[0] (the schedule's end);
no pretrained weights are needed. Peak memory is the process's peak resident set size (reset per mode on Linux)
on the CPU, or the peak allocated CUDA memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.models.profiling import flop_counter, matmul_peak_gflops, roofline_line
from lib.train.actors.ostrack import build_ostrack_actor
from lib.utils.environment import env_settings
from lib.train.admin.settings import Settings
from lib.train.scripts.ostrack import settings_from_cfg
from lib.train.optim import build_optimizer_scheduler
from lib.train.trainers.ltr_trainer import LTRTrainer, move_to_device
from lib.train.trainers.monitor import IterationTimer
from lib.train.trainers.rng import seed_everything
from lib.utils.cli import run_cli
from lib.utils.device import resolve_device

MODES = {"fp32": (False, "float16"), "bf16": (True, "bfloat16"), "fp16": (True, "float16")}

# A small CE model on the synthetic data for the loss-curve comparison (the full model takes hours on a CPU).
SMALL = {"MODEL": {"PRETRAIN_FILE": "", "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce"}, "HEAD": {"NUM_CHANNELS": 64}},
         "DATA": {"SEARCH": {"SIZE": 128}, "TEMPLATE": {"SIZE": 64},
                  "TRAIN": {"DATASETS_NAME": ["SYNTHETIC_train"], "DATASETS_RATIO": [1]},
                  "VAL": {"DATASETS_NAME": ["SYNTHETIC_val"], "DATASETS_RATIO": [1]}},
         "TRAIN": {"CE_START_EPOCH": 0, "CE_WARM_EPOCH": 1}}


def _random_batch(cfg: Any, batch: int, generator: torch.Generator) -> dict:
    zs, xs = cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE
    xy = torch.rand(1, batch, 2, generator=generator) * 0.5 + 0.2
    wh = torch.rand(1, batch, 2, generator=generator) * 0.2 + 0.1
    return {"template_images": torch.randn(1, batch, 3, zs, zs, generator=generator),
            "search_images": torch.randn(1, batch, 3, xs, xs, generator=generator),
            "template_anno": torch.tensor([0.25, 0.25, 0.5, 0.5]).expand(1, batch, 4).clone(),
            "search_anno": torch.cat([xy, wh], dim=-1)}


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM
    except OSError:
        pass


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _trainer(cfg: Any, device: torch.device, mode: str, net: torch.nn.Module | None = None) -> LTRTrainer:
    amp, dtype = MODES[mode]
    if net is None:
        net = build_ostrack(cfg, training=True).to(device)
    optimizer, scheduler = build_optimizer_scheduler(cfg, net)
    settings = settings_from_cfg(Settings(save_dir=Path("."), device=device, progress_bar=False), cfg)
    settings = dataclasses.replace(settings, amp=amp, amp_dtype=dtype)
    return LTRTrainer(build_ostrack_actor(cfg, net), [], optimizer, settings, scheduler, hooks=[])


def _step(trainer: LTRTrainer, batch: dict, epoch: int, timer: IterationTimer) -> float:
    timer.mark("data")
    data = move_to_device(batch, trainer.device)
    timer.mark("transfer")
    data["epoch"] = epoch
    trainer.actor.train(True)
    with trainer.autocast():
        loss, stats = trainer.actor(data)
    timer.mark("forward")
    trainer.optimize(loss, timer)
    timer.end_iteration(batch["search_images"].shape[1])
    return stats["Loss/total"]


def benchmark_speed(cfg: Any, device: torch.device, modes: list[str], batch: int, iters: int, warmup: int,
                    skip_warmup: tuple[str, ...] = ()) -> None:
    seed_everything(0)
    net = build_ostrack(cfg, training=True).to(device)
    epoch = cfg.TRAIN.CE_START_EPOCH + cfg.TRAIN.CE_WARM_EPOCH  # full candidate elimination
    generator = torch.Generator().manual_seed(0)
    batches = [_random_batch(cfg, batch, generator) for _ in range(warmup + iters)]
    results = {}
    flops = None
    for mode in modes:
        trainer = _trainer(cfg, device, mode, net)
        _reset_peak_rss()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for b in batches[:0 if mode in skip_warmup else warmup]:
            if flops is None:  # count once, on an untimed step (the counter slows the step down)
                with flop_counter() as counter:
                    _step(trainer, b, epoch, IterationTimer(device))
                flops = counter.get_total_flops()
            else:
                _step(trainer, b, epoch, IterationTimer(device))
        step_times, fwd_bwd = [], []
        for b in batches[warmup:]:
            timer = IterationTimer(device)
            start = time.perf_counter()
            _step(trainer, b, epoch, timer)
            step_times.append(time.perf_counter() - start)
            fwd_bwd.append(timer.totals["forward"] + timer.totals["backward"])
        results[mode] = (statistics.median(step_times), statistics.median(fwd_bwd), _peak_mib(device))
        print(f"{mode:>5}: {1 / statistics.mean(step_times):.3f} it/s, median step {results[mode][0]:.2f} s "
              f"(forward+backward {results[mode][1]:.2f} s), peak memory {results[mode][2]:.0f} MiB", flush=True)
    if flops is not None and "fp32" in results:
        # Nearly all of a step's FLOPs are matrix products: the GEMM peak bounds how fast it can be here.
        peak = matmul_peak_gflops(device)
        print("fp32 roofline: " + roofline_line("forward+backward", flops, results["fp32"][1], peak))
    if "fp32" in results and "bf16" in results:
        print(f"bf16 speed-up over fp32 (median step): {results['fp32'][0] / results['bf16'][0]:.2f}x")


def loss_curves(cfg: Any, device: torch.device, iters: int, batch: int) -> None:
    from lib.train.data.build import build_dataloaders
    from lib.train.dataset.synthetic_generator import ensure_synthetic_dataset

    env = env_settings()
    ensure_synthetic_dataset(env.synthetic_dir)
    cfg = cfg.clone()
    cfg.TRAIN.BATCH_SIZE = batch
    cfg.DATA.TRAIN.SAMPLE_PER_EPOCH = iters * batch
    loader, _ = build_dataloaders(cfg, env, num_workers=0, seed=0)
    loader.set_epoch(1)
    batches = list(loader)[:iters]
    # The reference for "close": the same fp32 run with the explicit attention path, which differs only by float
    # rounding (~1e-6); training amplifies such differences, so its drift is the floor any other run can reach.
    runs = {"fp32": ("fp32", "sdpa"), "bf16": ("bf16", "sdpa"), "fp32 explicit": ("fp32", "explicit")}
    curves = {}
    for name, (mode, attn) in runs.items():
        seed_everything(0)
        net = build_ostrack(cfg, training=True).to(device)
        net.backbone.set_attn_impl(attn)
        trainer = _trainer(cfg, device, mode, net)
        start = time.perf_counter()
        curves[name] = [_step(trainer, b, 1, IterationTimer(device)) for b in batches]
        tail = [v for v in curves[name][-50:] if math.isfinite(v)]
        print(f"{name:>13}: {iters} iterations in {time.perf_counter() - start:.1f} s; mean loss of the last "
              f"{len(tail)} finite: {statistics.mean(tail):.4f}", flush=True)
    for name in ("bf16", "fp32 explicit"):
        windows = curve_deviations(curves["fp32"], curves[name], window=min(20, iters))
        last = curve_deviations(curves["fp32"][-50:], curves[name][-50:], window=min(50, iters))[0]
        print(f"{name} vs fp32 loss, relative difference of 20-iteration means: "
              + " ".join(f"{d * 100:.1f}%" for d in windows)
              + f" (max {max(windows) * 100:.1f}%); of the last-50 means: {last * 100:.1f}%")


def curve_deviations(reference: list[float], other: list[float], window: int) -> list[float]:
    """|mean(other) - mean(reference)| / mean(reference) over consecutive windows (non-finite losses left out)."""
    out = []
    for k in range(0, len(reference) - window + 1, window):
        ref = [v for v in reference[k:k + window] if math.isfinite(v)]
        oth = [v for v in other[k:k + window] if math.isfinite(v)]
        if not ref or not oth:  # a window of nothing but non-finite losses
            out.append(float("nan"))
            continue
        out.append(abs(statistics.mean(oth) - statistics.mean(ref)) / statistics.mean(ref))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="vitb_256_mae_ce_32x4_ep300", help="config for the speed benchmark")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per mode")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations per mode")
    parser.add_argument("--modes", default="fp32,bf16", help="comma-separated: fp32, bf16, fp16")
    parser.add_argument("--skip_warmup", default="", help="modes timed without warm-up (e.g. bf16 on CPUs where one "
                                                          "emulated bf16 step takes minutes)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--curve_iters", type=int, default=0, help="also compare fp32/bf16 loss curves (0: skip)")
    parser.add_argument("--curve_batch", type=int, default=8)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    cfg = load_config(args.config, overrides={"MODEL": {"PRETRAIN_FILE": ""}})
    print(f"speed: {args.config}, batch {args.batch}, forward + backward + clip + AdamW step, "
          f"{args.iters} timed iterations after {args.warmup} warm-up")
    benchmark_speed(cfg, device, args.modes.split(","), args.batch, args.iters, args.warmup,
                    tuple(filter(None, args.skip_warmup.split(","))))
    if args.curve_iters:
        small = load_config(args.config, overrides=SMALL)
        print(f"loss curves: {args.curve_iters} iterations of a small CE model (vit_tiny, 128/64) on the synthetic "
              f"data, batch {args.curve_batch}")
        loss_curves(small, device, args.curve_iters, args.curve_batch)
    return 0


if __name__ == "__main__":
    run_cli(main)
