"""Convert a dataset folder into the LMDB layout of the original (read back with ``--use_lmdb 1``).

Every file becomes one value keyed by its path relative to the dataset root (spec 5.2):

* got10k: the GOT-10k root (holding ``train/``) -> keys ``train/list.txt``, ``train/<seq>/...``; given the train
  folder itself, its files are stored under ``train/`` as well;
* lasot, coco, custom: keys relative to the root;
* vid: ``cache.json`` (built from the XML files if missing) and ``Data/VID/train/...``;
* trackingnet: one environment per chunk, ``<dst>/TRAIN_<k>_lmdb``, plus the plain file ``<dst>/seq_list.json``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterator

from lib.utils.errors import PathSettingsError
from lib.utils.lmdb_utils import LmdbWriter
from lib.utils.progress import progress

__all__ = ["CONVERTIBLE", "convert_dataset", "folder_to_lmdb"]

logger = logging.getLogger(__name__)

CONVERTIBLE = ("got10k", "lasot", "trackingnet", "coco", "vid", "custom")


def _files(root: Path, sub: str = "") -> Iterator[Path]:
    base = root / sub if sub else root
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def folder_to_lmdb(src: str | os.PathLike, dst: str | os.PathLike, prefix: str = "",
                   subdirs: tuple[str, ...] = ("",), extra_files: tuple[str, ...] = (),
                   progress_bar: bool | None = None) -> int:
    """Store the files under ``src`` (limited to ``subdirs`` and ``extra_files``) in a new LMDB at ``dst``.

    Args:
        progress_bar: show a bar with an ETA (None: when stderr is a terminal).

    Returns:
        The number of keys written.
    """
    src = Path(src)
    files = [f for sub in subdirs for f in _files(src, sub)] + [src / f for f in extra_files if (src / f).is_file()]
    # values larger than a page go to page-aligned overflow pages: budget a page of slack per file
    sizes = [f.stat().st_size for f in files]
    size = sum((s // 4096 + 2) * 4096 for s in sizes)
    with LmdbWriter(dst, map_size=int(size * 1.2) + (64 << 20)) as writer, \
            progress(total=sum(sizes), desc=f"LMDB {Path(dst).name}", unit="B", enabled=progress_bar) as bar:
        bar.unit_scale = True  # bytes as kB/MB/GB
        for f, n in zip(files, sizes):
            writer.put(prefix + f.relative_to(src).as_posix(), f.read_bytes())
            bar.update(n)
        count = writer.count
    logger.info("wrote %d keys from %s to %s", count, src, dst)
    return count


def convert_dataset(kind: str, src: str | os.PathLike, dst: str | os.PathLike, progress_bar: bool | None = None) -> int:
    """Convert dataset ``kind`` (see :data:`CONVERTIBLE`) from folder ``src`` to the LMDB layout at ``dst``.

    Args:
        kind: dataset kind.
        src: the dataset folder.
        dst: the output folder (new or empty).
        progress_bar: show a bar with an ETA per environment written (None: when stderr is a terminal).
    """
    src, dst = Path(src), Path(dst)
    if kind not in CONVERTIBLE:
        raise PathSettingsError(f"unknown dataset kind {kind!r}; expected one of {', '.join(CONVERTIBLE)}.")
    if not src.is_dir():
        raise PathSettingsError(f"source folder {src} does not exist.")
    if dst.exists() and not dst.is_dir():
        raise PathSettingsError(f"destination {dst} is a file; expected a new or empty folder for the LMDB.")
    if dst.exists() and any(dst.iterdir()):
        raise PathSettingsError(f"destination {dst} exists and is not empty; choose a new folder.")
    if kind == "got10k":
        if (src / "train").is_dir():
            return folder_to_lmdb(src, dst, subdirs=("train",), progress_bar=progress_bar)
        return folder_to_lmdb(src, dst, prefix="train/", progress_bar=progress_bar)
    if kind == "trackingnet":
        chunks = sorted((p for p in src.glob("TRAIN_*") if p.is_dir()), key=lambda p: int(p.name.split("_")[1]))
        if not chunks:
            raise PathSettingsError(f"no TRAIN_<k> folders in {src}.")
        seq_list, count = [], 0
        for chunk in chunks:
            k = int(chunk.name.split("_")[1])
            seq_list += [[k, f.stem] for f in sorted((chunk / "anno").glob("*.txt"))]
            count += folder_to_lmdb(chunk, dst / f"{chunk.name}_lmdb", progress_bar=progress_bar)
        (dst / "seq_list.json").write_text(json.dumps(seq_list))
        return count
    if kind == "vid":
        if not (src / "cache.json").is_file():
            from lib.train.dataset.imagenetvid import ImagenetVID
            ImagenetVID(src)  # builds and writes cache.json
        return folder_to_lmdb(src, dst, subdirs=("Data",), extra_files=("cache.json",), progress_bar=progress_bar)
    return folder_to_lmdb(src, dst, progress_bar=progress_bar)
