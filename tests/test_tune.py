"""tracking/tune.py: an optuna search over test parameters that resumes from its SQLite study, writes the best as a
config override file that tracking/test.py takes (and reproduces the trial's score with), and refuses bad --opts,
--space and space files before any trial runs."""

import json

import pytest
import yaml

from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.scoring import score_result_files
from lib.test.evaluation.tracker import Tracker
from lib.utils.opts import nested
from lib.test.evaluation.tuning import (SearchDim, merge_overrides, read_override_file, read_space_file,
                                        write_override_file)
from lib.utils.environment import env_settings
from lib.utils.errors import ConfigError
from script_loader import load_tracking_script
from tiny_siamese import tiny_rpn_checkpoint, tiny_rpn_config, tiny_synthetic

optuna = pytest.importorskip("optuna", reason="optuna is not installed (it is in requirements.txt)")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tune")
    data = tiny_synthetic(root / "data", num_val=2, frames=12)
    config = tiny_rpn_config(root)
    return {"root": root, "data": data, "config": config, "checkpoint": tiny_rpn_checkpoint(config, root / "m.pth")}


def common(setup, save):
    return ["siamrpn", str(setup["config"]), "--dataset", "synthetic_val", "--data_dir", str(setup["data"]),
            "--save_dir", str(save), "--checkpoint", str(setup["checkpoint"]), "--device", "cpu"]


