"""Actors map a batch to ``(loss, stats)``."""

from lib.train.actors.base_actor import BaseActor
from lib.train.actors.ostrack import OSTrackActor, build_ostrack_actor

__all__ = ["BaseActor", "OSTrackActor", "build_ostrack_actor"]
