"""lib.utils.annotations: the per-frame box parsing shared by the training datasets and the evaluation readers."""

from __future__ import annotations

import numpy as np

from lib.utils.annotations import format_line_numbers, frame_lines, parse_box_lines, split_values


def test_frame_lines_drop_only_trailing_blank_lines():
    assert frame_lines("1\n\n2\n \n\n") == ["1", "", "2"]
    assert frame_lines("\n\n") == [] and frame_lines("") == []


def test_split_values_at_the_given_separators():
    assert split_values("1,2\t3 4") == ["1", "2", "3", "4"]
    assert split_values("1;2;3;4") == ["1;2;3;4"]
    assert split_values("1;2;3;4", ",\t;") == ["1", "2", "3", "4"]


def test_a_bad_line_is_a_nan_row_at_its_frame():
    boxes, bad = parse_box_lines(["1,2,3,4", "", "5 6 7", "8\t9,10 11", "a,b,c,d", "nan,1,2,3"])
    assert bad == [2, 3, 5] and boxes.dtype == np.float64 and boxes.shape == (6, 4)
    np.testing.assert_array_equal(boxes[[0, 3]], [[1, 2, 3, 4], [8, 9, 10, 11]])
    assert np.isnan(boxes[[1, 2, 4]]).all() and np.isnan(boxes[5, 0]) and boxes[5, 1] == 1


def test_dtype_and_separators():
    boxes, bad = parse_box_lines(["0.1;2;3;4"], dtype=np.float32, separators=",\t;")
    assert bad == [] and boxes.dtype == np.float32 and boxes[0, 0] == np.float32(0.1)
    _, bad = parse_box_lines(["0.1;2;3;4"])
    assert bad == [1]
    boxes, bad = parse_box_lines([])
    assert boxes.shape == (0, 4) and bad == []


def test_format_line_numbers_shows_the_first_five():
    assert format_line_numbers([2, 4, 5]) == "2, 4, 5"
    assert format_line_numbers(list(range(1, 13))) == "1, 2, 3, 4, 5 (and 7 more)"
