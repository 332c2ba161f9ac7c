"""Compare this re-implementation with the original OSTrack model code: outputs, gradients and CPU speed.

Usage, with a clone of github.com/botaoye/OSTrack at ~/OSTrack (its files are read, never copied or changed)::

    python tracking/compare_with_original.py --original_root ~/OSTrack --config vitb_256_mae_ce_32x4_ep300 \
        --threads 2 --iters 15 --warmup 3 --train_iters 3 --batch 8 [--checkpoint OSTrack_ep0300.pth.tar]

The original's ``lib`` package is imported under the private name ``ostrack_original`` (see
:mod:`lib.utils.foreign_import`), and its ``build_ostrack`` gets a config made from ours. Both models get the
same weights (ours' random initialisation loaded strictly into the original, or ``--checkpoint`` loaded into
both), drop path 0, the same inputs and the same CE template mask. Then:

* agreement: eval outputs (keep rates None and 1.0, both of our attention implementations) and one training
  step (loss and every gradient); a FAIL line makes the exit status 1;
* batch-1 inference and batch-B forward+backward timings, interleaved (one call of every variant per round,
  start order rotated each round), reported as median, IQR and ratio ours/original.

Exit status: 0 when everything agrees, 1 when an agreement check fails, 2 (with a one-paragraph message) when
the clone cannot be found, imported or built, or an argument is wrong.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from lib.config.ostrack.config import load_config
from lib.models.ostrack import build_ostrack
from lib.utils.ce_utils import generate_mask_cond
from lib.utils.checkpoint_io import load_net_state_dict
from lib.utils.cli import run_cli
from lib.utils.errors import CheckpointError, ConfigError, OSTrackError
from lib.utils.foreign_import import install_foreign_package, uninstall_foreign_package

ALIAS = "ostrack_original"
CE_CONFIGS = ("vitb_256_mae_ce_32x4_ep300", "vitb_384_mae_ce_32x4_ep300")
BOX = [0.25, 0.25, 0.5, 0.5]  # template box (normalised xywh) for the CE template mask
OUT_KEYS = ("pred_boxes", "score_map", "size_map", "offset_map", "backbone_feat")


class OriginalCodeError(OSTrackError):
    """The original OSTrack code could not be found, imported or built."""


class _AttrDict(dict):
    """Nested dict with attribute access: the shape of the original's EasyDict config."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _to_attr(value: Any) -> Any:
    if isinstance(value, dict):
        return _AttrDict({k: _to_attr(v) for k, v in value.items()})
    return list(value) if isinstance(value, tuple) else value


def _describe(err: BaseException, lib_dir: Path) -> str:
    """``Type: message`` plus the deepest line of the original tree it came from."""
    where = ""
    if isinstance(err, SyntaxError) and err.filename:
        where = f" at {err.filename}:{err.lineno}"
    inside = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).is_relative_to(lib_dir)]
    if inside:
        where = f" at {inside[-1].filename}:{inside[-1].lineno}"
    hint = ""
    if isinstance(err, ModuleNotFoundError) and err.name and not err.name.startswith(ALIAS):
        hint = (f" The package '{err.name.split('.')[0]}' is missing from this Python environment; install it "
                f"(e.g. pip install {err.name.split('.')[0]}) and run again.")
    return f"{type(err).__name__}{': ' if str(err) else ''}{err}{where}.{hint}"


