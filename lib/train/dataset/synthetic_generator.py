"""Write a synthetic tracking dataset made from real photographs in the GOT-10k, LaSOT or TrackingNet layout.

This is the framework's embedded default data: with no dataset on disk, the main job, the README examples and the
tests train and evaluate on it. Scenes are rendered by :mod:`lib.train.dataset.synthetic_render`; this module lays
them out on disk exactly as the real datasets are laid out, so the real loaders read them.

Layouts (``<root>`` is the output folder):

* ``got10k``: ``<root>/{train,val,test}/list.txt`` and ``<root>/<split>/GOT-10k_<Split>_NNNNNN/`` holding
  ``00000001.jpg``..., ``groundtruth.txt`` (``x,y,w,h`` with 4 decimals, one row per frame; test: first row only),
  ``absence.label``, ``cover.label``, ``cut_by_image.label`` (train and val) and ``meta_info.ini``.
* ``lasot``: ``<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt,
  img/00000001.jpg...}``; the class is the photo the object was cut from; ``num_train + num_val + num_test``
  sequences in all.
* ``trackingnet``: ``<root>/TRAIN_<k>/{anno/<video>.txt, frames/<video>/<i>.jpg}`` (0-based frame names) for
  ``train_chunks`` chunks holding ``num_train`` videos, and ``<root>/TEST/`` with ``num_test`` videos whose anno file
  holds only the first box (``num_val`` is unused: TrackingNet has no val split).

Boxes are the object's pixels inside the image (integers, written with the decimals of each dataset's files).
Frames where no pixel of the object lies inside the image have the box ``-1,-1,-1,-1`` in the GOT-10k layout (as
GOT-10k annotates an object that left the image, see got-10k/toolkit issue 10) and ``0,0,0,0`` in the LaSOT and
TrackingNet layouts; either way ``w > 0 and h > 0`` is false, so loaders mark those frames invalid. absence.label is 1
and cover.label 0 exactly where no object pixel is visible (out of view, or inside the image but hidden).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from lib.train.dataset.synthetic_render import (SequenceAnnotation, SyntheticConfig, SyntheticDatasetError,
                                                annotate_sequence, plan_sequence, render_sequence)
from lib.utils.progress import progress

__all__ = ["LAYOUTS", "MARKER_FILE", "generate_dataset", "ensure_synthetic_dataset", "sequence_ground_truth",
           "SyntheticDatasetError", "SyntheticConfig", "SequenceAnnotation"]

logger = logging.getLogger(__name__)

LAYOUTS = ("got10k", "lasot", "trackingnet")
MARKER_FILE = ".synthetic_dataset.json"  # written into the root of the got10k and trackingnet layouts
_GOT10K_PREFIX = {"train": "GOT-10k_Train_", "val": "GOT-10k_Val_", "test": "GOT-10k_Test_"}


@dataclass(frozen=True)
class _Task:
    """One sequence to render and write (picklable, sent to a worker process)."""

    layout: str
    split: str
    index: int
    directory: str  # sequence folder, or the chunk folder for TrackingNet, or the root for LaSOT
    name: str
    seed: int
    frames: int
    width: int
    height: int
    quality: int
    config: SyntheticConfig


def sequence_ground_truth(seed: int, split: str, index: int, frames: int, size: tuple[int, int] = (640, 360),
                          config: SyntheticConfig | None = None) -> SequenceAnnotation:
    """The ground truth a sequence was (or will be) generated with, computed without rendering its frames.

    Args:
        seed: the dataset seed given to :func:`generate_dataset`.
        split: "train", "val" or "test" (LaSOT uses "train" for all sequences; TrackingNet "train" and "test").
        index: 1-based sequence number within the split (the number in its name).
        frames: frames per sequence.
        size: (width, height) of the frames.
        config: scene knobs, as given to :func:`generate_dataset`.
    """
    return annotate_sequence(plan_sequence(seed, split, index, frames, size[0], size[1], config))


def _fmt_boxes(boxes: np.ndarray, decimals: int) -> str:
    return "".join(",".join(f"{v:.{decimals}f}" if decimals else str(int(v)) for v in row) + "\n" for row in boxes)


def _labels(values: np.ndarray) -> str:
    return "".join(f"{int(v)}\n" for v in values)


def _meta_info(task: _Task, ann: SequenceAnnotation) -> str:
    # matches GOT-10k: lines 6-10 (1-based) are object_class, motion_class, major_class, root_class, motion_adverb,
    # which the original loader reads by position; the extra keys come after them.
    seconds = task.frames // 10
    lines = ["[METAINFO]", f"url: synthetic://seed={task.seed}/{task.split}/{task.index}", "begin: 00:00:00",
             f"end: 00:{seconds // 60:02d}:{seconds % 60:02d}", "anno_fps: 10Hz",
             f"object_class: {ann.meta['object_class']}", f"motion_class: {ann.meta['motion_class']}",
             f"major_class: {ann.meta['major_class']}", f"root_class: {ann.meta['root_class']}",
             f"motion_adverb: {ann.meta['motion_adverb']}", f"resolution: ({task.width}, {task.height})",
             f"background: {ann.meta['background']}", f"occluder: {ann.meta['occluder']}"]
    return "\n".join(lines) + "\n"


def _render_and_write(task: _Task) -> tuple[str, SequenceAnnotation]:
    """Render one sequence and write it in its layout; returns (relative sequence path, its ground truth)."""
    cv2.setNumThreads(1)  # parallelism is across sequences; per-call threads only oversubscribe the cores
    plan = plan_sequence(task.seed, task.split, task.index, task.frames, task.width, task.height, task.config)
    base = Path(task.directory)
    if task.layout == "got10k":
        seq_dir, frame_dir, rel = base / task.name, base / task.name, f"{task.split}/{task.name}"
        frame_name = "{:08d}.jpg"
    elif task.layout == "lasot":
        cls = plan.meta["photo"]
        name = f"{cls}-{task.index}"
        seq_dir, rel = base / cls / name, f"{cls}/{name}"
        frame_dir, frame_name = seq_dir / "img", "{:08d}.jpg"
    else:
        seq_dir, frame_dir, rel = base, base / "frames" / task.name, f"{base.name}/{task.name}"
        frame_name = "{:d}.jpg"
    frame_dir.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, task.quality]
    truths = []
    first = 1 if task.layout != "trackingnet" else 0
    for i, (frame, truth) in enumerate(render_sequence(plan)):
        ok, buf = cv2.imencode(".jpg", frame, params)
        if not ok:
            raise SyntheticDatasetError(f"OpenCV could not encode a JPEG frame for {rel}.")
        (frame_dir / frame_name.format(i + first)).write_bytes(buf.tobytes())
        truths.append(truth)
    ann = annotate_sequence(plan, truths)
    boxes = ann.boxes_xywh
    if task.layout == "got10k":
        # matches GOT-10k: an object outside the image is annotated -1,-1,-1,-1
        boxes = np.where(ann.out_of_view[:, None] == 1, -1, boxes)
        rows = boxes[:1] if task.split == "test" else boxes
        (seq_dir / "groundtruth.txt").write_text(_fmt_boxes(rows, 4))
        (seq_dir / "meta_info.ini").write_text(_meta_info(task, ann))
        if task.split != "test":  # matches GOT-10k: the test split ships no label files
            (seq_dir / "absence.label").write_text(_labels(ann.absent))
            (seq_dir / "cover.label").write_text(_labels(ann.cover))
            (seq_dir / "cut_by_image.label").write_text(_labels(ann.cut_by_image))
    elif task.layout == "lasot":
        (seq_dir / "groundtruth.txt").write_text(_fmt_boxes(boxes, 0))
        (seq_dir / "full_occlusion.txt").write_text(",".join(str(int(v)) for v in ann.full_occlusion) + "\n")
        (seq_dir / "out_of_view.txt").write_text(",".join(str(int(v)) for v in ann.out_of_view) + "\n")
        (seq_dir / "nlp.txt").write_text(f"{ann.meta['object_class']} moving {ann.meta['motion_adverb']} over a "
                                         f"{ann.meta['background']} photo\n")
    else:
        anno_dir = seq_dir / "anno"
        anno_dir.mkdir(parents=True, exist_ok=True)
        rows = boxes[:1] if task.split == "test" else boxes
        (anno_dir / f"{task.name}.txt").write_text(_fmt_boxes(rows, 2))
    return rel, ann


def _tasks(layout: str, tmp_root: Path, counts: dict[str, int], train_chunks: int, common: dict) -> list[_Task]:
    tasks = []
    if layout == "got10k":
        for split, n in counts.items():
            for i in range(1, n + 1):
                tasks.append(_Task(layout, split, i, str(tmp_root / split), f"{_GOT10K_PREFIX[split]}{i:06d}",
                                   **common))
    elif layout == "lasot":
        total = sum(counts.values())  # LaSOT has no split folders: every sequence lives in its class folder
        tasks = [_Task(layout, "train", i, str(tmp_root), "", **common) for i in range(1, total + 1)]
    else:
        for i in range(1, counts["train"] + 1):
            chunk = tmp_root / f"TRAIN_{(i - 1) % train_chunks}"
            tasks.append(_Task(layout, "train", i, str(chunk), f"synthetic_train_{i:05d}", **common))
        for i in range(1, counts["test"] + 1):
            tasks.append(_Task(layout, "test", i, str(tmp_root / "TEST"), f"synthetic_test_{i:05d}", **common))
    return tasks


def _check_args(root: Path, layout: str, counts: dict[str, int], frames: int, size: tuple[int, int],
                quality: int, train_chunks: int) -> None:
    if layout not in LAYOUTS:
        raise SyntheticDatasetError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}.")
    if any(n < 0 for n in counts.values()) or sum(counts.values()) == 0:
        raise SyntheticDatasetError(f"sequence counts must be >= 0 and not all zero, got {counts}.")
    if frames < 2:
        raise SyntheticDatasetError(f"frames per sequence must be at least 2, got {frames}.")
    if size[0] < 32 or size[1] < 32:
        raise SyntheticDatasetError(f"frame size must be at least 32x32 pixels, got {size[0]}x{size[1]}.")
    if not 1 <= quality <= 100:
        raise SyntheticDatasetError(f"JPEG quality must be in 1..100, got {quality}.")
    if train_chunks < 1:
        raise SyntheticDatasetError(f"train_chunks must be at least 1, got {train_chunks}.")
    if root.exists() and not root.is_dir():
        raise SyntheticDatasetError(f"the output path {root} exists and is a file; give a folder to create.")


def _prepare_root(root: Path, overwrite: bool) -> None:
    if not root.is_dir() or not any(root.iterdir()):
        return
    if not overwrite:
        raise SyntheticDatasetError(f"the output folder {root} already exists and is not empty; choose another "
                                    f"folder or pass overwrite=True (--overwrite) to replace a synthetic dataset.")
    if not (root / MARKER_FILE).is_file() and not _looks_like_lasot_output(root):
        raise SyntheticDatasetError(f"refusing to overwrite {root}: it was not written by this generator (no "
                                    f"{MARKER_FILE}). Delete it yourself if it is safe to do so.")
    shutil.rmtree(root)


def _remove_stale_partials(root: Path) -> None:
    """Delete half-written datasets left by generator processes that were killed (their pid is gone)."""
    if not root.parent.is_dir():
        return
    for partial in root.parent.glob(f".{root.name}.partial-*"):
        try:
            os.kill(int(partial.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            logger.info("removing %s, left by an interrupted run", partial)
            shutil.rmtree(partial, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


def _looks_like_lasot_output(root: Path) -> bool:
    # the LaSOT layout has no marker file (a stray file in a LaSOT root would be read as a class)
    entries = list(root.iterdir())
    return all(e.is_dir() and all((s / "nlp.txt").is_file() and s.name.startswith(e.name + "-") for s in e.iterdir())
               for e in entries)


def generate_dataset(root: str | os.PathLike, layout: str = "got10k", num_train: int = 300, num_val: int = 30,
                     num_test: int = 10, frames: int = 100, size: tuple[int, int] = (640, 360), seed: int = 0,
                     workers: int | None = None, quality: int = 90, train_chunks: int = 2,
                     config: SyntheticConfig | None = None, overwrite: bool = False,
                     return_annotations: bool = False, progress_bar: bool | None = None) -> dict:
    """Generate a synthetic tracking dataset from real photographs.

    The dataset is written into a temporary sibling folder and renamed to ``root`` when complete, so an
    interrupted run never leaves a half-written dataset behind. Each sequence has its own random stream
    (``seed``, split, index), so the output is identical for any number of workers.

    Args:
        root: output folder; must not exist or be empty (unless ``overwrite``).
        layout: "got10k", "lasot" or "trackingnet" (see the module docstring).
        num_train: sequences in the train split.
        num_val: sequences in the val split (GOT-10k; added to the total for LaSOT; unused for TrackingNet).
        num_test: sequences in the test split (GOT-10k and TrackingNet write only the first box).
        frames: frames per sequence.
        size: (width, height) of the frames in pixels.
        seed: dataset seed.
        workers: worker processes (default: the usable CPU cores); 1 renders in this process.
        quality: JPEG quality.
        train_chunks: number of TRAIN_<k> folders of the TrackingNet layout.
        config: scene knobs (see :class:`SyntheticConfig`).
        overwrite: replace an existing synthetic dataset at ``root``.
        return_annotations: add ``annotations`` (relative sequence path -> :class:`SequenceAnnotation`).
        progress_bar: show a bar with an ETA over the sequences (None: when stderr is a terminal).

    Returns:
        A summary dict: root, layout, seed, frames, size, sequences (per split, relative sequence paths),
        num_sequences, num_frames, seconds, bytes, and annotations when asked.
    """
    root = Path(root).expanduser().resolve()
    counts = {"train": int(num_train), "val": int(num_val), "test": int(num_test)}
    size = (int(size[0]), int(size[1]))
    _check_args(root, layout, counts, frames, size, quality, train_chunks)
    _prepare_root(root, overwrite)
    config = config or SyntheticConfig()
    start = time.perf_counter()
    _remove_stale_partials(root)
    tmp_root = root.parent / f".{root.name}.partial-{os.getpid()}"
    if tmp_root.exists():
        shutil.rmtree(tmp_root)
    try:
        tmp_root.mkdir(parents=True)
    except OSError as err:
        raise SyntheticDatasetError(f"cannot create the output folder next to {root}: {err}. Give a writable "
                                    f"folder path.") from None
    common = dict(seed=int(seed), frames=int(frames), width=size[0], height=size[1], quality=int(quality),
                  config=config)
    tasks = _tasks(layout, tmp_root, counts, train_chunks, common)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(workers or usable, len(tasks)))
    logger.info("writing %d synthetic %s sequences of %d frames (%dx%d) to %s with %d worker(s)", len(tasks),
                layout, frames, size[0], size[1], root, workers)
    try:
        results = _run(tasks, workers, progress_bar)
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    sequences: dict[str, list[str]] = {}
    for task, (rel, _) in zip(tasks, results):
        sequences.setdefault(task.split if layout != "lasot" else "all", []).append(rel)
    if layout == "got10k":
        for split, n in counts.items():
            (tmp_root / split).mkdir(exist_ok=True)
            names = [rel.split("/", 1)[1] for rel in sequences.get(split, [])]
            (tmp_root / split / "list.txt").write_text("".join(f"{name}\n" for name in names))
    summary = {"root": str(root), "layout": layout, "seed": int(seed), "frames": int(frames), "size": list(size),
               "quality": int(quality), "config": asdict(config), "sequences": sequences,
               "num_sequences": len(tasks), "num_frames": len(tasks) * int(frames)}
    if layout != "lasot":
        (tmp_root / MARKER_FILE).write_text(json.dumps(summary, indent=1) + "\n")
    if root.exists():
        root.rmdir()  # empty (checked above): replace it with the finished dataset
    tmp_root.rename(root)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    summary["bytes"] = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    logger.info("wrote %d sequences (%d frames, %.1f MB) in %.1f s", summary["num_sequences"],
                summary["num_frames"], summary["bytes"] / 1e6, summary["seconds"])
    if return_annotations:
        summary["annotations"] = {rel: ann for rel, ann in results}
    return summary


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _run(tasks: list[_Task], workers: int, progress_bar: bool | None = None) -> list[tuple[str, SequenceAnnotation]]:
    with progress(total=len(tasks), desc="synthetic sequences", unit="seq", enabled=progress_bar) as bar:
        if workers == 1:
            results = []
            for k, task in enumerate(tasks, 1):
                results.append(_render_and_write(task))
                bar.update(1)
                _log_progress(k, len(tasks))
            return results
        # spawn, not fork: the caller (e.g. the training job) may already run threads that fork would copy unsafely
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_init_worker) as pool:
            results = []
            for k, result in enumerate(pool.map(_render_and_write, tasks, chunksize=2), 1):
                results.append(result)
                bar.update(1)
                _log_progress(k, len(tasks))
            return results


def _log_progress(done: int, total: int) -> None:
    step = max(1, total // 10)
    if done % step == 0 or done == total:
        logger.info("synthetic dataset: %d/%d sequences", done, total)


def ensure_synthetic_dataset(root: str | os.PathLike, layout: str = "got10k", **kwargs) -> Path:
    """Generate the synthetic dataset at ``root`` unless it is already there; returns the root.

    Args:
        root: dataset folder (usually ``env_settings().synthetic_dir``).
        layout: "got10k", "lasot" or "trackingnet".
        kwargs: passed to :func:`generate_dataset` when the dataset has to be generated.
    """
    root = Path(root).expanduser().resolve()
    if root.is_dir() and any(root.iterdir()):
        complete = (root / MARKER_FILE).is_file() if layout != "lasot" else _looks_like_lasot_output(root)
        if not complete:
            raise SyntheticDatasetError(
                f"{root} exists but holds no complete synthetic dataset (no {MARKER_FILE}). Delete it, or point "
                f"OSTRACK_SYNTHETIC_DIR (or synthetic_dir in the local settings file) at another folder.")
        logger.info("using the synthetic dataset in %s", root)
        _warn_if_different(root, layout, kwargs)
        return root
    logger.info("no synthetic dataset in %s: generating it now (a one-time step of about a minute)", root)
    generate_dataset(root, layout=layout, **kwargs)
    return root


def _warn_if_different(root: Path, layout: str, requested: dict) -> None:
    """Say so when an existing dataset was made with other settings than the ones now asked for."""
    marker = root / MARKER_FILE
    if layout == "lasot" or not marker.is_file():
        return
    try:
        made = json.loads(marker.read_text())
    except (OSError, ValueError):
        return
    counts = {split: len(names) for split, names in made.get("sequences", {}).items()}
    existing = {"layout": made.get("layout"), "seed": made.get("seed"), "frames": made.get("frames"),
                "size": tuple(made.get("size", ())), "num_train": counts.get("train", 0),
                "num_val": counts.get("val", 0), "num_test": counts.get("test", 0)}
    asked = {"layout": layout, **{k: (tuple(v) if k == "size" else v) for k, v in requested.items() if k in existing}}
    differ = {k: (existing[k], v) for k, v in asked.items() if existing[k] != v}
    if differ:
        logger.warning("the synthetic dataset in %s was generated with other settings (%s); it is used as it is. "
                       "Delete the folder to generate it again.", root,
                       ", ".join(f"{k}: {a} on disk, {b} asked" for k, (a, b) in differ.items()))
