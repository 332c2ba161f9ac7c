"""tracking/benchmark_data.py: every registered family's pipeline is timed (tiny settings), one timing loop."""

import pytest

from lib.models.registry import MODEL_BUILDERS
from lib.train.data.benchmark import DATA_PIPELINES, timed_batches
from lib.utils.registry import UnknownNameError
from script_loader import load_tracking_script


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from lib.train.dataset.synthetic_generator import generate_dataset

    root = tmp_path_factory.mktemp("benchmark_data") / "synthetic"
    # 24 frames: OSTrack's sampler needs sequences of at least 20
    generate_dataset(root, layout="got10k", num_train=3, num_val=1, num_test=1, frames=24, size=(160, 96), seed=0,
                     workers=1, progress_bar=False)
    return root / "train"


@pytest.mark.parametrize("script", list(DATA_PIPELINES))
def test_every_family_pipeline_is_timed(script, data_dir, capsys):
    main = load_tracking_script("benchmark_data").main
    extra = ["--precropped"] if script == "siamrpn" else []
    assert main(["--script", script, "--data_dir", str(data_dir), "--workers", "0", "--samples", "2",
                 "--batch_size", "1", *extra]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.endswith(f"; batch 1; 2 samples; data {data_dir} (3 sequences, frame 160x96)") for line in lines)
    rates = [line for line in lines if " 0 workers: " in line]
    assert len(rates) == (2 if extra else 1)
    assert all("samples/s steady state" in line and "including start-up" in line for line in rates)
    if script == "ostrack":  # compared with the original recipe written directly
        assert sum(line.startswith("direct original recipe") for line in lines) == 2
        assert "x the direct recipe + processing [" in rates[0] and "by CPU time]" in rates[0]
    else:
        assert rates[0].endswith("per CPU-second]")


def test_every_family_has_a_pipeline_and_an_unknown_one_is_named():
    assert set(DATA_PIPELINES) == set(MODEL_BUILDERS)
    main = load_tracking_script("benchmark_data").main
    with pytest.raises(UnknownNameError, match=r"--script: unknown data pipeline 'siamrp'\. Did you mean `siamrpn`\?"):
        main(["--script", "siamrp"])


def test_timed_batches_counts_the_batches_after_the_first():
    class Loader:
        def __init__(self):
            self.epoch, self.drawn = None, 0

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __iter__(self):
            while True:
                self.drawn += 1
                yield sum(range(10_000))  # some CPU time to measure

    loader = Loader()
    steady, overall, cpu = timed_batches(loader, samples=8, batch=2)
    assert loader.epoch == 1 and loader.drawn == 1 + 4  # the first (start-up) batch, then 8 samples in batches of 2
    assert steady > 0 and overall > 0 and cpu > 0
