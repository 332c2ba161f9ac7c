"""Analysis end to end: result files -> cache (invalidated on change) -> table, CSV, PNG plots; the CLIs
tracking/analysis_results.py and tracking/vis_results.py."""

from __future__ import annotations

import os
import runpy

import cv2
import numpy as np
import pytest

from lib.test.analysis import extract_results as extract_module
from lib.test.analysis.extract_results import ResultsNotFoundError, extract_results
from lib.test.analysis.print_results import print_results
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.results import box_file, write_results
from lib.test.evaluation.tracker import Tracker
from lib.utils.environment import PROJECT_ROOT, env_settings

NAMES = ["GOT-10k_Val_000001", "GOT-10k_Val_000002", "GOT-10k_Val_000003"]


@pytest.fixture
def setup(tmp_path):
    """A GOT-10k val fixture (6 frames per sequence, real images) and results of two trackers."""
    overrides = {"save_dir": str(tmp_path / "out"), "data_dir": str(tmp_path / "data")}
    env = env_settings(**overrides)
    val = env.got10k_path / "val"
    val.mkdir(parents=True)
    (val / "list.txt").write_text("".join(n + "\n" for n in NAMES))
    rng = np.random.default_rng(0)
    for name in NAMES:
        (val / name).mkdir()
        gt = np.array([[20 + 2 * i, 10 + i, 30, 20] for i in range(6)], float)
        np.savetxt(val / name / "groundtruth.txt", gt, delimiter=",", fmt="%.4f")
        for i in range(6):
            cv2.imwrite(str(val / name / f"{i + 1:08d}.jpg"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    dataset = get_dataset("got10k_val", env=env)
    good = Tracker("ostrack", "good", env_overrides=overrides)
    poor = Tracker("ostrack", "poor", env_overrides=overrides)
    for seq in dataset:
        gt = seq.ground_truth_rect
        write_results(good.result_base(seq), gt + 1, [0.01] * 6)
        write_results(poor.result_base(seq), gt + np.array([[0, 0, 0, 0]] + [[15, 0, 0, 0]] * 5), [0.02] * 6)
    return env, overrides, dataset, good, poor


def test_results_cache_is_reused_and_invalidated_when_a_result_changes(setup, monkeypatch):
    env, _, dataset, good, poor = setup
    calls = []
    real = extract_module.evaluate_sequence
    monkeypatch.setattr(extract_module, "evaluate_sequence", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = extract_results([good, poor], dataset, "val", result_plot_path=env.result_plot_path)
    assert len(calls) == 6 and (env.result_plot_path / "val" / "eval_data.npz").is_file()
    again = extract_results([good, poor], dataset, "val", result_plot_path=env.result_plot_path)
    assert len(calls) == 6 and np.array_equal(again["ave_success_rate_plot_overlap"],
                                              first["ave_success_rate_plot_overlap"])
    # a rerun of one sequence rewrites its result file: the cache must not hide it (original quirk, fixed)
    seq = dataset[0]
    write_results(good.result_base(seq), seq.ground_truth_rect + [[40, 0, 0, 0]] * 6, [0.01] * 6)
    path = box_file(good.result_base(seq))
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    changed = extract_results([good, poor], dataset, "val", result_plot_path=env.result_plot_path)
    assert len(calls) == 12
    assert changed["ave_success_rate_plot_overlap"][0, 0].mean() < first["ave_success_rate_plot_overlap"][0, 0].mean()
    # a different metric mode is a different cache entry too
    extract_results([good, poor], dataset, "val", mode="got10k", result_plot_path=env.result_plot_path)
    assert len(calls) == 18


def test_missing_results_are_an_error_or_skipped(setup):
    env, overrides, dataset, good, _ = setup
    box_file(good.result_base(dataset[1])).unlink()
    with pytest.raises(ResultsNotFoundError, match="--skip_missing_seq"):
        extract_results([good], dataset, "val", result_plot_path=env.result_plot_path)
    data = extract_results([good], dataset, "val", skip_missing_seq=True, result_plot_path=env.result_plot_path)
    assert data["valid_sequence"].tolist() == [True, False, True]


def test_print_results_table_csv_and_png_plots_without_latex(setup):
    env, _, dataset, good, poor = setup
    report = print_results([good, poor], dataset, "val", per_sequence=True, result_plot_path=env.result_plot_path)
    assert "ostrack/good" in report.table and "ostrack/poor" in report.table and "OP75" in report.table
    good_scores, poor_scores = report.scores
    assert good_scores["AUC"] > poor_scores["AUC"] and good_scores["FPS"] == pytest.approx(100.0)
    pngs = [p for p in report.files if p.suffix == ".png"]
    assert sorted(p.name for p in pngs) == ["norm_prec_plot.png", "prec_plot.png", "success_plot.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    csv_rows = (env.result_plot_path / "val" / "per_sequence.csv").read_text().splitlines()
    assert csv_rows[0] == "sequence,label,AUC,AO,Precision,FPS" and len(csv_rows) == 1 + 6
    got = print_results([good, poor], dataset, "val", mode="got10k", plot_types=(),
                        result_plot_path=env.result_plot_path)
    assert "SR0.75" in got.table and "AUC" not in got.table.splitlines()[1]


def test_analysis_results_cli(setup, capsys):
    env, overrides, _, _, _ = setup
    main = runpy.run_path(str(PROJECT_ROOT / "tracking" / "analysis_results.py"), run_name="cli")["main"]
    code = main(["--dataset", "got10k_val", "--tracker", "ostrack", "--param", "good", "--display_name", "Good",
                 "--tracker", "ostrack", "--param", "poor", "--display_name", "Poor", "--metrics", "all",
                 "--save_dir", overrides["save_dir"], "--data_dir", overrides["data_dir"], "--plots", "success"])
    out = capsys.readouterr().out
    assert code == 0 and "Good" in out and "Poor" in out and "SR0.5" in out and "success_plot.png" in out
    errors = runpy.run_path(str(PROJECT_ROOT / "tracking" / "analysis_results.py"), run_name="cli")
    with pytest.raises(errors["ArgumentError"], match="one --param per --tracker"):
        errors["main"](["--tracker", "a", "--tracker", "b", "--param", "x", "--param", "y", "--param", "z",
                        "--save_dir", overrides["save_dir"], "--data_dir", overrides["data_dir"]])


def test_vis_results_draws_results_over_frames(setup, tmp_path, capsys):
    env, overrides, dataset, good, _ = setup
    main = runpy.run_path(str(PROJECT_ROOT / "tracking" / "vis_results.py"), run_name="cli")["main"]
    out_dir = tmp_path / "vis"
    assert main(["--dataset", "got10k_val", "--sequence", NAMES[0], "--tracker", "ostrack", "--param", "good",
                 "--output", str(out_dir), "--save_dir", overrides["save_dir"], "--data_dir",
                 overrides["data_dir"]]) == 0
    images = sorted((out_dir / NAMES[0]).glob("*.jpg"))
    assert len(images) == 6
    assert main(["--dataset", "got10k_val", "--sequence", "1", "--tracker", "ostrack", "--param", "good",
                 "--output", str(out_dir), "--video", "--save_dir", overrides["save_dir"], "--data_dir",
                 overrides["data_dir"]]) == 0
    capture = cv2.VideoCapture(str(out_dir / f"{NAMES[1]}.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    capture.release()
