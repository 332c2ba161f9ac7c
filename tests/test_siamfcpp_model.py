"""SiamFC++ networks against video_analyst's outputs (README-siamfcpp.md section 2, siamfcpp-spec 4 and 6).

The models are built from this framework's configs (experiments/siamfcpp/), loaded with the recipe weights
(tests/siamfcpp_reference.py) and compared with the original's train-mode outputs, losses, gradients and
BatchNorm buffers, and its eval-mode features, scores and boxes.
"""

from __future__ import annotations

import copy

import pytest
import torch

from lib.config.siamfcpp import load_config
from lib.models.layers.xcorr import xcorr_depthwise
from lib.models.siamfcpp import (AlexNet, DenseboxHead, FocalLoss, IOULoss, SigmoidCrossEntropyCenterness,
                                 SigmoidCrossEntropyRetina, SiamTrack, build_siamfcpp, shufflenet_v2_x1_0)
from lib.models.siamfcpp.weights import load_backbone_weights, load_siamfcpp_weights
from lib.utils.errors import CheckpointError, ConfigError
from tests.siamfcpp_reference import (BACKBONES, assert_close_to_max, keys_file, load_siamfcpp_reference, read_keys,
                                      reference_path, siamfcpp_recipe_state_dict)

# README-siamfcpp.md: train outputs move by up to 6e-5 of the largest value (BatchNorm batch statistics amplify
# rounding), so the train checks are relative to the largest value of each tensor
TRAIN_TOL = dict(rtol=1e-4, atol=1e-4)
EVAL_RTOL = 1e-5  # eval scores and features, relative to the largest value
EVAL_PX = 1e-3  # eval boxes and offsets, pixels


def _footer(name: str) -> dict[str, int]:
    line = reference_path(name).read_text().strip().splitlines()[-1]
    return {k: int(v) for k, v in (item.split("=") for item in line.lstrip("# ").split())}


@pytest.fixture(scope="module")
def train_models():
    """Per backbone: the model of the train config, built once (weights not loaded)."""
    return {b: build_siamfcpp(load_config(f"siamfcpp_{b}-trn").train.track.model, load_weights=False)
            for b in BACKBONES}


@pytest.fixture(scope="module")
def train_runs(train_models):
    """Per backbone: recipe weights, one train-mode forward on the reference batch, losses, backward."""
    runs = {}
    for backbone, model in train_models.items():
        ref = load_siamfcpp_reference(backbone)["train"]
        model.load_state_dict(siamfcpp_recipe_state_dict(backbone), strict=True)
        model.train()
        batch = {"im_z": ref["inputs"]["im_z"].float(), "im_x": ref["inputs"]["im_x"].float(), **ref["targets"]}
        out = model(batch)
        total, losses, extras = model.compute_losses(out, batch)
        model.zero_grad()
        total.backward()
        runs[backbone] = {"ref": ref, "out": out, "total": total, "losses": losses, "extras": extras,
                          "model": model, "batch": batch,
                          "state": {k: v.clone() for k, v in model.state_dict().items()}}
    return runs


@pytest.fixture(scope="module")
def track_runs():
    """Per backbone: the test-config model in eval mode with recipe weights, run on the reference crops."""
    runs = {}
    for backbone in BACKBONES:
        ref = load_siamfcpp_reference(backbone)["track"]
        model = build_siamfcpp(load_config(f"siamfcpp_{backbone}").test.track.model, load_weights=False)
        model.load_state_dict(siamfcpp_recipe_state_dict(backbone), strict=True)
        model.eval()
        z, x = ref["inputs"]["z"].float(), ref["inputs"]["x"].float()
        with torch.no_grad():
            f_z = model.basemodel(z)
            c_z_k, r_z_k = model(z, phase="feature")
            score, box, cls_prob, ctr_prob, extra = model(x, c_z_k, r_z_k, phase="track")
            c_out = xcorr_depthwise(extra["c_x"], c_z_k)
            r_out = xcorr_depthwise(extra["r_x"], r_z_k)
            raw = model(c_out, r_out, phase="freeze_track_head")
        runs[backbone] = {"ref": ref, "model": model, "z": z, "x": x, "f_z": f_z, "c_z_k": c_z_k, "r_z_k": r_z_k,
                          "score": score, "box": box, "cls_prob": cls_prob, "ctr_prob": ctr_prob, "extra": extra,
                          "c_out": c_out, "raw": raw}
    return runs


