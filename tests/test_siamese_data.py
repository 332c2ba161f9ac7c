"""PySOT-family training data: 511 context crops on the fly, augmentation, pair sampling, pre-cropped layout, builders.

References written here from the spec (pysot-spec.md 6.1-6.4), independently of the library code: a two-stage
pipeline (PySOT's crop_like_SiamFC on the BGR frame, then PySOT's Augmentation on the 511 crop, HWC float64) that
the library must match bit for bit.
"""

import json
import shutil
import tokenize
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lib.config.core import CfgNode
from lib.utils.environment import env_settings
from lib.utils.image import CorruptImageError, decode_image
from lib.train.data.loader import LTRLoader
from lib.train.data.sampler import NoUsableSequenceError, SamplingError
from lib.train.data.siamese.augmentation import BLUR_KERNEL_SIZES, RGB_VAR, Augmentation, blur_kernel, cross_blur
from lib.train.data.siamese.build import build_siamese_datasets, build_siamese_pair_dataset
from lib.train.data.siamese.crop import (FrameSource, box_in_context_crop, channel_mean, context_region,
                                         context_sizes, crop_like_siamfc)
from lib.train.data.siamese.pair_dataset import SiamesePairDataset, SubDataset, SubDatasetSpec
from lib.train.data.siamese.precropped import PrecroppedLayoutError, PrecroppedSource
from lib.train.data.skips import SKIP_REASONS
from lib.train.dataset.base_video_dataset import AnnotationError, EmptyDatasetError
from lib.train.dataset.got10k import Got10k
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.utils.errors import ConfigError, DatasetNotFoundError

# ---------------------------------------------------------------- references from the spec (two-stage, BGR)


def ref_crop_like_siamfc(image, bbox, context_amount=0.5, exemplar_size=127, instanc_size=511):
    target_pos = [(bbox[2] + bbox[0]) / 2.0, (bbox[3] + bbox[1]) / 2.0]
    target_size = [bbox[2] - bbox[0], bbox[3] - bbox[1]]
    wc_z = target_size[1] + context_amount * sum(target_size)
    hc_z = target_size[0] + context_amount * sum(target_size)
    s_z = np.sqrt(wc_z * hc_z)
    scale_z = exemplar_size / s_z
    s_x = s_z + 2 * ((instanc_size - exemplar_size) / 2 / scale_z)
    box = [target_pos[0] - s_x / 2, target_pos[1] - s_x / 2, target_pos[0] + s_x / 2, target_pos[1] + s_x / 2]
    return ref_warp(image, box, instanc_size, np.mean(image, axis=(0, 1)))


def ref_warp(image, box, out_sz, padding=(0, 0, 0)):
    a = (out_sz - 1) / (box[2] - box[0])
    b = (out_sz - 1) / (box[3] - box[1])
    mapping = np.array([[a, 0, -a * box[0]], [0, b, -b * box[1]]]).astype(float)
    return cv2.warpAffine(image, mapping, (out_sz, out_sz), borderMode=cv2.BORDER_CONSTANT, borderValue=padding)


def ref_get_bbox(crop, shape, exemplar_size=127):
    imh, imw = crop.shape[:2]
    w, h = (shape[2] - shape[0], shape[3] - shape[1]) if len(shape) == 4 else shape
    wc_z, hc_z = w + 0.5 * (w + h), h + 0.5 * (w + h)
    scale_z = exemplar_size / np.sqrt(wc_z * hc_z)
    w, h = w * scale_z, h * scale_z
    cx, cy = imw // 2, imh // 2
    return np.array([cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5])


SPEC_RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627], [1.72091413, 0.19879334, -1.82968581],
                         [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)


