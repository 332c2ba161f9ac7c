"""TensorDict, collation along dim 1, build_dataloaders and reproducible batches across worker counts."""

import pickle

import pytest
import torch

from lib.config.ostrack.config import load_config
from lib.utils.environment import env_settings
from lib.train.data.build import build_dataloaders
from lib.train.data.loader import LTRLoader, ltr_collate_stack1
from lib.train.data.sampler import TrackingSampler
from lib.train.data.skips import SKIP_REASONS, count_skips
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.utils.tensor import TensorDict, TensorList


def test_tensordict_applies_tensor_methods_to_tensors_only():
    d = TensorDict(a=torch.ones(2, dtype=torch.float64), names=["x", "y"], label="cat")
    f = d.float()
    assert f["a"].dtype == torch.float32 and f["names"] == ["x", "y"] and f["label"] == "cat"
    assert isinstance(f, TensorDict) and d.apply(lambda v: 1)["names"] == 1
    assert pickle.loads(pickle.dumps(d))["a"].tolist() == [1.0, 1.0]
    with pytest.raises(AttributeError):
        d.not_a_tensor_method()
    t = TensorList([torch.ones(2), torch.zeros(2)])
    assert (t * 2 + 1)[0].tolist() == [3.0, 3.0] and t.sum()[1].item() == 0


def test_collate_stacks_along_dim_1():
    samples = [TensorDict(img=torch.rand(1, 3, 4, 4), anno=torch.rand(1, 4), valid=True, dataset="d", test_class=None,
                          ratio=0.5) for _ in range(3)]
    batch = ltr_collate_stack1(samples)
    assert isinstance(batch, TensorDict)
    assert batch["img"].shape == (1, 3, 3, 4, 4) and batch["anno"].shape == (1, 3, 4)
    assert torch.equal(batch["img"][0, 1], samples[1]["img"][0])
    assert batch["valid"].dtype == torch.long and batch["valid"].tolist() == [1, 1, 1]
    assert batch["dataset"] == ["d"] * 3 and batch["test_class"] == [None] * 3
    assert batch["ratio"].dtype == torch.float64


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("loader") / "synthetic"
    generate_dataset(root, layout="got10k", num_train=3, num_val=1, num_test=0, frames=22, size=(96, 64), seed=5,
                     workers=1)
    return root


def test_build_dataloaders_batch_layout(synthetic_root):
    cfg = load_config("vitb_256_mae_ce_32x4_ep300", overrides={
        "DATA": {"TRAIN": {"DATASETS_NAME": ["SYNTHETIC_train"], "DATASETS_RATIO": [1], "SAMPLE_PER_EPOCH": 6},
                 "VAL": {"DATASETS_NAME": ["SYNTHETIC_val"], "DATASETS_RATIO": [1], "SAMPLE_PER_EPOCH": 3}},
        "TRAIN": {"BATCH_SIZE": 3, "NUM_WORKER": 0, "VAL_EPOCH_INTERVAL": 7}})
    env = env_settings(synthetic_dir=str(synthetic_root))
    train, val = build_dataloaders(cfg, env, seed=3)
    assert (train.name, train.training, train.epoch_interval, train.stack_dim) == ("train", True, 1, 1)
    assert (val.name, val.training, val.epoch_interval) == ("val", False, 7)
    train.set_epoch(1)
    batches = list(train)
    assert len(batches) == 2
    b = batches[0]
    assert b["template_images"].shape == (1, 3, 3, 128, 128) and b["search_images"].shape == (1, 3, 3, 256, 256)
    assert b["template_anno"].shape == (1, 3, 4) and b["search_att"].shape == (1, 3, 256, 256)
    assert b["search_att"].dtype == torch.bool and b["template_masks"].shape == (1, 3, 128, 128)
    assert b["dataset"] == ["SYNTHETIC_train"] * 3 and b["valid"].tolist() == [1, 1, 1]
    assert count_skips(b).shape == (len(SKIP_REASONS),)
    # normalized boxes: the template box is centred in its crop
    centre = b["template_anno"][0, :, :2] + b["template_anno"][0, :, 2:] / 2
    torch.testing.assert_close(centre, torch.full_like(centre, 63.5 / 128))
    assert abs(float(b["search_images"].mean())) < 1.5 and b["search_images"].dtype == torch.float32
    val.set_epoch(7)
    assert next(iter(val))["search_images"].shape == (1, 3, 3, 256, 256)


def test_same_seed_same_batches_with_any_number_of_workers(synthetic_root):
    from lib.train.data.build import build_processing
    cfg = load_config("vitb_256_mae_ce_32x4_ep300")

    def batches(workers, epoch=1):
        sampler = TrackingSampler([Got10k(synthetic_root / "train")], None, 8, 200, 1, 1, build_processing(cfg),
                                  seed=9)
        loader = LTRLoader("train", sampler, batch_size=4, shuffle=True, num_workers=workers, stack_dim=1,
                           drop_last=True, seed=9)
        loader.set_epoch(epoch)
        return [b["search_images"] for b in loader]

    zero, two = batches(0), batches(2)
    assert all(torch.equal(x, y) for x, y in zip(zero, two)) and len(zero) == 2
    assert not torch.equal(batches(0, epoch=2)[0], zero[0])


def test_batched_fetch_writes_images_in_place_and_equals_single_samples(synthetic_root):
    from lib.train.data.build import build_processing
    cfg = load_config("vitb_256_mae_ce_32x4_ep300")
    sampler = TrackingSampler([Got10k(synthetic_root / "train")], None, 8, 200, 1, 1, build_processing(cfg), seed=4)
    items = sampler.__getitems__([3, 4, 5])
    batch = ltr_collate_stack1(items)
    single = ltr_collate_stack1([sampler[i] for i in (3, 4, 5)])
    assert batch["search_images"] is items[0]["search_images"]._base  # no copy: the batch tensor itself
    for key, value in single.items():
        if torch.is_tensor(value):
            assert torch.equal(batch[key], value), key
        else:
            assert batch[key] == value, key
