"""Image decoding for training: jpeg4py (libturbojpeg) when it loads, else OpenCV; RGB uint8 out.

The backend is decided once per process, the first time an image is decoded, and logged once (spec 5.3 and
issue 4 item 4). Both backends return (H, W, 3) RGB uint8 arrays. Files that are not JPEG (e.g. PNG frames of a
custom dataset) always go through OpenCV.

Unlike the original loaders, which printed the error and returned None (so a bad frame surfaced later as an
unrelated exception), a missing file raises FileNotFoundError and an undecodable one raises
:class:`CorruptImageError`; the sampler counts both and draws another sample.
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

__all__ = ["CorruptImageError", "image_backend", "decode_image", "read_image", "opencv_loader", "jpeg4py_loader",
           "default_image_loader"]

logger = logging.getLogger(__name__)

_BACKEND: str | None = None
_JPEG_MAGIC = b"\xff\xd8"


class CorruptImageError(ValueError):
    """An image file exists but cannot be decoded."""


def _jpeg4py_works() -> bool:
    try:
        import jpeg4py
        ok, encoded = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
        decoded = jpeg4py.JPEG(np.frombuffer(encoded.tobytes(), np.uint8)).decode()
        return bool(ok) and decoded.shape == (8, 8, 3)
    except Exception as err:  # any failure to load or run libturbojpeg means: use OpenCV
        logger.debug("jpeg4py unavailable: %s", err)
        return False


def image_backend() -> str:
    """'jpeg4py' or 'opencv': decided on first use in this process and logged once."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = "jpeg4py" if _jpeg4py_works() else "opencv"
        logger.info("image decoding with %s (pid %d)", _BACKEND, os.getpid())
    return _BACKEND


def _decode_opencv(buffer: np.ndarray) -> np.ndarray | None:
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decode_jpeg4py(buffer: np.ndarray) -> np.ndarray | None:
    import jpeg4py
    try:
        return jpeg4py.JPEG(buffer).decode()
    except Exception:  # jpeg4py raises its own error types (and ValueError/OSError) on bad data
        return None


def decode_image(data: bytes | bytearray | memoryview | np.ndarray, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to an (H, W, 3) RGB uint8 array.

    Args:
        data: the encoded file contents.
        name: shown in the error message.

    Raises:
        CorruptImageError: the data is empty or cannot be decoded.
    """
    buffer = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    if buffer.size == 0:
        raise CorruptImageError(f"empty image file {name}")
    image = None
    if image_backend() == "jpeg4py" and buffer[:2].tobytes() == _JPEG_MAGIC:
        image = _decode_jpeg4py(buffer)
    if image is None:
        image = _decode_opencv(buffer)
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        raise CorruptImageError(f"cannot decode the image {name}")
    return image


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read and decode an image file to RGB uint8; FileNotFoundError if absent, CorruptImageError if broken."""
    with open(path, "rb") as f:
        data = f.read()
    return decode_image(data, str(path))


def opencv_loader(path: str | os.PathLike) -> np.ndarray:
    """Decode with OpenCV only (RGB uint8); the loader the original used for training."""
    with open(path, "rb") as f:
        image = _decode_opencv(np.frombuffer(f.read(), np.uint8))
    if image is None:
        raise CorruptImageError(f"cannot decode the image {path}")
    return image


def jpeg4py_loader(path: str | os.PathLike) -> np.ndarray:
    """Decode with jpeg4py only (RGB uint8)."""
    with open(path, "rb") as f:
        image = _decode_jpeg4py(np.frombuffer(f.read(), np.uint8))
    if image is None:
        raise CorruptImageError(f"cannot decode the image {path} with jpeg4py")
    return image


default_image_loader = read_image
