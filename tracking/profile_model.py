"""Profile a tracker's network: parameters, MACs and batch-1 latency of the tracking path.

Usage (from anywhere; the config is resolved from the project root)::

    python tracking/profile_model.py --script ostrack --config vitb_256_mae_ce_32x4_ep300 \
        --precision both --attn both --device cpu --threads 2 --iters 30 --warmup 5
    python tracking/profile_model.py --script siamrpn --config siamrpn_r50_l234_dwxcorr --threads 2

For the Siamese families the timed call is the per-frame one (``track`` on the search crop after ``template``;
:data:`lib.models.profiling.TRACKING_PATHS`). ``--precision bf16`` (or fp16 on CUDA, or auto) times the network
converted once as the trackers' ``--precision`` converts it (weights and activations in that dtype, output layers
in float32), not autocast.

The forward is the tracker's call: a (1, 3, T, T) template and a (1, 3, S, S) search crop with TEST sizes
and the CE template mask of the config. "with CE" uses the per-layer keep ratios, "without CE" passes keep
rate 1.0 (no elimination). Timings of all variants are interleaved (one forward of each per round) so
that machine noise affects them alike; the median is reported. Unlike the original script, the model is in
eval mode (spec 8.1 item 9).
"""

from __future__ import annotations

import argparse
import copy

import torch
from torch import nn

from lib.config import load_script_config
from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.models.ostrack.vit_ce import VisionTransformerCE
from lib.models.profiling import (TRACKING_PATHS, count_macs, count_params, cpu_has_fast_bf16, matmul_peak_gflops,
                                   measure_latency_interleaved, roofline_line)
from lib.models.registry import build_model
from lib.test.tracker.backends import FAMILY_CALLS
from lib.test.tracker.precision import PRECISION_DTYPES, convert_network, resolve_precision
from lib.utils.ce_utils import generate_mask_cond
from lib.utils.cli import run_cli
from lib.utils.device import resolve_device
from lib.utils.errors import ConfigError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Parameters, MACs and latency of a tracker's network.")
    parser.add_argument("--script", type=str, default="ostrack",
                        help=f"tracker family: ostrack, {', '.join(TRACKING_PATHS)}")
    parser.add_argument("--config", type=str, default="vitb_256_mae_ce_32x4_ep300",
                        help="config name under experiments/<script>/ or a path to a YAML file")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16", "both"], default="fp32",
                        help="fp32; bf16 or fp16 (CUDA only): weights and activations converted once, as the "
                             "trackers' --precision; auto: bf16 where native, else fp32; both: fp32 and bf16 "
                             "interleaved")
    parser.add_argument("--attn", choices=["sdpa", "explicit", "both"], default="both",
                        help="attention implementation(s) to time")
    parser.add_argument("--device", type=str, default=None, help="cpu, cuda, cuda:1, ... (default: cuda if "
                                                                 "available, else cpu)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--iters", type=int, default=50, help="timed forwards per variant")
    parser.add_argument("--warmup", type=int, default=5, help="untimed forwards per variant first")
    parser.add_argument("--no_macs", action="store_true", help="skip MAC counting")
    return parser.parse_args(argv)


def _precisions(args: argparse.Namespace, device: torch.device) -> list[str]:
    """The precisions to time: 'both' is fp32 and bf16; 'auto' is resolved for the device (and says which)."""
    if args.precision == "both":
        return ["fp32", "bf16"]
    chosen = resolve_precision(args.precision, device)
    if args.precision == "auto":
        print(f"precision auto: {chosen}")
    return [chosen]


