"""SiamFC++ training data: crops against the original's reference, filter, pair sampler, loader and builder."""

import numpy as np
import pytest
import torch

from lib.config.core import CfgNode
from lib.utils.image import CorruptImageError
from lib.train.data.sampler import NoUsableSequenceError, SamplingError
from lib.train.data.siamfcpp.build import (DATASET_MAP, build_siamfcpp_loader, build_siamfcpp_sampler,
                                           framework_dataset_name)
from lib.train.data.siamfcpp.pair_filter import TrackPairFilter
from lib.train.data.siamfcpp.pair_sampler import TrackPairSampler
from lib.train.data.siamfcpp.transformer import RandomCropTransformer, crop_track_pair
from lib.utils.subwindow import get_subwindow_tracking
from lib.train.data.skips import SKIP_REASONS, count_skips
from lib.train.dataset.base_video_dataset import BaseVideoDataset, make_info
from lib.train.dataset.storage import FolderStorage
from lib.utils.errors import ConfigError
from tests.siamfcpp_reference import BACKBONES, load_siamfcpp_reference

SMALL = {"z_size": 31, "x_size": 87}  # a 6x6 score map with one head conv: fast crops for the sampler tests


class FakeDataset(BaseVideoDataset):
    """In-memory sequences of (H, W, 3) noise frames; frame f of every sequence has f in pixel (0, 0, 0).

    Args:
        lengths: frames per sequence.
        boxes: {seq_id: (N, 4) xywh} (default: a 20x16 box moving right by one pixel per frame).
        missing / corrupt: {(seq_id, frame_id)} that raise FileNotFoundError / CorruptImageError when read.
        video: False for an image dataset (one frame per sequence).
    """

    def __init__(self, name, lengths, boxes=None, missing=(), corrupt=(), video=True, hw=(64, 80)):
        super().__init__(name, FolderStorage("/nonexistent"))
        self.sequence_list = list(range(len(lengths)))
        self.lengths, self.boxes, self.video, self.hw = lengths, boxes or {}, video, hw
        self.missing, self.corrupt = set(missing), set(corrupt)

    def is_video_sequence(self):
        return self.video

    def _load_sequence_info(self, seq_id):
        n = self.lengths[seq_id]
        default = np.stack([10 + np.arange(n), np.full(n, 20), np.full(n, 20), np.full(n, 16)], 1)
        return make_info(np.asarray(self.boxes.get(seq_id, default), np.float32))

    def _read_frame(self, seq_id, frame_id):
        if (seq_id, frame_id) in self.missing:
            raise FileNotFoundError(f"{seq_id}/{frame_id}.jpg")
        if (seq_id, frame_id) in self.corrupt:
            raise CorruptImageError(f"{seq_id}/{frame_id}.jpg")
        frame = np.random.default_rng(seq_id * 1000 + frame_id).integers(0, 256, (*self.hw, 3), dtype=np.uint8)
        frame[0, 0, :] = frame_id
        return frame


def frame_id(item):
    """The frame id written in pixel (0, 0) of a raw sample's image (BGR view of the RGB frame)."""
    return int(item["image"][0, 0, 0])


def raw_sampler(datasets, ratios=None, max_diffs=None, **kw):
    return TrackPairSampler(datasets, ratios or [1.0] * len(datasets), max_diffs or [100] * len(datasets),
                            samples_per_epoch=kw.pop("samples_per_epoch", 50), **kw)


def processing_sampler(datasets, **kw):
    from lib.train.data.siamfcpp.build import SiamFCppProcessing
    from lib.train.data.siamfcpp.target import DenseboxTarget

    processing = SiamFCppProcessing([RandomCropTransformer(**SMALL)], DenseboxTarget(num_conv3x3=1, **SMALL))
    return raw_sampler(datasets, processing=processing, **kw)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_crops_and_boxes_equal_the_original(backbone):
    """RandomState(0) consumed by pair 0 then pair 1 (as the original transformer) gives the reference crops."""
    ref = load_siamfcpp_reference(backbone)
    photos, train = ref["photos"], ref["train"]
    transformer = RandomCropTransformer(**train["transformer_hps"])
    rng = np.random.RandomState(0)
    for k, (template, search, negative) in enumerate(photos["train_pairs"]):
        sample = {"data1": {"image": photos["images"][template].numpy(), "anno": photos["boxes"][template]},
                  "data2": {"image": photos["images"][search].numpy(), "anno": photos["boxes"][search]},
                  "is_negative_pair": negative}
        out = transformer(sample, rng)
        assert np.array_equal(out["data1"]["image"], train["inputs"]["im_z"][k].permute(1, 2, 0).numpy())
        assert np.array_equal(out["data2"]["image"], train["inputs"]["im_x"][k].permute(1, 2, 0).numpy())
        assert np.array_equal(out["data1"]["anno"], train["targets"]["bbox_z"][k].numpy())
        assert np.array_equal(out["data2"]["anno"], train["targets"]["bbox_x"][k].numpy())


