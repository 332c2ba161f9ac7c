"""Cropping (spec 5.6), box mapping, jitter, augmentation and the processing outputs (spec 5.5)."""

import random

import cv2
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from lib.train.data.processing import STARKProcessing
from lib.utils.crop import (crop_resize, crop_window, jitter_box, sample_target,
                                             transform_image_to_crop)
from lib.train.data.skips import SampleSkip
from lib.train.data.transforms import (hflip_box, hflip_box_norm, image_to_normalized_tensor, normalize_lut,
                                       to_grayscale)

H, W = 10, 12
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _image():
    im = np.zeros((H, W, 3), np.uint8)
    im[..., 0] = (np.arange(H)[:, None] * W + np.arange(W)[None, :]) + 1  # unique and non-zero per pixel
    im[..., 1] = 200
    im[..., 2] = np.arange(W)[None, :] * 10
    return im


def test_sample_target_inside_the_image():
    im = _image()
    crop, factor, att = sample_target(im, [4, 3, 2, 2], 2.0)
    # crop side ceil(sqrt(4) * 2) = 4; x1 = round(4 + 1 - 2) = 3, y1 = round(3 + 1 - 2) = 2
    np.testing.assert_array_equal(crop, im[2:6, 3:7])
    assert factor == 1.0 and att.dtype == np.bool_ and not att.any()


def test_sample_target_across_the_top_left_border():
    im = _image()
    crop, _, att = sample_target(im, [0, 0, 2, 2], 3.0)
    # side 6, x1 = y1 = round(1 - 3) = -2: two rows and columns of black padding
    assert crop.shape == (6, 6, 3)
    np.testing.assert_array_equal(crop[2:, 2:], im[0:4, 0:4])
    assert not crop[:2].any() and not crop[:, :2].any()
    assert att[:2].all() and att[:, :2].all() and not att[2:, 2:].any()


def test_sample_target_touching_the_right_border_loses_the_last_column():
    im = _image()
    crop, _, att = sample_target(im, [9, 3, 2, 2], 2.0)
    # x1 = round(10 - 2) = 8, x2 = 12 = W: the "+1" quirk pads one column although the image has it
    np.testing.assert_array_equal(crop[:, :3], im[2:6, 8:11])
    assert im[2:6, 11, 0].all() and not crop[:, 3].any()
    assert att[:, 3].all() and not att[:, :3].any()


def test_sample_target_rounds_half_to_even():
    win = crop_window([3.5, 3.5, 2, 2], 2.0, (H, W))
    assert (win.x1, win.y1) == (2, 2)  # round(2.5) == 2, not 3
    assert crop_window([4.5, 4.5, 2, 2], 2.0, (H, W)).x1 == 4  # round(3.5) == 4
    assert crop_window([0, 0, 1.2, 1.3], 2.5, (H, W)).crop_sz == 4  # ceil(sqrt(1.56) * 2.5) = ceil(3.12)


