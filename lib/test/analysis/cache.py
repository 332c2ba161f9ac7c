"""The evaluation cache (``<result_plot_path>/<report>/eval_data.npz``), plain data checked before use.

The original reused an existing eval_data.pkl whenever the sequence and tracker lists matched, so new or
rewritten result files were silently ignored (spec 8.6 item 43), and it unpickled the file to find out: a
crafted cache in a shared results folder could run code. Here the cache is a numpy ``.npz`` archive read with
``allow_pickle=False``: the arrays are stored as arrays, everything else (names, tracker records, the mode)
as one JSON document in the entry ``__meta__``. The JSON is read first and holds a fingerprint of everything
the numbers depend on (the metric settings, the sequence names and ground truth, the trackers and the size
and modification time of every result and time file); the arrays are read only when it matches. Any change
recomputes; an unreadable or foreign file is reported and recomputed, never executed. Old ``eval_data.pkl``
files are ignored (never opened).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np

from lib.utils.errors import OSTrackError
from lib.utils.atomic import atomic_write_path

__all__ = ["CACHE_VERSION", "CacheError", "cache_file", "file_signature", "fingerprint", "read_cache",
           "load_cached", "save_cache"]

logger = logging.getLogger(__name__)

CACHE_VERSION = 3  # 3: npz + JSON (2 was a pickle)
_META = "__meta__"


class CacheError(OSTrackError):
    """An evaluation cache file cannot be read as plain data."""


def cache_file(out_dir: str | os.PathLike, mode: str) -> Path:
    """The cache of a report folder: ``eval_data.npz`` for the default mode, ``eval_data_<mode>.npz`` else."""
    return Path(out_dir) / ("eval_data.npz" if mode == "pytracking" else f"eval_data_{mode}.npz")


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


def read_cache(path: str | os.PathLike, expected_fingerprint: str | None = None) -> dict | None:
    """Read a cache file as plain data; None when its fingerprint differs from ``expected_fingerprint``.

    Args:
        path: the ``.npz`` file.
        expected_fingerprint: compared before any array is read (None: read whatever it holds).

    Raises:
        CacheError: the file is not an npz archive of plain arrays with a JSON ``__meta__`` entry (e.g. a
            pickle, a truncated file, or object arrays, which are refused rather than unpickled).
    """
    path = Path(path)
    expected = "an eval_data npz archive written by this framework (plain arrays and a JSON __meta__ entry)"
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CacheError(f"{path} is not {expected}.")
        with archive:
            if _META not in archive.files:
                raise CacheError(f"{path} is not {expected}.")
            meta = json.loads(str(archive[_META][()]))
            if not isinstance(meta, dict) or not isinstance(meta.get("fields"), dict):
                raise CacheError(f"{path}: its __meta__ entry is not {expected}.")
            if meta.get("version") != CACHE_VERSION:
                return None
            if expected_fingerprint is not None and meta.get("fingerprint") != expected_fingerprint:
                return None
            data = dict(meta["fields"])
            for name in archive.files:
                if name != _META:
                    data[name] = archive[name]
            return data
    except CacheError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        # numpy refuses pickled data (a pickle file, or object arrays) with a ValueError under allow_pickle=False
        reason = ("it holds pickled Python objects, which are never unpickled" if "pickle" in str(err).lower()
                  else f"{type(err).__name__}: {err}")
        raise CacheError(f"{path} cannot be read as {expected} ({reason}).") from None


def load_cached(path: Path, expected_fingerprint: str) -> dict | None:
    """The cached evaluation data if it exists and was computed from the same inputs, else None.

    A file that cannot be read as plain data is reported (and later overwritten), never executed.
    """
    if not path.is_file():
        return None
    try:
        data = read_cache(path, expected_fingerprint)
    except CacheError as err:
        logger.warning("ignoring the evaluation cache: %s It is recomputed and overwritten.", err)
        return None
    if data is None:
        logger.info("result files or settings changed since %s was written; recomputing", path)
    return data


def save_cache(path: Path, data: dict) -> None:
    """Write the evaluation data atomically: numpy arrays as arrays, everything else as JSON.

    Raises:
        CacheError: a value is an object array (it would need pickling) or not JSON-serialisable.
    """
    arrays, fields = {}, {}
    for key, value in data.items():
        if key == _META:
            raise CacheError(f"the key {_META!r} is reserved in the evaluation cache.")
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise CacheError(f"evaluation cache entry {key!r} is an object array; expected numbers or strings.")
            arrays[key] = value
        else:
            fields[key] = value
    try:
        meta = json.dumps({"version": CACHE_VERSION, "fingerprint": data.get("fingerprint"), "fields": fields})
    except (TypeError, ValueError) as err:
        raise CacheError(f"the evaluation data cannot be cached as JSON: {err}.") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **{_META: np.array(meta)}, **arrays)