def _converted(model: nn.Module, script: str, precision: str) -> nn.Module:
    """A copy of ``model`` in ``precision`` as the trackers convert it (output layers kept float32), whose
    top-level parts cast their floating inputs to that dtype (the profiled calls build float32 inputs)."""
    if precision == "fp32":
        return model
    dtype = PRECISION_DTYPES[precision]
    converted = convert_network(copy.deepcopy(model), precision, FAMILY_CALLS.get(script).keep_fp32)

    def to_dtype(value):
        return value.to(dtype) if isinstance(value, torch.Tensor) and value.is_floating_point() else value

    def cast(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return tuple(to_dtype(a) for a in args), {k: to_dtype(v) for k, v in kwargs.items()}

    for child in converted.children():
        child.register_forward_pre_hook(cast, with_kwargs=True)
    return converted


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        raise ConfigError(f"--iters must be >= 1 and --warmup >= 0, got {args.iters} and {args.warmup}.")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)  # a malformed or absent device is one clear DeviceError
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {args.device} was given but CUDA is not available; use --device cpu.")
    if args.script != "ostrack":
        return profile_tracking_path(args, device)
    cfg = load_config(args.config, script=args.script)

    torch.manual_seed(0)
    model = build_ostrack(cfg, training=False).to(device).eval()
    t_sz, s_sz = cfg.TEST.TEMPLATE_SIZE, cfg.TEST.SEARCH_SIZE
    template = torch.randn(1, 3, t_sz, t_sz, device=device)
    search = torch.randn(1, 3, s_sz, s_sz, device=device)
    bb = cfg.MODEL.BACKBONE
    has_ce = isinstance(model.backbone, VisionTransformerCE) and bool(bb.CE_LOC)
    # The tracker builds the mask with the DATA template size (the size the model was built for).
    mask = generate_mask_cond(bb.CE_TEMPLATE_RANGE, 1, cfg.DATA.TEMPLATE.SIZE, bb.STRIDE, device,
                              torch.tensor([[0.25, 0.25, 0.5, 0.5]], device=device))
    ce_modes = {"CE": None, "noCE": 1.0} if has_ce else {"": None}

    total, trainable = count_params(model)
    print(f"config {args.config}: backbone {bb.TYPE}, template {t_sz}, search {s_sz}, device {device}, "
          f"threads {torch.get_num_threads()}")
    print(f"params: {total / 1e6:.2f} M total ({trainable / 1e6:.2f} M trainable; the rest are the unused "
          f"cls_token and 224-grid pos_embed kept for checkpoint compatibility)")
    macs_by_mode = {}
    if not args.no_macs:
        for ce_name, rate in ce_modes.items():
            macs_by_mode[ce_name] = count_macs(
                lambda r=rate: model(template, search, ce_template_mask=mask, ce_keep_rate=r))
            print(f"MACs {ce_name or 'forward'}: {macs_by_mode[ce_name] / 1e9:.2f} G")

    attns = ["sdpa", "explicit"] if args.attn == "both" else [args.attn]
    precisions = _precisions(args, device)
    if "bf16" in precisions and device.type == "cpu" and not cpu_has_fast_bf16():
        print(f"note: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16 support "
              f"(AVX512-BF16/AMX), so bf16 matrix products are emulated and slower than fp32.")
    models = {}
    for precision in precisions:
        for attn in attns:
            converted = _converted(model, "ostrack", precision)
            models[precision, attn] = copy.deepcopy(model) if converted is model else converted
            models[precision, attn].set_attn_impl(attn)
    model = None  # the per-path copies above are what runs from here on

    variants, boxes = {}, {}
    for precision in precisions:
        for attn in attns:
            for ce_name, rate in ce_modes.items():
                name = " ".join(x for x in (precision, attn, ce_name) if x)

                def run(m=models[precision, attn], r=rate, n=name):
                    boxes[n] = m(template, search, ce_template_mask=mask, ce_keep_rate=r)["pred_boxes"]
                variants[name] = run
    results = measure_latency_interleaved(variants, device, iters=args.iters, warmup=args.warmup)
    by_name = {r.name: r for r in results}
    print(f"batch-1 latency, median of {args.iters} interleaved runs after {args.warmup} warm-up rounds:")
    for r in results:
        print(f"  {r.name:<22} median {r.median_ms:8.2f} ms  mean {r.mean_ms:8.2f} ms  "
              f"({1000 / r.median_ms:6.1f} FPS)")
    for precision in precisions:
        for ce_name in ce_modes:
            if "sdpa" in attns and "explicit" in attns:
                s = by_name[" ".join(x for x in (precision, "sdpa", ce_name) if x)]
                e = by_name[" ".join(x for x in (precision, "explicit", ce_name) if x)]
                print(f"  ratio sdpa/explicit {precision} {ce_name}: {s.median_ms / e.median_ms:.3f}")
    if macs_by_mode and "fp32" in precisions:
        # How close the forward runs to what this machine's matrix units allow (most of the work is GEMMs).
        peak = matmul_peak_gflops(device)
        print("fp32 roofline on this machine (GEMM peak measured with a 2048x768x3072 product):")
        for attn in attns:
            for ce_name in ce_modes:
                name = " ".join(x for x in ("fp32", attn, ce_name) if x)
                print("  " + roofline_line(name, 2 * macs_by_mode[ce_name], by_name[name].median_ms / 1000, peak))
    if len(precisions) == 2:
        for attn in attns:
            for ce_name in ce_modes:
                f = " ".join(x for x in ("fp32", attn, ce_name) if x)
                b = " ".join(x for x in ("bf16", attn, ce_name) if x)
                diff = (boxes[f].float() - boxes[b].float()).abs().max().item()
                print(f"  ratio bf16/fp32 {attn} {ce_name}: {by_name[b].median_ms / by_name[f].median_ms:.3f}  "
                      f"(max |pred_boxes diff| {diff:.4f})")
    return 0


