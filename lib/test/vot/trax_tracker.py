"""A TraX server around any registered tracker, for the official VOT toolkit (``vot evaluate``).

The toolkit starts ``python -m lib.test.vot.trax_tracker TRACKER PARAM [--checkpoint FILE] [--device D] [--opts
KEY VALUE ...]`` (the command that ``tracking/vot_setup.py`` writes into the workspace's ``trackers.ini``) and
talks to it over the TraX protocol (package vot-trax): on ``initialize`` it sends the frame's path and the target
region, on ``frame`` the next frame's path; the server answers with the tracked rectangle (and the tracker's
confidence when it reports one). The tracker is built once, from the same parameter function and checkpoint
resolution as ``tracking/test.py``, and re-initialised in place when the toolkit re-initialises (the reset
protocol), as PySOT re-initialises its tracker.

Regions: a rectangle is used as given; a polygon becomes PySOT's area-preserving box
(:func:`~lib.test.evaluation.vot_region.pysot_init_box`); a mask its bounding box.

TraX talks over the process's standard output. Before the server starts, the real standard output is moved to a
private file descriptor for the protocol (``TRAX_OUT``) and file descriptor 1 is pointed at standard error, so a
stray ``print`` (ours or a library's) never corrupts a protocol message.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

from lib.test.evaluation.tracker import Tracker
from lib.utils.image import read_image
from lib.test.evaluation.vot_region import Mask, Polygon, pysot_init_box, region_to_box_minmax
from lib.utils.errors import OSTrackError
from lib.utils.optional import import_optional

__all__ = ["TraxUnavailableError", "require_trax", "region_to_box", "TraxTrackerServer", "serve", "main"]

logger = logging.getLogger(__name__)


class TraxUnavailableError(OSTrackError):
    """The vot-trax package is not installed."""


def require_trax() -> ModuleType:
    """The ``trax`` module of vot-trax (with ``trax.server``, where the Server class lives), or a
    TraxUnavailableError saying how to install it."""
    return import_optional("trax", "the VOT integration", "the package vot-trax", "vot-trax", TraxUnavailableError,
                           submodules=("trax.server",))


def region_to_box(region: Any) -> list[float]:
    """A TraX region as the [x, y, w, h] box a tracker is initialised with (module docstring)."""
    trax = require_trax()
    kind = region.type
    if kind == trax.Region.RECTANGLE:
        return [float(v) for v in region.bounds()]
    if kind == trax.Region.POLYGON:
        points = np.array([region.get(i) for i in range(region.size())], dtype=np.float64)
        return pysot_init_box(Polygon(points))
    if kind == trax.Region.MASK:
        return region_to_box_minmax(Mask(tuple(region.offset()), region.array().astype(bool)))
    raise OSTrackError(f"the toolkit sent a {kind} region; this tracker takes rectangles, polygons or masks.")


def _protect_stdout() -> None:
    """Give TraX a private copy of standard output and point file descriptor 1 at standard error."""
    if os.environ.get("TRAX_SOCKET") or os.environ.get("TRAX_OUT"):
        return
    sys.stdout.flush()
    os.environ["TRAX_IN"] = str(os.dup(0))
    os.environ["TRAX_OUT"] = str(os.dup(1))
    os.dup2(2, 1)


class TraxTrackerServer:
    """Serves one registered tracker over TraX.

    Args:
        tracker: the evaluation Tracker (name, parameters, checkpoint); its parameters are resolved here, so a
            missing checkpoint or a bad config fails before the toolkit sends the first frame.
        device: torch device of the network.
    """

    def __init__(self, tracker: Tracker, device: str = "cpu"):
        self.tracker = tracker
        self.device = device
        self.params = tracker.get_parameters()
        self.instance = tracker.create_tracker(self.params, device=device)

    def initialize(self, image_path: str, box: list[float]) -> list[float]:
        self.instance.initialize(read_image(image_path), {"init_bbox": list(box)})
        return list(box)

    def track(self, image_path: str) -> tuple[list[float], dict]:
        out = self.instance.track(read_image(image_path), {})
        properties = {}
        for key in ("best_score", "conf_score", "confidence"):
            if key in out and np.isscalar(out[key]):
                properties["confidence"] = float(out[key])
                break
        return [float(v) for v in out["target_bbox"]], properties

    def serve(self, log: bool = False) -> None:
        """Answer the toolkit's requests until it quits."""
        trax = require_trax()
        from trax.server import Server

        with Server([trax.Region.RECTANGLE, trax.Region.POLYGON, trax.Region.MASK], [trax.Image.PATH],
                    tracker_name=self.tracker.name, tracker_description=self.tracker.label(),
                    tracker_family=self.tracker.name, log=log) as server:
            while True:
                request = server.wait()
                if request.type == trax.TraxStatus.QUIT:
                    break
                path = request.image[trax.ImageChannel.COLOR].path()
                if request.type == trax.TraxStatus.INITIALIZE:
                    box = self.initialize(path, region_to_box(request.objects[0][0]))
                    properties = {}
                else:
                    box, properties = self.track(path)
                server.status([(trax.Rectangle.create(*box), properties)])


def serve(name: str, parameter: str, checkpoint: str | None = None, device: str = "cpu",
          overrides: dict | None = None, env_overrides: dict | None = None) -> None:
    """Build the registered tracker ``name`` with config ``parameter`` and serve it over TraX."""
    require_trax()
    _protect_stdout()
    tracker = Tracker(name, parameter, "vot", checkpoint=checkpoint, env_overrides=env_overrides,
                      overrides=overrides or None)
    TraxTrackerServer(tracker, device=device).serve()


def main(argv: list[str] | None = None) -> int:
    from lib.utils.device import resolve_device
    from lib.test.evaluation.tuning import merge_overrides, read_override_file
    from lib.utils.opts import parse_opts

    parser = argparse.ArgumentParser(description="Serve a registered tracker over TraX (started by the VOT toolkit).")
    parser.add_argument("tracker_name")
    parser.add_argument("tracker_param")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save_dir", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--cfg_override", default=None, metavar="FILE")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY VALUE")
    args = parser.parse_args(argv)
    overrides = parse_opts(args.opts)
    if args.cfg_override:
        overrides = merge_overrides(read_override_file(args.cfg_override), overrides)
    if args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    serve(args.tracker_name, args.tracker_param, args.checkpoint, str(resolve_device(args.device)), overrides,
          {"save_dir": args.save_dir})
    return 0


if __name__ == "__main__":
    from lib.utils.cli import run_cli

    run_cli(main)
