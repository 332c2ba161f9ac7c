"""Samples per second of the training data pipeline, next to a direct implementation of the original recipe.

    python tracking/benchmark_data.py --config vitb_256_mae_ce_32x4_ep300 --workers 0 2
    python tracking/benchmark_data.py --script siamrpn --workers 0 2 [--precropped]

Measures the full pipeline (sampler + decode + processing + augmentation + collation into batches) on a dataset
in the GOT-10k layout (default: a synthetic one with 640x360 JPEG frames, generated into a temporary folder
unless --data_dir is given), for each number of DataLoader workers. In the same run it times the original recipe
implemented directly, in this process: decode every frame in full with OpenCV, then for template and search
separately pad with copyMakeBorder, crop and resize (sample_target); "+ original processing" adds the rest of
the original's per-sample work (full-frame joint flip/grayscale, full-size zero masks cropped with torch, tensor
conversion, brightness, flip and normalisation in torch, the validity check with F.interpolate, torch.stack
collation).

With ``--script siamfcpp`` it times SiamFC++'s pipeline (pair sampler, filter, random crop transformer, densebox
target; default config siamfcpp_alexnet-trn). With ``--script siamrpn`` (or ``siamban``) it times the PySOT-family pipeline instead (default config
siamrpn_r50_l234_dwxcorr_8gpu / siamban_r50_l234): pair drawing, decode, the 511 context crop made on the fly,
PySOT's augmentation, the anchor (point) labels and collation, on the same dataset; ``--precropped`` also writes
the dataset in PySOT's pre-cropped layout (511 JPEGs + train.json) and times reading that, as PySOT trains.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from lib.config.ostrack.config import load_config
from lib.train.data.build import build_processing
from lib.train.data.loader import LTRLoader
from lib.utils.crop import sample_target, transform_image_to_crop
from lib.train.data.sampler import TrackingSampler
from lib.train.data.siamese.build import build_siamese_pair_dataset
from lib.train.data.siamese.crop import FrameSource, crop_like_siamfc
from lib.train.data.siamese.pair_dataset import SubDatasetSpec
from lib.train.data.siamese.precropped import PrecroppedSource
from lib.train.dataset.got10k import Got10k
from lib.utils.cli import run_cli
from lib.utils.image import read_image


def _pipeline_rate(dataset, cfg, workers: int, samples: int, batch: int, seed: int) -> tuple[float, float, float]:
    sampler = TrackingSampler([dataset], [1], samples + batch, cfg.DATA.MAX_SAMPLE_INTERVAL, 1, 1,
                              build_processing(cfg), seed=seed)
    loader = LTRLoader("train", sampler, batch_size=batch, shuffle=True, num_workers=workers, stack_dim=1,
                       drop_last=True, seed=seed)
    loader.set_epoch(1)
    start = time.perf_counter()
    it = iter(loader)
    next(it)  # worker start-up and the first batch are not steady state
    first, cpu = time.perf_counter(), time.process_time()
    n = 0
    for _ in range(samples // batch):
        next(it)
        n += batch
    end, cpu = time.perf_counter(), time.process_time() - cpu
    del it
    # CPU time of this process only: meaningful for 0 workers (the work is done here), not for workers
    return n / (end - first), (n + batch) / (end - start), n / cpu


def _direct_sample(dataset: Got10k, rng: random.Random, cfg, full: bool) -> dict:
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


def _direct_rate(dataset, cfg, samples: int, batch: int, seed: int, full: bool) -> tuple[float, float]:
    rng = random.Random(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(samples // batch):
        items = [_direct_sample(dataset, rng, cfg, full) for _ in range(batch)]
        if full:
            for role in ("template", "search"):
                for k in range(4):
                    torch.stack([it[role][k] for it in items], 1)
    n = samples // batch * batch
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def _siamese_target_fn(script: str, cfg):
    """Labels as the training composition makes them: PySOT's AnchorTarget, or SiamBAN's PointTarget."""
    from lib.train.scripts.pysot_family import TargetAdapter

    if script == "siamban":
        from lib.train.data.siamese.point_target import build_point_target
        return TargetAdapter(build_point_target(cfg), ("label_cls", "label_loc"))
    from lib.train.data.siamese.anchor_target import build_anchor_target
    return TargetAdapter(build_anchor_target(cfg), ("label_cls", "label_loc", "label_loc_weight"))


def _write_precropped(dataset: Got10k, folder: Path) -> tuple[Path, Path]:
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


def _siamese_rate(source, script: str, cfg, workers: int, samples: int, batch: int, seed: int
                  ) -> tuple[float, float, float]:
    spec = SubDatasetSpec("SYNTHETIC", source, int(cfg.DATASET.VID.FRAME_RANGE), -1)
    dataset = build_siamese_pair_dataset(cfg, [spec], _siamese_target_fn(script, cfg), seed)
    loader = LTRLoader("train", dataset, batch_size=batch, num_workers=workers, stack_dim=0, drop_last=True,
                       seed=seed)
    return _timed_batches(loader, samples, batch)


def _siamese_main(args, dataset: Got10k, tmp: str) -> None:
    from importlib import import_module
    default = {"siamrpn": "siamrpn_r50_l234_dwxcorr_8gpu", "siamban": "siamban_r50_l234"}[args.script]
    cfg = import_module(f"lib.config.{args.script}.config").load_config(args.config or default)
    batch = args.batch_size or cfg.TRAIN.BATCH_SIZE
    print(f"{args.script} config {args.config or default}: template {cfg.TRAIN.EXEMPLAR_SIZE}px, search "
          f"{cfg.TRAIN.SEARCH_SIZE}px (511 context crops), labels {cfg.TRAIN.OUTPUT_SIZE}x{cfg.TRAIN.OUTPUT_SIZE}, "
          f"NEG {cfg.DATASET.NEG}, GRAY {cfg.DATASET.GRAY}; batch {batch}; {args.samples} samples")
    sources = [("crops on the fly from frames", FrameSource(dataset))]
    if args.precropped:
        root, anno = _write_precropped(dataset, Path(tmp) / "precropped")
        sources.append(("pre-cropped 511 JPEGs (PySOT's layout)", PrecroppedSource(root, anno, "SYNTHETIC")))
    for label, source in sources:
        for workers in args.workers:
            steady, overall, cpu = _siamese_rate(source, args.script, cfg, workers, args.samples, batch, args.seed)
            cpu_note = f" [{cpu:.1f} per CPU-second]" if workers == 0 else ""
            print(f"siamese pipeline, {label}, {workers} workers: {steady:7.1f} samples/s steady state "
                  f"({overall:.1f} including start-up){cpu_note}")


def _timed_batches(loader, samples: int, batch: int) -> tuple[float, float, float]:
    """(steady-state samples/s, samples/s including start-up, samples per CPU-second) of a loader."""
    loader.set_epoch(1)
    start = time.perf_counter()
    it = iter(loader)
    next(it)
    first, cpu = time.perf_counter(), time.process_time()
    n = 0
    for _ in range(samples // batch):
        next(it)
        n += batch
    end, cpu = time.perf_counter(), time.process_time() - cpu
    del it
    return n / (end - first), (n + batch) / (end - start), n / cpu


def _siamfcpp_main(args, dataset: Got10k) -> None:
    """SiamFC++'s pipeline: pair sampler + filter, random crop transformer, densebox target, collation."""
    from lib.config.siamfcpp.config import load_config as load_siamfcpp
    from lib.train.data.siamfcpp.build import build_siamfcpp_loader, build_siamfcpp_sampler

    name = args.config or "siamfcpp_alexnet-trn"
    data_cfg = load_siamfcpp(name).train.track.data
    batch = args.batch_size or int(data_cfg.minibatch)
    print(f"siamfcpp config {name}: search {data_cfg.transformer.RandomCropTransformer.x_size}px, negative pairs "
          f"{data_cfg.sampler.TrackPairSampler.negative_pair_ratio}; batch {batch}; {args.samples} samples")
    for workers in args.workers:
        sampler = build_siamfcpp_sampler(data_cfg, None, seed=args.seed, datasets=[dataset],
                                         samples_per_epoch=args.samples + 2 * batch)
        loader = build_siamfcpp_loader({**data_cfg.to_dict(), "minibatch": batch}, None, seed=args.seed,
                                       num_workers=workers, sampler=sampler)
        steady, overall, cpu = _timed_batches(loader, args.samples, batch)
        cpu_note = f" [{cpu:.1f} per CPU-second]" if workers == 0 else ""
        print(f"siamfcpp pipeline, {workers} workers: {steady:7.1f} samples/s steady state ({overall:.1f} including "
              f"start-up){cpu_note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--script", default="ostrack", choices=["ostrack", "siamrpn", "siamban", "siamfcpp"],
                        help="the tracker family whose pipeline is timed")
    parser.add_argument("--config", default=None, help="default: vitb_256_mae_ce_32x4_ep300 (ostrack), "
                        "siamrpn_r50_l234_dwxcorr_8gpu (siamrpn), siamban_r50_l234 (siamban), "
                        "siamfcpp_alexnet-trn (siamfcpp)")
    parser.add_argument("--precropped", action="store_true", help="siamrpn/siamban: also time PySOT's "
                        "pre-cropped layout (written from the dataset first)")
    parser.add_argument("--data_dir", default=None, help="a GOT-10k-layout split folder (holding list.txt), e.g. "
                        "<synthetic_dir>/train; default: generate a synthetic one with 640x360 frames")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--samples", type=int, default=1024, help="samples timed per measurement")
    parser.add_argument("--batch_size", type=int, default=None, help="default: TRAIN.BATCH_SIZE of the config")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.script == "ostrack":
        args.config = args.config or "vitb_256_mae_ce_32x4_ep300"
        cfg = load_config(args.config)
        batch = args.batch_size or cfg.TRAIN.BATCH_SIZE
    # one thread each, as in a DataLoader worker (torch sets 1 there): thread pools on a busy 2-core machine
    # make small ops erratic, and the comparison is about per-sample work
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir
        if root is None:
            from lib.train.dataset.synthetic_generator import generate_dataset
            generate_dataset(Path(tmp) / "synthetic", layout="got10k", num_train=40, num_val=1, num_test=1,
                             frames=60, size=(640, 360), seed=args.seed)
            root = Path(tmp) / "synthetic" / "train"
        dataset = Got10k(root, split=None, name="benchmark")
        print(f"torch threads {torch.get_num_threads()}, OpenCV threads {cv2.getNumThreads()}, "
              f"python {sys.version.split()[0]}")
        if args.script == "siamfcpp":
            _siamfcpp_main(args, dataset)
            return 0
        if args.script != "ostrack":
            _siamese_main(args, dataset, tmp)
            return 0
        print(f"config {args.config}: template {cfg.DATA.TEMPLATE.SIZE}px x{cfg.DATA.TEMPLATE.FACTOR}, "
              f"search {cfg.DATA.SEARCH.SIZE}px x{cfg.DATA.SEARCH.FACTOR}; batch {batch}; {args.samples} samples; "
              f"data {root} ({dataset.get_num_sequences()} sequences, frame "
              f"{'x'.join(map(str, dataset.get_frames(0, [0])[0][0].shape[1::-1]))})")
        print("samples/s by wall clock, and per CPU-second of this process in [] (robust to a busy machine)")
        core, core_cpu = _direct_rate(dataset, cfg, args.samples, batch, args.seed, full=False)
        full, full_cpu = _direct_rate(dataset, cfg, args.samples, batch, args.seed, full=True)
        print(f"direct original recipe (decode + pad/crop/resize, template and search): {core:7.1f} [{core_cpu:.1f}]")
        print(f"direct original recipe + original processing:                          {full:7.1f} [{full_cpu:.1f}]")
        for workers in args.workers:
            steady, overall, cpu = _pipeline_rate(dataset, cfg, workers, args.samples, batch, args.seed)
            cpu_note = ""
            if workers == 0:
                cpu_note = f" [{cpu:.1f}; {cpu / core_cpu:.2f}x / {cpu / full_cpu:.2f}x by CPU time]"
            print(f"pipeline, {workers} workers: {steady:7.1f} samples/s steady state ({overall:.1f} including "
                  f"start-up); {steady / core:.2f}x the direct recipe, {steady / full:.2f}x the direct recipe + "
                  f"processing{cpu_note}")
    return 0


if __name__ == "__main__":
    run_cli(main)
