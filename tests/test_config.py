"""Config loading: defaults, the six original YAMLs, and every rejection case with its message."""

import pickle
import textwrap

import pytest
import yaml

from lib.config.ostrack.config import (
    TRAIN_DATASET_NAMES, get_defaults, list_configs, load_config, merge_config, save_config,
)
from lib.utils.errors import ConfigError

ORIGINAL_CONFIGS = [
    "vitb_256_mae_32x4_ep300", "vitb_256_mae_ce_32x4_ep300", "vitb_256_mae_ce_32x4_got10k_ep100",
    "vitb_384_mae_32x4_ep300", "vitb_384_mae_ce_32x4_ep300", "vitb_384_mae_ce_32x4_got10k_ep100",
]


def write_yaml(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_match_the_original():
    cfg = get_defaults()
    assert cfg.MODEL.PRETRAIN_FILE == "mae_pretrain_vit_base.pth"
    assert cfg.MODEL.BACKBONE.TYPE == "vit_base_patch16_224"
    assert cfg.MODEL.BACKBONE.CE_TEMPLATE_RANGE == "ALL"
    assert cfg.MODEL.HEAD.NUM_CHANNELS == 256
    assert (cfg.TRAIN.LR, cfg.TRAIN.EPOCH, cfg.TRAIN.LR_DROP_EPOCH, cfg.TRAIN.BATCH_SIZE) == (1e-4, 500, 400, 16)
    assert (cfg.TRAIN.GIOU_WEIGHT, cfg.TRAIN.L1_WEIGHT, cfg.TRAIN.GRAD_CLIP_NORM) == (2.0, 5.0, 0.1)
    assert (cfg.TRAIN.CE_START_EPOCH, cfg.TRAIN.CE_WARM_EPOCH, cfg.TRAIN.DROP_PATH_RATE) == (20, 80, 0.1)
    assert cfg.TRAIN.SCHEDULER.TYPE == "step" and cfg.TRAIN.SCHEDULER.DECAY_RATE == 0.1
    assert cfg.DATA.TRAIN.DATASETS_NAME == ["LASOT", "GOT10K_vottrain"]
    assert (cfg.DATA.SEARCH.SIZE, cfg.DATA.SEARCH.FACTOR, cfg.DATA.TEMPLATE.SIZE) == (320, 5.0, 128)
    assert (cfg.TEST.SEARCH_SIZE, cfg.TEST.EPOCH) == (320, 500)


def test_six_original_configs_load_with_their_values():
    assert set(ORIGINAL_CONFIGS) <= set(list_configs())
    b = load_config("vitb_256_mae_ce_32x4_ep300")
    assert b.MODEL.BACKBONE.TYPE == "vit_base_patch16_224_ce"
    assert b.MODEL.BACKBONE.CE_LOC == [3, 6, 9] and b.MODEL.BACKBONE.CE_KEEP_RATIO == [0.7, 0.7, 0.7]
    assert b.DATA.TRAIN.DATASETS_NAME == ["LASOT", "GOT10K_vottrain", "COCO17", "TRACKINGNET"]
    assert (b.DATA.SEARCH.SIZE, b.DATA.SEARCH.FACTOR, b.DATA.SEARCH.CENTER_JITTER) == (256, 4.0, 3)
    assert (b.TRAIN.LR, b.TRAIN.BATCH_SIZE, b.TRAIN.EPOCH, b.TEST.EPOCH) == (4e-4, 32, 300, 300)
    f = load_config("vitb_384_mae_ce_32x4_got10k_ep100")
    assert f.DATA.TRAIN.DATASETS_NAME == ["GOT10K_train_full"]
    assert f.DATA.VAL.DATASETS_NAME == ["GOT10K_official_val"]
    assert (f.TRAIN.CE_WARM_EPOCH, f.TRAIN.LR_DROP_EPOCH, f.TEST.SEARCH_SIZE, f.DATA.TEMPLATE.SIZE) == (50, 80, 384, 192)
    a = load_config("vitb_256_mae_32x4_ep300")
    assert a.MODEL.BACKBONE.CE_LOC == [] and a.MODEL.BACKBONE.CE_TEMPLATE_RANGE == "ALL"


def test_every_load_is_fresh_and_frozen():
    # The original merged into a global cfg, so a second YAML inherited the first's values (spec 8.1 item 4).
    a = load_config("vitb_384_mae_ce_32x4_ep300")
    b = load_config("vitb_256_mae_32x4_ep300")
    assert a.DATA.SEARCH.SIZE == 384 and b.DATA.SEARCH.SIZE == 256
    assert b.MODEL.BACKBONE.CE_LOC == []
    with pytest.raises(ConfigError, match="frozen"):
        a.TRAIN.LR = 1.0
    with pytest.raises(ConfigError, match="frozen"):
        a.DATA.TRAIN.SAMPLE_PER_EPOCH = 3
    editable = a.clone()
    editable.TRAIN.LR = 1.0
    assert editable.TRAIN.LR == 1.0 and a.TRAIN.LR == 4e-4
    assert pickle.loads(pickle.dumps(a)) == a and pickle.loads(pickle.dumps(a)).frozen


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write_yaml(tmp_path, """
        TRAIN:
          LR_DROP_EPOC: 10
    """)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert "TRAIN.LR_DROP_EPOC" in msg and "Did you mean `LR_DROP_EPOCH`" in msg and str(path) in msg


def test_key_in_the_wrong_section_is_pointed_to(tmp_path):
    path = write_yaml(tmp_path, "DATA:\n  GRAD_CLIP_NORM: 1.0\n")
    with pytest.raises(ConfigError, match=r"unknown key DATA.GRAD_CLIP_NORM.*TRAIN.GRAD_CLIP_NORM"):
        load_config(str(path))


@pytest.mark.parametrize("text, key, expected", [
    ("TRAIN:\n  LR: fast\n", "TRAIN.LR", "a number"),
    ("TRAIN:\n  EPOCH: 2.5\n", "TRAIN.EPOCH", "an integer"),
    ("TRAIN:\n  AMP: 1\n", "TRAIN.AMP", "a boolean"),
    ("MODEL:\n  BACKBONE:\n    CE_LOC: 3\n", "MODEL.BACKBONE.CE_LOC", "a list"),
    ("DATA:\n  TRAIN:\n    DATASETS_NAME: [1, 2]\n", "DATA.TRAIN.DATASETS_NAME", "a list of str"),
    ("MODEL:\n  HEAD: CENTER\n", "MODEL.HEAD", "a mapping"),
])
def test_wrong_type_names_key_file_and_expectation(tmp_path, text, key, expected):
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert key in msg and expected in msg and str(path) in msg


def test_integers_are_accepted_for_float_keys(tmp_path):
    path = write_yaml(tmp_path, "TRAIN:\n  LR: 1\nDATA:\n  SEARCH:\n    CENTER_JITTER: 3\n")
    cfg = load_config(str(path))
    assert cfg.TRAIN.LR == 1.0 and isinstance(cfg.TRAIN.LR, float)


@pytest.mark.parametrize("split", ["TRAIN", "VAL"])
def test_ratio_length_mismatch_is_rejected_at_load(tmp_path, split):
    # The original crashed in a data-loader worker ("The number of weights does not match the population").
    path = write_yaml(tmp_path, f"""
        DATA:
          {split}:
            DATASETS_NAME: [LASOT, GOT10K_vottrain, COCO17]
            DATASETS_RATIO: [1, 1]
    """)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert f"DATA.{split}.DATASETS_RATIO has 2" in msg and "DATASETS_NAME has 3" in msg and str(path) in msg


def test_unknown_dataset_name_lists_known_ones(tmp_path):
    path = write_yaml(tmp_path, "DATA:\n  TRAIN:\n    DATASETS_NAME: [GOT10K_votrain]\n    DATASETS_RATIO: [1]\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert "GOT10K_votrain" in msg and "Did you mean `GOT10K_vottrain`" in msg
    assert all(name in msg for name in TRAIN_DATASET_NAMES)


def test_missing_config_name_lists_configs():
    with pytest.raises(ConfigError) as err:
        load_config("vitb_256_mae_ce_32x4_ep30")
    msg = str(err.value)
    assert "does not exist" in msg and "vitb_256_mae_ce_32x4_ep300" in msg
    assert all(name in msg for name in ORIGINAL_CONFIGS)


def test_bad_choice_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="CE_TEMPLATE_RANGE.*must be one of"):
        load_config(str(write_yaml(tmp_path, "MODEL:\n  BACKBONE:\n    CE_TEMPLATE_RANGE: CENTER\n")))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(write_yaml(tmp_path, "TRAIN: [\n", name="broken.yaml")))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(str(write_yaml(tmp_path, "- 1\n", name="list.yaml")))


