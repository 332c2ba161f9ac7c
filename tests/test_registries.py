"""The registries of the per-script seam: one table per concept, unknown names answered with the known ones."""

import pytest
import torch
from torch import nn

from lib.config import CONFIG_SCHEMAS
from lib.config.ostrack.config import get_defaults, merge_config
from lib.models.registry import MODEL_BUILDERS
from lib.train.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_optimizer_from_groups
from lib.train.train_script import TRAIN_SCRIPTS
from lib.utils.errors import ConfigError
from lib.utils.registry import Registry, UnknownNameError
from script_loader import load_tracking_script


def test_every_family_is_in_every_table():
    assert set(TRAIN_SCRIPTS) == set(CONFIG_SCHEMAS) == set(MODEL_BUILDERS) == {"ostrack", "siamrpn", "siamban",
                                                                                   "siamfcpp"}


def test_unknown_name_message_lists_known_names_and_suggests():
    table = Registry("widget", "CFG.WIDGET", {"alpha": 1, "beta": "math:pi"})
    assert table.get("beta") == pytest.approx(3.14159, abs=1e-5)  # lazy entries are imported on use
    with pytest.raises(UnknownNameError) as err:
        table.get("alpah")
    assert str(err.value) == "CFG.WIDGET: unknown widget 'alpah'. Did you mean `alpha`? Known widgets: alpha, beta."
    with pytest.raises(ValueError, match="registered twice"):
        table.register("alpha", 2)


def test_train_py_refuses_an_unknown_script_before_starting(tmp_path):
    main = load_tracking_script("train").main
    with pytest.raises(ConfigError) as err:
        main(["--script", "siamrnp", "--config", "x", "--mode", "single", "--save_dir", str(tmp_path)])
    msg = str(err.value)
    assert "--script" in msg and "Did you mean `siamrpn`" in msg and all(name in msg for name in TRAIN_SCRIPTS)
    assert not any(tmp_path.iterdir())


def test_unknown_optimizer_and_scheduler_list_the_known_ones():
    params = [{"params": [nn.Parameter(torch.zeros(2))], "lr": 0.1}]
    with pytest.raises(ConfigError) as err:
        build_optimizer_from_groups("ADAM", params, 0.1, 0.0, where="TRAIN.OPTIMIZER")
    assert "TRAIN.OPTIMIZER" in str(err.value) and "ADAMW" in str(err.value) and "SGD" in str(err.value)
    with pytest.raises(ConfigError) as err:
        SCHEDULERS.get("exponential")
    assert all(name in str(err.value) for name in ("step", "Mstep", "cosine", "pysot"))
    cfg = get_defaults()
    with pytest.raises(ConfigError, match="'ADAMW', 'SGD'"):
        merge_config(cfg, {"TRAIN": {"OPTIMIZER": "RMSPROP"}})


def test_ostrack_config_can_choose_sgd_with_nesterov():
    cfg = merge_config(get_defaults(), {"TRAIN": {"OPTIMIZER": "SGD", "MOMENTUM": 0.8, "NESTEROV": True,
                                                  "WEIGHT_DECAY": 0.01}})
    net = nn.Sequential()
    net.add_module("backbone", nn.Linear(2, 2))
    net.add_module("box_head", nn.Linear(2, 2))
    optimizer = build_optimizer(cfg, net)
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert group["momentum"] == 0.8 and group["nesterov"] and group["weight_decay"] == 0.01
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([1e-4, 1e-5])
    with pytest.raises(ConfigError, match="Nesterov"):
        build_optimizer_from_groups("SGD", [{"params": list(net.parameters())}], 0.1, 0.0, momentum=0.0,
                                    nesterov=True)
    assert set(OPTIMIZERS) == {"ADAMW", "SGD"}