@pytest.mark.parametrize("backbone", BACKBONES)
def test_state_dict_names_shapes_and_counts_match_the_key_list(backbone, train_models):
    """Quirk Q3 included: the head outputs carry BatchNorms; losses are not in the state dict."""
    expected = [(k, s, d) for k, s, d in read_keys(keys_file(backbone))]
    model = train_models[backbone]
    state = model.state_dict()
    got = [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()]
    assert got == expected
    footer = _footer(keys_file(backbone))
    assert len(state) == footer["tensors"]
    assert sum(v.numel() for v in state.values()) == footer["elements"]
    assert sum(p.numel() for p in model.parameters()) == footer["parameters"]
    assert "head.cls_score_p5.bn.running_var" in state and not any(k.startswith("loss") for k in state)
    test_model = build_siamfcpp(load_config(f"siamfcpp_{backbone}").test.track.model, load_weights=False)
    assert [(k, tuple(v.shape)) for k, v in test_model.state_dict().items()] == [(k, s) for k, s, _ in expected]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_train_phase_outputs_match_reference(backbone, train_runs):
    run = train_runs[backbone]
    for key in ("cls_pred", "ctr_pred", "box_pred"):
        assert_close_to_max(run["out"][key], run["ref"][key], **TRAIN_TOL, what=key)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_configured_losses_match_reference(backbone, train_runs):
    """Loss classes, names and weights come from the train config; reg carries the mean IoU."""
    run, ref = train_runs[backbone], train_runs[backbone]["ref"]
    model = run["model"]
    assert [type(m).__name__ for m in model.loss.values()] == ref["loss_classes"]
    assert list(run["losses"]) == ["cls", "ctr", "reg"]
    for key in ("cls", "ctr", "reg"):
        torch.testing.assert_close(run["losses"][key], ref["losses"][key], **TRAIN_TOL)
    torch.testing.assert_close(run["total"], ref["losses"]["total"], **TRAIN_TOL)
    torch.testing.assert_close(run["extras"]["reg"]["iou"], ref["loss_extras"]["reg"]["iou"], **TRAIN_TOL)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_focal_and_retina_variants_agree_with_reference(backbone, train_runs):
    run, ref = train_runs[backbone], train_runs[backbone]["ref"]
    hps = ref["focal_hps"]
    preds = {k: v.detach() for k, v in run["out"].items()}
    focal, _ = FocalLoss(alpha=hps["alpha"], gamma=hps["gamma"])(preds, run["batch"])
    retina, _ = SigmoidCrossEntropyRetina(alpha=hps["alpha"], gamma=hps["gamma"])(preds, run["batch"])
    torch.testing.assert_close(focal, ref["focal_variants"]["cls_focal"], **TRAIN_TOL)
    torch.testing.assert_close(retina, ref["focal_variants"]["cls_retina"], **TRAIN_TOL)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_gradient_norms_match_reference(backbone, train_runs):
    run, expected = train_runs[backbone], train_runs[backbone]["ref"]["grad_norms"]
    largest = max(expected.values())
    names = []
    for name, param in run["model"].named_parameters():
        names.append(name)
        got = param.grad.double().norm().item()
        # biases right before a train-mode BatchNorm have a zero gradient up to rounding: absolute floor
        assert abs(got - expected[name]) <= 1e-3 * abs(expected[name]) + 1e-6 * largest, name
    assert names == list(expected)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_batchnorm_buffers_after_one_train_forward(backbone, train_runs):
    """Quirk Q14: two backbone calls per step, so backbone BNs count 2 batches, neck and head BNs 1."""
    run = train_runs[backbone]
    state = run["state"]
    expected = run["ref"]["buffers_after_train_forward"]
    for key, value in expected.items():
        if key.endswith("num_batches_tracked"):
            assert state[key].item() == value.item(), key
            assert value.item() == (2 if key.startswith("basemodel.") else 1)
        else:
            assert_close_to_max(state[key], value, **TRAIN_TOL, what=key)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_track_phase_features_match_reference(backbone, track_runs):
    """Quirk Q23 included: each backbone normalises (or not) its BGR 0..255 input as the original."""
    run, ref = track_runs[backbone], track_runs[backbone]["ref"]
    pairs = {"f_z": run["f_z"], "c_z_k": run["c_z_k"], "r_z_k": run["r_z_k"],
             "c_x_first16": run["extra"]["c_x"][:, :16], "r_x_first16": run["extra"]["r_x"][:, :16],
             "c_out_first16": run["c_out"][:, :16]}
    for key, value in pairs.items():
        assert_close_to_max(value, ref[key], EVAL_RTOL, what=key)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_track_phase_scores_and_boxes_match_reference(backbone, track_runs):
    run, ref = track_runs[backbone], track_runs[backbone]["ref"]
    for key in ("score", "cls_prob", "ctr_prob"):
        assert_close_to_max(run[key], ref[key], EVAL_RTOL, what=key)
    torch.testing.assert_close(run["box"], ref["box"], rtol=0, atol=EVAL_PX)
    cls_logits, ctr_logits, offsets = run["raw"]
    assert_close_to_max(cls_logits, ref["cls_logits"], EVAL_RTOL, what="cls_logits")
    assert_close_to_max(ctr_logits, ref["ctr_logits"], EVAL_RTOL, what="ctr_logits")
    torch.testing.assert_close(offsets, ref["offsets"], rtol=0, atol=EVAL_PX)
    assert torch.equal(run["score"].argmax(1), ref["score"].argmax(1))


