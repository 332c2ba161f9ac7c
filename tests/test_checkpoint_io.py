"""Safe checkpoint loading: original-layout files with pickled objects load, malicious pickles are refused."""

import builtins
import os
import pickle
import sys
import types
from collections import OrderedDict

import pytest
import torch

from lib.config.ostrack.config import get_defaults, merge_config
from lib.models.ostrack import build_ostrack
from lib.utils.checkpoint_io import PickledStub, load_checkpoint, load_net_state_dict
from lib.utils.errors import CheckpointError


def tiny_model():
    cfg = get_defaults()
    merge_config(cfg, {"MODEL": {"PRETRAIN_FILE": "",
                                 "BACKBONE": {"TYPE": "vit_tiny_patch16_224_ce", "CE_LOC": [3, 6, 9],
                                              "CE_KEEP_RATIO": [0.7, 0.7, 0.7], "CE_TEMPLATE_RANGE": "CTR_POINT"}},
                       "DATA": {"SEARCH": {"SIZE": 128}, "TEMPLATE": {"SIZE": 64}}})
    return build_ostrack(cfg.freeze(), training=False).eval()


class _SideEffects:
    """Records whether any code of the pickled classes ran while loading."""
    ran = []


def _fake_module(monkeypatch, name: str, **classes) -> None:
    module = types.ModuleType(name)
    for cls_name, cls in classes.items():
        cls.__module__, cls.__qualname__, cls.__name__ = name, cls_name, cls_name
        setattr(module, cls_name, cls)
    monkeypatch.setitem(sys.modules, name, module)


def save_original_layout(path, state_dict, monkeypatch) -> None:
    """Write a checkpoint as the original trainer did: net + optimizer + pickled settings/stats objects."""

    class Settings:
        def __setstate__(self, state):
            _SideEffects.ran.append("Settings.__setstate__")
            self.__dict__.update(state)

    class EnvironmentSettings:
        pass

    class AverageMeter:
        pass

    with monkeypatch.context() as m:
        # The original's class paths, registered only while saving: loading must neither import nor run them.
        _fake_module(m, "lib.train.admin.settings", Settings=Settings)
        _fake_module(m, "lib.train.admin.local", EnvironmentSettings=EnvironmentSettings)
        _fake_module(m, "lib.train.admin.stats", AverageMeter=AverageMeter)
        settings = Settings()
        settings.__dict__.update(script_name="ostrack", config_name="vitb_256_mae_ce_32x4_ep300", local_rank=-1,
                                 search_area_factor={"template": 2.0, "search": 4.0}, env=EnvironmentSettings())
        settings.env.workspace_dir = "/home/someone/OSTrack"
        meter = AverageMeter()
        meter.__dict__.update(val=0.5, avg=0.7, sum=7.0, count=10)
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))])
        torch.save({"epoch": 300, "actor_type": "OSTrackActor", "net_type": "OSTrack", "net": state_dict,
                    "net_info": None, "constructor": None, "optimizer": optimizer.state_dict(),
                    "stats": OrderedDict(train=OrderedDict({"Loss/total": meter})), "settings": settings}, path)


def test_original_layout_checkpoint_loads_strictly_without_running_pickled_code(tmp_path, monkeypatch):
    model = tiny_model()
    path = tmp_path / "OSTrack_ep0300.pth.tar"
    save_original_layout(path, model.state_dict(), monkeypatch)
    with pytest.raises(pickle.UnpicklingError):  # the plain weights-only loader rejects this file
        torch.load(path, weights_only=True)
    _SideEffects.ran.clear()

    ckpt = load_checkpoint(path)
    assert _SideEffects.ran == []
    assert isinstance(ckpt["settings"], PickledStub) and ckpt["settings"].script_name == "ostrack"
    assert ckpt["settings"].env.workspace_dir == "/home/someone/OSTrack"
    assert ckpt["stats"]["train"]["Loss/total"].avg == 0.7
    assert ckpt["epoch"] == 300

    fresh = tiny_model()
    fresh.load_state_dict(load_net_state_dict(path), strict=True)
    z, x = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(fresh(z, x)["pred_boxes"], model(z, x)["pred_boxes"])


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Evals:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("payload", [_RunsShell, _Evals])
@pytest.mark.parametrize("where", ["top", "settings"])
def test_malicious_pickle_is_refused(tmp_path, payload, where):
    marker = tmp_path / "pwned"
    obj = {"net": {"w": torch.zeros(2)}}
    if where == "top":
        obj["evil"] = payload(marker)
    else:
        obj["settings"] = {"env": [payload(marker)]}
    path = tmp_path / "evil.pth.tar"
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_net_state_dict(path)
    assert not marker.exists()


def test_plain_state_dict_and_net_dict_files(tmp_path):
    state = {"a": torch.ones(2), "b": torch.zeros(1)}
    torch.save(state, tmp_path / "plain.pth")
    torch.save({"net": state, "epoch": 3}, tmp_path / "ours.pth.tar")
    for name in ("plain.pth", "ours.pth.tar"):
        loaded = load_net_state_dict(tmp_path / name)
        assert set(loaded) == {"a", "b"} and torch.equal(loaded["a"], state["a"])


def test_missing_unreadable_and_unexpected_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth")
    (tmp_path / "garbage.pth").write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pth"):
        load_checkpoint(tmp_path / "garbage.pth")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_checkpoint(tmp_path / "list.pth")
    torch.save({"epoch": 1, "notes": "x"}, tmp_path / "nonet.pth")
    with pytest.raises(CheckpointError, match="no 'net' entry"):
        load_net_state_dict(tmp_path / "nonet.pth")
