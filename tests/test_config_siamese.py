"""The per-script seam on the config side: the PySOT / SiamBAN schemas over the shared strict-merge core.

Every bad-YAML case of OSTrack's config is checked for the new schemas (unknown key with a suggestion, wrong
type, value checks, a missing config), plus what PySOT's yacs files need: KWARGS / DATASET nodes that take new
keys, the released _lt YAML's three unknown keys (spec quirk 11: accepted and ignored), and the merged configs
equal to the original's for every reference config.
"""

import textwrap

import pytest

from lib.config import CONFIG_SCHEMAS, core, load_script_config, script_config_path
from lib.utils.errors import ConfigError
from siamese_reference import load_reference

FAMILIES = ("siamrpn", "siamban")


def write_yaml(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("script", FAMILIES)
def test_every_experiment_yaml_loads_frozen(script):
    names = core.list_configs(script)
    assert len(names) >= 2
    for name in names:
        cfg = load_script_config(script, name)
        assert cfg.frozen and cfg.TRACK.EXEMPLAR_SIZE == 127


@pytest.mark.parametrize("config, script", [
    ("siamrpn_r50_l234_dwxcorr", "siamrpn"), ("siamrpn_alex_dwxcorr", "siamrpn"),
    ("siamrpn_mobilev2_l234_dwxcorr", "siamrpn"), ("siamban_r50_l234", "siamban")])
def test_merged_config_equals_the_originals(config, script):
    ref = load_reference(f"{config}_reference.pt")
    overrides = {}
    for key, value in zip(ref["train_overrides"][::2], ref["train_overrides"][1::2]):  # alex: the 16gpu sizes
        section, leaf = key.split(".")
        overrides.setdefault(section, {})[leaf] = int(value)
    mine = load_script_config(script, config, overrides).to_dict()

    def compare(original, ours, prefix=""):
        for key, value in original.items():
            assert key in ours, f"{prefix}{key} missing"
            if isinstance(value, dict):
                compare(value, ours[key], f"{prefix}{key}.")
            else:
                got = ours[key]
                assert (list(got) if isinstance(got, (list, tuple)) else got) == \
                    (list(value) if isinstance(value, (list, tuple)) else value), f"{prefix}{key}"

    compare(ref["cfg"], mine)


def test_a_pysot_config_yaml_path_loads_with_kwargs_and_new_datasets(tmp_path):
    path = write_yaml(tmp_path, """
        META_ARC: "my_run"
        BACKBONE:
            TYPE: "resnet50"
            KWARGS:
                used_layers: [2, 3, 4]
        RPN:
            TYPE: 'MultiRPN'
            KWARGS: {anchor_num: 5, in_channels: [256, 256, 256], weighted: true}
        DATASET:
            NAMES: ['GOT10K']
            GOT10K:
                ROOT: 'training_dataset/got_10k/crop511'
                ANNO: 'training_dataset/got_10k/train.json'
                FRAME_RANGE: 100
                NUM_USE: 1000
    """, name="config.yaml")
    cfg = load_script_config("siamrpn", str(path), overrides={"DATASET": {"GOT10K": {"NUM_USE": 50}}})
    assert cfg.BACKBONE.KWARGS.used_layers == [2, 3, 4] and cfg.RPN.KWARGS.weighted is True
    assert cfg.DATASET.GOT10K.FRAME_RANGE == 100 and cfg.DATASET.GOT10K.NUM_USE == 50


def test_lt_config_keys_are_accepted_and_ignored(caplog):
    cfg = load_script_config("siamrpn", "siamrpn_r50_l234_dwxcorr_lt")  # yacs rejected this file (quirk 11)
    assert "CHANNELS" not in cfg.BACKBONE and "WEIGHTED" not in cfg.RPN and "ADJUST_CHANNEL" not in cfg.ADJUST
    assert sum("is not used" in r.getMessage() for r in caplog.records) == 3
    assert cfg.TRACK.TYPE == "SiamRPNLTTracker" and cfg.ADJUST.KWARGS.out_channels == [128, 256, 512]


@pytest.mark.parametrize("script", FAMILIES)
def test_unknown_key_suggests_the_closest(tmp_path, script):
    path = write_yaml(tmp_path, "TRACK:\n    WINDOW_INFLUENSE: 0.4\n")
    with pytest.raises(ConfigError) as err:
        load_script_config(script, str(path))
    msg = str(err.value)
    assert "TRACK.WINDOW_INFLUENSE" in msg and "Did you mean `WINDOW_INFLUENCE`" in msg and str(path) in msg


def test_declared_dataset_nodes_stay_strict(tmp_path):
    # DATASET takes new dataset nodes, but the keys of a declared one are checked (as yacs)
    path = write_yaml(tmp_path, "DATASET:\n    VID:\n        FRAME_RANG: 10\n")
    with pytest.raises(ConfigError, match=r"DATASET.VID.FRAME_RANG.*Did you mean `FRAME_RANGE`"):
        load_script_config("siamrpn", str(path))


def test_siamban_has_no_rpn_or_anchor_nodes(tmp_path):
    path = write_yaml(tmp_path, "ANCHOR:\n    STRIDE: 8\n")
    with pytest.raises(ConfigError, match="unknown key ANCHOR"):
        load_script_config("siamban", str(path))


@pytest.mark.parametrize("script", FAMILIES)
@pytest.mark.parametrize("text, key, expected", [
    ("TRAIN:\n    BASE_LR: fast\n", "TRAIN.BASE_LR", "a number"),
    ("TRAIN:\n    EPOCH: 2.5\n", "TRAIN.EPOCH", "an integer"),
    ("TRAIN:\n    LOG_GRADS: 1\n", "TRAIN.LOG_GRADS", "a boolean"),
    ("BACKBONE:\n    TRAIN_LAYERS: layer2\n", "BACKBONE.TRAIN_LAYERS", "a list"),
    ("TRACK: SiamRPNTracker\n", "TRACK", "a mapping"),
])
def test_wrong_type_names_key_file_and_expectation(tmp_path, script, text, key, expected):
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_script_config(script, str(path))
    msg = str(err.value)
    assert key in msg and expected in msg and str(path) in msg


@pytest.mark.parametrize("script", FAMILIES)
@pytest.mark.parametrize("text, key", [
    ("TRAIN:\n    EPOCH: 0\n", "TRAIN.EPOCH"),
    ("TRAIN:\n    BATCH_SIZE: -4\n", "TRAIN.BATCH_SIZE"),
    ("TRAIN:\n    BASE_LR: 0.0\n", "TRAIN.BASE_LR"),
    ("TRAIN:\n    NUM_WORKERS: -1\n", "TRAIN.NUM_WORKERS"),
    ("TRAIN:\n    LR_WARMUP:\n        EPOCH: -1\n", "TRAIN.LR_WARMUP.EPOCH"),
    ("TRAIN:\n    EPOCH: 4\n", "TRAIN.LR_WARMUP.EPOCH"),  # warm-up (5) as long as the run
    ("TRAIN:\n    OUTPUT_SIZE: 17\n", "TRAIN.OUTPUT_SIZE"),
    ("TRACK:\n    WINDOW_INFLUENCE: 1.5\n", "TRACK.WINDOW_INFLUENCE"),
    ("TRACK:\n    INSTANCE_SIZE: 100\n", "TRACK.INSTANCE_SIZE"),
    ("DATASET:\n    NEG: 2.0\n", "DATASET.NEG"),
    ("DATASET:\n    SEARCH:\n        SHIFT: -3\n", "DATASET.SEARCH.SHIFT"),
    ("DATASET:\n    NAMES: ['MYDATA']\n", "DATASET.MYDATA"),
    ("DATASET:\n    VID:\n        NUM_USE: 0\n", "DATASET.VID.NUM_USE"),
    ("TEST:\n    EPOCH: -2\n", "TEST.EPOCH"),
])
def test_value_checks_name_key_file_and_value(tmp_path, script, text, key):
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_script_config(script, str(path))
    assert key in str(err.value) and str(path) in str(err.value)


def test_anchor_and_threshold_checks(tmp_path):
    for text, key in (("ANCHOR:\n    STRIDE: 0\n", "ANCHOR.STRIDE"), ("ANCHOR:\n    RATIOS: []\n", "ANCHOR.RATIOS"),
                      ("TRAIN:\n    THR_LOW: 0.7\n", "THR_LOW"), ("MASK:\n    MASK: true\n", "SiamMask")):
        with pytest.raises(ConfigError, match=key):
            load_script_config("siamrpn", str(write_yaml(tmp_path, text)))


@pytest.mark.parametrize("text, what", [
    ("TRAIN:\n    EPOCH: 5\n    EPOCH: 6\n", "appears twice"),
    ("", "empty"),
    ("- a\n- b\n", "mapping"),
    ("TRAIN: [\n", "not valid YAML"),
])
def test_duplicate_keys_empty_and_broken_files_are_rejected(tmp_path, text, what):
    path = write_yaml(tmp_path, text)
    for script in ("ostrack", *FAMILIES):
        with pytest.raises(ConfigError, match=what):
            load_script_config(script, str(path))


def test_missing_config_and_unknown_script_list_the_known_ones():
    with pytest.raises(ConfigError) as err:
        script_config_path("siamrpn", "siamrpn_r50_l234_dwxcor")
    assert "Did you mean `siamrpn_r50_l234_dwxcorr`" in str(err.value) and "siamrpn_alex_dwxcorr" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_script_config("siamrnp", "x")
    assert "Did you mean `siamrpn`" in str(err.value) and all(name in str(err.value) for name in CONFIG_SCHEMAS)


@pytest.mark.parametrize("script", ["ostrack", "siamrpn", "siamban", "siamfcpp"])
def test_a_saved_run_config_loads_back_equal(tmp_path, script):
    # the merged config written into a run folder is itself a valid experiment file of the family
    for name in core.list_configs(script):
        cfg = load_script_config(script, name)
        path = core.save_config(cfg, tmp_path / script / f"{name}.yaml")
        assert load_script_config(script, str(path)) == cfg, name
