"""SiamFC++ training data pieces: the densebox target maker (spec 5)."""

from lib.train.data.siamfcpp.target import (DenseboxTarget, densebox_score_offset, densebox_score_size,
                                            make_densebox_target)

__all__ = ["DenseboxTarget", "make_densebox_target", "densebox_score_size", "densebox_score_offset"]
