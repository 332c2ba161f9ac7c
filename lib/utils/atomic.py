"""Atomic file writes: a file is written under a temporary name next to its target, then renamed over it.

Readers (another process, a resumed run, a shared results folder) see the old file or the whole new one, never a
part; a write that fails or is killed leaves at most a hidden ``.<name>.<pid>.<random>.tmp`` file, which no reader
takes for a result. The temporary name is unique per call, so concurrent writers never share one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write_path", "write_text_atomic"]


@contextlib.contextmanager
def atomic_write_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an error it replaces ``path``.

    Args:
        path: the target file.
        suffix: appended to the temporary name, for writers that insist on an extension (``np.savez``: ".npz").
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
