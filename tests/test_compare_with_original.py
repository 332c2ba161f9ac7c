"""lib/utils/foreign_import.py and tracking/compare_with_original.py, against fake original trees."""

import importlib
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import lib.models
from lib.utils.cli import run_cli
from lib.utils.foreign_import import install_foreign_package, rewrite_imports, uninstall_foreign_package
from script_loader import load_tracking_script

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "experiments" / "ostrack" / "vitn_128_ce_synthetic.yaml"


def load_script():
    return load_tracking_script("compare_with_original")


def write_tree(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def alias():
    name = "fake_foreign_lib"
    yield name
    uninstall_foreign_package(name)


def test_rewrite_imports_keeps_lines_and_touches_only_import_statements():
    src = ("from lib.models.b import X\nimport lib.utils.box_ops\nimport lib.a as a\nfrom library import y\n"
           "from .b import X\nfrom timm.models.layers import Mlp\nfrom timm.models.helpers import named_apply\n"
           "s = 'from lib.models import z'\n")
    out = rewrite_imports(src, "orig")
    assert out.splitlines() == [
        "from orig.models.b import X", "import orig.utils.box_ops; import orig as lib", "import orig.a as a",
        "from library import y", "from .b import X", "from timm.layers import Mlp",
        "from timm.models import named_apply", "s = 'from lib.models import z'"]


def test_importer_serves_the_foreign_tree_under_the_alias_only(tmp_path, alias):
    write_tree(tmp_path, {
        "lib/__init__.py": "",
        "lib/models/__init__.py": "ORIGIN = 'fake'\n",
        "lib/models/a.py": """\
            from lib.models.b import X
            from timm.models.layers import Mlp
            import lib.models.b


            def fail():
                raise RuntimeError("from the fake tree")
            """,
        "lib/models/b.py": "X = 41 + 1\n",
        "lib/utils/c.py": "from .d import Y\n",  # a folder without __init__.py
        "lib/utils/d.py": "Y = 'y'\n",
    })
    install_foreign_package(tmp_path / "lib", alias)
    a = importlib.import_module(f"{alias}.models.a")
    assert a.X == 42 and a.lib.models.b.X == 42
    assert a.Mlp is importlib.import_module("timm.layers").Mlp
    assert Path(a.__file__) == (tmp_path / "lib" / "models" / "a.py").resolve()
    assert importlib.import_module(f"{alias}.utils.c").Y == "y"
    # our own package is untouched: lib.models is still /work/main's, and the fake one lives under the alias
    assert sys.modules["lib.models"] is lib.models and not hasattr(lib.models, "ORIGIN")
    assert Path(lib.models.__file__).is_relative_to(ROOT / "lib")
    assert sys.modules[f"{alias}.models"].ORIGIN == "fake"
    assert not any(name.startswith("lib.") and "fake" in str(getattr(m, "__file__", ""))
                   for name, m in sys.modules.items())
    # tracebacks point at the user's file, and nothing is written into the user's tree
    with pytest.raises(RuntimeError) as info:
        a.fail()
    assert info.traceback[-1].path == (tmp_path / "lib" / "models" / "a.py").resolve()
    assert not list(tmp_path.rglob("__pycache__"))
    with pytest.raises(ValueError, match="already serves"):
        install_foreign_package(tmp_path, alias)
    uninstall_foreign_package(alias)
    assert f"{alias}.models.a" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{alias}.models.a")


def exit_code_and_stderr(script, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(lambda: script.main(argv))
    return info.value.code, capsys.readouterr().err


def test_cli_errors_name_the_path_and_what_was_expected(tmp_path, capsys):
    script = load_script()
    missing = tmp_path / "no_such_clone"
    code, err = exit_code_and_stderr(script, ["--original_root", str(missing)], capsys)
    assert code == 2 and str(missing) in err and "lib/models/ostrack" in err and "Traceback" not in err

    write_tree(tmp_path / "clone", {"lib/models/ostrack/__init__.py": "import easydict_is_not_installed_here\n",
                                    "README.md": ""})
    code, err = exit_code_and_stderr(script, ["--original_root", str(tmp_path / "clone" / "lib")], capsys)
    assert code == 2 and "has no lib/models/ostrack/" in err and f"pass its parent {tmp_path / 'clone'}" in err

    # an import failure inside the original tree: the file, line and missing package are named
    code, err = exit_code_and_stderr(script, ["--original_root", str(tmp_path / "clone")], capsys)
    assert code == 2 and "lib/models/ostrack/__init__.py:1" in err and "easydict_is_not_installed_here" in err
    assert "Traceback" not in err


def fake_original(root: Path, config: Path, perturb: bool = False) -> Path:
    """An original tree whose build_ostrack builds OUR model (optionally with perturbed boxes)."""
    ours = 'importlib.import_module("l" + "ib.{}")'  # spelled so that the import rewriter leaves it alone
    return write_tree(root, {
        "lib/models/ostrack/__init__.py": f"""\
            import importlib

            import torch


            def build_ostrack(cfg, training=True):
                load_config = {ours.format("config.ostrack.config")}.load_config
                assert cfg.MODEL.BACKBONE.TYPE == "vit_nano_patch16_224_ce" and cfg.TRAIN.DROP_PATH_RATE == 0
                model = {ours.format("models.ostrack")}.build_ostrack(load_config({str(config)!r}),
                                                                      training=training)
                if {perturb}:
                    forward = model.forward
                    def perturbed(*args, **kwargs):
                        out = forward(*args, **kwargs)
                        out["pred_boxes"] = out["pred_boxes"] + 1e-2
                        return out
                    model.forward = perturbed
                return model
            """,
        "lib/utils/ce_utils.py": f"""\
            import importlib


            def generate_mask_cond(cfg, bs, device, gt_bbox):
                ours = {ours.format("utils.ce_utils")}
                return ours.generate_mask_cond(cfg.MODEL.BACKBONE.CE_TEMPLATE_RANGE, bs, cfg.DATA.TEMPLATE.SIZE,
                                               cfg.MODEL.BACKBONE.STRIDE, device, gt_bbox)
            """,
    })


def test_end_to_end_against_a_fake_original_agrees(tmp_path, capsys):
    root = fake_original(tmp_path / "clone", TINY_CONFIG)
    script = load_script()
    # a checkpoint in the released format ({"net": state_dict}) is loaded into both models
    torch.manual_seed(3)
    ckpt = tmp_path / "OSTrack_ep0001.pth.tar"
    net = importlib.import_module("lib.models.ostrack").build_ostrack(
        importlib.import_module("lib.config.ostrack.config").load_config(str(TINY_CONFIG)), training=False)
    torch.save({"net": net.state_dict()}, ckpt)
    argv = ["--original_root", str(root), "--config", str(TINY_CONFIG), "--threads", "1", "--iters", "1",
            "--warmup", "0", "--train_iters", "1", "--batch", "2", "--checkpoint", str(ckpt)]
    assert script.main(argv) == 0
    out = capsys.readouterr().out
    checks = [line for line in out.splitlines() if line.rstrip().endswith(("-> OK", "-> FAIL"))]
    assert len(checks) == 1 + 4 + 2 and all(line.endswith("-> OK") for line in checks)  # mask, eval, train
    assert "loaded strictly into both models" in out and "agreement check: ALL OK" in out
    assert "ratio ours sdpa    /original CE" in out and "(fwd+bwd)" in out
    assert "ostrack_original" not in sys.modules


def test_end_to_end_reports_a_disagreement_with_exit_status_1(tmp_path, capsys):
    root = fake_original(tmp_path / "clone", TINY_CONFIG, perturb=True)
    argv = ["--original_root", str(root), "--config", str(TINY_CONFIG), "--threads", "1", "--skip_infer",
            "--skip_train"]
    assert load_script().main(argv) == 1
    out = capsys.readouterr().out
    eval_lines = [line for line in out.splitlines() if line.lstrip().startswith("eval ")]
    assert len(eval_lines) == 4 and all(line.endswith("-> FAIL") and "pred_boxes=1.00e-02" in line
                                        for line in eval_lines)
    assert "SOME FAIL" in out