def ref_augment(image, bbox, size, rng, gray, shift, scale, blur, flip, color):
    """PySOT's Augmentation.__call__ on a BGR image, the global RNG replaced by ``rng``; then (3,H,W) float32."""
    def center2corner(c):
        return (c[0] - c[2] * 0.5, c[1] - c[3] * 0.5, c[0] + c[2] * 0.5, c[1] + c[3] * 0.5)

    def corner2center(c):
        return ((c[0] + c[2]) * 0.5, (c[1] + c[3]) * 0.5, c[2] - c[0], c[3] - c[1])

    def rand():
        return rng.random_sample() * 2 - 1

    crop_bbox = center2corner((image.shape[0] // 2, image.shape[1] // 2, size - 1, size - 1))
    if gray:
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    im_h, im_w = image.shape[:2]
    cx, cy, w, h = corner2center(crop_bbox)
    if scale:
        scale_x, scale_y = 1.0 + rand() * scale, 1.0 + rand() * scale
        scale_x, scale_y = min(scale_x, float(im_w) / w), min(scale_y, float(im_h) / h)
        w, h = w * scale_x, h * scale_y
    x1, y1, x2, y2 = center2corner((cx, cy, w, h))
    if shift:
        sx, sy = rand() * shift, rand() * shift
        sx, sy = max(-x1, min(im_w - 1 - x2, sx)), max(-y1, min(im_h - 1 - y2, sy))
        x1, y1, x2, y2 = x1 + sx, y1 + sy, x2 + sx, y2 + sy
    box = (bbox[0] - x1, bbox[1] - y1, bbox[2] - x1, bbox[3] - y1)
    if scale:
        box = (box[0] / scale_x, box[1] / scale_y, box[2] / scale_x, box[3] / scale_y)
    image = ref_warp(image, (x1, y1, x2, y2), size)
    if color > rng.random_sample():
        offset = np.dot(SPEC_RGB_VAR, rng.randn(3, 1))[::-1].reshape(3)
        image = image - offset
    if blur > rng.random_sample():
        k = rng.choice(np.arange(5, 46, 2))
        kernel = np.zeros((k, k))
        c, wx = int(k / 2), rng.random_sample()
        kernel[:, c] += 1.0 / k * wx
        kernel[c, :] += 1.0 / k * (1 - wx)
        image = cv2.filter2D(image, -1, kernel)
    if flip and flip > rng.random_sample():
        image = cv2.flip(image, 1)
        width = image.shape[1]
        box = (width - 1 - box[2], box[1], width - 1 - box[0], box[3])
    return image.transpose((2, 0, 1)).astype(np.float32), np.array(box)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("siamdata") / "synthetic"
    generate_dataset(root, layout="got10k", num_train=4, num_val=1, num_test=0, frames=22, size=(96, 64), seed=5,
                     workers=1)
    return root


class FakeSource:
    """Videos of constant-colour crops: R = video, G = frame, B = 7 + 50 * track, so outputs reveal the draw."""

    def __init__(self, name, tracks_per_video, side=63, box=(0.0, 0.0, 20.0, 20.0), fail=None):
        self.name = name
        self.videos = [[np.asarray(t, np.int64) for t in tracks] for tracks in tracks_per_video]
        self.side, self.box, self.fail = side, np.asarray(box, np.float64), fail or {}
        self.calls = []

    def describe(self):
        return f"fake {self.name}"

    def num_videos(self):
        return len(self.videos)

    def tracks(self, video):
        return self.videos[video]

    def crops(self, video, track, frames):
        self.calls.append((video, track, tuple(frames)))
        out = []
        for f in frames:
            err = self.fail.get((video, f))
            if err is not None:
                raise err(f"fake failure at video {video} frame {f}")
            out.append((np.full((self.side, self.side, 3), (video, f, 7 + 50 * track), np.uint8), self.box))
        return out


def fake_dataset(sources, frame_range=100, num_use=-1, **kw):
    kw.setdefault("seed", 1)
    specs = [SubDatasetSpec(s.name, s, frame_range if np.isscalar(frame_range) else frame_range[i],
                            num_use if np.isscalar(num_use) else num_use[i]) for i, s in enumerate(sources)]
    return SiamesePairDataset(specs, Augmentation(), Augmentation(), exemplar_size=15, search_size=31,
                              output_size=5, **kw)


def decoded(sample, role):
    """(video, frame, track) of a FakeSource crop from an output image (BGR: channel 2 = R = video)."""
    img = sample[role].numpy()
    return int(img[2, 7, 7]), int(img[1, 7, 7]), (int(img[0, 7, 7]) - 7) // 50


# ---------------------------------------------------------------- crop.py


def test_channel_mean_is_numpys_mean_bit_for_bit():
    rng = np.random.RandomState(0)
    for shape in ((1, 1, 3), (7, 13, 3), (360, 640, 3), (720, 1280, 3)):
        image = rng.randint(0, 256, shape).astype(np.uint8)
        assert channel_mean(image) == tuple(np.mean(image, axis=(0, 1)))


def test_context_crop_on_the_fly_equals_two_stage_reference(synthetic_root):
    decodes = []

    def counting_loader(data, name="<bytes>"):
        decodes.append(name)
        return decode_image(data, name)

    source = FrameSource(Got10k(synthetic_root / "train", image_loader=counting_loader))
    for video in range(source.num_videos()):
        frames = source.tracks(video)[0]
        info = source.dataset.get_sequence_info(video)
        for f in (int(frames[0]), int(frames[-1])):
            decodes.clear()
            (crop, corner), (again, _) = source.crops(video, 0, [f, f])
            assert len(decodes) == 1 and again is crop  # one decode and one 511 warp for a shared frame
            x, y, w, h = info["bbox"][f].tolist()
            np.testing.assert_array_equal(corner, [x, y, x + w, y + h])
            frame_bgr = source.dataset.get_frames(video, [f], info)[0][0][:, :, ::-1].copy()
            assert crop.shape == (511, 511, 3) and crop.dtype == np.uint8
            want = ref_crop_like_siamfc(frame_bgr, corner)
            np.testing.assert_array_equal(crop[:, :, ::-1], want)  # the RGB crop is the BGR one reversed
            np.testing.assert_array_equal(crop_like_siamfc(frame_bgr, corner), want)
            np.testing.assert_array_equal(box_in_context_crop(corner, crop.shape, 127), ref_get_bbox(crop, corner))


def test_quirk18_swapped_context_formula_and_510_over_511_scale_are_kept():
    box = (10.0, 20.0, 130.0, 50.0)  # w 120, h 30
    s_z, s_x = context_sizes(box)
    w, h = 120.0, 30.0
    assert s_z == np.sqrt((w + 0.5 * (w + h)) * (h + 0.5 * (w + h)))  # the swap changes nothing (product)
    assert s_x == pytest.approx(s_z * 511 / 127, rel=1e-12)
    x1, _, x2, _ = context_region(box)
    crop_scale = 510 / (x2 - x1)  # the warp maps s_x onto 510 pixel steps
    assumed = box_in_context_crop(box, (511, 511, 3))  # the loader assumes 127 / s_z
    assert (assumed[2] - assumed[0]) / w == pytest.approx(127 / s_z, rel=1e-12)
    assert crop_scale / (127 / s_z) == pytest.approx(510 / 511, rel=1e-12)
    # (w, h) annotations work as corner ones; the box is centred at (cols // 2, rows // 2)
    np.testing.assert_array_equal(box_in_context_crop((w, h), (300, 401)), box_in_context_crop(box, (300, 401)))
    assert box_in_context_crop(box, (300, 401))[[0, 2]].mean() == pytest.approx(200)


def test_bad_boxes_are_annotation_errors():
    for box in ((5, 5, 5, 9), (0, 0, -1, 3), (0, 0, np.nan, 4), (1, 2, 3)):
        with pytest.raises(AnnotationError):
            box_in_context_crop(box, (511, 511))


# ---------------------------------------------------------------- augmentation.py

AUG_CASES = [  # shift, scale, blur, flip, color, gray
    (64, 0.18, 0.0, 0.0, 1.0, False),
    (4, 0.05, 0.0, 0.0, 1.0, False),
    (64, 0.18, 1.0, 0.0, 1.0, False),
    (64, 0.18, 1.0, 1.0, 0.0, False),
    (0, 0.0, 0.0, 1.0, 1.0, True),
    (30, 0.5, 0.5, 0.5, 0.5, True),
]


@pytest.mark.parametrize("case", AUG_CASES)
def test_augmentation_equals_pysot_reference(case):
    shift, scale, blur, flip, color, gray = case
    rng = np.random.RandomState(3)
    image_bgr = cv2.GaussianBlur(rng.randint(0, 256, (511, 511, 3)).astype(np.uint8), (7, 7), 2)
    bbox = (200.3, 230.1, 310.7, 281.9)
    aug = Augmentation(shift, scale, blur, flip, color)
    np.testing.assert_array_equal(RGB_VAR, SPEC_RGB_VAR)
    # bit-identical without blur; the blur (cross_blur vs filter2D) agrees up to rounding, a uint8 blur to 1 level
    atol = 0 if blur == 0 else (1e-4 if color == 1 else 1.0)
    for seed in range(4):
        want_img, want_box = ref_augment(image_bgr, bbox, 255, np.random.RandomState(seed), gray, shift, scale,
                                         blur, flip, color)
        img, box = aug(image_bgr, bbox, 255, np.random.RandomState(seed), gray=gray)
        assert img.dtype == np.float32 and img.shape == (3, 255, 255)
        np.testing.assert_allclose(img, want_img, rtol=0, atol=atol)
        np.testing.assert_array_equal(box, want_box)
        # an RGB input (the framework's frames) gives the same BGR output, also when written into a given array
        out = np.zeros((3, 255, 255), np.float32)
        img_rgb, box_rgb = aug(image_bgr[:, :, ::-1].copy(), bbox, 255, np.random.RandomState(seed), gray=gray,
                               rgb=True, out=out)
        assert img_rgb is out
        np.testing.assert_array_equal(img_rgb, img)
        np.testing.assert_array_equal(box_rgb, want_box)


def test_cross_blur_is_pysots_filter2d_blur():
    rng = np.random.RandomState(4)
    image = cv2.GaussianBlur(rng.randint(0, 256, (127, 127, 3)).astype(np.uint8), (5, 5), 1)
    image_f = image - np.array([3.3, -2.1, 7.7])
    differing = 0
    for size in BLUR_KERNEL_SIZES:
        wx = rng.random_sample()
        kernel = blur_kernel(int(size), wx)
        np.testing.assert_allclose(cross_blur(image_f, int(size), wx), cv2.filter2D(image_f, -1, kernel), rtol=0,
                                   atol=1e-9)
        got, want = cross_blur(image, int(size), wx), cv2.filter2D(image, -1, kernel)
        assert got.dtype == np.uint8 and np.abs(got.astype(int) - want).max() <= 1
        differing += int((got != want).sum())
    assert differing < 1e-3 * image.size * len(BLUR_KERNEL_SIZES)


def test_augmentation_is_deterministic_for_a_stream_and_varies_across_streams():
    rng = np.random.RandomState(0)
    image = rng.randint(0, 256, (511, 511, 3)).astype(np.uint8)
    aug = Augmentation(64, 0.18, 0.2, 0.0, 1.0)
    a = aug(image, (200, 200, 300, 300), 255, np.random.RandomState(5))
    b = aug(image, (200, 200, 300, 300), 255, np.random.RandomState(5))
    c = aug(image, (200, 200, 300, 300), 255, np.random.RandomState(6))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])


