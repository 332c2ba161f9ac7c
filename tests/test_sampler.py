"""TrackingSampler: determinism, dataset ratios, frame rules, bounded retries and bad-data accounting."""

import random
import shutil

import numpy as np
import pytest
import torch

from lib.train.data.processing import STARKProcessing
from lib.train.data.sampler import NoUsableSequenceError, SamplingError, TrackingSampler, sample_visible_ids
from lib.train.data.skips import SKIP_REASONS, count_skips, summarize_skips
from lib.train.dataset.base_video_dataset import BaseVideoDataset, make_info
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.storage import FolderStorage
from lib.train.dataset.synthetic_generator import generate_dataset


class FakeDataset(BaseVideoDataset):
    """In-memory sequences; frame f of sequence s is a 4x4 image filled with f (no decoding)."""

    def __init__(self, name, lengths, visible=None, video=True):
        super().__init__(name, FolderStorage("/nonexistent"))
        self.sequence_list = list(range(len(lengths)))
        self.lengths = lengths
        self.visible = visible or {}
        self.video = video

    def is_video_sequence(self):
        return self.video

    def _load_sequence_info(self, seq_id):
        n = self.lengths[seq_id]
        bbox = np.tile(np.array([[1, 1, 2, 2]], np.float32), (n, 1))
        return make_info(bbox, self.visible.get(seq_id))

    def _read_frame(self, seq_id, frame_id):
        return np.full((4, 4, 3), frame_id % 256, np.uint8)


def record(data, rng):
    """Cheap processing: report which dataset and frames were drawn."""
    return {"dataset": data["dataset"], "template": int(data["template_images"][0][0, 0, 0]),
            "search": int(data["search_images"][0][0, 0, 0])}


def make_sampler(datasets, ratios, **kw):
    kw.setdefault("max_gap", 200)
    return TrackingSampler(datasets, ratios, samples_per_epoch=100, num_search_frames=1, num_template_frames=1,
                           processing=record, **kw)


def test_sample_visible_ids():
    vis = np.array([0, 1, 1, 0, 1], bool)
    rng = random.Random(0)
    assert sample_visible_ids(vis, rng, 0) == []
    assert set(sum((sample_visible_ids(vis, rng, 3) for _ in range(50)), [])) == {1, 2, 4}
    assert sample_visible_ids(vis, rng, 1, min_id=3, max_id=4) is None  # max_id is exclusive
    assert sample_visible_ids(vis, rng, 2, min_id=-5, max_id=2) == [1, 1]
    assert set(sum((sample_visible_ids(vis, rng, 1, force_invisible=True) for _ in range(30)), [])) == {0, 3}


def test_dataset_ratios_are_honoured_chi_square():
    datasets = [FakeDataset(f"d{i}", [30] * (i + 2)) for i in range(3)]
    sampler = make_sampler(datasets, [1, 2, 1], seed=5)
    n = 3000
    counts = np.zeros(3)
    for i in range(n):
        counts[int(sampler[i]["dataset"][1])] += 1
    expected = n * np.array([0.25, 0.5, 0.25])
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 13.8  # df = 2, p = 0.001
    zero = make_sampler(datasets[:2], [0, 1])
    assert {zero[i]["dataset"] for i in range(200)} == {"d1"}


def test_same_seed_same_samples_different_seed_or_epoch_different():
    ds = FakeDataset("d", [40, 50, 60])
    a, b, c = make_sampler([ds], None, seed=1), make_sampler([ds], None, seed=1), make_sampler([ds], None, seed=2)

    def draw(sampler, i):
        s = sampler[i]
        return s["dataset"], s["template"], s["search"]

    draws = [draw(a, i) for i in range(50)]
    assert draws == [draw(b, i) for i in range(50)]
    assert draws != [draw(c, i) for i in range(50)]
    assert [draw(a, 7) for _ in range(3)] == [draws[7]] * 3  # a sample depends on its index, not on call order
    a.set_epoch(1)
    assert draws != [draw(a, i) for i in range(50)]


def test_causal_frames_are_visible_and_ordered_within_the_gap():
    visible = np.ones(60, bool)
    visible[::3] = False
    ds = FakeDataset("d", [60], {0: visible})
    sampler = make_sampler([ds], None, max_gap=5)
    for i in range(500):
        s = sampler[i]
        assert visible[s["template"]] and visible[s["search"]]
        assert 1 <= s["search"] - s["template"] <= 4 + 5 * 3  # gap 5 (exclusive), widened by 5 per retry


