"""Storage backends: one dataset class reads a folder or the original's LMDB layout through the same calls.

A key is a file path relative to the dataset root, with '/' separators (``GOT-10k_Train_000001/00000001.jpg``).
:class:`FolderStorage` maps it to a file under a folder; :class:`LmdbStorage` to the value stored under
``prefix + key`` in an LMDB environment (the layout written by ``tracking/convert_to_lmdb.py`` and by the
original's conversion scripts). Missing data raises FileNotFoundError in both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from lib.utils.image import decode_image
from lib.utils import lmdb_utils

__all__ = ["Storage", "FolderStorage", "LmdbStorage", "make_storage", "ImageDecoder"]

ImageDecoder = Callable[..., np.ndarray]  # (encoded bytes, name) -> (H, W, 3) RGB uint8


class Storage:
    """Interface of a storage backend (see the module docstring)."""

    kind = "abstract"
    root: Path

    def __init__(self, decoder: ImageDecoder | None = None):
        self.decoder = decoder or decode_image

    def describe(self, key: str = "") -> str:
        """A human-readable location of ``key`` for messages."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def is_dir(self, key: str) -> bool:
        raise NotImplementedError

    def list_dir(self, key: str = "") -> list[str]:
        """Sorted names of the entries directly under ``key``."""
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def child(self, name: str) -> "Storage":
        """The storage of a sub-dataset (e.g. a TrackingNet chunk ``TRAIN_0``)."""
        raise NotImplementedError

    def available(self) -> bool:
        """Whether the root exists at all."""
        raise NotImplementedError

    def read_text(self, key: str) -> str:
        """The file at ``key`` as text; bytes that are not UTF-8 become U+FFFD, so a binary file reaches the
        parsers (which reject it with the file named) instead of failing here with a bare UnicodeDecodeError."""
        return self.read_bytes(key).decode("utf-8", errors="replace")

    def read_image(self, key: str) -> np.ndarray:
        """Decode the image at ``key`` to RGB uint8 (FileNotFoundError / CorruptImageError on failure)."""
        return self.decoder(self.read_bytes(key), self.describe(key))


class FolderStorage(Storage):
    """Files under a folder."""

    kind = "folder"

    def __init__(self, root: str | os.PathLike, decoder: ImageDecoder | None = None):
        super().__init__(decoder)
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def describe(self, key: str = "") -> str:
        return str(self.path(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def is_dir(self, key: str) -> bool:
        return self.path(key).is_dir()

    def list_dir(self, key: str = "") -> list[str]:
        return sorted(os.listdir(self.path(key)))

    def read_bytes(self, key: str) -> bytes:
        with open(self.path(key), "rb") as f:
            return f.read()

    def child(self, name: str) -> "FolderStorage":
        return FolderStorage(self.root / name, self.decoder)

    def available(self) -> bool:
        return self.root.is_dir()


class LmdbStorage(Storage):
    """Values of an LMDB environment whose keys are relative file paths.

    Args:
        path: the environment folder (holding data.mdb); the original's ``*_lmdb`` folders.
        prefix: prepended to every key (``train/`` for GOT-10k).
        decoder: image decoder.
    """

    kind = "lmdb"

    def __init__(self, path: str | os.PathLike, prefix: str = "", decoder: ImageDecoder | None = None):
        super().__init__(decoder)
        self.root = Path(path)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def __repr__(self) -> str:
        return f"LmdbStorage({str(self.root)!r}, prefix={self.prefix!r})"

    def describe(self, key: str = "") -> str:
        return f"{self.root}[{self.prefix}{key}]"

    def exists(self, key: str) -> bool:
        return self.available() and lmdb_utils.has_key(self.root, self.prefix + key)

    def is_dir(self, key: str) -> bool:
        prefix = self.prefix + key.strip("/") + "/" if key else self.prefix
        return self.available() and next(lmdb_utils.list_keys(self.root, prefix), None) is not None

    def list_dir(self, key: str = "") -> list[str]:
        prefix = self.prefix + key.strip("/") + "/" if key else self.prefix
        names = {k[len(prefix):].split("/", 1)[0] for k in lmdb_utils.list_keys(self.root, prefix)}
        return sorted(n for n in names if n)

    def read_bytes(self, key: str) -> bytes:
        return lmdb_utils.read_lmdb(self.root, self.prefix + key)

    def child(self, name: str) -> "LmdbStorage":
        # The original stores each TrackingNet chunk in its own environment, <root>/TRAIN_<k>_lmdb.
        separate = self.root / f"{name}_lmdb"
        if lmdb_utils.is_lmdb(separate):
            return LmdbStorage(separate, decoder=self.decoder)
        return LmdbStorage(self.root, self.prefix + name, self.decoder)

    def available(self) -> bool:
        return lmdb_utils.is_lmdb(self.root)

    def read_plain_file(self, name: str) -> bytes:
        """A plain file next to the environment (e.g. TrackingNet's seq_list.json)."""
        with open(self.root / name, "rb") as f:
            return f.read()


def make_storage(root: str | os.PathLike, use_lmdb: bool = False, prefix: str = "",
                 decoder: ImageDecoder | None = None) -> Storage:
    """A FolderStorage for ``root``, or an LmdbStorage when ``use_lmdb``."""
    if use_lmdb:
        return LmdbStorage(root, prefix, decoder)
    return FolderStorage(Path(root) / prefix if prefix else root, decoder)