def test_quirk_q9_six_draws_per_try_and_no_augmentation_after_fifty_tries():
    image = np.full((100, 100, 3), 50, np.uint8)
    box = [40.0, 40.0, 59.0, 59.0]
    rng, expected = np.random.RandomState(3), np.random.RandomState(3)
    crop_track_pair(image, box, image, box, rng, z_size=31, x_size=87, max_scale=0.0, max_shift=0.0)
    expected.uniform(size=6)  # an accepted first try: six draws even though the template jitter is zero
    assert rng.random_sample() == expected.random_sample()
    # a target larger than any search crop can hold: 50 rejected tries (300 draws), then the unaugmented crop
    rng, expected = np.random.RandomState(3), np.random.RandomState(3)
    _, _, _, bbox_x = crop_track_pair(image, box, image, [0.0, 0.0, 99.0, 99.0], rng, z_size=31, x_size=87,
                                      context_amount=-0.45)
    expected.uniform(size=300)
    assert rng.random_sample() == expected.random_sample()
    assert np.allclose((bbox_x[:2] + bbox_x[2:]) / 2, 43.0)  # centred: no shift


def test_quirk_q8_search_crop_is_padded_with_the_template_mean():
    template = np.full((60, 60, 3), (10, 100, 200), np.uint8)
    template[0, 0] = (13, 103, 203)  # mean 10.0008..., 100.0008..., 200.0008... truncates to (10, 100, 200)
    search = np.full((60, 60, 3), 255, np.uint8)
    box = [25.0, 25.0, 34.0, 34.0]
    _, _, im_x, _ = crop_track_pair(template, box, search, box, np.random.RandomState(0), z_size=31, x_size=87)
    assert tuple(im_x[0, 0]) == (10, 100, 200)
    patch = get_subwindow_tracking(search, (29.5, 29.5), 9, 9.0, (1.9, 2.9, 3.9))
    assert np.array_equal(patch, search[25:34, 25:34])  # a crop inside the image samples the pixels exactly


def test_quirk_q7_filter_checks_only_the_aspect_ratio_by_default():
    keep = TrackPairFilter()
    image = np.zeros((100, 100, 3), np.uint8)
    whole = {"image": image, "anno": [0, 0, 99, 99]}  # area rate 1.0 > max_area_rate 0.6
    tiny = {"image": image, "anno": [0, 0, 1, 1]}  # area rate 0.0004 < min_area_rate 0.001
    assert not keep(whole) and not keep(tiny)
    intended = TrackPairFilter(check_area=True)
    assert intended(whole) and intended(tiny) and not intended({"image": image, "anno": [0, 0, 49, 49]})
    assert keep({"image": image, "anno": [0, 0, 10, 120]})  # h / w = 11 > max_ratio 10
    assert keep({"image": image, "anno": [0, 0, 120, 10]})
    assert not keep({"image": image, "anno": [0, 0, 10, 90]})
    assert keep(None) and keep({"image": image, "anno": [np.nan, 0, 5, 5]}) and keep({"image": image,
                                                                                       "anno": [5, 5, 3, 9]})
    with pytest.raises(ValueError, match="max_ratio must be > 1"):
        TrackPairFilter(max_ratio=1)


def test_same_seed_same_samples_whatever_the_order_and_epochs_differ():
    datasets = [FakeDataset("a", [30, 40]), FakeDataset("b", [25])]

    def draw(sampler, i):
        s = sampler[i]
        return s["data1"]["anno"].tolist(), frame_id(s["data1"]), frame_id(s["data2"]), s["is_negative_pair"]

    a = raw_sampler(datasets, seed=1, negative_pair_ratio=0.3)
    b = raw_sampler(datasets, seed=1, negative_pair_ratio=0.3)
    c = raw_sampler(datasets, seed=2, negative_pair_ratio=0.3)
    draws = [draw(a, i) for i in range(30)]
    assert draws == [draw(b, i) for i in reversed(range(30))][::-1]
    assert draws != [draw(c, i) for i in range(30)]
    a.set_epoch(1)
    assert draws != [draw(a, i) for i in range(30)]


