"""VOT: ground-truth regions (rectangles, polygons, masks) and their box conversions, the vot18/vot20/vot22 datasets,
the reset-based protocol as PySOT runs it (failure, 5 skipped frames, re-initialisation), its scores (burn-in frames
left out), result files, and tracking/test.py running it end to end on a VOT-layout dataset made from the synthetic
generator. The official toolkit and TraX are tested in test_vot_toolkit.py."""

import math

import cv2
import numpy as np
import pytest

from lib.test.evaluation.data import Sequence
from lib.test.evaluation.datasets import get_dataset
from lib.test.evaluation.vot_protocol import (BURNIN, FAILURE, INIT, SKIPPED, VOTResultError, accuracy_robustness,
                                              failure_region, read_trajectory, run_supervised, sequence_regions,
                                              summarize, trajectory_file, write_trajectory)
from lib.test.evaluation.vot_region import (Mask, Polygon, RegionFormatError, format_region, parse_region,
                                            pysot_init_box, region_overlap, region_to_box_minmax)
from lib.test.evaluation.votdataset import VOTDataset
from lib.utils.environment import env_settings
from lib.utils.errors import DatasetNotFoundError, PathSettingsError
from script_loader import load_tracking_script
from tiny_siamese import vot_from_synthetic


def write_vot_sequence(root, name, lines, size=(64, 48), legacy=False):
    folder = root / name
    frames = folder if legacy else folder / "color"
    frames.mkdir(parents=True)
    for i in range(1, len(lines) + 1):
        cv2.imwrite(str(frames / f"{i:08d}.jpg"), np.full((size[1], size[0], 3), 80 + i, np.uint8))
    (folder / "groundtruth.txt").write_text("".join(line + "\n" for line in lines))


# ---------------------------------------------------------------------------------------------------------- regions

def test_regions_parse_rectangles_polygons_and_masks():
    rect = parse_region("10,20,30,40")
    assert isinstance(rect, Polygon) and rect.is_rect and region_to_box_minmax(rect) == [10, 20, 30, 40]
    poly = parse_region("1.5 2 11.5 4 9 14 -1 12")  # whitespace works too
    assert not poly.is_rect and region_to_box_minmax(poly) == [-1, 2, 12.5, 12]  # matches OSTrack: min/max box
    # VOT2020 mask: offset (2, 3), 4 x 2 pixels, runs 1 zero, 2 ones, 3 zeros, 2 ones (row-major)
    mask = parse_region("m2,3,4,2,1,2,3,2")
    assert isinstance(mask, Mask) and mask.offset == (2, 3)
    assert mask.mask.astype(int).tolist() == [[0, 1, 1, 0], [0, 0, 1, 1]]
    assert region_to_box_minmax(mask) == [3, 3, 3, 2]
    assert region_to_box_minmax(parse_region("m0,0,3,3,9")) == [0, 0, 0, 0]  # an empty mask: no box
    for line in ("m2,3,4,2,1,2,3,2", "m0,0,2,2,0,4", "10,20,30,40", "1.5,2,11.5,4,9,14,-1,12"):
        assert format_region(parse_region(line)) == line  # written back as the toolkit reads it


@pytest.mark.parametrize("line, match", [("", "0 values"), ("1,2,3", "3 values"), ("1,2,a,4", "expected numbers"),
                                         ("m1,2", "x0,y0,w,h"), ("m0,0,2,2,1,9", "do not fit")])
def test_bad_region_lines_are_clear_errors(line, match):
    with pytest.raises(RegionFormatError, match=match):
        parse_region(line, "groundtruth.txt:7")


def test_init_box_is_pysots_area_preserving_conversion():
    # matches PySOT (quirk 35): a rectangle initialises at [x+0.5, y+0.5, w, h]
    assert pysot_init_box(parse_region("10,20,30,40")) == [10.5, 20.5, 30, 40]
    # a square of side 10*sqrt(2) turned by 45 degrees around (50, 50): the box keeps its area (200) and grows by 1
    diamond = parse_region("50,40,60,50,50,60,40,50")
    side = math.sqrt(0.5) * 20 + 1
    assert pysot_init_box(diamond) == pytest.approx([50 - (side - 1) / 2, 50 - (side - 1) / 2, side, side])


