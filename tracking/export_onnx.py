"""Export a tracker's network to ONNX, as the tracker calls it, and check the graph against PyTorch.

Example: ``python tracking/export_onnx.py ostrack vitb_256_mae_ce_32x4_ep300 --checkpoint OSTrack_ep0300.pth.tar``
writes ``<save_dir>/onnx/ostrack/vitb_256_mae_ce_32x4_ep300.onnx`` (template and search in; score, size and offset
maps out; candidate elimination included). The Siamese families (siamrpn, siamban, siamfcpp) get two files: the
per-frame graph (search crop and template features in) and ``<name>.template.onnx`` (template crop in, features
out), run once per sequence. Each file records the config name and hash and the checkpoint's SHA-256 in its
metadata; ``tracking/test.py ... --backend onnxruntime`` checks them. The graph is run in ONNX Runtime on random
inputs and compared with PyTorch (max |diff| printed); a difference above the tolerance is an error.

The checkpoint is resolved as tracking/test.py resolves it (TEST.EPOCH of the config under --save_dir, or
--checkpoint).
"""

from __future__ import annotations

import argparse
import logging

from lib.models.export import DEFAULT_OPSET, EXPORTERS
from lib.test.evaluation.tracker import Tracker, parameter_stem
from lib.test.tracker.backends import default_onnx_path, export_tracker
from lib.utils.cli import run_cli
from lib.utils.errors import ConfigError

logger = logging.getLogger("tracking.export_onnx")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Export a tracker's network to ONNX and check it against PyTorch.")
    parser.add_argument("tracker_name", type=str, help="tracker name: ostrack, siamrpn, siamban or siamfcpp")
    parser.add_argument("tracker_param", type=str, help="config name under experiments/<tracker>/ (or a YAML path)")
    parser.add_argument("--checkpoint", type=str, default=None,
                        help="checkpoint file (default: the one tracking/test.py would load)")
    parser.add_argument("--output", type=str, default=None,
                        help="ONNX file to write (default <save_dir>/onnx/<tracker>/<config>.onnx)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument("--exporter", choices=EXPORTERS, default="torchscript",
                        help="torch.onnx exporter: torchscript (tracing; fast) or dynamo (torch.export; needs "
                             "onnxscript)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="max |ONNX Runtime - PyTorch| allowed on the check's random inputs (also relative to "
                             "each output's magnitude)")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder (checkpoints, default --output)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.opset < 13:
        raise ConfigError(f"--opset {args.opset}: the exporter needs opset 13 or later (default {DEFAULT_OPSET}).")
    if not args.tolerance > 0:
        raise ConfigError(f"--tolerance must be a positive number, got {args.tolerance}.")
    tracker = Tracker(args.tracker_name, args.tracker_param, checkpoint=args.checkpoint,
                      env_overrides={"save_dir": args.save_dir})
    params = tracker.get_parameters()
    output = args.output or default_onnx_path(tracker.env().save_dir, args.tracker_name,
                                              parameter_stem(args.tracker_param))
    runner = tracker.create_tracker(params, device="cpu")  # the PyTorch backend in fp32: the network it loaded
    if not hasattr(runner, "example_inputs"):
        raise ConfigError(f"tracker {args.tracker_name!r} has no network to export (ONNX export covers ostrack, "
                          f"siamrpn, siamban and siamfcpp).")
    result = export_tracker(runner, output, opset=args.opset, atol=args.tolerance, exporter=args.exporter)
    for path in result.paths:
        print(f"wrote {path}")
    print(f"ONNX Runtime vs PyTorch on random inputs, max |diff| (of max |output|): {result.summary()}; "
          f"tolerance {args.tolerance:g} + {args.tolerance:g} x max |output|: OK")
    print(f"run it with: python tracking/test.py {args.tracker_name} {args.tracker_param} --backend onnxruntime "
          f"--onnx {result.paths[0]}")
    return 0


if __name__ == "__main__":
    run_cli(main)