@pytest.mark.parametrize("backbone", BACKBONES)
def test_head_grid_and_offset_match_reference(backbone, track_runs):
    """score_offset = (x_size - 1 - (S - 1) * 8) // 2, grid row-major with x first."""
    head, ref = track_runs[backbone]["model"].head, track_runs[backbone]["ref"]
    assert head.score_offset == ref["head_hps"]["score_offset"]
    assert (head.score_size, head.x_size, head.num_conv3x3) == (
        ref["head_hps"]["score_size"], ref["head_hps"]["x_size"], ref["head_hps"]["num_conv3x3"])
    assert torch.equal(head.fm_ctr, ref["fm_ctr"])


@pytest.mark.parametrize("backbone", BACKBONES)
def test_four_argument_track_call_works(backbone, track_runs):
    """Quirk Q17 (fixed): the original raised for (c_z_k, r_z_k, c_x, r_x); here it equals the image call."""
    run = track_runs[backbone]
    assert "UnboundLocalError" in run["ref"]["four_arg_track_call"]
    with torch.no_grad():
        c_x, r_x = run["model"](run["x"], phase="freeze_track_fea")
        score, box, *_ = run["model"](run["c_z_k"], run["r_z_k"], c_x, r_x, phase="track")
    assert run["ref"]["freeze_track_fea_equal"]
    assert torch.equal(c_x, run["extra"]["c_x"]) and torch.equal(r_x, run["extra"]["r_x"])
    assert torch.equal(score, run["score"]) and torch.equal(box, run["box"])


def test_track_phase_argument_errors(track_runs):
    model = track_runs["alexnet"]["model"]
    with pytest.raises(TypeError, match="takes"):
        model(track_runs["alexnet"]["x"], phase="track")
    with pytest.raises(ValueError, match="expected one of"):
        model.phase = "tracking"
    with pytest.raises(ValueError, match="unknown SiamTrack phase"):
        model(track_runs["alexnet"]["x"], phase="search")


def test_head_rejects_a_score_map_of_another_size_unless_adapting(track_runs):
    run = track_runs["alexnet"]
    head = run["model"].head
    small = run["c_out"][:, :, :21, :21]  # a 15x15 score map where the grid has 17x17
    with pytest.raises(ConfigError, match="score_size 17"):
        head(small, small)
    head.input_size_adapt = True
    try:
        with torch.no_grad():
            _, _, box, _ = head(small, small, x_size=287)
        # offset (287 - 1 - 14 * 8) // 2 = 87: the first position keeps pixel (87, 87)
        assert box.shape == (2, 225, 4)
    finally:
        head.input_size_adapt = False


