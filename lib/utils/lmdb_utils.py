"""Read and write the LMDB dataset layout of the original (spec 5.2, "LMDB variants").

An LMDB dataset holds every file of a dataset folder as one value whose key is the file's path relative to the
folder (``train/GOT-10k_Train_000001/00000001.jpg``). Environments are opened read-only (lock=False,
readahead=False, meminit=False) and cached per process: a DataLoader worker forked from a process that had an
environment open opens its own, as LMDB requires. Values are plain bytes: images are decoded by OpenCV, text and
JSON parsed as text; nothing read from an LMDB is unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import lmdb
import numpy as np

from lib.utils.errors import OSTrackError
from lib.utils.image import decode_image

__all__ = ["LmdbError", "get_lmdb_env", "read_lmdb", "has_key", "list_keys", "decode_img", "decode_str", "decode_json",
           "LmdbWriter", "is_lmdb"]

_ENVS: dict[tuple[int, str], lmdb.Environment] = {}


class LmdbError(OSTrackError):
    """An LMDB environment or one of its values cannot be read as expected."""


def is_lmdb(path: str | os.PathLike) -> bool:
    """True if ``path`` is an LMDB environment folder (it holds data.mdb)."""
    return (Path(path) / "data.mdb").is_file()


def get_lmdb_env(path: str | os.PathLike) -> lmdb.Environment:
    """The read-only environment at ``path``, opened once per process."""
    key = (os.getpid(), str(path))
    env = _ENVS.get(key)
    if env is None:
        if not is_lmdb(path):
            raise FileNotFoundError(f"no LMDB environment (data.mdb) in {path}")
        try:
            env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=512)
        except lmdb.Error as err:
            raise LmdbError(f"{path} is not a readable LMDB environment ({type(err).__name__}: {err}); expected a "
                            f"folder written by tracking/convert_to_lmdb.py or the original's conversion.") from None
        _ENVS[key] = env
    return env


def read_lmdb(path: str | os.PathLike, key: str) -> bytes:
    """The value of ``key``; raises FileNotFoundError when the key is absent."""
    with get_lmdb_env(path).begin(write=False) as txn:
        value = txn.get(key.encode("utf-8"))
    if value is None:
        raise FileNotFoundError(f"key {key!r} not in the LMDB {path}")
    return value


def has_key(path: str | os.PathLike, key: str) -> bool:
    with get_lmdb_env(path).begin(write=False) as txn:
        return txn.get(key.encode("utf-8")) is not None


def list_keys(path: str | os.PathLike, prefix: str = "") -> Iterator[str]:
    """Keys starting with ``prefix``, in sorted order (a range scan, so only matching keys are visited)."""
    raw = prefix.encode("utf-8")
    with get_lmdb_env(path).begin(write=False) as txn:
        cursor = txn.cursor()
        if not cursor.set_range(raw):
            return
        for key in cursor.iternext(keys=True, values=False):
            if not key.startswith(raw):
                break
            yield key.decode("utf-8")


def decode_img(path: str | os.PathLike, key: str) -> np.ndarray:
    """The image stored under ``key`` as an RGB uint8 array (the original's decode_img)."""
    return decode_image(read_lmdb(path, key), f"{key!r} in the LMDB {path}")


def decode_str(path: str | os.PathLike, key: str) -> str:
    """The text stored under ``key`` (UTF-8)."""
    try:
        return read_lmdb(path, key).decode("utf-8")
    except UnicodeDecodeError as err:
        raise LmdbError(f"the value of {key!r} in the LMDB {path} is not UTF-8 text ({err}).") from None


def decode_json(path: str | os.PathLike, key: str):
    """The JSON value stored under ``key`` (values are plain bytes: nothing read from an LMDB is unpickled)."""
    try:
        return json.loads(decode_str(path, key))
    except (ValueError, UnicodeDecodeError) as err:
        raise LmdbError(f"the value of {key!r} in the LMDB {path} is not JSON text ({err}).") from None


class LmdbWriter:
    """Write key/value pairs into a new LMDB environment, committing every ``commit_every`` puts.

    Args:
        path: output folder (created).
        map_size: the environment's maximum size in bytes (sparse on Linux, so a generous value costs nothing).
        commit_every: puts per transaction.
    """

    def __init__(self, path: str | os.PathLike, map_size: int, commit_every: int = 1000):
        Path(path).mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(str(path), map_size=int(map_size), subdir=True, lock=True, readahead=False,
                             meminit=False)
        self.commit_every = commit_every
        self._txn = self.env.begin(write=True)
        self._pending = 0
        self.count = 0

    def put(self, key: str, value: bytes) -> None:
        self._txn.put(key.encode("utf-8"), value)
        self._pending += 1
        self.count += 1
        if self._pending >= self.commit_every:
            self._txn.commit()
            self._txn = self.env.begin(write=True)
            self._pending = 0

    def close(self) -> None:
        self._txn.commit()
        self.env.sync()
        self.env.close()

    def __enter__(self) -> "LmdbWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._txn.abort()
            self.env.close()