def import_original(root: Path) -> tuple[Callable, Callable]:
    """Import the original's ``build_ostrack`` and ``generate_mask_cond`` from ``<root>/lib``."""
    expected = "the root folder of a clone of github.com/botaoye/OSTrack (the folder holding lib/models/ostrack/)"
    if not root.is_dir():
        raise OriginalCodeError(f"--original_root {root} does not exist or is not a folder; expected {expected}.")
    lib_dir = (root / "lib").resolve()
    if not (lib_dir / "models" / "ostrack").is_dir():
        hint = (f" {root} itself holds models/ostrack/, so it looks like the clone's lib folder: pass its parent "
                f"{root.absolute().parent} instead." if (root / "models" / "ostrack").is_dir() else "")
        raise OriginalCodeError(f"--original_root {root} has no lib/models/ostrack/ folder (looked for "
                                f"{root / 'lib' / 'models' / 'ostrack'}); expected {expected}.{hint}")
    install_foreign_package(lib_dir, ALIAS)
    module = f"{ALIAS}.models.ostrack"
    try:
        with warnings.catch_warnings():
            # the original's vit.py re-registers timm's own ViT names; timm warns about each
            warnings.filterwarnings("ignore", message="Overwriting .* in registry")
            build = importlib.import_module(module).build_ostrack
            module = f"{ALIAS}.utils.ce_utils"
            make_mask = importlib.import_module(module).generate_mask_cond
    except Exception as err:  # any failure inside foreign code is reported, not re-raised
        name = "lib" + module[len(ALIAS):]
        raise OriginalCodeError(f"importing the original's {name} from {lib_dir} failed: "
                                f"{_describe(err, lib_dir)}") from None
    return build, make_mask


def build_pair(name: str, cfg: Any, original: tuple[Callable, Callable], lib_dir: Path, checkpoint: str | None
               ) -> tuple[torch.nn.Module, torch.nn.Module, _AttrDict] | None:
    """Ours and the original with the same weights (None after printing a FAIL if that is impossible)."""
    ours = build_ostrack(cfg, training=False)
    ocfg = _to_attr(cfg.to_dict())  # the original reads the same key names; extra keys are ignored
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Overwriting .* in registry")
            orig = original[0](ocfg, training=False)
    except Exception as err:  # any failure inside foreign code is reported, not re-raised
        raise OriginalCodeError(f"the original's build_ostrack could not build config {name} (MODEL.BACKBONE.TYPE "
                                f"{cfg.MODEL.BACKBONE.TYPE}, MODEL.HEAD.TYPE {cfg.MODEL.HEAD.TYPE}): "
                                f"{_describe(err, lib_dir)} The original supports the ViT-B/ViT-L configs of "
                                f"its own experiments/ostrack/ folder.") from None
    sd_ours, sd_orig = ours.state_dict(), orig.state_dict()
    only_ours, only_orig = sorted(set(sd_ours) - set(sd_orig)), sorted(set(sd_orig) - set(sd_ours))
    shape_diff = [k for k in sd_ours if k in sd_orig and sd_ours[k].shape != sd_orig[k].shape]
    print(f"  state_dict keys: ours {len(sd_ours)}, original {len(sd_orig)}; only in ours {only_ours or 'none'}; "
          f"only in original {only_orig or 'none'}; shape mismatches {shape_diff or 'none'}")
    if only_ours or only_orig or shape_diff:
        print("  weight transfer ours -> original (strict) -> FAIL: the models hold different parameters")
        return None
    if checkpoint:
        state = load_net_state_dict(checkpoint)
        for who, model in (("ours", ours), ("the original", orig)):
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise CheckpointError(f"{checkpoint} does not fit {who} model built from {name}: {err}. Use the "
                                      f"checkpoint released for this config.") from None
        print(f"  weights: {checkpoint} loaded strictly into both models")
    else:
        orig.load_state_dict(sd_ours, strict=True)
        print("  weights: ours (random init, seeded) loaded strictly into the original")
    return ours.eval(), orig.eval(), ocfg


def masks(cfg: Any, ocfg: _AttrDict, make_mask_orig: Callable, batch: int) -> tuple[Any, bool]:
    """Our CE template mask for ``batch`` items, and whether the original's function gives the same."""
    box = torch.tensor([BOX] * batch)  # (B, 4)
    bb = cfg.MODEL.BACKBONE
    mask = generate_mask_cond(bb.CE_TEMPLATE_RANGE, batch, cfg.DATA.TEMPLATE.SIZE, bb.STRIDE, "cpu", box)
    ref = make_mask_orig(ocfg, batch, "cpu", box)
    same = (mask is None and ref is None) or (mask is not None and ref is not None and torch.equal(mask, ref))
    return mask, same


def _maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().max().item() if a.shape == b.shape else float("inf")


def _same_removed(a: Any, b: Any) -> bool:
    a, b = a or [], b or []
    return len(a) == len(b) and all(
        (x is None and y is None) or (x is not None and y is not None and x.shape == y.shape
                                      and torch.equal(x.float(), y.float())) for x, y in zip(a, b))