def test_original_initialisation_of_head_and_neck():
    """Head convs N(0, 1e-4), cls prior bias -4.595, bi 0, si 1; neck convs N(0, 0.01)."""
    torch.manual_seed(0)
    head = DenseboxHead(num_conv3x3=2, head_conv_bn=(False, False))
    model = SiamTrack(AlexNet(), head)
    assert abs(head.cls_p5_conv1.conv.weight.std().item() - 1e-4) < 5e-6
    assert head.cls_score_p5.conv.bias.item() == pytest.approx(-4.59512, abs=1e-5)
    assert head.bi.item() == 0.0 and head.si.item() == 1.0
    assert abs(model.c_x.conv.weight.std().item() - 0.01) < 5e-4


def test_compute_losses_needs_losses():
    model = SiamTrack(AlexNet(), DenseboxHead())
    with pytest.raises(ValueError, match="no losses"):
        model.compute_losses({}, {})


def test_iou_loss_uses_inclusive_pixel_areas():
    """Quirk Q4: (0, 0, 4, 9) against (0, 0, 9, 9) has IoU 50 / 100 with the +1 convention (36 / 81 without)."""
    gt = torch.tensor([[[0.0, 0.0, 9.0, 9.0]]])
    pred = torch.tensor([[[0.0, 0.0, 4.0, 9.0]]])
    cls = torch.ones(1, 1, 1)
    loss, extra = IOULoss(weight=3.0)({"box_pred": pred}, {"box_gt": gt, "cls_gt": cls})
    assert extra["iou"].item() == pytest.approx(0.5)
    assert loss.item() == pytest.approx(-3.0 * torch.log(torch.tensor(0.5)).item())
    negative = IOULoss()({"box_pred": pred}, {"box_gt": gt, "cls_gt": torch.zeros(1, 1, 1)})[0]
    assert negative.item() == 0.0  # no positive: normalised by max(0, 1), nothing counted


def test_centerness_loss_is_zero_at_the_target_and_counts_nonzero_targets():
    """Quirk Q2 / Q1: minus the target entropy; every non-zero target counts, negative pairs' included."""
    label = torch.tensor([[[0.0], [0.25], [0.8]]])
    exact = torch.log(label / (1 - label)).nan_to_num(neginf=-50.0)
    loss, _ = SigmoidCrossEntropyCenterness()({"ctr_pred": exact}, {"ctr_gt": label})
    assert abs(loss.item()) < 1e-6
    off = SigmoidCrossEntropyCenterness()({"ctr_pred": torch.zeros(1, 3, 1)}, {"ctr_gt": label})[0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    per = [bce(torch.zeros(1), label[0, i]) - bce(label[0, i].logit(), label[0, i]) for i in (1, 2)]
    assert off.item() == pytest.approx(sum(p.item() for p in per) / 2, rel=1e-5)


def test_focal_loss_normalises_by_batch_positives():
    pred = torch.zeros(2, 4, 1)
    label = torch.tensor([[1.0, 0, 0, -1], [0, 0, 0, 0]]).reshape(2, 4, 1)
    loss, _ = FocalLoss(alpha=0.5, gamma=0.0)({"cls_pred": pred}, {"cls_gt": label})
    # 7 valid positions (one ignored), each 0.5 * ln 2, one positive in the whole batch
    assert loss.item() == pytest.approx(7 * 0.5 * torch.log(torch.tensor(2.0)).item(), rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=1.5), "alpha 1.5 is outside"), (dict(gamma=-1.0), "gamma -1.0 is negative"),
    (dict(weight=-1.0), "weight -1.0 is negative")])
def test_focal_loss_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FocalLoss(**kwargs)


def test_head_rejects_head_conv_bn_of_wrong_length():
    with pytest.raises(ConfigError, match="head_conv_bn has 2 entries"):
        DenseboxHead(num_conv3x3=3, head_conv_bn=(False, True))


def _model_cfg(name: str, **changes):
    cfg = load_config(name).clone()
    node = cfg.test.track.model if "trn" not in name else cfg.train.track.model
    for dotted, value in changes.items():
        *path, leaf = dotted.split(".")
        target = node
        for part in path:
            target = target[part]
        target[leaf] = value
    return node