def test_augmented_box_follows_the_object():
    image = np.zeros((511, 511, 3), np.uint8)
    box = (220.0, 180.0, 320.0, 300.0)
    image[180:301, 220:321] = 255
    aug = Augmentation(shift=64, scale=0.18, flip=0.5)
    for seed in range(8):
        img, out_box = aug(image, box, 255, np.random.RandomState(seed))
        cols = np.flatnonzero(img[0].max(axis=0) > 127)
        rows = np.flatnonzero(img[0].max(axis=1) > 127)
        # (the shift may push the object partly out of the crop)
        np.testing.assert_allclose([cols[0], rows[0], cols[-1], rows[-1]], np.clip(out_box, 0, 254), atol=1.5)


def test_quirk19_crop_centre_is_rows_cols_taken_as_x_y():
    rng = np.random.RandomState(1)
    image = rng.randint(0, 256, (61, 41, 3)).astype(np.uint8)  # rows 61, cols 41
    img, box = Augmentation()(image, (30, 10, 50, 30), 21, np.random.RandomState(0))
    # centre x = rows // 2 = 30, y = cols // 2 = 20 (PySOT's order; the same for its square 511 crops)
    np.testing.assert_array_equal(img, image[10:31, 20:41].transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(box, [30 - 20, 10 - 10, 50 - 20, 30 - 10])


def test_quirk20_no_removed_numpy_aliases():
    folder = Path(__file__).resolve().parents[1] / "lib" / "train" / "data" / "siamese"
    for name in ("crop.py", "augmentation.py", "pair_dataset.py", "precropped.py", "build.py"):
        with open(folder / name, "rb") as f:  # code tokens only (comments and docstrings may name the alias)
            words = [t.string for t in tokenize.tokenize(f.readline) if t.type in (tokenize.NAME, tokenize.OP)]
        uses = {words[i + 2] for i in range(len(words) - 2) if words[i:i + 2] == ["np", "."]}
        assert not uses & {"float", "int", "bool", "object"}, name
    # the warp matrix is float64, as np.float was: a fractional crop region is reproduced exactly
    image = np.random.RandomState(2).randint(0, 256, (60, 60, 3)).astype(np.uint8)
    img, _ = Augmentation()(image, (0, 0, 1, 1), 32, np.random.RandomState(0))
    np.testing.assert_array_equal(img, ref_warp(image, (14.5, 14.5, 45.5, 45.5), 32).transpose(2, 0, 1))


def test_augmentation_rejects_negative_settings():
    with pytest.raises(ConfigError, match="SHIFT"):
        Augmentation(shift=-1)


# ---------------------------------------------------------------- pair_dataset.py: picks


def pool_counts(dataset):
    counts = {}
    for i in range(len(dataset)):
        key = dataset.video_of(i)
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_num_use_minus_one_is_every_video_once_per_pass():
    ds = fake_dataset([FakeSource("a", [[[0, 1, 2]]] * 7)], num_use=-1, videos_per_epoch=0)
    assert len(ds) == 7
    orders = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        orders.append([ds.video_of(i)[1] for i in range(7)])
        assert sorted(orders[-1]) == list(range(7))
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_num_use_larger_than_the_dataset_repeats_and_videos_per_epoch_sums_num_use():
    ds = fake_dataset([FakeSource("a", [[[0, 1]]] * 3), FakeSource("b", [[[0, 1]]] * 4)], num_use=[7, -1])
    assert len(ds) == 11  # VIDEOS_PER_EPOCH <= 0: sum of NUM_USE
    counts = pool_counts(ds)
    assert sorted(counts[(0, v)] for v in range(3)) == [2, 2, 3]
    assert all(counts[(1, v)] == 1 for v in range(4))
    assert len(fake_dataset([FakeSource("a", [[[0, 1]]] * 3)], videos_per_epoch=5)) == 5


def test_quirk22_picks_are_fixed_for_the_whole_run():
    source = FakeSource("a", [[[0, 1]]] * 10)
    ds = fake_dataset([source], num_use=4, videos_per_epoch=6, seed=3)
    used = set()
    for epoch in range(5):
        ds.set_epoch(epoch)
        used |= {ds.video_of(i)[1] for i in range(6)}
    assert len(used) == 4  # PySOT: a dataset's pick list (NUM_USE of its videos) is drawn once
    assert set(fake_dataset([source], num_use=4, seed=3).subsets[0].pick) == used
    # the run is a sequence of shuffled passes over the pool, cut into epochs: positions 0..11 are 3 passes of 4
    run = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        run += [ds.video_of(i)[1] for i in range(6)]
    assert all(sorted(run[k:k + 4]) == sorted(used) for k in (0, 4, 8))


def test_frame_range_counts_positions_in_the_usable_frame_list():
    frames = list(range(0, 100, 2))  # usable frames with gaps
    sub = SubDataset(SubDatasetSpec("a", FakeSource("a", [[frames]]), 3, -1), 0, seed=0, position=0)
    gaps = []
    rng = np.random.RandomState(0)
    for _ in range(400):
        _, t, s = sub.positive_pair(0, rng)
        gaps.append(abs(frames.index(t) - frames.index(s)))
    assert max(gaps) == 3 and min(gaps) == 0
    zero = SubDataset(SubDatasetSpec("a", FakeSource("a", [[frames]]), 0, -1), 0, seed=0, position=0)
    assert all(len({*zero.positive_pair(0, rng)[1:]}) == 1 for _ in range(50))
    # through the dataset: positives show the same video and track, frames within range
    ds = fake_dataset([FakeSource("a", [[frames[:40], frames[10:]]] * 2)], frame_range=2, neg=0.0)
    for i in range(len(ds)):
        sample = ds[i]
        (tv, tf, tt), (sv, sf, st) = decoded(sample, "template"), decoded(sample, "search")
        assert (tv, tt) == (sv, st) and abs(tf - sf) <= 4 and not sample["neg"]


def test_negative_pair_rate_and_search_source():
    sources = [FakeSource("a", [[[0, 1, 2]]] * 6), FakeSource("b", [[[3, 4]]] * 6)]
    n = 1500
    ds = fake_dataset(sources, neg=0.3, videos_per_epoch=n, seed=2)
    negs, other_dataset = 0, 0
    for i in range(n):
        sample = ds[i]
        t, s = decoded(sample, "template"), decoded(sample, "search")
        if sample["neg"]:
            negs += 1
            other_dataset += (t[1] < 3) != (s[1] < 3)  # frames 0-2 are dataset a's, 3-4 dataset b's
        else:
            assert t[0] == s[0] and (t[1] < 3) == (s[1] < 3)
    assert abs(negs / n - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    assert 0.35 < other_dataset / negs < 0.65  # the search's dataset is drawn uniformly


def test_gray_pair_rate():
    n = 800
    ds = fake_dataset([FakeSource("a", [[[0, 1, 2]]] * 5)], gray=0.4, neg=0.0, videos_per_epoch=n)
    grays = 0
    for i in range(n):
        sample = ds[i]
        t_gray = bool((sample["template"][0] == sample["template"][1]).all())
        assert t_gray == bool((sample["search"][0] == sample["search"][2]).all())  # per pair
        grays += t_gray
    assert abs(grays / n - 0.4) < 4 * np.sqrt(0.4 * 0.6 / n)


class SpyRandomState(np.random.RandomState):
    def __init__(self, seed):
        super().__init__(seed)
        self.calls = []

    def random_sample(self, *args, **kw):
        self.calls.append("random_sample")
        return super().random_sample(*args, **kw)

    def randint(self, *args, **kw):
        self.calls.append("randint")
        return super().randint(*args, **kw)


@pytest.mark.parametrize("neg,gray,expected", [(0.0, 0.0, []), (0.3, 0.0, ["random_sample"]),
                                               (0.0, 0.3, ["random_sample"]),
                                               (0.3, 0.3, ["random_sample", "random_sample"])])
def test_quirk21_neg_and_gray_draw_only_when_non_zero(neg, gray, expected):
    ds = fake_dataset([FakeSource("a", [[[0, 1, 2]]] * 3)], neg=neg, gray=gray)
    spies = []

    def spy(index):
        spies.append(SpyRandomState(index))
        return spies[-1]

    ds.sample_rng = spy
    ds[0]
    # then the pair draw starts with the track choice (randint)
    assert spies[0].calls[:len(expected) + 1] == expected + ["randint"]


def test_target_fn_gets_the_search_box_and_its_labels_are_returned():
    seen = []

    def target_fn(bbox, size, neg, rng):
        seen.append((bbox.copy(), size, neg))
        return {"label_cls": np.full((size, size), int(neg), np.int64), "label_loc": rng.randn(4, size, size)}

    ds = fake_dataset([FakeSource("a", [[[0, 1, 2]]] * 4)], neg=0.5, target_fn=target_fn)
    sample = ds[1]
    bbox, size, neg = seen[-1]
    assert size == 5 and neg == sample["neg"] and np.array_equal(bbox, sample["bbox"])
    assert sample["label_cls"].shape == (5, 5) and sample["label_loc"].shape == (4, 5, 5)
    # no augmentation: the 20x20 object is centred in the 31-pixel search crop, scaled by 15 / s_z
    s_z = np.sqrt(40 * 40)
    np.testing.assert_allclose(sample["bbox"], [15 - 10 * 15 / s_z, 15 - 10 * 15 / s_z, 15 + 10 * 15 / s_z,
                                                15 + 10 * 15 / s_z])
    bad = fake_dataset([FakeSource("a", [[[0, 1]]])], target_fn=lambda *a: (1, 2))
    with pytest.raises(ConfigError, match="dict"):
        bad[0]


def test_output_is_raw_bgr_float32_of_the_requested_sizes():
    ds = fake_dataset([FakeSource("a", [[[200]]])], neg=0.0)  # R = video 0, G = frame 200, B = 7
    sample = ds[0]
    assert sample["template"].shape == (3, 15, 15) and sample["search"].shape == (3, 31, 31)
    assert sample["template"].dtype == torch.float32
    assert sample["template"][:, 7, 7].tolist() == [7.0, 200.0, 0.0]  # B, G, R
    assert sample["skipped"].tolist() == [0] * len(SKIP_REASONS) and sample["dataset"] == "a"


# ---------------------------------------------------------------- determinism and loaders


def synthetic_pair_dataset(root, seed=3, **kw):
    source = FrameSource(Got10k(root / "train", name="SYN"))
    kw.setdefault("neg", 0.3)

    def target_fn(bbox, size, neg, rng):
        return {"label_cls": rng.randint(-1, 2, (size, size)).astype(np.int64)}

    return SiamesePairDataset([SubDatasetSpec("SYN", source, 100, -1)], Augmentation(4, 0.05, 0, 0, 1),
                              Augmentation(64, 0.18, 0.2, 0, 1), target_fn=target_fn, videos_per_epoch=8,
                              seed=seed, **kw)


def test_same_batches_with_0_and_2_workers_and_after_a_resume(synthetic_root):
    def batches(workers, epoch=1):
        loader = LTRLoader("train", synthetic_pair_dataset(synthetic_root), batch_size=4, num_workers=workers,
                           stack_dim=0, seed=3)
        loader.set_epoch(epoch)
        return list(loader)

    zero, two = batches(0), batches(2)
    assert len(zero) == len(two) == 2
    for a, b in zip(zero, two):
        assert a["search"].shape == (4, 3, 255, 255) and a["template"].shape == (4, 3, 127, 127)
        for key in ("template", "search", "bbox", "label_cls", "neg", "skipped"):
            assert torch.equal(a[key], b[key]), key
    assert not torch.equal(batches(0, epoch=2)[0]["search"], zero[0]["search"])
    # resume: a fresh dataset reproduces any sample of any epoch
    fresh = synthetic_pair_dataset(synthetic_root)
    fresh.set_epoch(1)
    assert torch.equal(fresh[6]["search"], zero[1]["search"][2])
    # a batch fetched at once writes into one tensor and equals single samples
    items = fresh.__getitems__([5, 6])
    assert items[1]["search"]._base is items[0]["search"]._base
    assert torch.equal(items[1]["search"], fresh[6]["search"]) and torch.equal(items[0]["template"],
                                                                                fresh[5]["template"])


# ---------------------------------------------------------------- precropped.py


def write_precropped(dataset, folder, encode_png=True):
    """PySOT's layout made from a framework dataset by the reference two-stage crop (PNG bytes: lossless)."""
    crop_root = folder / "crop511"
    meta = {}
    for video in range(dataset.get_num_sequences()):
        name = dataset.get_sequence_name(video)
        info = dataset.get_sequence_info(video)
        frames = np.flatnonzero(info["visible"].numpy())
        images = dataset.get_frames(video, list(frames), info)[0]
        (crop_root / name).mkdir(parents=True)
        boxes = {}
        for f, image in zip(frames, images):
            x, y, w, h = info["bbox"][f].tolist()
            corner = [x, y, x + w, y + h]
            crop = ref_crop_like_siamfc(image[:, :, ::-1].copy(), corner)
            ok, data = cv2.imencode(".png" if encode_png else ".jpg", crop)
            (crop_root / name / f"{f:06d}.00.x.jpg").write_bytes(data.tobytes())
            boxes[f"{f:06d}"] = corner
        meta[name] = {"00": boxes}
    (folder / "train.json").write_text(json.dumps(meta))
    return crop_root, folder / "train.json"


def test_precropped_layout_feeds_the_same_pairs_as_crops_on_the_fly(synthetic_root, tmp_path):
    dataset = Got10k(synthetic_root / "train", name="SYN")
    root, anno = write_precropped(dataset, tmp_path)
    kw = dict(template_aug=Augmentation(4, 0.05, 0, 0, 1), search_aug=Augmentation(64, 0.18, 0.3, 0.2, 1),
              videos_per_epoch=10, neg=0.4, gray=0.2, seed=11)
    on_the_fly = SiamesePairDataset([SubDatasetSpec("SYN", FrameSource(dataset), 5, -1)], **kw)
    pre = SiamesePairDataset([SubDatasetSpec("SYN", PrecroppedSource(root, anno, "SYN"), 5, -1)], **kw)
    negatives = 0
    for i in range(len(pre)):
        a, b = on_the_fly[i], pre[i]
        negatives += a["neg"]
        for key in ("template", "search"):
            assert torch.equal(a[key], b[key]), (i, key)
        assert np.array_equal(a["bbox"], b["bbox"]) and a["neg"] == b["neg"]
    assert 0 < negatives < len(pre)


def test_precropped_loading_rules(tmp_path):
    crop = np.zeros((511, 511, 3), np.uint8)
    (tmp_path / "c" / "v1").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "c" / "v1" / "000007.01.x.jpg"), crop)
    meta = {"v0": {"00": {"000001": [5, 5, 5, 9]}},  # zero width: dropped, so the video disappears
            "v1": {"00": {"000003": [0, 0, -2, 4]}, "01": {"12": [1, 1, 30, 40], "7": [20, 30], "meta": [1, 2]}},
            "v2": {}}
    (tmp_path / "a.json").write_text(json.dumps(meta))
    src = PrecroppedSource(tmp_path / "c", tmp_path / "a.json", "P")
    assert src.videos == ["v1"] and src.num_videos() == 1
    assert [t.tolist() for t in src.tracks(0)] == [[7, 12]]  # digit keys only, sorted as integers
    (image, box), = src.crops(0, 0, [7])
    assert image.shape == (511, 511, 3) and box.tolist() == [0, 0, 20, 30]  # a (w, h) entry
    with pytest.raises(FileNotFoundError):
        src.crops(0, 0, [12])
    with pytest.raises(DatasetNotFoundError, match="crop folder"):
        PrecroppedSource(tmp_path / "missing", tmp_path / "a.json", "P")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PrecroppedLayoutError, match="not valid JSON"):
        PrecroppedSource(tmp_path / "c", tmp_path / "bad.json", "P")
    (tmp_path / "empty.json").write_text(json.dumps({"v0": meta["v0"]}))
    with pytest.raises(EmptyDatasetError, match="no video"):
        PrecroppedSource(tmp_path / "c", tmp_path / "empty.json", "P")


