"""The first-box baseline tracker runs through tracking/test.py and repeats the initial box."""

import runpy

import numpy as np

from lib.utils.environment import PROJECT_ROOT


def test_first_box_baseline_repeats_the_initial_box(tmp_path, capsys):
    from lib.train.dataset.synthetic_generator import generate_dataset

    data = tmp_path / "data"
    generate_dataset(data / "synthetic", layout="got10k", num_train=1, num_val=2, num_test=1, frames=6,
                     size=(96, 64), seed=5, workers=1)
    main = runpy.run_path(str(PROJECT_ROOT / "tracking" / "test.py"), run_name="test_py")["main"]
    assert main(["first_box", "default", "--dataset", "synthetic_val", "--data_dir", str(data),
                 "--save_dir", str(tmp_path / "out"), "--no_progress"]) == 0
    results = tmp_path / "out" / "test" / "tracking_results" / "first_box" / "default"
    for seq in sorted((data / "synthetic" / "val").glob("GOT-10k_Val_*")):
        gt = np.loadtxt(seq / "groundtruth.txt", delimiter=",")
        boxes = np.loadtxt(results / f"{seq.name}.txt", delimiter="\t")
        assert boxes.shape == (6, 4)
        assert (boxes == np.trunc(gt[0])).all()  # every row is the first box, int-truncated as the original
