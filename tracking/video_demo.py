"""Track an object through a video file or camera and write an annotated video.

Example: ``python tracking/video_demo.py ostrack vitb_256_mae_ce_32x4_ep300 clip.mp4 --init_bbox 100,80,60,40
--output clip_tracked.mp4``. Without a box, the target is selected with the mouse (only when a display exists).
``--backend onnxruntime [--onnx FILE]`` runs the graph written by tracking/export_onnx.py, ``--precision
auto|fp32|bf16|fp16`` the PyTorch network in another precision (as tracking/test.py).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from lib.utils.device import resolve_device
from lib.test.evaluation.tracker import Tracker, parameter_stem
from lib.test.tracker.backends import BACKENDS, default_onnx_path, set_runtime_options
from lib.test.tracker.precision import PRECISIONS
from lib.test.evaluation.video import VideoError, run_video
from lib.utils.cli import run_cli
from lib.utils.errors import OSTrackError


class BoxArgumentError(OSTrackError):
    """The initial box argument is malformed."""


def parse_box(text: str) -> list[float]:
    """'x,y,w,h' -> [x, y, w, h]: four finite numbers with w, h > 0 (the box is checked against the frame later)."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise BoxArgumentError(f"--init_bbox {text!r}: expected x,y,w,h (four finite numbers, w and h > 0).")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a tracker on a video file or camera.")
    parser.add_argument("tracker_name", type=str, help="tracker name, e.g. ostrack")
    parser.add_argument("tracker_param", type=str, help="config name (or YAML path)")
    parser.add_argument("videofile", type=str, help="video file, or a camera index such as 0")
    parser.add_argument("--optional_box", type=float, default=None, nargs="+", help="initial box x y w h")
    parser.add_argument("--init_bbox", type=str, default=None, help="initial box x,y,w,h")
    parser.add_argument("--debug", type=int, default=0, help="debug level")
    parser.add_argument("--save_results", action="store_true", help="write the boxes to <results>/video_<name>.txt")
    parser.add_argument("--output", type=str, default=None,
                        help="annotated video to write (default <results>/video_<name>.mp4; .avi uses MJPG)")
    parser.add_argument("--show", action="store_true", help="display the frames while tracking")
    parser.add_argument("--device", type=str, default="auto", help="auto, cpu, cuda or cuda:<i>")
    parser.add_argument("--checkpoint", type=str, default=None, help="checkpoint file")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder")
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch",
                        help="run the network in PyTorch or in ONNX Runtime (a graph from tracking/export_onnx.py)")
    parser.add_argument("--onnx", type=str, default=None,
                        help="with --backend onnxruntime: the ONNX file (default <save_dir>/onnx/<tracker>/<param>.onnx)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="network precision: fp32, bf16, fp16 (CUDA only) or auto (bf16 where native)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    box = parse_box(args.init_bbox) if args.init_bbox else None
    if box is None and args.optional_box is not None:
        box = parse_box(",".join(str(v) for v in args.optional_box))
    tracker = Tracker(args.tracker_name, args.tracker_param, "video", checkpoint=args.checkpoint,
                      env_overrides={"save_dir": args.save_dir})
    onnx = args.onnx
    if args.backend == "onnxruntime" and onnx is None:
        onnx = default_onnx_path(tracker.env().save_dir, args.tracker_name, parameter_stem(args.tracker_param))
    params = set_runtime_options(tracker.get_parameters(), args.backend, args.precision, onnx)
    params.debug = args.debug
    runner = tracker.create_tracker(params, device=str(resolve_device(args.device)))
    stem = Path(args.videofile).stem if not args.videofile.isdigit() else f"camera{args.videofile}"
    output = Path(args.output) if args.output else tracker.results_dir / f"video_{stem}.mp4"
    result = run_video(runner, args.videofile, init_bbox=box, output=output, show=args.show)
    print(f"tracked {len(result.boxes)} frames at {result.fps:.1f} FPS; wrote {output}")
    if args.save_results:
        path = tracker.results_dir / f"video_{stem}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        # matches OSTrack: tab-separated integer boxes
        np.savetxt(path, np.asarray(result.boxes).astype(int), delimiter="\t", fmt="%d")
        print(f"wrote {path}")
    if result.truncated:
        raise VideoError(f"the video {args.videofile} ended after {len(result.boxes)} of the {result.frames_expected} "
                         f"frames its header states: the file is truncated or a frame is corrupt. The "
                         f"{len(result.boxes)} frames read were tracked and written; expected a complete video.")
    return 0


if __name__ == "__main__":
    run_cli(main)