# ---------------------------------------------------------------- bad data


def test_bad_data_is_skipped_counted_and_bounded():
    fail = {(0, 1): FileNotFoundError, (1, 2): CorruptImageError, (2, 0): AnnotationError, (2, 1): RuntimeError}
    source = FakeSource("a", [[[0, 1, 2]], [[0, 1, 2]], [[0, 1, 2]], []], fail=fail)  # video 3: no usable frame
    ds = fake_dataset([source], frame_range=0, videos_per_epoch=60)
    total = torch.zeros(len(SKIP_REASONS), dtype=torch.long)
    for i in range(len(ds)):
        sample = ds[i]
        video, frame, _ = decoded(sample, "search")
        assert (video, frame) not in fail
        total += sample["skipped"]
    for reason in ("missing_image", "corrupt_image", "bad_box", "too_short", "error"):
        assert total[SKIP_REASONS.index(reason)] > 0, reason
    again = fake_dataset([FakeSource("a", source.videos, fail=fail)], frame_range=0, videos_per_epoch=60)
    assert all(torch.equal(ds[i]["search"], again[i]["search"]) for i in range(0, 60, 7))  # still deterministic
    broken = {(0, f): FileNotFoundError for f in range(3)}
    hopeless = fake_dataset([FakeSource("a", [[[0, 1, 2]]], fail=broken)], max_attempts=5)
    with pytest.raises(SamplingError, match="5 draws"):
        hopeless[0]