def test_sample_target_resized_matches_the_padded_recipe():
    im = _image()
    crop, factor, att = sample_target(im, [0, 0, 2, 2], 3.0, output_sz=16)
    padded = cv2.copyMakeBorder(im[0:4, 0:4], 2, 0, 2, 0, cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(crop, cv2.resize(padded, (16, 16)))
    flags = np.ones((6, 6))
    flags[2:, 2:] = 0
    np.testing.assert_array_equal(att, cv2.resize(flags, (16, 16)).astype(bool))
    assert factor == 16 / 6


def test_sample_target_mask_and_return_order():
    im = _image()
    mask = torch.zeros(H, W)
    mask[3:5, 4:6] = 1
    crop, factor, att, mask_crop = sample_target(im, [4, 3, 2, 2], 2.0, mask=mask)
    assert factor == 1.0 and crop.shape == (4, 4, 3) and att.shape == (4, 4)
    assert mask_crop.shape == (4, 4) and mask_crop.sum() == 4
    *_, mask_big = sample_target(im, [4, 3, 2, 2], 2.0, output_sz=8, mask=mask)
    assert mask_big.shape == (8, 8) and 0 < mask_big.mean() < 1


def test_sample_target_rejects_degenerate_boxes():
    im = _image()
    with pytest.raises(ValueError):
        sample_target(im, [1, 1, 0, 3], 2.0)
    with pytest.raises(ValueError):
        sample_target(im, [1, 1, float("nan"), 3], 2.0)
    with pytest.raises(ValueError):
        sample_target(im, [40, 40, 2, 2], 2.0, output_sz=8)  # entirely outside the image


def test_fast_crop_equals_sample_target_pixels_masks_and_attention():
    rng = np.random.default_rng(0)
    im = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    mask_np = (rng.random((90, 120)) > 0.5).astype(np.float32)
    for _ in range(300):
        w, h = rng.uniform(1, 80, 2)
        x, y = rng.uniform(-w + 1, 120 - 1), rng.uniform(-h + 1, 90 - 1)
        factor = float(rng.choice([2.0, 4.0, 5.0, 1.37]))
        out_sz = int(rng.choice([16, 32, 64]))
        box = [x, y, w, h]
        try:
            ref = sample_target(im, box, factor, out_sz, torch.from_numpy(mask_np))
        except ValueError:
            continue
        crop, att, mask_crop = crop_resize(im, crop_window(box, factor, im.shape[:2]), out_sz, mask_np)
        np.testing.assert_array_equal(crop, ref[0])
        np.testing.assert_array_equal(att, ref[2])
        np.testing.assert_allclose(mask_crop, ref[3].numpy(), atol=1e-5)
        # mirroring and graying only the cropped region equals doing it to the whole frame first
        flipped_box = hflip_box(box, im.shape[1])
        ref = sample_target(to_grayscale(im[:, ::-1].copy()), flipped_box, factor, out_sz,
                            torch.from_numpy(mask_np[:, ::-1].copy()))
        crop, att, mask_crop = crop_resize(im, crop_window(flipped_box, factor, im.shape[:2]), out_sz, mask_np,
                                           hflip=True, transform=to_grayscale)
        np.testing.assert_array_equal(crop, ref[0])
        np.testing.assert_array_equal(att, ref[2])
        np.testing.assert_allclose(mask_crop, ref[3].numpy(), atol=1e-5)
    # exact 2x downscale (OpenCV switches to area interpolation there)
    box = [30, 20, 16, 16]
    ref = sample_target(im, box, 4.0, 32)
    crop, att, _ = crop_resize(im, crop_window(box, 4.0, im.shape[:2]), 32)
    np.testing.assert_array_equal(crop, ref[0])
    np.testing.assert_array_equal(att, ref[2])


def test_transform_image_to_crop_by_hand():
    out = transform_image_to_crop(torch.tensor([10.0, 20.0, 4.0, 6.0]), torch.tensor([8.0, 18.0, 8.0, 10.0]), 2.0,
                                  torch.Tensor([16, 16]))
    # both centres at (12, 23): the box centre maps to (16 - 1) / 2 = 7.5, size doubles
    assert torch.is_tensor(out) and out.tolist() == [3.5, 1.5, 8.0, 12.0]
    norm = transform_image_to_crop(np.array([11.0, 20.0, 4.0, 6.0]), [8, 18, 8, 10], 2.0, 16, normalize=True)
    np.testing.assert_allclose(norm, np.array([5.5, 1.5, 8.0, 12.0]) / 16)


def test_jitter_box():
    rng = random.Random(0)
    assert jitter_box([10, 20, 30, 40], 0.0, 0.0, rng).tolist() == [10, 20, 30, 40]
    boxes = np.array([jitter_box([100, 100, 50, 50], 0.25, 3.0, random.Random(i)) for i in range(2000)])
    log_scale = np.log(boxes[:, 2:] / 50)
    assert abs(log_scale.mean()) < 0.03 and abs(log_scale.std() - 0.25) < 0.02
    shift = (boxes[:, 0] + boxes[:, 2] / 2 - 125) / (3.0 * np.sqrt(boxes[:, 2] * boxes[:, 3]))
    assert shift.min() >= -0.5 and shift.max() <= 0.5 and abs(shift.mean()) < 0.03
    assert np.array_equal(jitter_box([1, 2, 3, 4], 0.5, 4.5, random.Random(7)),
                          jitter_box([1, 2, 3, 4], 0.5, 4.5, random.Random(7)))


def test_flips_keep_the_original_conventions():
    assert hflip_box([2, 3, 4, 5], 20).tolist() == [13, 3, 4, 5]  # (W - 1) - (x + w)
    np.testing.assert_allclose(hflip_box_norm([0.1, 0.2, 0.3, 0.4]), [0.6, 0.2, 0.3, 0.4])  # 1 - (x + w)


@pytest.mark.parametrize("brightness", [None, 0.8, 1.0, 1.1379, 1.2])
def test_normalize_lut_matches_the_original_float32_arithmetic(brightness):
    img = np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    t = torch.from_numpy(img.transpose(2, 0, 1))
    t = t.float().div(255) if brightness is None else t.float().mul(brightness / 255.0).clamp(0.0, 1.0)
    expected = TF.normalize(t, MEAN, STD)
    assert torch.equal(image_to_normalized_tensor(img, normalize_lut(MEAN, STD, brightness)), expected)


def _processing(training=False, stride=16, **kw):
    return STARKProcessing({"template": 2.0, "search": 4.0}, {"template": 32, "search": 64},
                           {"template": 0, "search": 0}, {"template": 0, "search": 0}, MEAN, STD, stride=stride,
                           training=training, **kw)


def _data(frames_hw=(60, 80)):
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 256, (*frames_hw, 3), dtype=np.uint8)
    box = torch.tensor([30.0, 20.0, 12.0, 10.0])
    return {"template_images": [frame], "template_anno": [box], "template_masks": None,
            "search_images": [frame], "search_anno": [box], "search_masks": None,
            "dataset": "toy", "test_class": "cat"}


