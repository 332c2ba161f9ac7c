"""SiamFC++'s entry of :data:`lib.train.data.benchmark.DATA_PIPELINES`: pair sampler and filter, random crop
transformer, densebox target and collation, built as its training script builds them."""

from __future__ import annotations

from lib.config import load_script_config
from lib.train.data.benchmark import PipelineBenchmark, PipelineOptions
from lib.train.data.loader import LTRLoader
from lib.train.data.siamfcpp.build import build_siamfcpp_loader, build_siamfcpp_sampler
from lib.train.dataset.got10k import Got10k

__all__ = ["DEFAULT_CONFIG", "siamfcpp_pipeline"]

DEFAULT_CONFIG = "siamfcpp_alexnet-trn"


def siamfcpp_pipeline(options: PipelineOptions, dataset: Got10k) -> PipelineBenchmark:
    """SiamFC++'s pipeline on ``dataset`` (default config siamfcpp_alexnet-trn)."""
    name = options.config or DEFAULT_CONFIG
    data_cfg = load_script_config("siamfcpp", name).train.track.data
    batch = options.batch_size or int(data_cfg.minibatch)

    def build(workers: int) -> LTRLoader:
        sampler = build_siamfcpp_sampler(data_cfg, None, seed=options.seed, datasets=[dataset],
                                         samples_per_epoch=options.samples + 2 * batch)
        return build_siamfcpp_loader({**data_cfg.to_dict(), "minibatch": batch}, None, seed=options.seed,
                                     num_workers=workers, sampler=sampler)

    return PipelineBenchmark(
        description=f"siamfcpp config {name}: search {data_cfg.transformer.RandomCropTransformer.x_size}px, negative "
                    f"pairs {data_cfg.sampler.TrackPairSampler.negative_pair_ratio}; batch {batch}; "
                    f"{options.samples} samples",
        batch=batch, loaders=[("siamfcpp pipeline", build)])