def test_missing_and_corrupt_frames_on_disk_are_skipped(synthetic_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root / "train", root / "train")
    seq = sorted(p for p in (root / "train").iterdir() if p.is_dir())[0]
    for k in range(2, 22):
        (seq / f"{k:08d}.jpg").unlink()
    (seq / "00000022.jpg").write_bytes(b"not a jpeg")
    ds = synthetic_pair_dataset(root, neg=0.0)
    total = sum(ds[i]["skipped"] for i in range(len(ds)))
    assert total[SKIP_REASONS.index("missing_image")] > 0


def test_a_dataset_without_usable_video_is_an_error_at_start_up():
    with pytest.raises(NoUsableSequenceError, match="EMPTYISH"):
        fake_dataset([FakeSource("ok", [[[0]]]), FakeSource("EMPTYISH", [[], []])])
    with pytest.raises(NoUsableSequenceError, match="NONE"):
        fake_dataset([FakeSource("NONE", [])])


# ---------------------------------------------------------------- build.py


def siam_cfg(names, sections, **dataset):
    data = {"NAMES": names, "NEG": 0.2, "GRAY": 0.0, "VIDEOS_PER_EPOCH": 12,
            "TEMPLATE": {"SHIFT": 4, "SCALE": 0.05, "BLUR": 0.0, "FLIP": 0.0, "COLOR": 1.0},
            "SEARCH": {"SHIFT": 64, "SCALE": 0.18, "BLUR": 0.2, "FLIP": 0.0, "COLOR": 1.0}, **sections, **dataset}
    return CfgNode({"DATASET": data, "TRAIN": {"EXEMPLAR_SIZE": 127, "SEARCH_SIZE": 255, "OUTPUT_SIZE": 25,
                                               "BASE_SIZE": 8}, "ANCHOR": {"STRIDE": 8}})