def test_no_qualifying_sequence_is_an_error_at_start_up():
    short = FakeDataset("short", [10, 19])  # fewer than 20 frames
    hidden = FakeDataset("hidden", [50], {0: np.arange(50) < 4})  # only 4 visible frames
    for ds in (short, hidden):
        with pytest.raises(NoUsableSequenceError, match=ds.name):
            make_sampler([ds], None)
    make_sampler([short, FakeDataset("ok", [30])], [0, 1])  # a zero-weight dataset is not checked


def test_too_short_sequences_are_skipped_and_counted():
    ds = FakeDataset("d", [30, 5, 5, 5])
    sampler = make_sampler([ds], None)
    total = torch.zeros(len(SKIP_REASONS), dtype=torch.long)
    for i in range(100):
        s = sampler[i]
        total += s["skipped"]
    assert total[SKIP_REASONS.index("too_short")] > 100
    assert "too_short" in summarize_skips(total, samples=100)


def test_image_datasets_use_the_same_frame_twice():
    coco_like = FakeDataset("img", [1, 1, 1], video=False)
    s = make_sampler([coco_like], None)[0]
    assert s["template"] == s["search"] == 0


@pytest.fixture(scope="module")
def got_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad") / "got"
    generate_dataset(root, layout="got10k", num_train=6, num_val=0, num_test=0, frames=22, size=(64, 48), seed=11,
                     workers=1)
    return root / "train"


def _processing():
    return STARKProcessing({"template": 2.0, "search": 4.0}, {"template": 32, "search": 64},
                           {"template": 0, "search": 3}, {"template": 0, "search": 0.25})


def _break(root):
    seqs = sorted(p for p in root.iterdir() if p.is_dir())
    for f in range(3, 22):
        (seqs[0] / f"{f:08d}.jpg").unlink()                        # missing images
    for f in range(3, 22):
        (seqs[1] / f"{f:08d}.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # corrupt images
    rows = (seqs[2] / "groundtruth.txt").read_text().splitlines()
    (seqs[2] / "groundtruth.txt").write_text("\n".join(["nan,nan,nan,nan"] * 6 + ["1,2,-5,4"] * 6 + ["3,3,0,0"] * 6
                                                       + rows[18:]) + "\n")  # NaN / negative / zero boxes
    (seqs[3] / "groundtruth.txt").write_text("1,2,3\n")               # a broken annotation file
    for name in ("groundtruth.txt", "absence.label", "cover.label"):  # a too-short sequence
        lines = (seqs[4] / name).read_text().splitlines()
        (seqs[4] / name).write_text("\n".join(lines[:10]) + "\n")
    return seqs


def test_bad_data_is_skipped_and_counted_never_crashes(got_root, tmp_path):
    root = tmp_path / "train"
    shutil.copytree(got_root, root)
    seqs = _break(root)
    ds = Got10k(root, split=None)
    sampler = TrackingSampler([ds], None, 200, 200, 1, 1, _processing(), seed=3)
    total = torch.zeros(len(SKIP_REASONS), dtype=torch.long)
    for i in range(150):
        sample = sampler[i]
        assert sample["search_images"].shape == (1, 3, 64, 64) and torch.isfinite(sample["search_anno"]).all()
        total += sample["skipped"]
    counts = dict(zip(SKIP_REASONS, total.tolist()))
    for reason in ("missing_image", "corrupt_image", "bad_box", "too_short"):
        assert counts[reason] > 0, counts
    # frames with NaN, negative or zero boxes are invalid, hence never drawn
    info = ds.get_sequence_info(ds.sequence_list.index(seqs[2].name))
    assert not info["valid"][:18].any() and info["valid"][18:].all()


def test_unusable_data_ends_in_a_bounded_error_not_a_hang(got_root, tmp_path):
    root = tmp_path / "train"
    shutil.copytree(got_root, root)
    for f in root.glob("*/*.jpg"):
        if f.name != "00000022.jpg":  # the last frame stays: the sequences keep their length (else they are skipped)
            f.unlink()
    sampler = TrackingSampler([Got10k(root)], None, 10, 200, 1, 1, _processing(), max_attempts=30)
    with pytest.raises(SamplingError, match="missing_image 30"):
        sampler[0]


def test_count_skips_of_a_collated_batch():
    per_sample = [torch.tensor([1, 0, 0, 2, 0, 0, 0]), torch.tensor([0, 0, 1, 0, 0, 0, 3])]
    batch = {"skipped": torch.stack(per_sample, 1)}  # stack_dim 1 collation: (R, B)
    assert count_skips(batch).tolist() == [1, 0, 1, 2, 0, 0, 3]
    assert summarize_skips(count_skips(batch)) == "skipped 7 draws: missing_image 1, bad_box 1, too_short 2, error 3"
    assert summarize_skips([0] * len(SKIP_REASONS)) == "skipped no draws"