def test_builder_rejects_unknown_names_and_unsupported_options():
    with pytest.raises(ConfigError, match=r"unknown backbone .ResNet50.*AlexNet, Inception3, ShuffleNetV2_x1_0"):
        build_siamfcpp(_model_cfg("siamfcpp_alexnet", **{"backbone.name": "ResNet50"}), load_weights=False)
    with pytest.raises(ConfigError, match=r"unknown head .AnchorHead.*DenseboxHead"):
        build_siamfcpp(_model_cfg("siamfcpp_alexnet", **{"task_head.name": "AnchorHead"}), load_weights=False)
    with pytest.raises(ConfigError, match=r"unknown loss .L1Loss.*FocalLoss"):
        build_siamfcpp(_model_cfg("siamfcpp_alexnet", **{"losses.names": ["L1Loss"]}), load_weights=False)
    with pytest.raises(ConfigError, match="trt_mode"):
        build_siamfcpp(_model_cfg("siamfcpp_alexnet", **{"task_model.SiamTrack.trt_mode": True}), load_weights=False)
    with pytest.raises(ConfigError, match="share the name 'cls'"):
        two_cls = _model_cfg("siamfcpp_alexnet-trn", **{"losses.names": ["FocalLoss", "SigmoidCrossEntropyRetina"]})
        build_siamfcpp(two_cls, load_weights=False)


@pytest.fixture(scope="module")
def alexnet_weights(tmp_path_factory):
    """The recipe weights of the AlexNet model saved in the three whole-model layouts."""
    folder = tmp_path_factory.mktemp("siamfcpp_weights")
    state = siamfcpp_recipe_state_dict("alexnet")
    files = {"epoch": folder / "epoch-19.pkl", "bare": folder / "released.pkl", "net": folder / "ours.pth.tar"}
    torch.save({"epoch": 19, "model_state_dict": state, "optimizer_state_dict": {"state": {}, "param_groups": []}},
               files["epoch"])
    torch.save(state, files["bare"])
    torch.save({"net": state, "epoch": 20}, files["net"])
    return state, files


@pytest.mark.parametrize("layout", ["epoch", "bare", "net"])
def test_whole_model_weights_load_in_every_layout(layout, alexnet_weights):
    state, files = alexnet_weights
    model = SiamTrack(AlexNet(), DenseboxHead())
    report = load_siamfcpp_weights(model, files[layout])
    assert not report.missing and not report.unexpected and len(report.loaded) == len(state)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_whole_model_weights_errors(alexnet_weights, tmp_path):
    state, _ = alexnet_weights
    model = SiamTrack(AlexNet(), DenseboxHead())
    with pytest.raises(CheckpointError, match="does not exist"):
        load_siamfcpp_weights(model, tmp_path / "missing.pkl")
    wrong = dict(state, **{"head.cls_p5_conv1.conv.weight": torch.zeros(256, 256, 1, 1)})
    torch.save(wrong, tmp_path / "wrong.pkl")
    with pytest.raises(CheckpointError, match=r"head\.cls_p5_conv1\.conv\.weight \(file \(256, 256, 1, 1\)"):
        load_siamfcpp_weights(model, tmp_path / "wrong.pkl")
    backbone_only = {k.removeprefix("basemodel."): v for k, v in state.items() if k.startswith("basemodel.")}
    torch.save(backbone_only, tmp_path / "backbone.pkl")
    with pytest.raises(CheckpointError, match="none of its 35 tensors has a SiamTrack name"):
        load_siamfcpp_weights(model, tmp_path / "backbone.pkl")
    torch.save({"epoch": 3, "note": "no weights"}, tmp_path / "empty.pkl")
    with pytest.raises(CheckpointError, match="holds no weights"):
        load_siamfcpp_weights(model, tmp_path / "empty.pkl")


def test_alexnet_backbone_file_loads_with_or_without_prefix(alexnet_weights, tmp_path):
    state, _ = alexnet_weights
    for name, keys in (("plain", lambda k: k.removeprefix("basemodel.")), ("prefixed", lambda k: k)):
        torch.save({keys(k): v for k, v in state.items() if k.startswith("basemodel.")}, tmp_path / f"{name}.pkl")
        backbone = AlexNet()
        report = load_backbone_weights(backbone, tmp_path / f"{name}.pkl")
        assert not report.missing and not report.unexpected
        assert torch.equal(backbone.conv5.bn.running_var, state["basemodel.conv5.bn.running_var"])


