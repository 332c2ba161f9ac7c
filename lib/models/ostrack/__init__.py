"""OSTrack: the one-stream ViT tracker model, its backbones, and the builder ``build_ostrack``."""

from lib.models.ostrack.ostrack import OSTrack, build_ostrack

__all__ = ["OSTrack", "build_ostrack"]