def check(ours: Any, orig: Any, cfg: Any, inputs: tuple, mask: Any, train_mask: Any) -> bool:
    """Eval outputs (keep None and 1.0, both attention impls) and one batch-2 train step (loss, gradients)."""
    z, x = inputs
    ok = True
    with torch.inference_mode():
        for keep in (None, 1.0):
            ref = orig(z, x, ce_template_mask=mask, ce_keep_rate=keep)
            for impl in ("sdpa", "explicit"):
                ours.set_attn_impl(impl)
                out = ours(z, x, ce_template_mask=mask, ce_keep_rate=keep)
                d = {k: _maxdiff(out[k], ref[k]) for k in OUT_KEYS}
                scale = max(1.0, max(ref[k].abs().max().item() for k in OUT_KEYS))
                same = _same_removed(out.get("removed_indexes_s"), ref.get("removed_indexes_s"))
                good = max(d.values()) < 1e-4 * scale and same
                ok &= good
                print(f"  eval keep={keep!s:4} ours[{impl:8}] vs original: max|diff| "
                      + " ".join(f"{k}={v:.2e}" for k, v in d.items())
                      + f"; removed_indexes_s identical={same} -> {'OK' if good else 'FAIL'}")
    b = 2
    g = torch.Generator().manual_seed(1)
    t_sz, s_sz = cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE
    zt, xt = torch.randn(b, 3, t_sz, t_sz, generator=g), torch.randn(b, 3, s_sz, s_sz, generator=g)
    state = {k: v.clone() for k, v in orig.state_dict().items()}  # the train step moves BatchNorm statistics

    def step(model: Any) -> tuple[float, dict]:
        model.train()
        model.zero_grad(set_to_none=True)
        out = model(zt, xt, ce_template_mask=train_mask, ce_keep_rate=0.7)
        loss = out["pred_boxes"].sum() + out["score_map"].sum()
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.zero_grad(set_to_none=True)
        model.eval()
        return loss.item(), grads

    l_ref, g_ref = step(orig)
    for impl in ("sdpa", "explicit"):
        ours.set_attn_impl(impl)
        l_o, g_o = step(ours)
        common = set(g_ref) & set(g_o)
        gd = max((_maxdiff(g_o[n], g_ref[n]) for n in common), default=float("inf"))
        gscale = max((g_ref[n].abs().max().item() for n in common), default=0.0)
        good = abs(l_o - l_ref) < 1e-3 * max(1.0, abs(l_ref)) and set(g_ref) == set(g_o) and gd <= 1e-3 * gscale
        ok &= good
        print(f"  train keep=0.7 B={b} ours[{impl:8}] vs original: loss {l_o:.6f} vs {l_ref:.6f}; "
              f"grad tensors {len(g_o)} vs {len(g_ref)}; max|grad diff| {gd:.2e} (max|grad| {gscale:.2e}) "
              f"-> {'OK' if good else 'FAIL'}")
    orig.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    return ok


def summarize(times: list[float], scale: float, unit: str) -> tuple[float, str]:
    a = np.asarray(times) * scale
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return med, f"median {med:9.2f} {unit}  IQR {q3 - q1:8.2f} {unit}  (n={len(a)}, min {a.min():.2f})"


def run_interleaved(variants: list[tuple[Any, Callable]], rounds: int, warmup: int,
                    make_inputs: Callable[[int], Any] | None = None) -> dict[Any, list[float]]:
    """Seconds per call of each variant over the timed rounds; the start order rotates every round."""
    times = {n: [] for n, _ in variants}
    for r in range(warmup + rounds):
        inputs = make_inputs(r) if make_inputs else None
        k = r % len(variants)
        for name, fn in variants[k:] + variants[:k]:
            t0 = time.perf_counter()
            fn(inputs)
            if r >= warmup:
                times[name].append(time.perf_counter() - t0)
    return times


def _label(impl: str, tag: str) -> str:
    return f"{'original' if impl == 'original' else 'ours ' + impl:13} {tag}".rstrip()


