"""Profile a tracker's network: parameters, MACs and batch-1 latency of the tracking path.

Usage (from anywhere; the config is resolved from the project root)::

    python tracking/profile_model.py --script ostrack --config vitb_256_mae_ce_32x4_ep300 \
        --precision both --attn both --device cpu --threads 2 --iters 30 --warmup 5
    python tracking/profile_model.py --script siamrpn --config siamrpn_r50_l234_dwxcorr --threads 2

The timed calls are the family's per-frame network calls (:data:`lib.models.profiling.TRACKING_PATHS`): for
OSTrack a (1, 3, T, T) template and a (1, 3, S, S) search crop with TEST sizes and the CE template mask of the
config, "CE" with the per-layer keep ratios and "noCE" with keep rate 1.0 (no elimination); for the Siamese
families ``track`` on the search crop after ``template``. A network with several attention implementations
(OSTrack's ViT) is timed with each one that ``--attn`` names. ``--precision bf16`` (or fp16 on CUDA, or auto) times
the network converted once as the trackers' ``--precision`` converts it (weights and activations in that dtype,
output layers in float32), not autocast.

Timings of all variants are interleaved (one forward of each per round) so that machine noise affects them
alike; the median is reported. Unlike the original script, the model is in eval mode (spec 8.1 item 9).
"""

from __future__ import annotations

import argparse
import copy
import itertools
from typing import Any, Callable

import torch
from torch import nn

from lib.config import load_script_config
from lib.models.profiling import (TRACKING_PATHS, count_macs, count_params, cpu_has_fast_bf16, matmul_peak_gflops,
                                   measure_latency_interleaved, output_difference, roofline_line)
from lib.models.registry import build_model
from lib.test.tracker.backends import FAMILY_CALLS
from lib.test.tracker.precision import PRECISION_DTYPES, convert_network, resolve_precision
from lib.utils.cli import run_cli
from lib.utils.device import resolve_device
from lib.utils.errors import ConfigError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Parameters, MACs and latency of a tracker's network.")
    parser.add_argument("--script", type=str, default="ostrack", help=f"tracker family: {', '.join(TRACKING_PATHS)}")
    parser.add_argument("--config", type=str, default="vitb_256_mae_ce_32x4_ep300",
                        help="config name under experiments/<script>/ or a path to a YAML file")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16", "both"], default="fp32",
                        help="fp32; bf16 or fp16 (CUDA only): weights and activations converted once, as the "
                             "trackers' --precision; auto: bf16 where native, else fp32; both: fp32 and bf16 "
                             "interleaved")
    parser.add_argument("--attn", choices=["sdpa", "explicit", "both"], default="both",
                        help="attention implementation(s) to time, for networks that have both (OSTrack's ViT)")
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


def _variant(*parts: str) -> str:
    """A variant's name from its non-empty parts: 'fp32 sdpa CE', 'bf16 track'."""
    return " ".join(part for part in parts if part)


def _attention_impls(model: nn.Module, choice: str) -> list[str]:
    """The attention implementations to time: those of --attn for a network that can switch (``set_attn_impl``),
    else one unnamed entry."""
    if not callable(getattr(model, "set_attn_impl", None)):
        return [""]
    return ["sdpa", "explicit"] if choice == "both" else [choice]


def _frozen_note(model: nn.Module) -> str:
    """Names the parameters that are not trained (e.g. OSTrack's unused cls_token and 224-grid pos_embed, kept for
    checkpoint compatibility)."""
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    if not frozen:
        return ""
    return f"; not trained: {', '.join(frozen[:3])}{', ...' if len(frozen) > 3 else ''}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        raise ConfigError(f"--iters must be >= 1 and --warmup >= 0, got {args.iters} and {args.warmup}.")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)  # a malformed or absent device is one clear DeviceError
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {args.device} was given but CUDA is not available; use --device cpu.")
    path_fn = TRACKING_PATHS.get(args.script)  # an unknown family names the known ones
    cfg = load_script_config(args.script, args.config)
    torch.manual_seed(0)
    model = build_model(args.script, cfg).to(device).eval()
    total, trainable = count_params(model)
    print(f"config {args.script}/{args.config}: device {device}, threads {torch.get_num_threads()}")
    print(f"params: {total / 1e6:.2f} M total ({trainable / 1e6:.2f} M trainable{_frozen_note(model)})")
    precisions = _precisions(args, device)
    if "bf16" in precisions and device.type == "cpu" and not cpu_has_fast_bf16():
        print(f"note: this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16 support "
              f"(AVX512-BF16/AMX), so bf16 matrix products are emulated and slower than fp32.")
    attns = _attention_impls(model, args.attn)
    forwards: dict[str, dict[tuple[str, str], Callable[[], Any]]] = {}  # path name -> (precision, attn) -> forward
    with torch.no_grad():
        for precision, attn in itertools.product(precisions, attns):
            network = _converted(model, args.script, precision)
            if attn:  # each attention implementation times its own copy
                network = copy.deepcopy(network) if network is model else network
                network.set_attn_impl(attn)
            torch.manual_seed(0)  # the same inputs for every variant, so their outputs can be compared
            for name, forward in path_fn(network, cfg, device).items():
                forwards.setdefault(name, {})[precision, attn] = forward
        model = None  # the per-variant networks above are what runs from here on
        macs, variants, outputs = {}, {}, {}
        for name, by_variant in forwards.items():
            if not args.no_macs:
                macs[name] = count_macs(next(iter(by_variant.values())))
                print(f"MACs {name or 'forward'}: {macs[name] / 1e9:.2f} G")
        for (precision, attn), name in itertools.product(itertools.product(precisions, attns), forwards):
            def run(fn=forwards[name][precision, attn], key=_variant(precision, attn, name)):
                outputs[key] = fn()
            variants[_variant(precision, attn, name)] = run
        results = measure_latency_interleaved(variants, device, iters=args.iters, warmup=args.warmup)
    by_name = {r.name: r for r in results}
    print(f"batch-1 latency, median of {args.iters} interleaved runs after {args.warmup} warm-up rounds:")
    for r in results:
        print(f"  {r.name:<22} median {r.median_ms:8.2f} ms  mean {r.mean_ms:8.2f} ms  "
              f"({1000 / r.median_ms:6.1f} FPS)")
    if len(attns) == 2:
        for precision, name in itertools.product(precisions, forwards):
            s, e = (by_name[_variant(precision, attn, name)] for attn in attns)
            print(f"  ratio {attns[0]}/{attns[1]} {precision} {name}: {s.median_ms / e.median_ms:.3f}")
    if macs and "fp32" in precisions:
        # How close the forward runs to what this machine's matrix units allow (most of the work is GEMMs).
        peak = matmul_peak_gflops(device)
        print("fp32 roofline on this machine (GEMM peak measured with a 2048x768x3072 product):")
        for attn, name in itertools.product(attns, forwards):
            variant = _variant("fp32", attn, name)
            print("  " + roofline_line(variant, 2 * macs[name], by_name[variant].median_ms / 1000, peak))
    if len(precisions) == 2:
        for attn, name in itertools.product(attns, forwards):
            f, b = _variant("fp32", attn, name), _variant("bf16", attn, name)
            what, diff = output_difference(outputs[f], outputs[b])
            print(f"  ratio bf16/fp32 {_variant(attn, name)}: {by_name[b].median_ms / by_name[f].median_ms:.3f}  "
                  f"(max |{what} diff| {diff:.4f})")
    return 0


if __name__ == "__main__":
    run_cli(main)
