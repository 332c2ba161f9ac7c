"""``--opts KEY VALUE ...``: parsed as YAML values, merged and validated as the experiment YAML is (unknown keys
suggest the closest), passed through every family's parameter function, and refused by test.py with exit 2."""

from __future__ import annotations

import pytest

from lib.config import load_script_config
from lib.utils.errors import ConfigError
from lib.utils.opts import parse_opts
from script_loader import load_tracking_script

OSTRACK_CFG = "vitb_256_mae_ce_32x4_ep300"


def test_pairs_become_a_nested_dict_with_yaml_types():
    assert parse_opts("TRAIN.EPOCH 2 TEST.EPOCH 3") == {"TRAIN": {"EPOCH": 2}, "TEST": {"EPOCH": 3}}
    opts = parse_opts(["TRAIN.LR", "1e-4", "TEST.SEARCH_FACTOR", "4.5", "TRAIN.AMP", "true",
                       "MODEL.BACKBONE.CE_LOC", "[3, 6, 9]", "DATA.TRAIN.DATASETS_NAME", "[GOT10K_vottrain]",
                       "MODEL.HEAD.TYPE", "CENTER", "TRAIN.WEIGHT_DECAY", "-0.5"])
    assert opts["TRAIN"] == {"LR": 1e-4, "AMP": True, "WEIGHT_DECAY": -0.5}
    assert isinstance(opts["TRAIN"]["LR"], float)  # YAML 1.1 would leave "1e-4" a string
    assert opts["MODEL"] == {"BACKBONE": {"CE_LOC": [3, 6, 9]}, "HEAD": {"TYPE": "CENTER"}}
    assert opts["TEST"] == {"SEARCH_FACTOR": 4.5} and opts["DATA"]["TRAIN"]["DATASETS_NAME"] == ["GOT10K_vottrain"]
    assert parse_opts(None) == {} and parse_opts([]) == {}


@pytest.mark.parametrize("words, message", [
    ("TRAIN.EPOCH 2 TEST.EPOCH", "KEY VALUE pairs.*'TEST.EPOCH' has no value"),
    ("TRAIN.EPOCH 2 3 4", "'3' is not a config key"),
    ("TEST.EPOCH 2 TEST.EPOCH 3", "TEST.EPOCH is given twice"),
    ("TEST 2 TEST.EPOCH 3", "keys TEST and TEST.EPOCH overlap"),
    (["TEST.CE_LOC", "[3, 6"], "value '\\[3, 6' of TEST.CE_LOC is not valid YAML"),
    (["TEST.EPOCH", ""], "value of TEST.EPOCH is empty"),
])
def test_malformed_opts_are_config_errors(words, message):
    with pytest.raises(ConfigError, match=message):
        parse_opts(words)


def test_merge_validates_keys_types_and_values_as_a_yaml_file_does():
    cfg = load_script_config("ostrack", OSTRACK_CFG, parse_opts("TEST.SEARCH_FACTOR 4.5 TEST.EPOCH 280"))
    assert cfg.TEST.SEARCH_FACTOR == 4.5 and cfg.TEST.EPOCH == 280
    with pytest.raises(ConfigError, match="unknown key TEST.SEARCH_FACTR. Did you mean `SEARCH_FACTOR`"):
        load_script_config("ostrack", OSTRACK_CFG, parse_opts("TEST.SEARCH_FACTR 4.5"))
    with pytest.raises(ConfigError, match="key TEST.EPOCH must be an integer.*'abc'"):
        load_script_config("ostrack", OSTRACK_CFG, parse_opts("TEST.EPOCH abc"))
    with pytest.raises(ConfigError, match="unknown key TRACK.PENALTY_KK. Did you mean `PENALTY_K`"):
        load_script_config("siamrpn", "siamrpn_alex_dwxcorr", parse_opts("TRACK.PENALTY_KK 0.1"))


def test_every_parameter_function_passes_overrides_through():
    from lib.test.parameter import first_box, ostrack, siamban, siamfcpp, siamrpn

    params = ostrack.parameters(OSTRACK_CFG, resolve=False, overrides=parse_opts("TEST.SEARCH_FACTOR 4.5"))
    assert params.search_factor == 4.5 and params.cfg.TEST.SEARCH_FACTOR == 4.5
    for module, name in ((siamrpn, "siamrpn_alex_dwxcorr"), (siamban, "siamban_r50_l234")):
        params = module.parameters(name, resolve=False, overrides=parse_opts("TRACK.WINDOW_INFLUENCE 0.123"))
        assert params.cfg.TRACK.WINDOW_INFLUENCE == 0.123
    key = "test.track.pipeline.SiamFCppTracker.window_influence"
    params = siamfcpp.parameters("siamfcpp_alexnet", resolve=False, overrides=parse_opts(f"{key} 0.123"))
    assert params.window_influence == 0.123
    with pytest.raises(ConfigError, match="first_box tracker has no checkpoint and no config"):
        first_box.parameters("default", overrides={"TEST": {"EPOCH": 2}})


def test_test_py_refuses_a_bad_override_before_any_work(tmp_path, capsys):
    from test_custom_testset import write_custom_set

    root = write_custom_set(tmp_path / "set")
    test_py = load_tracking_script("test")
    args = ["ostrack", OSTRACK_CFG, "--dataset", "custom", "--data_dir", str(root), "--save_dir",
            str(tmp_path / "out"), "--no_progress", "--opts"]
    for opts, message in ((["TEST.SEARCH_FACTR", "4"], "Did you mean `SEARCH_FACTOR`"),
                          (["TEST.EPOCH"], "has no value")):
        with pytest.raises(SystemExit) as exit_info:
            test_py.run_cli(lambda: test_py.main(args + opts))
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out" / "test").exists()