def test_augmentation_is_the_same_with_0_or_2_workers():
    """Quirk Q5 fixed: sampling and augmentation come from the sample's (seed, epoch, index) stream."""
    sampler = processing_sampler([FakeDataset("a", [30, 40, 20])], negative_pair_ratio=0.2, samples_per_epoch=16,
                                 seed=7)
    batches = {}
    for workers in (0, 2):
        loader = build_siamfcpp_loader({"num_workers": 4, "minibatch": 4, "pin_memory": False}, None, seed=7,
                                       num_workers=workers, sampler=sampler)
        loader.set_epoch(3)
        batches[workers] = list(loader)
    assert len(batches[0]) == 4
    for b0, b2 in zip(batches[0], batches[2]):
        assert b0["im_x"].shape == (4, 3, 87, 87) and b0["cls_gt"].shape == (4, 36, 1)
        for key in ("im_z", "im_x", "bbox_z", "bbox_x", "cls_gt", "ctr_gt", "box_gt", "is_negative_pair"):
            assert torch.equal(b0[key], b2[key]), key
    # two samples of one epoch are augmented differently (the original used RandomState(0) in every worker)
    assert not torch.equal(batches[0][0]["bbox_x"][0], batches[0][0]["bbox_x"][1])


def test_negative_pair_rate_and_frames():
    datasets = [FakeDataset("a", [30] * 5), FakeDataset("b", [30] * 5)]
    sampler = raw_sampler(datasets, negative_pair_ratio=0.25, samples_per_epoch=2000)
    negatives = [sampler[i]["is_negative_pair"] for i in range(2000)]
    assert abs(np.mean(negatives) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 2000)
    assert not any(raw_sampler(datasets, negative_pair_ratio=0.0)[i]["is_negative_pair"] for i in range(50))
    assert all(raw_sampler(datasets, negative_pair_ratio=1.0)[i]["is_negative_pair"] for i in range(50))


def test_dataset_ratios_are_honoured():
    datasets = [FakeDataset("a", [30]), FakeDataset("b", [30], hw=(48, 48))]
    sampler = raw_sampler(datasets, ratios=[3.0, 1.0], samples_per_epoch=800)
    from_b = np.mean([sampler[i]["data1"]["image"].shape[0] == 48 for i in range(800)])
    assert abs(from_b - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 800)


def test_quirk_q6_search_frame_range():
    sampler = raw_sampler([FakeDataset("a", [40])], max_diffs=[3], samples_per_epoch=3000)
    gaps = np.array([frame_id(s["data2"]) - frame_id(s["data1"]) for s in (sampler[i] for i in range(3000))])
    assert gaps.min() == -3  # max_diff limits how far back the search frame goes ...
    assert gaps.max() > 3  # ... but not how far forward
    assert (gaps == 0).any()  # and it may be the template frame itself


def test_image_datasets_pair_the_image_with_itself():
    coco_like = FakeDataset("img", [1, 1, 1], video=False)
    sample = raw_sampler([coco_like])[0]
    assert sample["data1"]["image"] is sample["data2"]["image"]
    assert np.array_equal(sample["data1"]["anno"], sample["data2"]["anno"])
    assert sample["data1"]["anno"].tolist() == [10.0, 20.0, 29.0, 35.0]  # xywh (10, 20, 20, 16) -> inclusive xyxy


def test_frames_are_bgr():
    dataset = FakeDataset("a", [30])
    sample = raw_sampler([dataset], max_diffs=[0])[0]
    rgb, _, _ = dataset.get_frames(0, [frame_id(sample["data1"])])
    assert np.array_equal(sample["data1"]["image"], rgb[0][..., ::-1])


