"""Samples per second of a family's training data pipeline (``tracking/benchmark_data.py``).

Each family registers in :data:`DATA_PIPELINES` a function ``setup(options, dataset) -> PipelineBenchmark`` that
loads its config and says how to build its loaders (and, where there is one, a baseline to compare with);
:func:`timed_batches` times every loader the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lib.utils.registry import Registry

__all__ = ["PipelineOptions", "Baseline", "PipelineBenchmark", "DATA_PIPELINES", "timed_batches"]


@dataclass(frozen=True)
class PipelineOptions:
    """What the command line chose.

    Attributes:
        config: the family's config name or YAML path (None: the family's default).
        samples: samples timed per measurement.
        batch_size: batch size (None: the config's).
        seed: seed of the sampler and the loader.
        workdir: a scratch folder (e.g. for a pre-cropped copy of the dataset).
        precropped: also time the family's pre-cropped layout, where it has one (PySOT's).
    """

    config: str | None
    samples: int
    batch_size: int | None
    seed: int
    workdir: Path
    precropped: bool = False


@dataclass
class Baseline:
    """A rate to compare the pipeline with (e.g. the original recipe written directly).

    Attributes:
        title: its line in the report.
        short: its name in the comparisons ("the direct recipe").
        rate: measures it: (samples per second, samples per CPU-second of this process).
    """

    title: str
    short: str
    rate: Callable[[], tuple[float, float]]


@dataclass
class PipelineBenchmark:
    """One family's pipeline, ready to time.

    Attributes:
        description: the config, sizes, batch and sample count, for the report.
        batch: the batch size.
        loaders: (label, ``build(workers) -> loader``) per data layout; a loader has ``set_epoch`` and yields
            batches of ``batch`` samples.
        baselines: rates to compare with.
    """

    description: str
    batch: int
    loaders: list[tuple[str, Callable[[int], Any]]]
    baselines: list[Baseline] = field(default_factory=list)


#: --script -> ``setup(options: PipelineOptions, dataset) -> PipelineBenchmark`` (dataset: a GOT-10k-layout Got10k)
DATA_PIPELINES = Registry("data pipeline", "--script", {
    "ostrack": "lib.train.data.ostrack_benchmark:ostrack_pipeline",
    "siamrpn": "lib.train.data.siamese.benchmark:siamrpn_pipeline",
    "siamban": "lib.train.data.siamese.benchmark:siamban_pipeline",
    "siamfcpp": "lib.train.data.siamfcpp.benchmark:siamfcpp_pipeline",
})


def timed_batches(loader: Any, samples: int, batch: int) -> tuple[float, float, float]:
    """(steady-state samples/s, samples/s including start-up, samples per CPU-second) of a loader.

    The CPU time is this process's only: meaningful for 0 workers (the work is done here), not for workers.
    """
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
    return n / (end - first), (n + batch) / (end - start), n / cpu
