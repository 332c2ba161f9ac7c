"""Draw ground truth and tracker results over a sequence's frames, into images or a video (vis_results.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.video import draw_box, video_writer
from lib.utils.image import CorruptImageError, read_image

__all__ = ["GT_COLOR", "TRACK_COLORS", "render_sequence"]

GT_COLOR = (0, 255, 0)  # BGR green
TRACK_COLORS = [(0, 0, 255), (255, 0, 0), (0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 128, 255)]


def _legend(frame: np.ndarray, labels: list[tuple[str, tuple]]) -> None:
    for i, (text, color) in enumerate(labels):
        cv2.putText(frame, text, (8, 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)


def render_sequence(seq: Sequence, tracks: dict[str, np.ndarray], output: Path, as_video: bool = False,
                    show_gt: bool = True, stride: int = 1, fps: float = 30.0) -> Path:
    """Draw boxes over every ``stride``-th frame.

    Args:
        seq: the sequence (frames and ground truth).
        tracks: label -> (N, 4) xywh boxes per frame.
        output: a folder for ``%08d.jpg`` images, or the video file when ``as_video``.
        as_video: write one video instead of images.
        show_gt: draw the ground truth where it exists (and is valid).
        stride: frame step.
        fps: frame rate of the video.
    """
    output = Path(output)
    writer = None
    if not as_video:
        output.mkdir(parents=True, exist_ok=True)
    legend = ([("ground truth", GT_COLOR)] if show_gt else []) + [
        (label, TRACK_COLORS[i % len(TRACK_COLORS)]) for i, label in enumerate(tracks)]
    try:
        for n in range(0, len(seq.frames), stride):
            try:
                frame = cv2.cvtColor(read_image(seq.frames[n]), cv2.COLOR_RGB2BGR)  # drawn and written as BGR
            except (OSError, CorruptImageError):
                continue
            if show_gt and n < len(seq.ground_truth_rect):
                gt = seq.ground_truth_rect[n]
                if np.all(np.isfinite(gt)) and gt[2] > 0 and gt[3] > 0:
                    draw_box(frame, gt.tolist(), GT_COLOR)
            for i, boxes in enumerate(tracks.values()):
                if n < len(boxes):
                    draw_box(frame, list(boxes[n]), TRACK_COLORS[i % len(TRACK_COLORS)])
            _legend(frame, legend)
            cv2.putText(frame, f"#{n}", (frame.shape[1] - 70, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
            if as_video:
                if writer is None:
                    writer = video_writer(output, fps, (frame.shape[1], frame.shape[0]))
                writer.write(frame)
            else:
                cv2.imwrite(str(output / f"{n:08d}.jpg"), frame)
    finally:
        if writer is not None:
            writer.release()
    return output
