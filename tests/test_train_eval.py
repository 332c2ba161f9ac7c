"""Evaluation during training (TRAIN.EVAL / train.track.framework.eval): the family's tracker runs on a validation
benchmark after the epoch's checkpoint is written, the scores go to the log, tensorboard and eval_history.json, the
best epoch is kept as <Prefix>_best.pth.tar (across a resume), and bad settings are refused before training."""

import json
import logging

import pytest
import torch

from lib.config import load_script_config
from lib.train.admin.settings import Settings
from lib.train.trainers.checkpoint import Checkpointer
from lib.train.trainers.eval_hook import EvalHook, build_eval_hook, eval_settings
from lib.utils.errors import ConfigError
from script_loader import load_tracking_script
from tiny_siamese import tiny_rpn_config, tiny_synthetic


def test_siamrpn_training_evaluates_each_epoch_and_keeps_the_best(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = tiny_synthetic(tmp_path / "data", num_val=2, frames=12)
    config = tiny_rpn_config(tmp_path, "tiny_eval", {"TRAIN": {"EPOCH": 1, "EVAL": {
        "DATASETS": ["synthetic_val"], "NUM_SEQUENCES": 1, "METRIC": "AUC"}}})
    save = tmp_path / "out"
    train = load_tracking_script("train").main
    args = ["--script", "siamrpn", "--config", str(config), "--save_dir", str(save), "--data_dir", str(data),
            "--mode", "single", "--device", "cpu", "--seed", "7"]
    assert train(args) == 0
    run = save / "checkpoints/train/siamrpn/tiny_eval"
    history = json.loads((run / "eval_history.json").read_text())
    assert history["metric"] == "AUC" and history["best_epoch"] == 1
    (first,) = history["evaluations"]
    assert first["epoch"] == 1 and first["scores"]["synthetic_val"]["sequences"] == 1
    assert first["score"] == first["scores"]["synthetic_val"]["AUC"] and 0 <= first["score"] <= 100
    best = torch.load(run / "SiamRPN_best.pth.tar", weights_only=True)
    epoch1 = torch.load(run / "SiamRPN_ep0001.pth.tar", weights_only=True)
    assert best["epoch"] == 1 and all(torch.equal(best["net"][k], v) for k, v in epoch1["net"].items())
    log = (save / "logs/siamrpn-tiny_eval.log").read_text()
    assert "eval epoch 1 on synthetic_val (1 sequences" in log and "(new best)" in log
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(save / "tensorboard/train/siamrpn/tiny_eval/eval")).Reload()
    assert {"synthetic_val/AO", "synthetic_val/AUC"} <= set(events.Tags()["scalars"])

    # two more epochs, evaluated every second one (and the last): the history survives the resume
    tiny_rpn_config(tmp_path, "tiny_eval", {"TRAIN": {"EPOCH": 3, "EVAL": {
        "DATASETS": ["synthetic_val"], "NUM_SEQUENCES": 1, "METRIC": "AUC", "INTERVAL": 2}}})
    assert train(args) == 0
    history = json.loads((run / "eval_history.json").read_text())
    assert [e["epoch"] for e in history["evaluations"]] == [1, 2, 3]
    best_epoch = max(history["evaluations"], key=lambda e: e["score"])["epoch"]
    assert history["best_epoch"] == best_epoch
    assert torch.load(run / "SiamRPN_best.pth.tar", weights_only=True)["epoch"] == best_epoch
    # the best copy is not a training checkpoint: a resume never picks it
    assert [epoch for epoch, _ in Checkpointer(run, "SiamRPN").list()] == [1, 2, 3]
    assert "resumed from" in (save / "logs/siamrpn-tiny_eval.log").read_text()


@pytest.mark.parametrize("script, node, where", [
    ("ostrack", lambda c: c.TRAIN.EVAL, "TRAIN.EVAL"),
    ("siamrpn", lambda c: c.TRAIN.EVAL, "TRAIN.EVAL"),
    ("siamban", lambda c: c.TRAIN.EVAL, "TRAIN.EVAL"),
    ("siamfcpp", lambda c: c.train.track.framework.eval, "train.track.framework.eval"),
])
def test_every_family_has_the_eval_node_off_by_default(script, node, where, tmp_path):
    name = {"ostrack": "vitn_128_ce_synthetic", "siamrpn": "siamrpn_alex_synthetic", "siamban": "siamban_r50_l234",
            "siamfcpp": "siamfcpp_alexnet_synthetic"}[script]
    settings = Settings(save_dir=tmp_path, script_name=script, config_name=name)
    assert build_eval_hook(node(load_script_config(script, name)), settings, where) is None
    key = "datasets" if script == "siamfcpp" else "DATASETS"
    overrides = {key: ["synthetic_val"]}
    path = where.split(".")
    tree = overrides
    for part in reversed(path):
        tree = {part: tree}
    hook = build_eval_hook(node(load_script_config(script, name, tree)), settings, where)
    assert isinstance(hook, EvalHook) and hook.tracker_name == script
    assert hook.config_file == tmp_path / "checkpoints/train" / script / name / "config.yaml"


@pytest.mark.parametrize("change, match", [
    ({"DATASETS": ["synthetic_vall"]}, "not evaluation datasets"),
    ({"INTERVAL": 0}, "at least 1"),
    ({"NUM_SEQUENCES": -2}, "0 .all sequences. or positive"),
    ({"METRIC": "EAO"}, "one of AO, SR0.5, SR0.75, AUC"),
])
def test_bad_eval_settings_are_config_errors(change, match):
    node = {"DATASETS": ["synthetic_val"], "INTERVAL": 1, "NUM_SEQUENCES": 0, "METRIC": "AO", **change}
    with pytest.raises(ConfigError, match=f"TRAIN.EVAL.*{match}"):
        eval_settings(node, "TRAIN.EVAL")
    lower = {k.lower(): v for k, v in node.items()}
    with pytest.raises(ConfigError, match="train.track.framework.eval"):
        eval_settings(lower, "train.track.framework.eval")


def test_eval_node_with_a_wrong_type_is_refused_when_the_config_loads():
    with pytest.raises(ConfigError, match="TRAIN.EVAL.INTERVAL must be an integer"):
        load_script_config("siamrpn", "siamrpn_alex_synthetic", {"TRAIN": {"EVAL": {"INTERVAL": 1.5}}})