def test_torchvision_shufflenet_file_loads(tmp_path):
    """Quirk Q31 (fixed): torchvision names (no ``_model.``) load; conv5 / fc are reported unused."""
    source = shufflenet_v2_x1_0()
    file_state = {k.removeprefix("_model."): v + 1 for k, v in source.state_dict().items()
                  if not k.startswith("_model.channel_reduce")}
    file_state.update({"conv5.0.weight": torch.zeros(1024, 464, 1, 1), "fc.weight": torch.zeros(1000, 1024)})
    torch.save(file_state, tmp_path / "shufflenetv2_x1.pth")
    backbone = shufflenet_v2_x1_0()
    report = load_backbone_weights(backbone, tmp_path / "shufflenetv2_x1.pth")
    assert sorted(report.unexpected) == ["conv5.0.weight", "fc.weight"]
    assert report.missing and all(k.startswith("_model.channel_reduce") for k in report.missing)
    assert torch.equal(backbone._model.stage3[0].branch1[0].weight, file_state["stage3.0.branch1.0.weight"])


def test_torchvision_inception_file_reports_missing_and_unused(tmp_path, train_models):
    file_state = {k.removeprefix("basemodel."): v for k, v in train_models["googlenet"].state_dict().items()
                  if k.startswith("basemodel.") and "channel_reduce" not in k}
    file_state.update({"Mixed_7a.branch3x3_1.conv.weight": torch.zeros(192, 768, 1, 1),
                       "fc.weight": torch.zeros(1000, 2048)})
    torch.save(file_state, tmp_path / "inception_v3_google.pth")
    backbone = copy.deepcopy(train_models["googlenet"].basemodel)
    report = load_backbone_weights(backbone, tmp_path / "inception_v3_google.pth")
    assert sorted(report.unexpected) == ["Mixed_7a.branch3x3_1.conv.weight", "fc.weight"]
    assert sorted(report.missing) == sorted(k for k in backbone.state_dict() if k.startswith("channel_reduce"))


def test_backbone_file_that_fits_nothing_is_refused(tmp_path):
    torch.save({"layer1.0.conv1.weight": torch.zeros(64, 64, 3, 3)}, tmp_path / "resnet.pth")
    with pytest.raises(CheckpointError, match="does not fit the AlexNet backbone"):
        load_backbone_weights(AlexNet(), tmp_path / "resnet.pth")
    torch.save({"conv1.conv.weight": torch.zeros(96, 3, 7, 7)}, tmp_path / "other_kernel.pth")
    with pytest.raises(CheckpointError, match="1 names match with other shapes"):
        load_backbone_weights(AlexNet(), tmp_path / "other_kernel.pth")


def test_builder_loads_configured_weights_from_the_pretrained_dir(alexnet_weights, tmp_path):
    state, files = alexnet_weights
    cfg = _model_cfg("siamfcpp_alexnet", **{"task_model.SiamTrack.pretrain_model_path":
                                            f"models/siamfcpp/{files['bare'].name}"})
    with pytest.raises(CheckpointError, match="not found: looked for"):
        build_siamfcpp(cfg, pretrained_dir=tmp_path)
    model = build_siamfcpp(cfg, pretrained_dir=files["bare"].parent)  # found by file name
    assert torch.equal(model.head.bi, state["head.bi"])
    backbone_file = tmp_path / "alexnet-nopad-bn.pkl"
    torch.save({k.removeprefix("basemodel."): v for k, v in state.items() if k.startswith("basemodel.")},
               backbone_file)
    cfg = _model_cfg("siamfcpp_alexnet-trn", **{"backbone.AlexNet.pretrain_model_path": str(backbone_file)})
    model = build_siamfcpp(cfg)
    assert torch.equal(model.basemodel.conv1.conv.weight, state["basemodel.conv1.conv.weight"])
    assert not torch.equal(model.head.bi, state["head.bi"])  # the head keeps its original initialisation
