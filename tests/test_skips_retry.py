"""The samplers' shared retry loop (draw_with_retries) and load-error conversion (load_errors_as_skips)."""

from __future__ import annotations

import logging

import pytest

from lib.train.data.skips import SKIP_REASONS, SampleSkip, SkipCounter, draw_with_retries, load_errors_as_skips
from lib.train.dataset.base_video_dataset import AnnotationError
from lib.utils.errors import ConfigError, DatasetNotFoundError
from lib.utils.image import CorruptImageError

LOG = logging.getLogger("tests.skips_retry")
LOADS = (FileNotFoundError, CorruptImageError, AnnotationError)


class Failed(Exception):
    pass


def failing_then(errors):
    """A draw function raising ``errors`` in turn, then returning a sample; it records the attempt numbers."""
    attempts = []

    def draw(attempt):
        attempts.append(attempt)
        if attempt < len(errors):
            raise errors[attempt]
        return {"value": attempt}

    return draw, attempts


def give_up(skipped):
    return Failed(skipped)


def counts(tensor):
    return {name: int(n) for name, n in zip(SKIP_REASONS, tensor) if n}


def test_failed_draws_are_counted_by_reason_and_travel_with_the_sample():
    skips = SkipCounter()
    draw, attempts = failing_then([SampleSkip("too_short"), FileNotFoundError("f"), CorruptImageError("c"),
                                   AnnotationError("a"), KeyError("k")])
    sample = draw_with_retries(draw, 10, skips, LOG, give_up, counted=LOADS)
    assert attempts == [0, 1, 2, 3, 4, 5] and sample["value"] == 5
    assert counts(sample["skipped"]) == {"too_short": 1, "missing_image": 1, "corrupt_image": 1, "bad_box": 1,
                                         "error": 1}
    assert skips.total() == 0  # taken with the sample


def test_load_errors_are_errors_unless_counted():
    skips = SkipCounter()
    draw, _ = failing_then([FileNotFoundError("f"), AnnotationError("a")])
    sample = draw_with_retries(draw, 10, skips, LOG, give_up, counted=(AnnotationError,))
    assert counts(sample["skipped"]) == {"error": 1, "bad_box": 1}


@pytest.mark.parametrize("error", [ConfigError("bad setting"), DatasetNotFoundError("no root")])
def test_user_errors_stop_at_once_even_when_they_are_also_load_errors(error):
    draw, attempts = failing_then([error])
    with pytest.raises(type(error)):
        draw_with_retries(draw, 10, SkipCounter(), LOG, give_up, counted=LOADS)
    assert attempts == [0]


def test_giving_up_raises_the_callers_error_with_the_counts():
    skips = SkipCounter()
    draw, attempts = failing_then([SampleSkip("bad_box")] * 3)
    with pytest.raises(Failed, match="skipped 3 draws: bad_box 3"):
        draw_with_retries(draw, 3, skips, LOG, give_up)
    assert attempts == [0, 1, 2]


def test_an_unexpected_error_is_logged_once_per_type(caplog):
    skips = SkipCounter()
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        for _ in range(2):
            draw, _ = failing_then([KeyError("k"), KeyError("k"), IndexError("i")])
            draw_with_retries(draw, 10, skips, LOG, give_up, what="a test draw")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["a test draw failed with KeyError (counted as 'error'; logged once per type)",
                        "a test draw failed with IndexError (counted as 'error'; logged once per type)"]
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]  # errors: the warning only


def test_skips_are_logged_at_debug_level_and_errors_too_when_asked(caplog):
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        draw, _ = failing_then([SampleSkip("too_short", "short"), KeyError("k")])
        draw_with_retries(draw, 10, SkipCounter(), LOG, give_up, debug_errors=True)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["skipped a draw (too_short): short", "skipped a draw (error): 'k'"]


def test_load_errors_as_skips_converts_only_the_named_types():
    with pytest.raises(SampleSkip) as info:
        with load_errors_as_skips():
            raise CorruptImageError("broken.jpg")
    assert info.value.reason == "corrupt_image" and str(info.value) == "broken.jpg"
    with pytest.raises(SampleSkip, match="gone.jpg") as info:
        with load_errors_as_skips(FileNotFoundError):
            raise DatasetNotFoundError("gone.jpg")  # a FileNotFoundError subclass: converted, as before
    assert info.value.reason == "missing_image"
    with pytest.raises(AnnotationError):
        with load_errors_as_skips(FileNotFoundError, CorruptImageError):
            raise AnnotationError("bad")
    with pytest.raises(KeyError):
        with load_errors_as_skips():
            raise KeyError("other")