def test_region_overlap_clips_to_the_image_and_handles_masks():
    gt = parse_region("0,0,10,10")
    assert region_overlap([5, 0, 10, 10], gt) == pytest.approx(1 / 3)
    assert region_overlap([5, 0, 10, 10], gt, image_size=(8, 10)) == pytest.approx(30 / 80)  # both clipped
    assert region_overlap([40, 40, 20, 20], parse_region("50,40,60,50,50,60,40,50")) == pytest.approx(0.5)
    full = Mask((2, 3), np.ones((2, 4), bool))
    assert region_overlap([2, 3, 2, 2], full) == pytest.approx(0.5)
    assert region_overlap([2.5, 3, 1, 1], full) == pytest.approx(1 / 8)  # a pixel is a unit square
    assert region_overlap([100, 100, 5, 5], gt, image_size=(64, 48)) == 0.0  # outside the image
    assert region_overlap([1, 1, 0, 5], gt) == 0.0 and region_overlap([np.nan, 1, 2, 2], gt) == 0.0


# --------------------------------------------------------------------------------------------------------- datasets

def test_vot_dataset_reads_the_toolkit_layout(tmp_path):
    root = tmp_path / "vot2018"
    write_vot_sequence(root, "ants1", ["10,10,30,10,30,20,10,20", "11,10,31,10,31,20,11,20", "12,10,32,10,32,20,12,20"])
    write_vot_sequence(root, "ball", ["5,6,7,8", "6,6,7,8"], legacy=True)  # frames in the sequence folder
    write_vot_sequence(root, "unlisted", ["1,1,5,5"])
    (root / "list.txt").write_text("ants1\nball\n")
    seqs = get_dataset("vot18", env=env_settings(vot18_path=str(root)))
    assert seqs.names() == ["ants1", "ball"]  # list.txt decides
    ants = seqs["ants1"]
    assert ants.dataset == "vot" and ants.vot_benchmark == "vot2018" and len(ants) == 3
    assert ants.frames[2].endswith("ants1/color/00000003.jpg")
    assert ants.ground_truth_rect[1].tolist() == [11, 10, 20, 10]  # polygon -> min/max box
    assert len(ants.vot_regions) == 3 and not ants.vot_regions[0].is_rect
    ball = seqs["ball"]
    assert ball.frames[0].endswith("ball/00000001.jpg") and ball.vot_regions[0].is_rect
    assert ball.init_info() == {"init_bbox": [5, 6, 7, 8]}


def test_vot_mask_dataset_starts_at_the_first_visible_frame(tmp_path):
    root = tmp_path / "vot2022"
    write_vot_sequence(root, "hand", ["m0,0,3,3,9", "m10,10,2,2,0,4", "m10,11,2,2,0,4"])
    seq = VOTDataset(root, 22).get_sequence_list()[0]
    assert seq.vot_benchmark == "vot2022" and len(seq) == 2  # frame 0 has an empty mask: it cannot initialise
    assert seq.init_info() == {"init_bbox": [10, 10, 2, 2]} and len(seq.vot_regions) == 2


def test_vot20_is_registered_with_its_own_path_setting(tmp_path):
    root = tmp_path / "vot2020"
    write_vot_sequence(root, "bag", ["m1,1,2,2,0,4", "m1,1,2,2,0,4"])
    try:
        seqs = get_dataset("vot20", env=env_settings(vot20_path=str(root)))
    except PathSettingsError as err:
        pytest.skip(f"the path setting vot20_path is not declared in lib/utils/environment.py yet: {err}")
    assert seqs[0].vot_benchmark == "vot2020" and seqs[0].ground_truth_rect[0].tolist() == [1, 1, 2, 2]