def _denormalize(t):
    return (t * torch.tensor(STD)[:, None, None] + torch.tensor(MEAN)[:, None, None]) * 255


def test_processing_outputs_shapes_normalization_and_boxes():
    data = _data()
    out = _processing(grayscale_prob=0.0, joint_flip_prob=0.0)(data, random.Random(0))
    assert out["template_images"].shape == (1, 3, 32, 32) and out["search_images"].shape == (1, 3, 64, 64)
    assert out["template_anno"].shape == (1, 4) and out["template_anno"].dtype == torch.float32
    assert out["template_att"].shape == (1, 32, 32) and out["template_att"].dtype == torch.bool
    assert out["search_masks"].shape == (1, 64, 64) and not out["search_masks"].any()
    assert out["valid"] is True and out["dataset"] == "toy" and out["test_class"] == "cat"
    crop, factor, att = sample_target(data["search_images"][0], data["search_anno"][0].tolist(), 4.0, 64)
    np.testing.assert_allclose(_denormalize(out["search_images"][0]).numpy(), crop.transpose(2, 0, 1), atol=1e-3)
    assert torch.equal(out["search_att"][0], torch.from_numpy(att))
    expected = transform_image_to_crop(data["search_anno"][0], data["search_anno"][0], factor, torch.Tensor([64, 64]),
                                       normalize=True)
    torch.testing.assert_close(out["search_anno"][0], expected)
    # the box is centred: (64 - 1) / 2 / 64 minus half the normalized size
    assert abs(float(out["search_anno"][0, 0] + out["search_anno"][0, 2] / 2) - 31.5 / 64) < 1e-6


def test_processing_flips_and_brightness():
    data = _data()
    plain = _processing(grayscale_prob=0.0, joint_flip_prob=0.0)(data, random.Random(0))
    flipped = _processing(training=True, grayscale_prob=0.0, joint_flip_prob=0.0, brightness_jitter=0.0,
                          crop_flip_prob=1.0)(data, random.Random(0))
    torch.testing.assert_close(flipped["search_images"], plain["search_images"].flip(-1))
    x, y, w, h = plain["search_anno"][0].tolist()
    torch.testing.assert_close(flipped["search_anno"][0], torch.tensor([1 - x - w, y, w, h]))
    joint = _processing(grayscale_prob=0.0, joint_flip_prob=1.0)(data, random.Random(0))
    frame = data["search_images"][0]
    crop, _, _ = sample_target(frame[:, ::-1].copy(), hflip_box(data["search_anno"][0], frame.shape[1]), 4.0, 64)
    np.testing.assert_allclose(_denormalize(joint["search_images"][0]).numpy(), crop.transpose(2, 0, 1), atol=1e-3)
    gray = _processing(grayscale_prob=1.0, joint_flip_prob=0.0)(data, random.Random(0))["search_images"][0]
    g = _denormalize(gray)
    torch.testing.assert_close(g[0], g[1], atol=1e-3, rtol=0)
    torch.testing.assert_close(g[1], g[2], atol=1e-3, rtol=0)


def test_processing_validity_uses_the_backbone_stride():
    att = np.ones((64, 64), bool)
    att[:, 8] = False  # real image only in column 8: missed by a stride-16 grid, hit by a stride-8 grid
    with pytest.raises(SampleSkip) as info:
        _processing(stride=16)._check_att("search", att)
    assert info.value.reason == "processing_invalid"
    _processing(stride=8)._check_att("search", att)
    with pytest.raises(SampleSkip):
        _processing()._check_att("search", np.ones((64, 64), bool))


def test_processing_rejects_a_crop_outside_the_image():
    data = _data()
    data["search_anno"] = [torch.tensor([500.0, 500.0, 5.0, 5.0])]
    with pytest.raises(SampleSkip, match="outside"):
        _processing()(data, random.Random(0))
