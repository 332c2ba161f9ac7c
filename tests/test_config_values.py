"""Value checks of the OSTrack config at load (issue 15 part 4): each bad value is refused naming the file, the
key, the value and what is expected, instead of a traceback (or NaN losses, or a run that trains nothing) later."""

import textwrap

import pytest

from lib.config.ostrack.config import get_defaults, list_configs, load_config, merge_config
from lib.utils.errors import ConfigError


def write_yaml(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def nested(dotted: str, value) -> dict:
    """{"A": {"B": value}} from "A.B"."""
    out = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


# (overrides as YAML, key named in the message, value as shown in the message, words of the expectation)
BAD_VALUES = [
    ("TRAIN:\n  EPOCH: 0\n", "TRAIN.EPOCH", "0", "a positive integer"),
    ("TRAIN:\n  EPOCH: -1\n", "TRAIN.EPOCH", "-1", "a positive integer"),
    ("TRAIN:\n  BATCH_SIZE: 0\n", "TRAIN.BATCH_SIZE", "0", "a positive integer"),
    ("TRAIN:\n  NUM_WORKER: -1\n", "TRAIN.NUM_WORKER", "-1", "an integer >= 0"),
    ("TRAIN:\n  LR: 0\n", "TRAIN.LR", "0.0", "a finite number > 0"),
    ("TRAIN:\n  LR: -0.0001\n", "TRAIN.LR", "-0.0001", "a finite number > 0"),
    ("TRAIN:\n  LR: .inf\n", "TRAIN.LR", "inf", "a finite number > 0"),
    ("TRAIN:\n  WEIGHT_DECAY: -0.1\n", "TRAIN.WEIGHT_DECAY", "-0.1", "a finite number >= 0"),
    ("TRAIN:\n  BACKBONE_MULTIPLIER: -1\n", "TRAIN.BACKBONE_MULTIPLIER", "-1.0", "a finite number >= 0"),
    ("TRAIN:\n  GIOU_WEIGHT: .nan\n", "TRAIN.GIOU_WEIGHT", "nan", "a finite number >= 0"),
    ("TRAIN:\n  GRAD_CLIP_NORM: -0.1\n", "TRAIN.GRAD_CLIP_NORM", "-0.1", "a finite number >= 0"),
    ("TRAIN:\n  DROP_PATH_RATE: 1.0\n", "TRAIN.DROP_PATH_RATE", "1.0", "in [0.0, 1.0)"),
    ("TRAIN:\n  DROP_PATH_RATE: -0.1\n", "TRAIN.DROP_PATH_RATE", "-0.1", "in [0.0, 1.0)"),
    ("TRAIN:\n  MOMENTUM: 1.0\n", "TRAIN.MOMENTUM", "1.0", "in [0.0, 1.0)"),
    ("TRAIN:\n  PRINT_INTERVAL: 0\n", "TRAIN.PRINT_INTERVAL", "0", "a positive integer"),
    ("TRAIN:\n  VAL_EPOCH_INTERVAL: 0\n", "TRAIN.VAL_EPOCH_INTERVAL", "0", "a positive integer"),
    ("TRAIN:\n  SAVE_INTERVAL: -40\n", "TRAIN.SAVE_INTERVAL", "-40", "an integer >= 0"),
    ("TRAIN:\n  SAVE_LAST: -1\n", "TRAIN.SAVE_LAST", "-1", "an integer >= 0"),
    ("TRAIN:\n  SAVE_EPOCHS: [79, 0]\n", "TRAIN.SAVE_EPOCHS", "[79, 0]", "epoch numbers >= 1"),
    ("TRAIN:\n  MAX_NONFINITE_STEPS: -1\n", "TRAIN.MAX_NONFINITE_STEPS", "-1", "an integer >= 0"),
    ("TRAIN:\n  CE_START_EPOCH: -1\n", "TRAIN.CE_START_EPOCH", "-1", "an integer >= 0"),
    ("TRAIN:\n  CE_WARM_EPOCH: -5\n", "TRAIN.CE_WARM_EPOCH", "-5", "an integer >= 0"),
    ("TRAIN:\n  FREEZE_LAYERS: [-1]\n", "TRAIN.FREEZE_LAYERS", "[-1]", "a one-element list [n] with n >= 0"),
    ("TRAIN:\n  FREEZE_LAYERS: [1, 2]\n", "TRAIN.FREEZE_LAYERS", "[1, 2]", "a one-element list [n] with n >= 0"),
    ("TRAIN:\n  LR_DROP_EPOCH: 0\n", "TRAIN.LR_DROP_EPOCH", "0", "a positive number of epochs"),
    ("TRAIN:\n  SCHEDULER:\n    WARMUP_EPOCH: -1\n", "TRAIN.SCHEDULER.WARMUP_EPOCH", "-1", "an integer >= 0"),
    ("TRAIN:\n  EPOCH: 10\n  SCHEDULER:\n    WARMUP_EPOCH: 11\n", "TRAIN.SCHEDULER.WARMUP_EPOCH", "11",
     "at most TRAIN.EPOCH (10)"),
    ("TRAIN:\n  SCHEDULER:\n    WARMUP_FACTOR: 1.5\n", "TRAIN.SCHEDULER.WARMUP_FACTOR", "1.5", "in [0.0, 1.0]"),
    ("TRAIN:\n  SCHEDULER:\n    DECAY_RATE: 0\n", "TRAIN.SCHEDULER.DECAY_RATE", "0.0", "a finite number > 0"),
    ("TRAIN:\n  SCHEDULER:\n    GAMMA: -0.1\n", "TRAIN.SCHEDULER.GAMMA", "-0.1", "a finite number > 0"),
    ("TRAIN:\n  SCHEDULER:\n    TYPE: Mstep\n    MILESTONES: [0, 10]\n", "TRAIN.SCHEDULER.MILESTONES", "[0, 10]",
     "whole epoch numbers >= 1"),
    ("TRAIN:\n  SCHEDULER:\n    TYPE: Mstep\n    MILESTONES: [2.5]\n", "TRAIN.SCHEDULER.MILESTONES", "[2.5]",
     "whole epoch numbers >= 1"),
    ("TRAIN:\n  LR: 0.001\n  SCHEDULER:\n    TYPE: cosine\n    MIN_LR: 0.01\n", "TRAIN.SCHEDULER.MIN_LR", "0.01",
     "at most TRAIN.LR (0.001)"),
    ("TRAIN:\n  SCHEDULER:\n    MIN_LR: -1\n", "TRAIN.SCHEDULER.MIN_LR", "-1.0", "a finite number >= 0"),
    ("TRAIN:\n  OPTIMIZER: SGD\n  NESTEROV: true\n  MOMENTUM: 0\n", "TRAIN.MOMENTUM", "0.0",
     "positive with TRAIN.NESTEROV true"),
    ("MODEL:\n  BACKBONE:\n    STRIDE: 0\n", "MODEL.BACKBONE.STRIDE", "0", "a positive integer"),
    ("MODEL:\n  HEAD:\n    NUM_CHANNELS: 0\n", "MODEL.HEAD.NUM_CHANNELS", "0", "a positive integer"),
    ("MODEL:\n  BACKBONE:\n    CE_LOC: [3, 3]\n    CE_KEEP_RATIO: [0.7, 0.7]\n", "MODEL.BACKBONE.CE_LOC", "[3, 3]",
     "distinct block indices >= 0"),
    ("MODEL:\n  BACKBONE:\n    CE_LOC: [-1]\n    CE_KEEP_RATIO: [0.7]\n", "MODEL.BACKBONE.CE_LOC", "[-1]",
     "distinct block indices >= 0"),
    ("MODEL:\n  BACKBONE:\n    CE_LOC: [3]\n    CE_KEEP_RATIO: [1.5]\n", "MODEL.BACKBONE.CE_KEEP_RATIO", "[1.5]",
     "(0, 1]"),
    ("DATA:\n  SEARCH:\n    SIZE: 0\n", "DATA.SEARCH.SIZE", "0", "a positive integer"),
    ("DATA:\n  TEMPLATE:\n    SIZE: -128\n", "DATA.TEMPLATE.SIZE", "-128", "a positive integer"),
    ("DATA:\n  SEARCH:\n    FACTOR: 0\n", "DATA.SEARCH.FACTOR", "0.0", "a finite number > 0"),
    ("DATA:\n  TEMPLATE:\n    FACTOR: .nan\n", "DATA.TEMPLATE.FACTOR", "nan", "a finite number > 0"),
    ("DATA:\n  SEARCH:\n    CENTER_JITTER: -1\n", "DATA.SEARCH.CENTER_JITTER", "-1", "a finite number >= 0"),
    ("DATA:\n  TEMPLATE:\n    SCALE_JITTER: -0.5\n", "DATA.TEMPLATE.SCALE_JITTER", "-0.5", "a finite number >= 0"),
    ("DATA:\n  SEARCH:\n    NUMBER: 0\n", "DATA.SEARCH.NUMBER", "0", "a positive integer"),
    ("DATA:\n  TEMPLATE:\n    NUMBER: -1\n", "DATA.TEMPLATE.NUMBER", "-1", "a positive integer"),
    ("DATA:\n  MAX_SAMPLE_INTERVAL: 0\n", "DATA.MAX_SAMPLE_INTERVAL", "0", "a positive integer"),
    ("DATA:\n  MEAN: [0.485, 0.456]\n", "DATA.MEAN", "[0.485, 0.456]", "a list of 3 numbers"),
    ("DATA:\n  STD: [0.2, 0.2, 0.2, 0.2]\n", "DATA.STD", "[0.2, 0.2, 0.2, 0.2]", "a list of 3 numbers"),
    ("DATA:\n  STD: [0.229, 0, 0.225]\n", "DATA.STD", "[0.229, 0.0, 0.225]", "a zero STD divides by zero"),
    ("DATA:\n  MEAN: [123.7, 116.3, 103.5]\n", "DATA.MEAN", "[123.7, 116.3, 103.5]", "the 0-1 scale"),
    ("DATA:\n  TRAIN:\n    SAMPLE_PER_EPOCH: 0\n", "DATA.TRAIN.SAMPLE_PER_EPOCH", "0", "a positive integer"),
    ("DATA:\n  VAL:\n    SAMPLE_PER_EPOCH: 8\n", "DATA.VAL.SAMPLE_PER_EPOCH", "8", "at least TRAIN.BATCH_SIZE (16)"),
    ("DATA:\n  TRAIN:\n    DATASETS_NAME: []\n    DATASETS_RATIO: []\n", "DATA.TRAIN.DATASETS_NAME", "[]",
     "a non-empty list of dataset names"),
    ("DATA:\n  VAL:\n    DATASETS_RATIO: [.nan]\n", "DATA.VAL.DATASETS_RATIO", "[nan]", "finite numbers"),
    ("TEST:\n  SEARCH_SIZE: 0\n", "TEST.SEARCH_SIZE", "0", "a positive integer"),
    ("TEST:\n  TEMPLATE_SIZE: 120\n", "TEST.TEMPLATE_SIZE", "120", "a multiple of MODEL.BACKBONE.STRIDE (16)"),
    ("TEST:\n  SEARCH_FACTOR: -5\n", "TEST.SEARCH_FACTOR", "-5.0", "a finite number > 0"),
    ("TEST:\n  TEMPLATE_FACTOR: 0\n", "TEST.TEMPLATE_FACTOR", "0.0", "a finite number > 0"),
    ("TEST:\n  EPOCH: 0\n", "TEST.EPOCH", "0", "a positive integer"),
]


@pytest.mark.parametrize("text, key, shown, expected", BAD_VALUES, ids=[case[1] for case in BAD_VALUES])
def test_bad_value_names_file_key_value_and_expectation(tmp_path, text, key, shown, expected):
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert str(path) in msg and key in msg and shown in msg and expected in msg, msg
    assert "\n" not in msg.strip()  # one paragraph


@pytest.mark.parametrize("name", list_configs())
def test_every_shipped_experiment_loads(name):
    cfg = load_config(name)
    assert cfg.TRAIN.EPOCH > 0 and cfg.frozen


def test_defaults_pass_their_own_checks():
    cfg = merge_config(get_defaults(), {})
    assert cfg.TRAIN.EPOCH == 500


@pytest.mark.parametrize("key, value", [
    ("TRAIN.SAVE_INTERVAL", 0),  # 0 = no interval checkpoints (the final and SAVE_LAST ones are still written)
    ("TRAIN.NUM_WORKER", 0),
    ("TRAIN.GRAD_CLIP_NORM", 0.0),  # 0 = no clipping
    ("TRAIN.DROP_PATH_RATE", 0.0),
    ("TRAIN.SCHEDULER.WARMUP_EPOCH", 500),  # equal to TRAIN.EPOCH
    ("TRAIN.SCHEDULER.WARMUP_FACTOR", 1.0),
    ("TRAIN.SAVE_LAST", 0),
    ("TRAIN.FREEZE_LAYERS", [0]),
    ("DATA.VAL.SAMPLE_PER_EPOCH", 16),  # exactly one batch
    ("DATA.SEARCH.SCALE_JITTER", 0),
    ("MODEL.BACKBONE.CE_LOC", []),
])
def test_boundary_values_are_accepted(key, value):
    update = nested(key, value)
    if key == "MODEL.BACKBONE.CE_LOC":
        update["MODEL"]["BACKBONE"]["CE_KEEP_RATIO"] = []
    merge_config(get_defaults(), update)


def test_overrides_are_checked_like_the_file():
    # --opts TRAIN.EPOCH 0 reaches load_config as overrides; the error names the key and the value.
    with pytest.raises(ConfigError, match=r"TRAIN\.EPOCH is 0, but it must be a positive integer"):
        load_config("vitn_128_ce_synthetic", overrides={"TRAIN": {"EPOCH": 0}})
    with pytest.raises(ConfigError, match=r"<overrides>: TRAIN\.SCHEDULER\.WARMUP_EPOCH is -2"):
        merge_config(get_defaults(), {"TRAIN": {"SCHEDULER": {"WARMUP_EPOCH": -2}}})


def test_duplicated_key_and_empty_file_are_refused(tmp_path):
    # The last LR line used to win silently.
    path = write_yaml(tmp_path, "TRAIN:\n  LR: 0.0004\n  EPOCH: 300\n  LR: 0.004\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert str(path) in msg and "'LR' appears twice" in msg and "lines 2 and 4" in msg
    empty = write_yaml(tmp_path, "# nothing here\n", name="empty.yaml")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the file is empty"):
        load_config(str(empty))
