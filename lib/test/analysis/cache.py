"""The evaluation cache (``<result_plot_path>/<report>/eval_data.pkl``), invalidated when its inputs change.

The original reused an existing eval_data.pkl whenever the sequence and tracker lists matched, so new or
rewritten result files were silently ignored (spec 8.6 item 43). Here the cache stores a fingerprint of
everything the numbers depend on: the metric settings, the sequence names and ground truth, the trackers and the
size and modification time of every result and time file. Any change recomputes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from pathlib import Path
from typing import Iterable

import numpy as np

__all__ = ["CACHE_VERSION", "file_signature", "fingerprint", "load_cached", "save_cache"]

logger = logging.getLogger(__name__)

CACHE_VERSION = 2


def file_signature(path: Path) -> list:
    """(size, mtime_ns) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return [None, None]
    return [st.st_size, st.st_mtime_ns]


def fingerprint(settings: dict, ground_truth: Iterable[np.ndarray], files: Iterable[Path]) -> str:
    """A hash of the metric settings, the ground-truth arrays and the signatures of the result files."""
    digest = hashlib.sha1()
    digest.update(json.dumps({"version": CACHE_VERSION, **settings}, sort_keys=True, default=str).encode())
    for array in ground_truth:
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(b"|")
    for path in files:
        digest.update(f"{path}:{file_signature(path)}\n".encode())
    return digest.hexdigest()


def load_cached(path: Path, expected_fingerprint: str) -> dict | None:
    """The cached evaluation data if it exists and was computed from the same inputs, else None."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as err:
        logger.warning("ignoring unreadable cache %s (%s)", path, err)
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != expected_fingerprint:
        logger.info("result files or settings changed since %s was written; recomputing", path)
        return None
    return data


def save_cache(path: Path, data: dict) -> None:
    """Write the evaluation data atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