def section(root="training_dataset/x/crop511", anno="training_dataset/x/train.json", frame_range=100, num_use=-1,
            **extra):
    return {"ROOT": root, "ANNO": anno, "FRAME_RANGE": frame_range, "NUM_USE": num_use, **extra}


def test_build_reads_framework_and_precropped_datasets_with_precedence(synthetic_root, tmp_path):
    env = env_settings(synthetic_dir=str(synthetic_root), data_dir=str(tmp_path))
    write_precropped(Got10k(synthetic_root / "train"), tmp_path / "pre", encode_png=False)
    cfg = siam_cfg(["SYNTHETIC", "VID", "GOT"], {
        "SYNTHETIC": section(frame_range=50, num_use=7),  # default ROOT missing -> the framework's SYNTHETIC_train
        "VID": section("pre/crop511", "pre/train.json"),  # existing pre-cropped layout under the data dir
        "GOT": section("pre/crop511", "pre/train.json", DATASET="SYNTHETIC_val")})  # explicit DATASET wins
    specs = build_siamese_datasets(cfg, env)
    assert [s.name for s in specs] == ["SYNTHETIC", "VID", "GOT"]
    assert isinstance(specs[0].source, FrameSource) and specs[0].source.dataset.get_name() == "SYNTHETIC_train"
    assert (specs[0].frame_range, specs[0].num_use) == (50, 7)
    assert isinstance(specs[1].source, PrecroppedSource) and specs[1].source.num_videos() == 4
    assert isinstance(specs[2].source, FrameSource) and specs[2].source.dataset.get_name() == "SYNTHETIC_val"
    pairs = build_siamese_pair_dataset(cfg, specs, target_fn=None, seed=4)
    assert len(pairs) == 12 and (pairs.neg, pairs.gray) == (0.2, 0.0) and pairs.search_aug.blur == 0.2
    assert pairs[3]["search"].shape == (3, 255, 255) and pairs[3]["template"].shape == (3, 127, 127)
    assert [s.num_use for s in pairs.subsets] == [7, 4, 1]


