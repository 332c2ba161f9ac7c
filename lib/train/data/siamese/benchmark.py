"""The PySOT families' entries of :data:`lib.train.data.benchmark.DATA_PIPELINES`: pair drawing, decode, the 511
context crop made on the fly, PySOT's augmentation, the anchor (SiamRPN++) or point (SiamBAN) labels and
collation; with ``precropped``, also PySOT's pre-cropped layout (511 JPEGs + train.json, written from the dataset
first), read as PySOT trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from lib.config import load_script_config
from lib.train.data.benchmark import PipelineBenchmark, PipelineOptions
from lib.train.data.loader import LTRLoader
from lib.train.data.siamese.build import build_siamese_pair_dataset
from lib.train.data.siamese.crop import FrameSource, crop_like_siamfc
from lib.train.data.siamese.pair_dataset import SubDatasetSpec
from lib.train.data.siamese.precropped import PrecroppedSource
from lib.train.dataset.got10k import Got10k

__all__ = ["write_precropped", "siamrpn_pipeline", "siamban_pipeline"]


def write_precropped(dataset: Got10k, folder: Path) -> tuple[Path, Path]:
    """PySOT's pre-cropped layout of ``dataset`` (511 JPEGs of quality 95 as par_crop.py, and train.json)."""
    meta = {}
    for video in range(dataset.get_num_sequences()):
        name = dataset.get_sequence_name(video)
        info = dataset.get_sequence_info(video)
        frames = [int(f) for f in np.flatnonzero(info["visible"].numpy())]
        (folder / "crop511" / name).mkdir(parents=True)
        boxes = {}
        for f, image in zip(frames, dataset.get_frames(video, frames, info)[0]):
            x, y, w, h = info["bbox"][f].tolist()
            crop = np.ascontiguousarray(crop_like_siamfc(image, [x, y, x + w, y + h])[:, :, ::-1])  # BGR file
            cv2.imwrite(str(folder / "crop511" / name / f"{f:06d}.00.x.jpg"), crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
            boxes[f"{f:06d}"] = [x, y, x + w, y + h]
        meta[name] = {"00": boxes}
    (folder / "train.json").write_text(json.dumps(meta))
    return folder / "crop511", folder / "train.json"


def _pysot_pipeline(script: str, default_config: str, build_target: Callable[[Any], Any], label_keys: tuple[str, ...],
                    options: PipelineOptions, dataset: Got10k) -> PipelineBenchmark:
    """The pipeline of a PySOT-lineage family whose target maker is ``build_target(cfg)`` (as its training script)."""
    from lib.train.scripts.pysot_family import TargetAdapter

    name = options.config or default_config
    cfg = load_script_config(script, name)
    batch = options.batch_size or cfg.TRAIN.BATCH_SIZE
    sources = [("crops on the fly from frames", FrameSource(dataset))]
    if options.precropped:
        root, anno = write_precropped(dataset, options.workdir / "precropped")
        sources.append(("pre-cropped 511 JPEGs (PySOT's layout)", PrecroppedSource(root, anno, "SYNTHETIC")))

    def loader_of(source: Any) -> Callable[[int], LTRLoader]:
        def build(workers: int) -> LTRLoader:
            spec = SubDatasetSpec("SYNTHETIC", source, int(cfg.DATASET.VID.FRAME_RANGE), -1)
            pairs = build_siamese_pair_dataset(cfg, [spec], TargetAdapter(build_target(cfg), label_keys),
                                               options.seed)
            return LTRLoader("train", pairs, batch_size=batch, num_workers=workers, stack_dim=0, drop_last=True,
                             seed=options.seed)
        return build

    return PipelineBenchmark(
        description=f"{script} config {name}: template {cfg.TRAIN.EXEMPLAR_SIZE}px, search {cfg.TRAIN.SEARCH_SIZE}px "
                    f"(511 context crops), labels {cfg.TRAIN.OUTPUT_SIZE}x{cfg.TRAIN.OUTPUT_SIZE}, NEG "
                    f"{cfg.DATASET.NEG}, GRAY {cfg.DATASET.GRAY}; batch {batch}; {options.samples} samples",
        batch=batch, loaders=[(f"siamese pipeline, {label}", loader_of(source)) for label, source in sources])


def siamrpn_pipeline(options: PipelineOptions, dataset: Got10k) -> PipelineBenchmark:
    """SiamRPN++ with PySOT's anchor targets (default config siamrpn_r50_l234_dwxcorr_8gpu)."""
    from lib.train.data.siamese.anchor_target import build_anchor_target

    return _pysot_pipeline("siamrpn", "siamrpn_r50_l234_dwxcorr_8gpu", build_anchor_target,
                           ("label_cls", "label_loc", "label_loc_weight"), options, dataset)


def siamban_pipeline(options: PipelineOptions, dataset: Got10k) -> PipelineBenchmark:
    """SiamBAN with its point targets (default config siamban_r50_l234)."""
    from lib.train.data.siamese.point_target import build_point_target

    return _pysot_pipeline("siamban", "siamban_r50_l234", build_point_target, ("label_cls", "label_loc"), options,
                           dataset)
