"""OSTrack's entry of :data:`lib.train.data.benchmark.DATA_PIPELINES`: its pipeline, and the original recipe written
directly as the baseline.

The direct recipe runs in this process: decode every frame in full with OpenCV, then for template and search
separately pad with copyMakeBorder, crop and resize (sample_target); "+ original processing" adds the rest of the
original's per-sample work (full-frame joint flip/grayscale, full-size zero masks cropped with torch, tensor
conversion, brightness, flip and normalisation in torch, the validity check with F.interpolate, torch.stack
collation).
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from lib.config import load_script_config
from lib.train.data.benchmark import Baseline, PipelineBenchmark, PipelineOptions
from lib.train.data.build import build_processing
from lib.train.data.loader import LTRLoader
from lib.train.data.sampler import TrackingSampler
from lib.train.dataset.got10k import Got10k
from lib.utils.crop import sample_target, transform_image_to_crop
from lib.utils.image import read_image

__all__ = ["DEFAULT_CONFIG", "ostrack_pipeline", "direct_sample", "direct_rate"]

DEFAULT_CONFIG = "vitb_256_mae_ce_32x4_ep300"


def direct_sample(dataset: Got10k, rng: random.Random, cfg: Any, full: bool) -> dict:
    """One sample the way the original computes it, written directly (see the module docstring)."""
    d = cfg.DATA
    seq_id = rng.randrange(dataset.get_num_sequences())
    info = dataset.get_sequence_info(seq_id)
    vis = np.flatnonzero(info["visible"].numpy())
    t_id = int(rng.choice(vis[:-1]))
    later = vis[(vis > t_id) & (vis < t_id + d.MAX_SAMPLE_INTERVAL)]
    s_id = int(rng.choice(later)) if len(later) else t_id
    seq_dir = Path(dataset.storage.root) / dataset.sequence_list[seq_id]
    out = {}
    gray, flip = rng.random() < 0.05, rng.random() < 0.5
    for role, f_id, sec in (("template", t_id, d.TEMPLATE), ("search", s_id, d.SEARCH)):
        image = read_image(str(seq_dir / f"{f_id + 1:08d}.jpg"))
        box = info["bbox"][f_id].clone()
        mask = None
        if full:
            mask = torch.zeros(image.shape[:2])
            if gray:
                image = np.stack([cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)] * 3, axis=2)
            if flip:
                image, mask = np.fliplr(image).copy(), mask.flip(1)
                box[0] = image.shape[1] - 1 - (box[0] + box[2])
        size = box[2:4] * torch.exp(torch.randn(2) * sec.SCALE_JITTER)
        offset = size.prod().sqrt() * float(sec.CENTER_JITTER)
        center = box[0:2] + 0.5 * box[2:4] + offset * (torch.rand(2) - 0.5)
        jittered = torch.cat((center - 0.5 * size, size))
        if full:
            crop, factor, att, mask_crop = sample_target(image, jittered.tolist(), sec.FACTOR, sec.SIZE, mask)
        else:
            crop, factor, att = sample_target(image, jittered.tolist(), sec.FACTOR, sec.SIZE)
        anno = transform_image_to_crop(box, jittered, factor, torch.Tensor([sec.SIZE, sec.SIZE]), normalize=True)
        if full:
            b = random.uniform(0.8, 1.2)
            img = torch.from_numpy(crop.transpose(2, 0, 1)).float().mul(b / 255.0).clamp(0.0, 1.0)
            att_t = torch.from_numpy(att)
            if random.random() < 0.5:
                img, att_t, mask_crop = img.flip(2), att_t.flip(1), mask_crop.flip(1)
                anno[0] = 1 - anno[0] - anno[2]
            img = (img - torch.tensor(d.MEAN)[:, None, None]) / torch.tensor(d.STD)[:, None, None]
            down = F.interpolate(att_t[None, None].float(), size=sec.SIZE // 16).to(torch.bool)[0]
            out[role] = (img[None], anno[None], att_t[None], mask_crop[None], bool(down.all()))
        else:
            out[role] = (crop, anno, att)
    return out


def direct_rate(dataset: Got10k, cfg: Any, samples: int, batch: int, seed: int, full: bool) -> tuple[float, float]:
    """(samples/s, samples per CPU-second) of the direct recipe, batches stacked as the original collates."""
    rng = random.Random(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(samples // batch):
        items = [direct_sample(dataset, rng, cfg, full) for _ in range(batch)]
        if full:
            for role in ("template", "search"):
                for k in range(4):
                    torch.stack([it[role][k] for it in items], 1)
    n = samples // batch * batch
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def ostrack_pipeline(options: PipelineOptions, dataset: Got10k) -> PipelineBenchmark:
    """TrackingSampler + OSTrack's processing + LTRLoader, against the direct recipe with and without the rest of
    the original's processing."""
    name = options.config or DEFAULT_CONFIG
    cfg = load_script_config("ostrack", name)
    batch = options.batch_size or cfg.TRAIN.BATCH_SIZE

    def build(workers: int) -> LTRLoader:
        sampler = TrackingSampler([dataset], [1], options.samples + batch, cfg.DATA.MAX_SAMPLE_INTERVAL, 1, 1,
                                  build_processing(cfg), seed=options.seed)
        return LTRLoader("train", sampler, batch_size=batch, shuffle=True, num_workers=workers, stack_dim=1,
                         drop_last=True, seed=options.seed)

    def baseline(full: bool) -> tuple[float, float]:
        return direct_rate(dataset, cfg, options.samples, batch, options.seed, full)

    return PipelineBenchmark(
        description=f"config {name}: template {cfg.DATA.TEMPLATE.SIZE}px x{cfg.DATA.TEMPLATE.FACTOR}, search "
                    f"{cfg.DATA.SEARCH.SIZE}px x{cfg.DATA.SEARCH.FACTOR}; batch {batch}; {options.samples} samples",
        batch=batch, loaders=[("pipeline", build)],
        baselines=[Baseline("direct original recipe (decode + pad/crop/resize, template and search)",
                            "the direct recipe", lambda: baseline(False)),
                   Baseline("direct original recipe + original processing", "the direct recipe + processing",
                            lambda: baseline(True))])
