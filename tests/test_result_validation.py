"""One result-file check for every metric mode and tracker family (a row per frame, finite, sizes >= 0), errors
that name the file and the line, padding only when asked for; raw results of unregistered trackers are scored."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lib.test.analysis.extract_results import extract_results
from lib.test.evaluation.data import Sequence
from lib.test.evaluation.results import (ResultFileError, TrackerResults, box_file, read_result_boxes,
                                         read_result_times, result_base, time_file, write_results)
from lib.test.evaluation.running import run_dataset
from lib.test.evaluation.tracker import Tracker
from lib.test.tracker.basetracker import BaseTracker
from lib.test.utils.params import TrackerParams
from script_loader import load_tracking_script

FRAMES = 6
GT = np.array([[20 + 2 * i, 10 + i, 30, 20] for i in range(FRAMES)], dtype=float)


def sequence(name: str = "seq", dataset: str = "synthetic") -> Sequence:
    return Sequence(name, [f"{i:08d}.jpg" for i in range(FRAMES)], dataset, GT.copy(),
                    target_visible=np.ones(FRAMES, bool), resolution=(120, 80))


def write_rows(base, rows: list[str], times: list[str] | None = None) -> None:
    base.parent.mkdir(parents=True, exist_ok=True)
    box_file(base).write_text("".join(r + "\n" for r in rows))
    if times is not None:
        time_file(base).write_text("".join(t + "\n" for t in times))


GOOD = ["\t".join(str(int(v)) for v in row) for row in GT]


@pytest.mark.parametrize("rows, line, what", [
    (GOOD[:3] + ["nan\tnan\tnan\tnan"] + GOOD[4:], 4, "not finite"),
    (GOOD[:2] + ["20\t10\t-3\t20"] + GOOD[3:], 3, "negative width or height"),
    (GOOD[:2] + [""] + GOOD[2:5], 3, "empty line"),
    (GOOD[:4] + ["20,10,oops,20"] + GOOD[5:], 5, "'20,10,oops,20'"),
    (GOOD[:1] + ["20 10 30"] + GOOD[2:], 2, "expected 4 number"),
])
def test_a_bad_row_names_the_file_and_the_line(tmp_path, rows, line, what):
    base = tmp_path / "seq"
    write_rows(base, rows)
    with pytest.raises(ResultFileError) as err:
        read_result_boxes(base, FRAMES)
    assert f"{box_file(base)}, line {line}" in str(err.value) and what in str(err.value)


def test_row_count_must_match_unless_padding_is_asked_for(tmp_path, caplog):
    base = tmp_path / "seq"
    write_rows(base, GOOD[:4])
    with pytest.raises(ResultFileError, match="4 rows for a sequence of 6 frames.*--pad_results"):
        read_result_boxes(base, FRAMES)
    with caplog.at_level(logging.WARNING):
        padded = read_result_boxes(base, FRAMES, pad=True)
    assert padded.shape == (6, 4) and (padded[4:] == 0).all() and "padding with zero boxes" in caplog.text
    write_rows(base, GOOD + GOOD[:2])
    with pytest.raises(ResultFileError, match="8 rows"):
        read_result_boxes(base, FRAMES)
    assert read_result_boxes(base, FRAMES, pad=True).tolist() == GT.astype(int).tolist()
    write_rows(base, GOOD, times=["0.01"] * 5)
    with pytest.raises(ResultFileError, match=r"_time.txt: 5 times for a sequence of 6 frames"):
        read_result_times(base, FRAMES)
    write_rows(base, GOOD, times=["0.01", "-0.5"] + ["0.01"] * 4)
    with pytest.raises(ResultFileError, match=r"_time.txt, line 2"):
        read_result_times(base, FRAMES)


@pytest.mark.parametrize("mode", ["pytracking", "pysot", "got10k"])
@pytest.mark.parametrize("tracker", ["ostrack", "siamrpn", "siamfcpp", "some_paper_tracker"])
def test_every_mode_and_family_gets_the_same_check(tmp_path, mode, tracker, caplog):
    seq = sequence()
    trk = TrackerResults(tracker, "p", tmp_path / "results")
    base = trk.result_base(seq)
    # a NaN row used to count as a success at every threshold in pysot mode
    write_rows(base, GOOD[:2] + ["nan\t0\t0\t0"] + GOOD[3:], ["0.01"] * FRAMES)
    with pytest.raises(ResultFileError, match=r"seq.txt, line 3"):
        extract_results([trk], [seq], "r", mode=mode, result_plot_path=tmp_path / "plots")
    # a short file used to be zero-padded silently in pytracking mode
    write_rows(base, GOOD[:4], ["0.01"] * 4)
    with pytest.raises(ResultFileError, match="4 rows for a sequence of 6 frames"):
        extract_results([trk], [seq], "r", mode=mode, result_plot_path=tmp_path / "plots")
    with caplog.at_level(logging.WARNING):
        padded = extract_results([trk], [seq], "r", mode=mode, pad_results=True, result_plot_path=tmp_path / "plots")
    assert "padding with zero boxes" in caplog.text and "FPS of this sequence not counted" in caplog.text
    write_rows(base, GOOD, ["0.01"] * FRAMES)
    full = extract_results([trk], [seq], "r", mode=mode, result_plot_path=tmp_path / "plots")
    # the padded frames are failures: a lower success curve than the complete file
    assert padded["ave_success_rate_plot_overlap"].sum() < full["ave_success_rate_plot_overlap"].sum()


class DivergingTracker(BaseTracker):
    """Stub whose box becomes NaN at frame 3 (a tracker that diverged)."""

    def __init__(self, params, device="cpu"):
        super().__init__(params)

    def initialize(self, image, info):
        self.box, self.frame = list(info["init_bbox"]), 0

    def track(self, image, info=None):
        self.frame += 1
        return {"target_bbox": [float("nan")] * 4 if self.frame == 3 else self.box}


def test_a_non_finite_tracker_box_fails_the_sequence_and_writes_nothing(tmp_path):
    from test_custom_testset import write_custom_set

    from lib.test.evaluation.customdataset import CustomTestDataset

    dataset = CustomTestDataset(write_custom_set(tmp_path / "set", names=("a",), frames=5)).get_sequence_list()
    trk = Tracker("stub", "nan", tracker_class=DivergingTracker, params=TrackerParams(debug=0),
                  env_overrides={"save_dir": str(tmp_path / "out")})
    summary = run_dataset(dataset, [trk], device="cpu", progress=False)
    assert len(summary.failed) == 1 and "at frame 3" in summary.failed[0].error
    assert not box_file(trk.result_base(dataset[0])).exists()
    with pytest.raises(ResultFileError, match=r"\[1.0, 1.0, -2.0, 3.0\] at frame 0.*sizes >= 0"):
        write_results(result_base(tmp_path, "otb", "x"), [[1, 1, -2, 3]], [0.1])


def test_analysis_scores_raw_results_of_an_unregistered_tracker(tmp_path, capsys):
    """Papers publish raw result files (comma separated, often without time files): they are scored as ours."""
    from test_custom_testset import write_custom_set

    root = write_custom_set(tmp_path / "set", frames=FRAMES)
    raw = tmp_path / "out" / "test" / "tracking_results" / "PaperTracker" / "paper"
    raw.mkdir(parents=True)
    for name in ("cars", "dogs"):
        gt = np.loadtxt(root / name / "groundtruth.txt", delimiter=",")
        np.savetxt(raw / f"{name}.txt", gt + [1, 0, 0, 0], delimiter=",", fmt="%.2f")
    analysis = load_tracking_script("analysis_results")
    assert analysis.main(["--dataset", "custom", "--data_dir", str(root), "--tracker", "PaperTracker", "--param",
                          "paper", "--save_dir", str(tmp_path / "out"), "--plots"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("PaperTracker/paper"))
    assert float(row.split("|")[1]) > 50  # AUC of a 1-px offset