def report(times: dict[tuple[str, str], list[float]], scale: float, unit: str, what: str) -> None:
    """Print median/IQR per variant, then each of ours relative to the original with the same tag."""
    meds = {}
    for (impl, tag), values in times.items():
        meds[impl, tag], line = summarize(values, scale, unit)
        print(f"  {_label(impl, tag):20} {line}")
    width = max(len(tag) for _, tag in meds)
    for (impl, tag), med in meds.items():
        if impl != "original":
            ratio = med / meds["original", tag]
            print(f"  ratio ours {impl:8}/original{f' {tag:{width}}' if width else ''}{what}: {ratio:.3f}  "
                  f"({(1 - ratio) * 100:+.1f}% time saved)")


def bench_inference(ours: Any, orig: Any, inputs: tuple, mask: Any, has_ce: bool, args: argparse.Namespace) -> None:
    z, x = inputs

    def forward(model: Any, impl: str, keep: Any) -> Callable:
        def run(_: Any) -> None:
            if impl != "original":
                model.set_attn_impl(impl)
            with torch.inference_mode():
                model(z, x, ce_template_mask=mask, ce_keep_rate=keep)
        return run

    variants = []
    for keep, tag in ((None, "CE"), (1.0, "noCE")) if has_ce else ((None, ""),):
        variants += [((impl, tag), forward(orig if impl == "original" else ours, impl, keep))
                     for impl in ("original", "sdpa", "explicit")]
    times = run_interleaved(variants, args.iters, args.warmup)
    report(times, 1e3, "ms", "")


def bench_train(ours: Any, orig: Any, cfg: Any, mask: Any, args: argparse.Namespace) -> None:
    b, t_sz, s_sz = args.batch, cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE

    def make_inputs(r: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(1000 + r)
        return torch.randn(b, 3, t_sz, t_sz, generator=g), torch.randn(b, 3, s_sz, s_sz, generator=g)

    def step(model: Any, impl: str) -> Callable:
        def run(inputs: tuple) -> None:
            if impl != "original":
                model.set_attn_impl(impl)
            model.zero_grad(set_to_none=True)
            out = model(inputs[0], inputs[1], ce_template_mask=mask, ce_keep_rate=0.7)
            (out["pred_boxes"].sum() + out["score_map"].sum()).backward()
        return run

    state = {k: v.clone() for k, v in orig.state_dict().items()}
    ours.train()
    orig.train()
    variants = [((impl, ""), step(orig if impl == "original" else ours, impl)) for impl in ("original", "sdpa",
                                                                                           "explicit")]
    times = run_interleaved(variants, args.train_iters, 1, make_inputs)
    for model in (ours, orig):
        model.eval()
        model.zero_grad(set_to_none=True)
        model.load_state_dict(state, strict=True)
    report(times, 1.0, "s", " (fwd+bwd)")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Compare outputs, gradients and CPU speed with the original "
                                                 "OSTrack model code of a local clone.")
    parser.add_argument("--original_root", type=Path, required=True,
                        help="root of a clone of github.com/botaoye/OSTrack (holds lib/models/ostrack/)")
    parser.add_argument("--config", action="append", default=None,
                        help="config name or YAML path (repeatable; 'both' = the 256 and 384 CE configs; "
                             f"default {CE_CONFIGS[0]})")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed inference rounds")
    parser.add_argument("--iters", type=int, default=15, help="timed inference rounds")
    parser.add_argument("--train_iters", type=int, default=3, help="timed training rounds (after 1 warm-up)")
    parser.add_argument("--batch", type=int, default=8, help="training batch size")
    parser.add_argument("--skip_infer", action="store_true", help="skip the inference timing")
    parser.add_argument("--skip_train", action="store_true", help="skip the training timing")
    parser.add_argument("--no_check", action="store_true", help="skip the output/gradient agreement check")
    parser.add_argument("--checkpoint", type=str, default=None,
                        help="load this checkpoint (e.g. OSTrack_ep0300.pth.tar) into both models instead of "
                             "random weights")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and inputs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.train_iters < 1 or args.batch < 1:
        raise ConfigError(f"--iters, --train_iters and --batch must be >= 1 and --warmup >= 0, got {args.iters}, "
                          f"{args.train_iters}, {args.batch} and {args.warmup}.")
    if args.checkpoint and not os.path.isfile(args.checkpoint):
        raise CheckpointError(f"--checkpoint {args.checkpoint} does not exist; expected an OSTrack checkpoint "
                              f"file such as OSTrack_ep0300.pth.tar.")
    names = []
    for name in args.config or [CE_CONFIGS[0]]:
        names += list(CE_CONFIGS) if name == "both" else [name]
    # loaded first so that a wrong name fails before anything slow; no pretrained file, no drop path
    configs = {name: load_config(name, overrides={"MODEL": {"PRETRAIN_FILE": ""}, "TRAIN": {"DROP_PATH_RATE": 0.0}})
               for name in names}
    root = args.original_root.expanduser()
    try:
        original = import_original(root)
        return _compare(configs, original, (root / "lib").resolve(), args)
    finally:
        uninstall_foreign_package(ALIAS)  # also after a failed import, so a later call starts clean


