"""Progress bars with an ETA on the long jobs (synthetic generation, LMDB conversion, analysis), shown only on a
terminal and switched off by --no_progress."""

from __future__ import annotations

import re
import sys

import pytest

import lib.utils.cli as cli
from lib.test.analysis.extract_results import extract_results
from lib.test.evaluation.got10kdataset import SyntheticDataset
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import Tracker
from lib.train.dataset.lmdb_convert import convert_dataset
from lib.train.dataset.synthetic_generator import generate_dataset
from lib.utils.progress import progress, progress_enabled
from script_loader import load_tracking_script

BAR = re.compile(r"100%\|.*\| (\S+)/(\S+) \[\d\d:\d\d<\d\d:\d\d")  # done/total [elapsed<remaining (the ETA)


def small_dataset(root, **kwargs):
    return generate_dataset(root, layout="got10k", num_train=2, num_val=2, num_test=0, frames=4, size=(48, 32),
                            workers=1, **kwargs)


def test_bars_follow_the_terminal_unless_forced(capsys, monkeypatch):
    assert not progress_enabled()  # pytest's captured stderr is not a terminal
    list(progress(range(3), desc="job"))
    assert capsys.readouterr().err == ""
    list(progress(range(3), desc="job", enabled=True))
    assert BAR.search(capsys.readouterr().err)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_enabled() and not progress_enabled(False)


def test_synthetic_generation_and_lmdb_conversion_show_a_bar(tmp_path, capsys):
    small_dataset(tmp_path / "syn", progress_bar=True)
    err = capsys.readouterr().err
    assert "synthetic sequences" in err and BAR.search(err).groups() == ("4", "4")
    convert_dataset("got10k", tmp_path / "syn" / "train", tmp_path / "lmdb", progress_bar=True)
    err = capsys.readouterr().err
    assert "LMDB lmdb" in err and BAR.search(err)
    small_dataset(tmp_path / "quiet")  # not a terminal: no bar
    convert_dataset("got10k", tmp_path / "quiet" / "train", tmp_path / "quiet_lmdb")
    assert "%|" not in capsys.readouterr().err


def test_analysis_shows_a_bar_over_sequences(tmp_path, capsys):
    small_dataset(tmp_path / "data" / "synthetic")
    dataset = SyntheticDataset(tmp_path / "data" / "synthetic", "val").get_sequence_list()
    tracker = Tracker("first_box", "default", env_overrides={"save_dir": tmp_path / "out"})
    run_dataset(dataset, [tracker], progress=False)
    capsys.readouterr()
    extract_results([tracker], dataset, "val", result_plot_path=tmp_path / "plots", progress_bar=True)
    err = capsys.readouterr().err
    assert "scoring val" in err and BAR.search(err).groups() == ("2", "2")


@pytest.mark.parametrize("flag", [[], ["--no_progress"]])
def test_no_progress_flag_of_the_generator_and_converter(flag, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "setup_logging", lambda *a, **k: None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # the captured stderr acts as a terminal
    for script, argv in (("make_synthetic_dataset", ["--output", str(tmp_path / "syn"), "--num_train", "2",
                                                     "--num_val", "0", "--num_test", "0", "--frames", "3",
                                                     "--width", "48", "--height", "32", "--workers", "1"]),
                         ("convert_to_lmdb", ["--dataset", "got10k", "--src", str(tmp_path / "syn" / "train"),
                                              "--dst", str(tmp_path / "lmdb")])):
        with pytest.raises(SystemExit) as exc:
            cli.run_cli(lambda: load_tracking_script(script).main(argv + flag))
        assert exc.value.code == 0
        shown = bool(BAR.search(capsys.readouterr().err))
        assert shown == (not flag), script
