"""Path settings: precedence flag > environment > local settings file > default, and clear errors."""

import os
import subprocess
import sys

import pytest

from lib.utils.environment import PROJECT_ROOT, env_settings
from lib.utils.errors import DatasetNotFoundError, PathSettingsError


def test_defaults_are_under_the_project_root(tmp_path):
    env = env_settings()
    assert env.data_dir == PROJECT_ROOT / "data"
    assert env.save_dir == PROJECT_ROOT / "output"
    assert env.pretrained_dir == PROJECT_ROOT / "pretrained_models"
    # Dataset roots follow the original create_default_local_file layout under the data directory.
    assert env.got10k_dir == PROJECT_ROOT / "data" / "got10k" / "train"
    assert env.got10k_val_dir == PROJECT_ROOT / "data" / "got10k" / "val"
    assert env.lasot_path == PROJECT_ROOT / "data" / "lasot"
    assert env.results_path == PROJECT_ROOT / "output" / "test" / "tracking_results"
    assert env.dataspec_path == PROJECT_ROOT / "lib" / "train" / "data_specs"


def test_precedence_flag_env_file_default(tmp_path, monkeypatch):
    settings = tmp_path / "settings.yaml"
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))
    settings.write_text(f"data_dir: {tmp_path / 'from_file'}\nsave_dir: {tmp_path / 'out_file'}\n"
                        f"lasot_dir: {tmp_path / 'lasot_file'}\n")
    env = env_settings()
    assert env.data_dir == tmp_path / "from_file" and env.sources["data_dir"] == str(settings)
    assert env.got10k_dir == tmp_path / "from_file" / "got10k" / "train"  # derived from the file's data_dir
    assert env.lasot_dir == tmp_path / "lasot_file"

    monkeypatch.setenv("OSTRACK_DATA_DIR", str(tmp_path / "from_env"))
    monkeypatch.setenv("OSTRACK_GOT10K_DIR", str(tmp_path / "g10k_env"))
    env = env_settings()
    assert env.data_dir == tmp_path / "from_env"
    assert env.got10k_dir == tmp_path / "g10k_env"
    assert env.save_dir == tmp_path / "out_file"

    env = env_settings(data_dir=str(tmp_path / "from_flag"), save_dir=None)
    assert env.data_dir == tmp_path / "from_flag" and env.sources["data_dir"] == "the command line"
    assert env.save_dir == tmp_path / "out_file"  # None means "flag not given"
    assert env.coco_dir == tmp_path / "from_flag" / "coco"


def test_relative_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = env_settings(save_dir="runs")
    assert env.save_dir == tmp_path / "runs"
    assert env.tensorboard_dir == tmp_path / "runs" / "tensorboard"


def test_missing_dataset_dir_error_says_how_to_fix(tmp_path):
    env = env_settings(data_dir=str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as err:
        env.dataset_dir("got10k_dir", dataset="GOT10K_vottrain")
    msg = str(err.value)
    assert "GOT10K_vottrain" in msg and str(tmp_path / "got10k" / "train") in msg
    assert "OSTRACK_GOT10K_DIR" in msg and "--data_dir" in msg and "list.txt" in msg
    assert "from data_dir from the command line" in msg  # says where the derived root came from
    (tmp_path / "got10k" / "train").mkdir(parents=True)
    assert env.dataset_dir("got10k_dir") == tmp_path / "got10k" / "train"


def test_bad_settings_file_and_keys(tmp_path, monkeypatch):
    settings = tmp_path / "settings.yaml"
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))
    settings.write_text("data_dri: /x\n")
    with pytest.raises(PathSettingsError, match="unknown setting 'data_dri'.*Did you mean `data_dir`"):
        env_settings()
    settings.write_text("data_dir: [1]\n")
    with pytest.raises(PathSettingsError, match="must be a non-empty path string"):
        env_settings()
    monkeypatch.setenv("OSTRACK_SETTINGS", str(tmp_path / "nope.yaml"))
    with pytest.raises(PathSettingsError, match="does not exist"):
        env_settings()
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))
    settings.write_text("{}\n")
    with pytest.raises(PathSettingsError, match="unknown dataset path setting 'lasot'"):
        env_settings().dataset_dir("lasot")
    with pytest.raises(AttributeError, match="no path setting"):
        env_settings().lasot_root


def test_create_default_local_file_writes_the_optional_file(tmp_path):
    out = tmp_path / "local_settings.yaml"
    env = dict(os.environ, OSTRACK_SETTINGS=str(out))
    cmd = [sys.executable, str(PROJECT_ROOT / "tracking" / "create_default_local_file.py"),
           "--workspace_dir", str(tmp_path), "--data_dir", str(tmp_path / "data"), "--save_dir", str(tmp_path / "out")]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    result = subprocess.run([sys.executable, "-c", "from lib.utils.environment import env_settings;"
                             "e = env_settings(); print(e.data_dir); print(e.got10k_val_dir)"],
                            env=env, capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert result.stdout.split() == [str(tmp_path / "data"), str(tmp_path / "data" / "got10k" / "val")]
    # A path that is a file is a one-line error, not a traceback.
    (tmp_path / "afile").write_text("x")
    cmd[cmd.index("--data_dir") + 1] = str(tmp_path / "afile")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "is not a directory" in result.stderr and "Traceback" not in result.stderr