def _compare(configs: dict[str, Any], original: tuple[Callable, Callable], lib_dir: Path,
             args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import timm

    print("=" * 100)
    print(f"OSTrack original ({lib_dir}) vs re-implementation | torch {torch.__version__} | timm "
          f"{timm.__version__} | python {platform.python_version()}")
    print(f"threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}) | CPU: {_cpu_name()} | "
          f"os.cpu_count {os.cpu_count()}")
    print(f"inference: batch 1, warmup {args.warmup} + {args.iters} interleaved rounds | training: batch "
          f"{args.batch}, keep 0.7, 1 + {args.train_iters} rounds | drop path 0 in both")
    print("=" * 100)
    all_ok = True
    for name, cfg in configs.items():
        print(f"\n### {name}")
        torch.manual_seed(args.seed)
        pair = build_pair(name, cfg, original, lib_dir, args.checkpoint)
        if pair is None:
            all_ok = False
            continue
        ours, orig, ocfg = pair
        g = torch.Generator().manual_seed(args.seed)
        t_sz, s_sz = cfg.DATA.TEMPLATE.SIZE, cfg.DATA.SEARCH.SIZE
        inputs = (torch.randn(1, 3, t_sz, t_sz, generator=g), torch.randn(1, 3, s_sz, s_sz, generator=g))
        mask, same_mask = masks(cfg, ocfg, original[1], 1)
        bb = cfg.MODEL.BACKBONE
        has_ce = bb.TYPE.endswith("_ce") and bool(bb.CE_LOC)
        print(f"  template {tuple(inputs[0].shape)}, search {tuple(inputs[1].shape)}, ce_template_mask "
              f"{None if mask is None else tuple(mask.shape)} ({bb.CE_TEMPLATE_RANGE}), CE_LOC {list(bb.CE_LOC)} "
              f"keep {list(bb.CE_KEEP_RATIO)}")
        if not args.no_check:
            t0 = time.perf_counter()
            print("[check] agreement")
            train_mask, same_train_mask = masks(cfg, ocfg, original[1], 2)
            same_mask &= same_train_mask
            print(f"  ce_template_mask ours vs original identical={same_mask} -> {'OK' if same_mask else 'FAIL'}")
            all_ok &= same_mask
            all_ok &= check(ours, orig, cfg, inputs, mask, train_mask)
            print(f"  (check took {time.perf_counter() - t0:.0f} s)")
        if not args.skip_infer:
            t0 = time.perf_counter()
            print("[inference] batch 1, torch.inference_mode, ms per forward")
            bench_inference(ours, orig, inputs, mask, has_ce, args)
            print(f"  (inference section took {time.perf_counter() - t0:.0f} s)")
        if not args.skip_train:
            t0 = time.perf_counter()
            print(f"[training] batch {args.batch}, ce_keep_rate 0.7, s per forward+backward")
            bench_train(ours, orig, cfg, masks(cfg, ocfg, original[1], args.batch)[0], args)
            print(f"  (training section took {time.perf_counter() - t0:.0f} s)")
        del ours, orig
    if not args.no_check:
        print(f"\nagreement check: {'ALL OK' if all_ok else 'SOME FAIL (see above)'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    run_cli(main)