def test_missing_or_empty_vot_dataset_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="vot18_path"):
        get_dataset("vot18", env=env_settings(vot18_path=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no sequences"):
        VOTDataset(tmp_path / "empty", 18)
    write_vot_sequence(tmp_path / "bad", "s", ["1,2,3"])
    with pytest.raises(RegionFormatError, match=r"groundtruth.txt:1: 3 values"):
        VOTDataset(tmp_path / "bad", 18).get_sequence_list()


# -------------------------------------------------------------------------------------------------- reset protocol

class ScriptedTracker:
    """Tracks perfectly during the burn-in after each initialisation, then half-overlapping; fails at frame 3."""

    def __init__(self, gt):
        self.gt, self.frame, self.inits = gt, 0, []

    def initialize(self, image, info):
        self.inits.append((self.frame, info["init_bbox"]))
        self.last_init = self.frame

    def track(self, image, info):
        f = self.frame
        if f == 3:
            return {"target_bbox": [200, 200, 5, 5]}  # outside the image: overlap 0
        if f < self.last_init + BURNIN:
            return {"target_bbox": list(self.gt)}
        x, y, w, h = self.gt
        return {"target_bbox": [x, y, w, h / 2]}  # IoU 0.5


def scripted_run(n=30):
    gt = [10, 10, 20, 20]
    seq = Sequence("scripted", [f"f{i}.jpg" for i in range(n)], "vot", np.tile(gt, (n, 1)))
    tracker = ScriptedTracker(gt)

    def read_frame(_, index):
        tracker.frame = index
        return np.zeros((48, 64, 3), np.uint8)

    return seq, tracker, run_supervised(tracker, seq, read_frame)


def test_reset_protocol_reinitialises_five_frames_after_a_failure():
    seq, tracker, run = scripted_run()
    codes = [e if isinstance(e, int) else "box" for e in run.trajectory]
    # matches PySOT: 1 at init, 2 at the failure, 0 for the 4 frames after it, re-initialised at failure + 5
    assert codes[:10] == [INIT, "box", "box", FAILURE, SKIPPED, SKIPPED, SKIPPED, SKIPPED, INIT, "box"]
    assert codes[10:] == ["box"] * 20 and run.failures == 1
    assert tracker.inits == [(0, [10.5, 10.5, 20, 20]), (8, [10.5, 10.5, 20, 20])]  # PySOT's init box
    assert len(run.times) == 30 and run.times[4] == 0.0


def test_a_rectangle_is_tested_for_failure_as_pysots_inclusive_polygon():
    gt = parse_region("10,10,20,20")
    edge = [29.5, 10, 5, 20]  # overlaps only the rectangle's last half pixel column
    assert region_overlap(edge, gt) > 0
    # matches PySOT: the polygon [x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y] ends at x = 29, so this is a failure
    assert region_overlap(edge, failure_region(gt)) == 0
    assert failure_region(parse_region("50,40,60,50,50,60,40,50")).points.tolist()[0] == [50, 40]  # polygons as is


def test_accuracy_leaves_out_the_burn_in_frames():
    seq, _, run = scripted_run()
    ar = accuracy_robustness(run.trajectory, sequence_regions(seq), (64, 48), name="scripted")
    # frames 0-17 are init, failure, skipped or within 10 frames of an initialisation: only 18-29 (IoU 0.5) count
    assert ar.scored == 12 and ar.accuracy == pytest.approx(0.5) and ar.failures == 1
    with_burnin_counted = accuracy_robustness(run.trajectory, sequence_regions(seq), (64, 48), burnin=1)
    assert with_burnin_counted.accuracy > 0.7  # the perfect burn-in frames would lift it
    summary = summarize([ar, accuracy_robustness([INIT, FAILURE], sequence_regions(seq)[:2], None)])
    assert summary["failures"] == 2 and summary["accuracy"] == pytest.approx(0.5 * 30 / 32)


def test_frames_without_ground_truth_neither_initialise_nor_fail():
    # an absent target (GOT-10k-style -1 rows of the synthetic data, VOT2020's empty masks, the code 0)
    assert format_region(parse_region("-1,-1,-1,-1")) == "0" and format_region(parse_region("0")) == "0"
    boxes = np.tile([10.0, 10.0, 20.0, 20.0], (10, 1))
    boxes[[0, 2]] = -1
    seq = Sequence("absent", [f"f{i}.jpg" for i in range(10)], "vot", boxes, init_data={0: {"bbox": [1, 1, 1, 1]}})

    class Lost:
        def initialize(self, image, info):
            pass

        def track(self, image, info):
            return {"target_bbox": [200, 200, 5, 5]}

    run = run_supervised(Lost(), seq, lambda s, i: np.zeros((48, 64, 3), np.uint8))
    codes = [e if isinstance(e, int) else "box" for e in run.trajectory]
    assert codes == [SKIPPED, INIT, "box", FAILURE, SKIPPED, SKIPPED, SKIPPED, SKIPPED, INIT, FAILURE]
    ar = accuracy_robustness(run.trajectory, sequence_regions(seq), (64, 48), burnin=1)
    assert ar.failures == 2 and ar.scored == 0  # frame 2 has no ground truth to score against


def test_trajectory_files_round_trip_and_a_short_file_is_refused(tmp_path):
    _, _, run = scripted_run()
    path = write_trajectory(tmp_path, "vot2018", "scripted", run)
    assert path == trajectory_file(tmp_path, "vot2018", "scripted")
    assert path.parent == tmp_path / "vot2018" / "baseline" / "scripted"
    lines = path.read_text().splitlines()
    assert lines[:4] == ["1", "10.0000,10.0000,20.0000,20.0000", "10.0000,10.0000,20.0000,20.0000", "2"]
    assert read_trajectory(path, 30)[3] == FAILURE and len((path.parent / "scripted_001_time.value")
                                                           .read_text().splitlines()) == 30
    path.write_text("\n".join(lines[:10]) + "\n")  # a run killed by an older tool
    with pytest.raises(VOTResultError, match="10 lines for a sequence of 30 frames"):
        read_trajectory(path, 30)
    path.write_text("1\n3\n")
    with pytest.raises(VOTResultError, match="line 2"):
        read_trajectory(path)


# ------------------------------------------------------------------------------------------- test.py end to end

@pytest.fixture(scope="module")
def vot_workspace(tmp_path_factory):
    return vot_from_synthetic(tmp_path_factory.mktemp("vot"))


def test_test_py_runs_the_reset_protocol_and_resumes(vot_workspace, tmp_path, capsys):
    main = load_tracking_script("test").main
    ws = vot_workspace
    args = ["siamrpn", str(ws["config"]), "--dataset", "vot18", "--data_dir", str(ws["data"]), "--save_dir",
            str(tmp_path), "--checkpoint", str(ws["checkpoint"]), "--device", "cpu", "--no_progress", "--no_toolkit"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 done" in out and "on vot2018 (reset protocol, 2 sequences): accuracy" in out
    seqs = get_dataset("vot18", env=env_settings(data_dir=str(ws["data"])))
    results = tmp_path / "test/tracking_results/siamrpn/tiny_rpn"
    for seq in seqs:
        trajectory = read_trajectory(trajectory_file(results, "vot2018", seq.name), len(seq))
        assert trajectory[0] == INIT and all(isinstance(e, list) or e in (1, 2, 0) for e in trajectory)
    assert (results / "provenance.json").is_file()
    assert main(args) == 0 and "2 skipped" in capsys.readouterr().out  # finished sequences are not run again
    # --protocol ope runs the same dataset one-pass, into the usual result files
    assert main([*args, "--protocol", "ope"]) == 0
    assert all((results / f"{seq.name}.txt").is_file() for seq in seqs)
