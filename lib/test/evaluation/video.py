"""Run a tracker over a video file or camera and write an annotated video (tracking/video_demo.py).

Frames are converted to RGB before they reach the tracker (the original fed OpenCV's BGR to a tracker trained
on RGB, spec 8.6 item 40). An interactive box selection is used only when a display exists; otherwise the
initial box must be given.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lib.utils.errors import OSTrackError

__all__ = ["VideoError", "VideoResult", "open_video", "has_display", "video_writer", "draw_box", "run_video",
           "check_init_box"]

logger = logging.getLogger(__name__)


class VideoError(OSTrackError):
    """A video cannot be opened or written, or no initial box is available."""


@dataclass
class VideoResult:
    """Boxes and per-frame times of a run; ``frames_expected`` is the frame count the file's header states."""

    boxes: list[list[float]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    frames_expected: int | None = None
    stopped: bool = False  # the user quit ('q') before the end

    @property
    def truncated(self) -> bool:
        """Whether fewer frames could be read than the video file says it holds."""
        return not self.stopped and bool(self.frames_expected) and len(self.boxes) < self.frames_expected

    @property
    def fps(self) -> float:
        total = sum(self.times[1:])
        return (len(self.times) - 1) / total if total > 0 else float("nan")


def open_video(source: str) -> cv2.VideoCapture:
    """A video file, or a camera when ``source`` is an integer index."""
    capture = cv2.VideoCapture(int(source)) if str(source).isdigit() else cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise VideoError(f"cannot open the video {source!r} (a file path, or a camera index such as 0).")
    return capture


def has_display() -> bool:
    """Whether OpenCV can open a window here (a display and a GUI-enabled OpenCV build)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt"):
        return False
    try:
        cv2.namedWindow("ostrack-probe")
        cv2.destroyWindow("ostrack-probe")
    except cv2.error:
        return False
    return True


def video_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """A writer for ``path`` (.avi: MJPG, otherwise mp4v)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix.lower() == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps if fps and fps > 0 else 30.0, size)
    if not writer.isOpened():
        raise VideoError(f"cannot write the video {path}; try an .avi or .mp4 file name.")
    return writer


def draw_box(frame_bgr: np.ndarray, box: list[float], color=(0, 255, 0), label: str | None = None) -> None:
    """Draw an xywh box (and an optional label) in place."""
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(frame_bgr, (x, y), (x + w, y + h), color, 2)
    if label:
        cv2.putText(frame_bgr, label, (x, max(12, y - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)


def _select_box(frame_bgr: np.ndarray) -> list[float]:
    x, y, w, h = cv2.selectROI("select the target and press ENTER", frame_bgr, fromCenter=False)
    cv2.destroyAllWindows()
    if w <= 0 or h <= 0:
        raise VideoError("no box selected.")
    return [float(x), float(y), float(w), float(h)]


def run_video(tracker, source: str, init_bbox: list[float] | None = None, output: Path | None = None,
              show: bool = False) -> VideoResult:
    """Track through a video.

    Args:
        tracker: a BaseTracker (initialize/track on RGB frames).
        source: video file or camera index.
        init_bbox: [x, y, w, h] in the first frame; selected interactively when None and a display exists.
        output: annotated video to write (None: none).
        show: display frames while tracking ('q' quits, 'r' reselects the target).
    """
    capture = open_video(source)
    ok, frame = capture.read()
    if not ok:
        capture.release()
        raise VideoError(f"the video {source!r} has no readable frame (empty, truncated or not a video).")
    if init_bbox is None:
        if not has_display():
            capture.release()
            raise VideoError("no initial box: pass --init_bbox x,y,w,h (there is no display to select one).")
        init_bbox = _select_box(frame)
    try:
        check_init_box(init_bbox, frame.shape[1], frame.shape[0])
    except VideoError:
        capture.release()
        raise
    writer = None
    if output is not None:
        writer = video_writer(Path(output), capture.get(cv2.CAP_PROP_FPS), (frame.shape[1], frame.shape[0]))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if not str(source).isdigit() else 0
    result = VideoResult(frames_expected=count if count > 0 else None)
    try:
        start = time.perf_counter()
        tracker.initialize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), {"init_bbox": list(init_bbox)})
        result.times.append(time.perf_counter() - start)
        result.boxes.append([float(v) for v in init_bbox])
        while True:
            if writer is not None or show:
                annotated = frame.copy()
                draw_box(annotated, result.boxes[-1], label=f"#{len(result.boxes) - 1}")
                if writer is not None:
                    writer.write(annotated)
                if show:
                    cv2.imshow("tracking", annotated)
                    key = cv2.waitKey(1) & 0xFF
                    if key == ord("q"):
                        result.stopped = True
                        break
                    if key == ord("r"):
                        box = _select_box(frame)
                        tracker.initialize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), {"init_bbox": box})
                        result.boxes[-1] = box
            ok, frame = capture.read()
            if not ok:
                break
            start = time.perf_counter()
            out = tracker.track(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            result.times.append(time.perf_counter() - start)
            result.boxes.append([float(v) for v in out["target_bbox"]])
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    logger.info("tracked %d frames at %.1f FPS", len(result.boxes), result.fps)
    if result.truncated:
        logger.warning("the video %s ended after %d of the %d frames its header states (truncated or corrupt)",
                       source, len(result.boxes), result.frames_expected)
    return result


def check_init_box(box: list[float], width: int, height: int) -> None:
    """Raise VideoError unless ``box`` (x, y, w, h) is finite, has a positive size and overlaps the frame."""
    values = [float(v) for v in box]
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise VideoError(f"initial box {list(box)}: expected x,y,w,h with finite values and w, h > 0.")
    x, y, w, h = values
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise VideoError(f"initial box {values} lies outside the first frame ({width} x {height} pixels): expected "
                         f"a box x,y,w,h that overlaps the image (0 <= x < {width}, 0 <= y < {height}).")
