"""SiamFC++ config: the six GOT-10k YAMLs, strict keys and types, and every value check (siamfcpp-spec 3)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from lib.config.siamfcpp import SCHEMA, get_defaults, list_configs, load_config
from lib.config.siamfcpp import validation
from lib.models.siamfcpp import BACKBONES as BACKBONE_REGISTRY, HEADS, LOSSES
from lib.utils.opts import nested
from lib.utils.errors import ConfigError
from tests.siamese_reference import load_reference
from tests.siamfcpp_reference import BACKBONES, load_siamfcpp_reference

TEST_CONFIGS = tuple(f"siamfcpp_{b}" for b in BACKBONES)
TRAIN_CONFIGS = tuple(f"siamfcpp_{b}-trn" for b in BACKBONES)


def _yaml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "custom.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", TEST_CONFIGS + TRAIN_CONFIGS)
def test_every_experiment_yaml_loads_frozen(name):
    cfg = load_config(name)
    assert cfg.frozen
    assert name in list_configs()
    branch = cfg.train.track if name.endswith("-trn") else cfg.test.track
    assert branch.exp_name != "unknown"
    with pytest.raises(ConfigError, match="frozen"):
        cfg.test.track.exp_name = "x"


@pytest.mark.parametrize("backbone", BACKBONES)
def test_train_configs_match_the_reference_hyper_parameters(backbone):
    ref = load_siamfcpp_reference(backbone)
    t = load_config(f"siamfcpp_{backbone}-trn").train.track
    target, crop = t.data.target.DenseboxTarget, t.data.transformer.RandomCropTransformer
    derived = validation.expected_score_size(target.x_size, target.z_size, target.total_stride, target.num_conv3x3)
    assert derived == ref["train"]["target_hps"]["score_size"] == t.model.task_head.DenseboxHead.score_size
    for key in ("z_size", "x_size", "total_stride", "num_conv3x3"):
        assert target[key] == ref["train"]["target_hps"][key], key
    assert dict(crop) == ref["train"]["transformer_hps"]
    assert list(t.model.losses.names) == ref["train"]["loss_classes"]
    cls_node = t.model.losses[ref["train"]["focal_hps"]["configured_cls_loss"]]
    assert (cls_node.alpha, cls_node.gamma, cls_node.name) == (ref["train"]["focal_hps"]["alpha"],
                                                               ref["train"]["focal_hps"]["gamma"], "cls")
    assert [t.model.losses[n].name for n in t.model.losses.names] == ["cls", "ctr", "reg"]
    assert t.model.losses.IOULoss.weight == 3.0
    sgd = t.optim.optimizer.SGD
    schedule = ref["lr_schedule"]
    assert list(sgd.lr_policy) == schedule["lr_policy"] and list(sgd.lr_multiplier) == schedule["lr_multiplier"]
    assert sgd.nr_image_per_epoch // sgd.minibatch == schedule["num_iterations"]
    assert t.trainer.RegularTrainer.max_epoch == schedule["max_epoch"]
    assert all((g["momentum"], g["weight_decay"]) == (sgd.momentum, sgd.weight_decay) for g in schedule["param_groups"])
    assert list(t.optim.grad_modifier.DynamicFreezer.schedule) == ref["freeze"]["schedule"]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_freeze_schedule_of_the_yaml_gives_the_reference_table(backbone):
    """Quirk Q15: requires_grad = (epoch >= e) XOR freezed per entry in order, over named_parameters."""
    ref = load_siamfcpp_reference(backbone)["freeze"]
    entries = [json.loads(s) for s in load_config(f"siamfcpp_{backbone}-trn").train.track.optim.grad_modifier
               .DynamicFreezer.schedule]
    table = torch.ones(20, len(ref["param_names"]), dtype=torch.bool)
    for epoch in range(20):
        for entry in entries:
            for i, name in enumerate(ref["param_names"]):
                if re.search(entry["regex"], name):
                    table[epoch, i] = (epoch >= entry["epoch"]) != entry["freezed"]
        if epoch + 1 < 20:
            table[epoch + 1] = table[epoch]
    assert torch.equal(table, ref["requires_grad"])


@pytest.mark.parametrize("backbone", BACKBONES)
def test_test_configs_match_the_reference_head_and_tracker(backbone):
    track = load_siamfcpp_reference(backbone)["track"]
    t = load_config(f"siamfcpp_{backbone}").test.track
    head = t.model.task_head.DenseboxHead
    for key in ("total_stride", "score_size", "x_size", "num_conv3x3"):
        assert head[key] == track["head_hps"][key], key
    assert list(head.head_conv_bn) == track["head_hps"]["head_conv_bn"]
    tracker_hps = load_reference("siamfcpp_track_sequence.pt")["results"][backbone]["tracker_hps"]
    tracker = t.pipeline.SiamFCppTracker
    for key, value in tracker_hps.items():
        if key not in ("score_size", "score_offset"):  # derived by the tracker (quirk Q10)
            assert tracker[key] == value, key
    assert validation.expected_score_size(tracker.x_size, tracker.z_size, tracker.total_stride,
                                          tracker.num_conv3x3) == tracker_hps["score_size"]
    assert list(t.tester.names) == ["GOT10kTester"] and list(t.tester.GOT10kTester.subsets) == ["val"]


def test_config_names_agree_with_the_model_registries():
    assert validation.BACKBONE_NAMES == tuple(BACKBONE_REGISTRY.names())
    assert validation.LOSS_NAMES == tuple(LOSSES.names())
    assert tuple(HEADS.names()) == ("DenseboxHead",)


def test_defaults_tree_has_video_analysts_structure():
    d = get_defaults()
    assert d.task_name == "unknown"
    assert set(d.test.track) == {"exp_name", "exp_save", "model", "pipeline", "tester", "data"}
    # video_analyst's keys, plus the framework's own node (clipping, print interval, skipped-step limit)
    assert set(d.train.track) == {"exp_name", "exp_save", "num_processes", "device", "model", "pipeline", "tester",
                                  "data", "optim", "trainer", "framework"}
    assert d.train.track.model.task_model.SiamTrack.neck_conv_bias == [True] * 4
    assert "submodules" not in d.train.track.data.datapipeline  # quirk Q33: declared twice, never read


def test_unknown_key_is_rejected_with_a_suggestion(tmp_path):
    path = _yaml(tmp_path, "test:\n  track:\n    exp_name: x\n    pipeline:\n      SiamFCppTracker:\n"
                           "        window_influense: 0.2\n")
    with pytest.raises(ConfigError, match=r"custom\.yaml: unknown key test\.track\.pipeline\.SiamFCppTracker\."
                                          r"window_influense\. Did you mean `window_influence`\?"):
        load_config(path)


def test_original_dead_key_is_rejected():
    """Quirk Q33: data.datapipeline.submodules is not a key (the original declared and discarded it)."""
    with pytest.raises(ConfigError, match="unknown key train.track.data.datapipeline.submodules"):
        load_config("siamfcpp_alexnet-trn", nested({"train.track.data.datapipeline.submodules": {}}))


def test_wrong_type_names_key_and_file(tmp_path):
    path = _yaml(tmp_path, "test:\n  track:\n    exp_name: x\n    model:\n      task_head:\n        DenseboxHead:\n"
                           "          x_size: '303'\n")
    with pytest.raises(ConfigError, match=r"custom\.yaml: key test\.track\.model\.task_head\.DenseboxHead\.x_size "
                                          r"must be an integer"):
        load_config(path)
    with pytest.raises(ConfigError, match="head_conv_bn must be a list of bool"):
        load_config("siamfcpp_alexnet", nested({"test.track.model.task_head.DenseboxHead.head_conv_bn": [0, 0, 1]}))


def test_numbers_are_accepted_where_the_original_has_an_integer_ratio():
    cfg = load_config("siamfcpp_alexnet-trn",
                      nested({"train.track.data.sampler.submodules.filter.TrackPairFilter.max_ratio": 7.5}))
    assert cfg.train.track.data.sampler.submodules.filter.TrackPairFilter.max_ratio == 7.5


def test_no_filter_is_a_valid_choice():
    """Quirk Q37 (fixed in the config): an empty filter name means no filter; the original crashed on it."""
    cfg = load_config("siamfcpp_alexnet-trn", nested({"train.track.data.sampler.submodules.filter.name": ""}))
    assert cfg.train.track.data.sampler.submodules.filter.name == ""


@pytest.mark.parametrize("key, value, match", [
    ("test.track.model.backbone.name", "ResNet50", "must be one of .*'AlexNet'"),
    ("test.track.pipeline.SiamFCppTracker.windowing", "gauss", "must be one of 'cosine', 'uniform'"),
    ("train.track.device", "gpu", "must be one of 'cuda', 'cpu'"),
    ("train.track.trainer.name", "FastTrainer", "must be one of .*'RegularTrainer'"),
])
def test_choices(key, value, match):
    name = "siamfcpp_alexnet-trn"
    with pytest.raises(ConfigError, match=match):
        load_config(name, nested({key: value}))


def test_a_config_selecting_no_branch_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="neither test.track.exp_name nor train.track.exp_name is set"):
        load_config(_yaml(tmp_path, "task_name: track\n"))


def test_an_active_branch_needs_its_components(tmp_path):
    with pytest.raises(ConfigError, match=r"test\.track\.pipeline\.name = '' is invalid; expected one of "
                                          r"SiamFCppTracker"):
        load_config(_yaml(tmp_path, "test:\n  track:\n    exp_name: mine\n"))
    path = _yaml(tmp_path, "test:\n  track:\n    exp_name: mine\n    pipeline:\n      name: SiamFCppTracker\n")
    with pytest.raises(ConfigError, match=r"test\.track\.model\.backbone\.name = '' is invalid"):
        load_config(path)


H = "test.track.model.task_head.DenseboxHead"
P = "test.track.pipeline.SiamFCppTracker"
TEST_VALUE_CASES = [
    # (config, {dotted key: value}, fragment of the message)
    ("siamfcpp_alexnet", {f"{H}.total_stride": 0}, r"DenseboxHead\.total_stride = 0 is invalid; expected a value > 0"),
    ("siamfcpp_alexnet", {f"{H}.x_size": 0}, r"DenseboxHead\.x_size = 0 is invalid; expected a value > 0"),
    ("siamfcpp_alexnet", {f"{H}.score_size": 0}, r"DenseboxHead\.score_size = 0 is invalid; expected a value > 0"),
    ("siamfcpp_alexnet", {f"{H}.head_width": 0}, r"DenseboxHead\.head_width = 0 is invalid"),
    ("siamfcpp_alexnet", {f"{H}.num_conv3x3": -1}, r"num_conv3x3 = -1 is invalid; expected a value >= 0"),
    ("siamfcpp_alexnet", {f"{H}.conv_weight_std": 0.0}, r"conv_weight_std = 0.0 is invalid"),
    ("siamfcpp_alexnet", {f"{H}.head_conv_bn": [False, True]}, r"head_conv_bn = \[False, True\] is invalid; "
                                                              r"expected one entry per tower convolution"),
    ("siamfcpp_alexnet", {f"{P}.z_size": 0}, r"SiamFCppTracker\.z_size = 0 is invalid; expected a value > 0"),
    ("siamfcpp_alexnet", {f"{H}.x_size": 127, f"{P}.x_size": 127},
     r"x_size = 127 is invalid; expected a search size larger than the template size"),
    ("siamfcpp_alexnet", {f"{H}.x_size": 319, f"{P}.x_size": 319},
     r"score_size = 17 is invalid; expected 19, the score map the network gives for x_size 319"),
    ("siamfcpp_alexnet", {"test.track.model.task_model.SiamTrack.conv_weight_std": -0.01},
     r"SiamTrack\.conv_weight_std = -0.01 is invalid"),
    ("siamfcpp_alexnet", {"test.track.model.task_model.SiamTrack.head_width": 128},
     r"SiamTrack\.head_width = 128 differs from test\.track\.model\.task_head\.DenseboxHead\.head_width = 256"),
    ("siamfcpp_shufflenetv2x1_0", {"test.track.model.backbone.ShuffleNetV2_x1_0.head_width": 128},
     r"ShuffleNetV2_x1_0\.head_width = 128 differs from"),
    ("siamfcpp_googlenet", {"test.track.model.backbone.Inception3.crop_pad": -1}, r"crop_pad = -1 is invalid"),
    ("siamfcpp_alexnet", {f"{P}.x_size": 319}, r"SiamFCppTracker\.x_size = 319 differs from .*DenseboxHead\.x_size "
                                               r"= 303.*quirk Q10"),
    ("siamfcpp_alexnet", {f"{P}.num_conv3x3": 2}, r"SiamFCppTracker\.num_conv3x3 = 2 differs"),
    ("siamfcpp_alexnet", {f"{P}.total_stride": 16}, r"SiamFCppTracker\.total_stride = 16 differs"),
    ("siamfcpp_alexnet", {f"{P}.test_lr": 1.5}, r"test_lr = 1.5 is invalid; expected a value in \[0, 1\]"),
    ("siamfcpp_alexnet", {f"{P}.window_influence": -0.1}, r"window_influence = -0.1 is invalid"),
    ("siamfcpp_alexnet", {f"{P}.penalty_k": -0.04}, r"penalty_k = -0.04 is invalid"),
    ("siamfcpp_alexnet", {f"{P}.context_amount": -0.5}, r"context_amount = -0.5 is invalid"),
    ("siamfcpp_alexnet", {f"{P}.min_w": 0}, r"min_w = 0 is invalid"),
    ("siamfcpp_alexnet", {f"{P}.min_h": 0}, r"min_h = 0 is invalid"),
    ("siamfcpp_alexnet", {"test.track.tester.names": ["GOT10KTester"]}, r"expected names among GOT10kTester"),
    ("siamfcpp_alexnet", {"test.track.tester.names": ["GOT10kTester", "GOT10kTester"]}, r"expected each name once"),
    ("siamfcpp_alexnet", {"test.track.tester.GOT10kTester.device_num": -1}, r"device_num = -1 is invalid"),
]


@pytest.mark.parametrize("name, changes, match", TEST_VALUE_CASES)
def test_test_branch_value_checks(name, changes, match):
    with pytest.raises(ConfigError, match=match) as err:
        load_config(name, nested(changes))
    assert f"{name}.yaml" in str(err.value)


M = "train.track.model"
D = "train.track.data"
S = "train.track.optim.optimizer.SGD"
F = "train.track.optim.grad_modifier.DynamicFreezer.schedule"
T = "train.track.trainer.RegularTrainer"
LINEAR = '{"name": "LinearLR", "start_lr": 0.000001, "end_lr": 0.08, "max_epoch": %s}'
FREEZE = '{"name": "f", "regex": "%s", "epoch": %s, "freezed": %s}'
TRAIN_VALUE_CASES = [
    ("siamfcpp_alexnet-trn", {f"{M}.losses.names": ["FocalLoss", "L1Loss"]}, r"names among FocalLoss.*unknown: L1Loss"),
    ("siamfcpp_alexnet-trn", {f"{M}.losses.IOULoss.weight": -3.0}, r"IOULoss\.weight = -3.0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{M}.losses.FocalLoss.alpha": 1.25}, r"FocalLoss\.alpha = 1.25 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{M}.losses.FocalLoss.gamma": -2.0}, r"FocalLoss\.gamma = -2.0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{M}.losses.IOULoss.name": "cls"}, r"distinct `name` fields"),
    ("siamfcpp_alexnet-trn", {f"{D}.target.DenseboxTarget.x_size": 319, f"{M}.task_head.DenseboxHead.x_size": 303},
     r"DenseboxTarget\.x_size = 319 differs from .*DenseboxHead\.x_size"),
    ("siamfcpp_alexnet-trn", {f"{D}.target.DenseboxTarget.num_conv3x3": 2}, r"DenseboxTarget\.num_conv3x3 = 2 differs"),
    ("siamfcpp_alexnet-trn", {f"{D}.target.DenseboxTarget.total_stride": 4}, r"DenseboxTarget\.total_stride = 4 "
                                                                             r"differs"),
    ("siamfcpp_alexnet-trn", {f"{D}.target.DenseboxTarget.z_size": 0}, r"DenseboxTarget\.z_size = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {"train.track.num_processes": 0}, r"num_processes = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.num_epochs": 0}, r"data\.num_epochs = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.minibatch": 0}, r"data\.minibatch = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.num_workers": -1}, r"num_workers = -1 is invalid; expected a value >= 0"),
    ("siamfcpp_alexnet-trn", {f"{D}.nr_image_per_epoch": 16}, r"nr_image_per_epoch = 16 is invalid; expected at "
                                                              r"least one batch"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.TrackPairSampler.negative_pair_ratio": 1.5},
     r"negative_pair_ratio = 1.5 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.dataset.names": []}, r"expected at least one of GOT10kDataset"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.dataset.names": ["GOT10k"]}, r"unknown: GOT10k"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.dataset.GOT10kDataset.ratio": -1.0},
     r"GOT10kDataset\.ratio = -1.0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.dataset.GOT10kDataset.ratio": 0.0},
     r"expected at least one selected dataset with a ratio > 0"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.dataset.GOT10kDataset.max_diff": 0},
     r"GOT10kDataset\.max_diff = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.filter.TrackPairFilter.max_ratio": 0},
     r"max_ratio = 0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.sampler.submodules.filter.TrackPairFilter.min_area_rate": 0.7},
     r"min_area_rate = 0.7 is invalid; expected a value in \[0, 0.6\]"),
    ("siamfcpp_alexnet-trn", {f"{D}.transformer.names": ["RandomCrop"]}, r"unknown: RandomCrop"),
    ("siamfcpp_alexnet-trn", {f"{D}.transformer.RandomCropTransformer.x_size": 289},
     r"RandomCropTransformer\.x_size = 289 differs from .*DenseboxTarget\.x_size = 303"),
    ("siamfcpp_alexnet-trn", {f"{D}.transformer.RandomCropTransformer.max_scale": 1.0},
     r"max_scale = 1.0 is invalid; expected a value in \[0, 1\)"),
    ("siamfcpp_alexnet-trn", {f"{D}.transformer.RandomCropTransformer.max_shift": -0.4},
     r"max_shift = -0.4 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{D}.transformer.RandomCropTransformer.context_amount": -1.0},
     r"RandomCropTransformer\.context_amount = -1.0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{T}.max_epoch": 0}, r"max_epoch = 0 is invalid; expected a value > 0"),
    ("siamfcpp_alexnet-trn", {f"{T}.max_epoch": 21}, r"max_epoch = 21 is invalid; expected at most "
                                                     r"train\.track\.data\.num_epochs = 20"),
    ("siamfcpp_alexnet-trn", {f"{T}.minibatch": 16}, r"RegularTrainer\.minibatch = 16 differs from "
                                                     r"train\.track\.data\.minibatch = 32"),
    ("siamfcpp_alexnet-trn", {f"{T}.nr_image_per_epoch": 1000}, r"RegularTrainer\.nr_image_per_epoch = 1000 differs"),
    ("siamfcpp_alexnet-trn", {f"{S}.minibatch": 64}, r"SGD\.minibatch = 64 differs"),
    ("siamfcpp_alexnet-trn", {f"{S}.nr_image_per_epoch": 64}, r"SGD\.nr_image_per_epoch = 64 differs"),
    ("siamfcpp_alexnet-trn", {"train.track.trainer.monitors.names": ["Printer"]}, r"unknown: Printer"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr": 0.0}, r"SGD\.lr = 0.0 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{S}.momentum": 1.0}, r"momentum = 1.0 is invalid; expected a value in \[0, 1\)"),
    ("siamfcpp_alexnet-trn", {f"{S}.weight_decay": -0.0001}, r"weight_decay = -0.0001 is invalid"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": []}, r"expected at least one LR policy"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": ["{name: LinearLR}"]}, r"lr_policy\[0\] is not valid JSON"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": ["[1, 2]"]}, r"lr_policy\[0\] = '\[1, 2\]' is invalid; expected a "
                                                             r"JSON object"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": ['{"name": "StepLR", "max_epoch": 20}']},
     r"expected a policy named one of LinearLR, CosineLR"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": ['{"name": "CosineLR", "max_epoch": 20}']},
     r"lacks start_lr, end_lr"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": [LINEAR % 0]}, r"max_epoch = 0 is invalid; expected an integer >= 1"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": [LINEAR.replace("0.000001", "-1") % 20]},
     r"expected start_lr and end_lr >= 0"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": [LINEAR.replace("LinearLR", "ExponentialLR").replace("0.000001", "0")
                                                 % 20]}, r"> 0 for ExponentialLR"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": ['{"name": "MultiStageLR", "lr_stages": [[10, 0.1, 3]]}']},
     r"lr_stages = \[\[10, 0.1, 3\]\] is invalid"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_policy": [LINEAR % 19]}, r"lr_policy covers 19 epochs but "
                                                                r".*max_epoch = 20.*quirk Q12"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_multiplier": ['{"name": "b", "regex": "basemodel"}']}, r"lacks ratio"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_multiplier": ['{"name": "b", "regex": "base[", "ratio": 0.1}']},
     r"lr_multiplier\[0\] has the regex 'base\[', which does not compile"),
    ("siamfcpp_alexnet-trn", {f"{S}.lr_multiplier": ['{"name": "b", "regex": "base", "ratio": -1}']},
     r"lr_multiplier\[0\]\.ratio = -1 is invalid"),
    ("siamfcpp_alexnet-trn", {F: [FREEZE % ("conv(", 0, "true")]}, r"schedule\[0\] has the regex 'conv\('"),
    ("siamfcpp_alexnet-trn", {F: [FREEZE % ("conv", -1, "true")]}, r"expected an integer epoch >= 0 and a boolean"),
    ("siamfcpp_alexnet-trn", {F: [FREEZE % ("conv", 0, '"yes"')]}, r"expected an integer epoch >= 0 and a boolean"),
    ("siamfcpp_alexnet-trn", {F: ['{"regex": "conv", "epoch": 0}']}, r"lacks freezed"),
]


@pytest.mark.parametrize("name, changes, match", TRAIN_VALUE_CASES)
def test_train_branch_value_checks(name, changes, match):
    with pytest.raises(ConfigError, match=match) as err:
        load_config(name, nested(changes))
    assert f"{name}.yaml" in str(err.value)


def test_train_checks_do_not_run_for_a_test_config():
    """A test config leaves train.track at its defaults (exp_name "unknown"): only test.track is checked."""
    cfg = load_config("siamfcpp_alexnet", nested({f"{D}.minibatch": 0}))
    assert cfg.train.track.data.minibatch == 0


def test_schema_is_the_siamfcpp_script():
    assert SCHEMA.script == "siamfcpp"
    assert SCHEMA.is_open("test.track.tester.VOTTester.data_root")
