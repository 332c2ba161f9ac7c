"""Parsing per-frame annotation text: one line per frame, kept in place even when a line is broken.

Shared by the training datasets (:mod:`lib.train.dataset.base_video_dataset`) and the evaluation readers
(:mod:`lib.test.utils.load_text`), which differ only in the delimiters they accept, the dtype they return and the
error they raise; it lives here because neither layer may import the other.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["frame_lines", "split_values", "parse_box_lines", "format_line_numbers"]


def frame_lines(text: str) -> list[str]:
    """The lines of ``text`` without the blank lines at its end (an editor's trailing newlines are no frames)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def split_values(line: str, separators: str = ",\t") -> list[str]:
    """The tokens of ``line``, split at whitespace and at every character of ``separators``."""
    for sep in separators:
        line = line.replace(sep, " ")
    return line.split()


def parse_box_lines(lines: Sequence[str], dtype=np.float64, separators: str = ",\t") -> tuple[np.ndarray, list[int]]:
    """One box (four numbers) per line, line k giving row k.

    A line that is empty or does not hold exactly four numbers gives a NaN row instead of being dropped, so every
    later box stays paired with its own frame; the caller decides how to report those lines.

    Args:
        lines: the annotation lines, one per frame.
        dtype: dtype of the returned array.
        separators: characters that separate values besides whitespace.

    Returns:
        The (N, 4) boxes and the 1-based numbers of the lines that gave a NaN row.
    """
    boxes = np.full((len(lines), 4), np.nan, dtype=dtype)
    bad: list[int] = []
    for k, line in enumerate(lines):
        tokens = split_values(line, separators)
        try:
            if len(tokens) != 4:
                raise ValueError
            boxes[k] = [float(t) for t in tokens]
        except ValueError:
            bad.append(k + 1)
    return boxes, bad


def format_line_numbers(numbers: Sequence[int], shown: int = 5) -> str:
    """The first ``shown`` line numbers for a log message, e.g. '2, 4, 5' or '1, 2, 3, 4, 5 (and 7 more)'."""
    text = ", ".join(map(str, numbers[:shown]))
    return text + (f" (and {len(numbers) - shown} more)" if len(numbers) > shown else "")