def test_cross_key_checks(tmp_path):
    with pytest.raises(ConfigError, match="CE_KEEP_RATIO has 1 entries but MODEL.BACKBONE.CE_LOC has 3"):
        load_config(str(write_yaml(tmp_path, "MODEL:\n  BACKBONE:\n    CE_LOC: [3, 6, 9]\n    CE_KEEP_RATIO: [0.7]\n")))
    with pytest.raises(ConfigError, match="DATA.SEARCH.SIZE .250. must be a multiple"):
        load_config(str(write_yaml(tmp_path, "DATA:\n  SEARCH:\n    SIZE: 250\n", name="b.yaml")))


def test_scheduler_keys_the_original_could_not_use_are_usable(tmp_path):
    path = write_yaml(tmp_path, """
        TRAIN:
          SCHEDULER:
            TYPE: Mstep
            MILESTONES: [200, 250]
            GAMMA: 0.5
            DECAY_RATE: 0.2
    """)
    cfg = load_config(str(path))
    assert cfg.TRAIN.SCHEDULER.MILESTONES == [200, 250] and cfg.TRAIN.SCHEDULER.GAMMA == 0.5
    assert cfg.TRAIN.SCHEDULER.DECAY_RATE == 0.2
    with pytest.raises(ConfigError, match="MILESTONES is empty"):
        load_config(str(write_yaml(tmp_path, "TRAIN:\n  SCHEDULER:\n    TYPE: Mstep\n", name="m.yaml")))


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("vitb_256_mae_ce_32x4_ep300")
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    reloaded = load_config(str(out))
    assert reloaded == cfg
    assert yaml.safe_load(out.read_text())["MODEL"]["BACKBONE"]["CE_LOC"] == [3, 6, 9]


def test_overrides_are_validated_like_files():
    cfg = merge_config(get_defaults(), {"TRAIN": {"EPOCH": 3}})
    assert cfg.TRAIN.EPOCH == 3
    with pytest.raises(ConfigError, match="unknown key TRAIN.EPOCHS"):
        merge_config(get_defaults(), {"TRAIN": {"EPOCHS": 3}})
    with pytest.raises(ConfigError, match="<overrides>: key TRAIN.EPOCH must be an integer"):
        load_config("vitb_256_mae_ce_32x4_ep300", overrides={"TRAIN": {"EPOCH": "3"}})