def test_bad_data_is_skipped_and_counted():
    boxes = {1: np.tile([[np.nan, 0, 5, 5]], (30, 1)), 2: np.tile([[5, 5, 2, 40]], (30, 1))}  # NaN; h/w = 20
    dataset = FakeDataset("bad", [30] * 5, boxes=boxes, missing={(3, f) for f in range(30)},
                          corrupt={(4, f) for f in range(30)})
    sampler = raw_sampler([dataset], pair_filter=TrackPairFilter(), samples_per_epoch=60)
    total = torch.zeros(len(SKIP_REASONS), dtype=torch.long)
    for i in range(60):
        sample = sampler[i]
        assert frame_id(sample["data1"]) >= 0 and sample["data1"]["anno"][2] - sample["data1"]["anno"][0] == 19
        total += sample["skipped"]
    for reason in ("bad_box", "missing_image", "corrupt_image"):
        assert total[SKIP_REASONS.index(reason)] > 0, reason
    # a loader batch (stacked along dim 0) carries the counts as (B, R)
    loader = build_siamfcpp_loader({"num_workers": 0, "minibatch": 4, "pin_memory": False}, None,
                                   sampler=processing_sampler([dataset], pair_filter=TrackPairFilter()))
    batch = next(iter(loader))
    assert batch["skipped"].shape == (4, len(SKIP_REASONS)) and count_skips(batch, stack_dim=0).sum() > 0


def test_unusable_data_is_an_error_not_an_endless_loop():
    broken = FakeDataset("broken", [30], missing={(0, f) for f in range(30)})
    with pytest.raises(SamplingError, match="no valid sample after 20 draws .*missing_image 20"):
        raw_sampler([broken], max_attempts=20)[0]
    flat = FakeDataset("flat", [30], boxes={0: np.tile([[5, 5, 60, 2]], (30, 1))})
    with pytest.raises(NoUsableSequenceError, match="dataset flat .* has a box that can be used"):
        raw_sampler([flat], pair_filter=TrackPairFilter())
    raw_sampler([flat])  # quirk Q37 fixed: no filter works, and such a box is only invalid if it has no area


@pytest.mark.parametrize("kwargs, message", [
    ({"ratios": [1.0, 1.0]}, "1 datasets but 2 ratios"),
    ({"ratios": [-1.0]}, "non-negative with a positive sum"),
    ({"max_diffs": [-1]}, "max_diff must be >= 0"),
    ({"negative_pair_ratio": 1.5}, r"negative_pair_ratio must be in \[0, 1\]"),
])
def test_bad_sampler_arguments_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        raw_sampler([FakeDataset("a", [30])], **kwargs)


def test_dataset_names_map_to_framework_datasets():
    assert framework_dataset_name("GOT10kDataset", {"subset": "train"}) == "GOT10K_train_full"
    assert framework_dataset_name("LaSOTDataset", {"subset": "train"}) == "LASOT"
    assert framework_dataset_name("COCODataset", {"subsets": ["train2017"]}) == "COCO17"
    from lib.train.dataset.registry import DATASET_REGISTRY

    assert set(DATASET_MAP.values()) <= set(DATASET_REGISTRY)
    with pytest.raises(ConfigError, match="ILSVRC DET is not available"):
        framework_dataset_name("DETDataset", {"subset": "train"})
    with pytest.raises(ConfigError, match="LaSOTDataset.subset is 'train_test'.* subsets train"):
        framework_dataset_name("LaSOTDataset", {"subset": "train_test"})
    with pytest.raises(ConfigError, match=r"COCODataset.subsets is \['val2017'\]"):
        framework_dataset_name("COCODataset", {"subsets": ["val2017"]})


def test_builder_reads_the_train_data_node():
    from lib.config.siamfcpp.config import load_config

    data = load_config("siamfcpp_alexnet-trn").train.track.data
    sampler = build_siamfcpp_sampler(data, None, seed=3, datasets=[FakeDataset("got", [30, 30], hw=(240, 320))],
                                     samples_per_epoch=8)
    assert sampler.negative_pair_ratio == 0.1 and sampler.max_diffs == [100] and len(sampler) == 8
    assert sampler.pair_filter.max_ratio == 10 and not sampler.pair_filter.check_area
    sample = sampler[0]
    assert sample["im_z"].shape == (3, 127, 127) and sample["im_x"].shape == (3, 303, 303)
    assert sample["cls_gt"].shape == (289, 1) and sample["im_x"].dtype == torch.float32
    no_filter = CfgNode(data.to_dict())
    no_filter["sampler"]["submodules"]["filter"]["name"] = ""
    assert build_siamfcpp_sampler(no_filter, None, datasets=[FakeDataset("got", [30])]).pair_filter is None
