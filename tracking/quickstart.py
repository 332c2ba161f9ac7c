"""The main job: train a small tracker on the synthetic dataset, evaluate it, and compare with a trivial baseline.

``python tracking/quickstart.py`` (OSTrack; ``--script siamrpn|siamban|siamfcpp`` for the Siamese families' small
configs) runs, one after the other, the same commands a researcher runs by hand:

1. ``tracking/train.py --script ostrack --config vitn_128_ce_synthetic --mode single`` (generates the synthetic
   dataset first if it is absent; resumes if a previous run was interrupted),
2. ``tracking/test.py ostrack vitn_128_ce_synthetic --dataset synthetic_val`` (the trained tracker),
3. ``tracking/test.py first_box default --dataset synthetic_val`` (a tracker that repeats the first box),
4. ``tracking/analysis_results.py ... --mode got10k`` (AO, SR0.5, SR0.75 of both),

then prints both AOs. Every step skips work that is already done, so a second run finishes in seconds.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path

from lib.utils.cli import run_cli
from lib.utils.errors import OSTrackError

TRACKING = Path(__file__).resolve().parent
logger = logging.getLogger("quickstart")

#: the small CPU config of each family
SMALL_CONFIGS = {"ostrack": "vitn_128_ce_synthetic", "siamrpn": "siamrpn_alex_synthetic",
                 "siamban": "siamban_alex_synthetic", "siamfcpp": "siamfcpp_alexnet_synthetic"}


class StepFailed(OSTrackError):
    """One of the chained commands exited with an error."""


def run_step(title: str, script: str, args: list[str]) -> str:
    """Run one entry point with this interpreter, echoing its output; returns the output."""
    cmd = [sys.executable, str(TRACKING / script), *args]
    print(f"\n== {title}\n$ python tracking/{script} {shlex.join(args)}", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if proc.wait() != 0:
        raise StepFailed(f"step '{title}' failed (exit code {proc.returncode}); its output is above. "
                         f"The command was: python tracking/{script} {shlex.join(args)}")
    print(f"== {title}: done in {time.perf_counter() - start:.0f} s", flush=True)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="ostrack", choices=sorted(SMALL_CONFIGS), help="tracker family")
    parser.add_argument("--config", default=None,
                        help=f"experiment config to train (default: the family's small config, {SMALL_CONFIGS})")
    parser.add_argument("--save_dir", default=None, help="output folder (default ./output)")
    parser.add_argument("--data_dir", default=None, help="data folder (default ./data; synthetic data in <data_dir>/synthetic)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:<i>")
    parser.add_argument("--threads", type=int, default=2, help="worker processes for evaluation")
    args = parser.parse_args(argv)
    config = args.config or SMALL_CONFIGS[args.script]

    paths = []
    for flag in ("save_dir", "data_dir"):
        if getattr(args, flag):
            paths += [f"--{flag}", getattr(args, flag)]
    start = time.perf_counter()
    run_step("1/4 train", "train.py", ["--script", args.script, "--config", config, "--mode", "single",
                                       "--device", args.device, *paths])
    run_step("2/4 evaluate the trained tracker", "test.py",
             [args.script, config, "--dataset", "synthetic_val", "--threads", str(args.threads), "--device",
              args.device, "--no_progress", *paths])
    run_step("3/4 evaluate the first-box baseline", "test.py",
             ["first_box", "default", "--dataset", "synthetic_val", "--threads", "0", "--no_progress", *paths])
    run_step("4/4 scores", "analysis_results.py",
             ["--tracker", args.script, "--param", config, "--tracker", "first_box", "--param", "default",
              "--dataset", "synthetic_val", "--mode", "got10k", "--plots", "success", *paths])
    print(f"\nmain job finished in {(time.perf_counter() - start) / 60:.1f} min. The table above compares the trained "
          f"tracker with one that repeats the first box (AO in percent).")
    return 0


if __name__ == "__main__":
    run_cli(main)