def profile_tracking_path(args: argparse.Namespace, device: torch.device) -> int:
    """Params, MACs, interleaved latency (fp32 and/or converted bf16) and roofline of a family's tracking path."""
    path_fn = TRACKING_PATHS.get(args.script)
    cfg = load_script_config(args.script, args.config)
    torch.manual_seed(0)
    model = build_model(args.script, cfg).to(device).eval()
    total, trainable = count_params(model)
    print(f"config {args.script}/{args.config}: device {device}, threads {torch.get_num_threads()}")
    print(f"params: {total / 1e6:.2f} M total ({trainable / 1e6:.2f} M trainable)")
    precisions = _precisions(args, device)
    if "bf16" in precisions and device.type == "cpu" and not cpu_has_fast_bf16():
        print(f"note: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16 support "
              f"(AVX512-BF16/AMX), so bf16 matrix products are emulated and slower than fp32.")
    variants, macs = {}, {}
    with torch.no_grad():
        forwards = {}
        for precision in precisions:
            for name, forward in path_fn(_converted(model, args.script, precision), cfg, device).items():
                forwards.setdefault(name, {})[precision] = forward
        for name, by_precision in forwards.items():
            if not args.no_macs:
                macs[name] = count_macs(by_precision[precisions[0]])
                print(f"MACs {name}: {macs[name] / 1e9:.2f} G")
            for precision, forward in by_precision.items():
                variants[f"{precision} {name}"] = forward
        results = measure_latency_interleaved(variants, device, iters=args.iters, warmup=args.warmup)
    print(f"batch-1 latency, median of {args.iters} interleaved runs after {args.warmup} warm-up rounds:")
    for r in results:
        print(f"  {r.name:<22} median {r.median_ms:8.2f} ms  mean {r.mean_ms:8.2f} ms  "
              f"({1000 / r.median_ms:6.1f} FPS)")
    if macs and "fp32" in precisions:
        peak = matmul_peak_gflops(device)
        by_name = {r.name: r for r in results}
        print("fp32 roofline on this machine (GEMM peak measured with a 2048x768x3072 product):")
        for name in forwards:
            print("  " + roofline_line(f"fp32 {name}", 2 * macs[name], by_name[f"fp32 {name}"].median_ms / 1000,
                                       peak))
    return 0


if __name__ == "__main__":
    run_cli(main)