def test_build_errors_name_the_problem(synthetic_root, tmp_path):
    env = env_settings(synthetic_dir=str(synthetic_root), data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="'FOO'"):
        build_siamese_datasets(siam_cfg(["FOO"], {"FOO": section()}), env)
    with pytest.raises(ConfigError, match="DET"):  # PySOT's DET has no framework dataset and no crops here
        build_siamese_datasets(siam_cfg(["DET"], {"DET": section()}), env)
    with pytest.raises(ConfigError, match="no DATASET.COCO section"):
        build_siamese_datasets(siam_cfg(["COCO"], {}), env)
    with pytest.raises(ConfigError, match="NOPE"):
        build_siamese_datasets(siam_cfg(["X"], {"X": section(DATASET="NOPE")}), env)
    with pytest.raises(DatasetNotFoundError):
        build_siamese_datasets(siam_cfg(["LASOT"], {"LASOT": section()}), env)
    with pytest.raises(ConfigError, match="NUM_USE"):
        build_siamese_datasets(siam_cfg(["SYNTHETIC"], {"SYNTHETIC": {"FRAME_RANGE": 3}}), env)
    specs = build_siamese_datasets(siam_cfg(["SYNTHETIC"], {"SYNTHETIC": section()}), env)
    alex = siam_cfg(["SYNTHETIC"], {"SYNTHETIC": section()})
    alex.TRAIN.BASE_SIZE = 0  # the plain alex config: OUTPUT_SIZE 25 does not match (quirk 9)
    with pytest.raises(ConfigError, match="size not match"):
        build_siamese_pair_dataset(alex, specs, None, seed=0)
    del alex.DATASET["GRAY"]
    alex.TRAIN.BASE_SIZE = 8
    with pytest.raises(ConfigError, match="DATASET.GRAY"):
        build_siamese_pair_dataset(alex, specs, None, seed=0)
    with pytest.raises(ConfigError, match="NUM_USE"):
        SiamesePairDataset([SubDatasetSpec("S", specs[0].source, 3, 0)], Augmentation(), Augmentation())