def test_three_trial_study_resumes_and_test_py_reproduces_the_best(setup, tmp_path, capsys):
    tune = load_tracking_script("tune").main
    args = [*common(setup, tmp_path), "--space", "TRACK.WINDOW_INFLUENCE", "0.1", "0.6", "--space", "TRACK.PENALTY_K",
            "0", "0.5", "--opts", "TRACK.LR", "0.35", "--seed", "3"]
    assert tune([*args, "--trials", "2"]) == 0
    out = tmp_path / "tune/siamrpn/tiny_rpn/synthetic_val"
    storage = f"sqlite:///{out / 'study.db'}"
    assert len(optuna.load_study(study_name="tune", storage=storage).trials) == 2
    assert tune([*args, "--trials", "3"]) == 0  # the same command continues the study: one more trial
    study = optuna.load_study(study_name="tune", storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert sorted(p.name for p in (out / "results/siamrpn").iterdir()) == ["tiny_rpn_000", "tiny_rpn_001",
                                                                           "tiny_rpn_002"]
    assert tune([*args, "--trials", "3"]) == 0 and len(optuna.load_study(study_name="tune", storage=storage)
                                                       .trials) == 3  # done already: nothing runs
    best = yaml.safe_load((out / "best.yaml").read_text())
    params = study.best_trial.params
    assert best == {"TRACK": {"LR": 0.35, "WINDOW_INFLUENCE": params["TRACK.WINDOW_INFLUENCE"],
                              "PENALTY_K": params["TRACK.PENALTY_K"]}}
    assert "best trial" in capsys.readouterr().out

    test = load_tracking_script("test").main
    assert test([*common(setup, tmp_path), "--cfg_override", str(out / "best.yaml"), "--runid", "7",
                 "--no_progress"]) == 0
    results = tmp_path / "test/tracking_results/siamrpn/tiny_rpn_007"
    record = json.loads((results / "provenance.json").read_text())["runs"][0]
    assert record["parameters"]["cfg"]["TRACK"]["WINDOW_INFLUENCE"] == best["TRACK"]["WINDOW_INFLUENCE"]
    seqs = get_dataset("synthetic_val", env=env_settings(data_dir=str(setup["data"])))
    tracker = Tracker("siamrpn", str(setup["config"]), run_id=7, env_overrides={"save_dir": str(tmp_path)},
                      checkpoint=str(setup["checkpoint"]))
    assert score_result_files(tracker, seqs)["AUC"] == pytest.approx(study.best_value)

    # the same folder cannot hold a study over another space
    with pytest.raises(ConfigError, match="holds a study over"):
        tune([*common(setup, tmp_path), "--space", "TRACK.LR", "0.1", "0.8", "--trials", "4"])


@pytest.mark.parametrize("extra, match", [
    (["--opts", "TRACK.WINDOW_INFLUENC", "0.3"], "WINDOW_INFLUENCE"),  # unknown key: the closest one is named
    (["--opts", "TRACK.LR", "fast"], "TRACK.LR must be a number"),
    (["--opts", "TRACK.LR"], "KEY VALUE pairs"),
    (["--space", "TRACK.PENALTY", "0", "0.5"], "PENALTY_K"),
    (["--space", "TRACK.LR", "0.8", "0.1"], "lower bound must be below"),
    (["--space", "TRACK.LR", "low", "0.1"], "must be a number"),
    (["--space", "TRACK.LR", "0.1", "0.8", "--space", "TRACK.LR", "0.2", "0.3"], "more than once"),
    (["--metric", "AO", "--num_sequences", "-1", "--space", "TRACK.LR", "0.1", "0.8"], "num_sequences"),
    ([], "no search space"),
])
def test_bad_options_are_refused_before_any_trial(setup, tmp_path, extra, match):
    tune = load_tracking_script("tune").main
    with pytest.raises(ConfigError, match=match):
        tune([*common(setup, tmp_path), "--trials", "1", *extra])
    assert not (tmp_path / "tune").exists()


def test_opts_fix_keys_for_every_trial(setup, tmp_path):
    tune = load_tracking_script("tune").main
    assert tune([*common(setup, tmp_path), "--trials", "1", "--space", "TRACK.LR", "0.1", "0.8", "--opts",
                 "TRACK.PENALTY_K", "0.07", "--num_sequences", "1"]) == 0
    record = json.loads((tmp_path / "tune/siamrpn/tiny_rpn/synthetic_val/results/siamrpn/tiny_rpn_000/"
                         "provenance.json").read_text())["runs"][0]
    assert record["parameters"]["cfg"]["TRACK"]["PENALTY_K"] == 0.07


def test_space_files_and_override_files(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("TRACK.LR: [0.1, 0.8]\nTRACK.PENALTY_K: {low: 0, high: 0.5, step: 0.05}\n"
                     "TEST.SEARCH_FACTOR: {choices: [4.0, 4.5]}\nTRACK.INSTANCE_SIZE: {low: 255, high: 287, step: 8}\n")
    dims = read_space_file(space)
    assert dims[0] == SearchDim("TRACK.LR", 0.1, 0.8)
    assert dims[1].step == 0.05 and dims[2].choices == (4.0, 4.5) and dims[3].integer
    for bad, match in (("TRACK.LR: 0.3\n", "must be"), ("[1, 2]\n", "mapping"),
                       ("TRACK.LR: {low: 0.1, high: 1, step: 0.1, log: true}\n", "step and a log"),
                       ("TRACK.LR: {low: 0, high: 1, log: true}\n", "positive")):
        space.write_text(bad)
        with pytest.raises(ConfigError, match=match):
            read_space_file(space)
    path = write_override_file(tmp_path / "best.yaml", nested({"TRACK.LR": 0.3, "TRACK.PENALTY_K": 0.1}), "note")
    assert path.read_text().startswith("# note\n")
    assert read_override_file(path) == {"TRACK": {"LR": 0.3, "PENALTY_K": 0.1}}
    path.write_text("TRACK.LR: 0.2\nTRACK: {PENALTY_K: 0.4}\n")  # dotted keys are read too
    assert read_override_file(path) == {"TRACK": {"LR": 0.2, "PENALTY_K": 0.4}}
    assert merge_overrides({"A": {"B": 1, "C": 2}}, {"A": {"B": 3}}) == {"A": {"B": 3, "C": 2}}
    for text, match in (("- 1\n", "mapping"), ("a: [\n", "not valid YAML")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            read_override_file(path)
    with pytest.raises(ConfigError, match="no such file"):
        read_override_file(tmp_path / "missing.yaml")
