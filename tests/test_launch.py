"""tracking/train.py: the original arguments, clear errors, torchrun launch, ranks from the environment."""

import os

import pytest

from lib.train.admin.multigpu import DistInfo, dist_info_from_env, launch_torchrun, torchrun_arguments
from lib.utils.errors import ConfigError
from script_loader import load_tracking_script

CONFIG = "vitb_256_mae_ce_32x4_ep300"


def _train_module():
    return load_tracking_script("train")


def test_distill_is_a_clear_error_before_anything_starts():
    with pytest.raises(ConfigError, match="--distill 1 is not supported"):
        _train_module().main(["--script", "ostrack", "--config", CONFIG, "--mode", "multiple", "--distill", "1"])


def test_bad_mode_and_bool_strings_are_rejected_by_the_parser(capsys):
    train = _train_module()
    with pytest.raises(SystemExit) as info:
        train.main(["--script", "ostrack", "--config", CONFIG, "--mode", "cluster"])
    assert info.value.code == 2 and "invalid choice: 'cluster'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--script", "ostrack", "--config", CONFIG, "--use_lmdb", "False"])  # type=bool would say True
    assert "expected 0 or 1, got 'False'" in capsys.readouterr().err


def test_missing_config_and_missing_nproc_are_clear_errors():
    train = _train_module()
    with pytest.raises(ConfigError, match="config 'vitb_256_mae_ce' does not exist.*Did you mean"):
        train.main(["--script", "ostrack", "--config", "vitb_256_mae_ce", "--mode", "single"])
    with pytest.raises(ConfigError, match="needs --nproc_per_node"):
        train.main(["--script", "ostrack", "--config", CONFIG, "--mode", "multiple"])


def test_forwarded_arguments_leave_out_absent_values():
    train = _train_module()
    args = train.build_parser().parse_args(["--script", "ostrack", "--config", CONFIG, "--save_dir", "out",
                                            "--mode", "multiple", "--nproc_per_node", "4", "--fresh", "1"])
    forwarded = train._forwarded_arguments(args)
    assert "None" not in forwarded  # the original passed the literal string "None"
    assert forwarded[:6] == ["--script", "ostrack", "--config", CONFIG, "--save_dir", "out"]
    assert forwarded[forwarded.index("--fresh") + 1] == "1" and "--mode" not in forwarded


def test_torchrun_arguments():
    assert torchrun_arguments(4) == ["--nproc_per_node", "4", "--standalone"]
    assert torchrun_arguments(8, nnodes=2, node_rank=1, master_addr="10.0.0.1", master_port=20000) == [
        "--nproc_per_node", "8", "--nnodes", "2", "--node_rank", "1", "--master_addr", "10.0.0.1",
        "--master_port", "20000"]


def test_ranks_come_from_the_torchrun_environment(monkeypatch):
    for key in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    assert dist_info_from_env() == DistInfo(rank=0, local_rank=-1, world_size=1)
    assert dist_info_from_env(local_rank_arg=2).local_rank == 2  # legacy --local_rank
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("WORLD_SIZE", "8")
    info = dist_info_from_env(local_rank_arg=3)  # the environment wins over the argument
    assert (info.rank, info.local_rank, info.world_size, info.distributed) == (5, 1, 8, True)


def test_a_failing_worker_makes_the_launch_fail(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    code = launch_torchrun(torchrun_arguments(1), "lib.train.run_training",
                           ["--script", "ostrack", "--config", "no_such_config", "--save_dir", str(tmp_path)])
    assert code == 1
    assert os.listdir(tmp_path) == []
