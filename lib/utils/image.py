"""The one image reader of training and evaluation: simplejpeg (libjpeg-turbo in its wheel) for JPEG, else OpenCV.

Every frame, training sample and tracked video frame is read by :func:`read_image` (or decoded from LMDB bytes by
:func:`decode_image`) into (H, W, 3) uint8 RGB.

OpenCV is the reference: the JPEG fast path gives the same pixels as ``cv2.imdecode`` + BGR->RGB (both use
libjpeg-turbo with the accurate integer DCT and fancy upsampling; ``tests/test_image_decoding.py`` compares every
frame of a synthetic dataset). The fast path is used only where that holds, and OpenCV decodes everything else:

* files that are not JPEG (e.g. PNG frames of a custom dataset);
* JPEGs with an EXIF orientation other than 1 (OpenCV rotates them, simplejpeg would not);
* JPEGs simplejpeg refuses (CMYK, or damaged data: OpenCV then has the last word, and it refuses a file cut
  short too, which the sampler counts and skips);
* a process where simplejpeg is not installed or does not decode a probe image exactly as OpenCV does.

The backend is decided once per process, the first time an image is decoded, and logged once. No system library
is needed (the original used jpeg4py, which needs libturbojpeg from the system's package manager).

Unlike the original loaders, which printed the error and returned None (so a bad frame surfaced later as an
unrelated exception), a missing file raises FileNotFoundError and an undecodable one (also a JPEG cut short, which
OpenCV would decode with the missing part grey) raises :class:`CorruptImageError`; the training sampler counts both
and draws another sample, the evaluation fails that sequence naming the frame.
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np


__all__ = ["CorruptImageError", "image_backend", "decode_image", "read_image",
           "exif_orientation", "BACKENDS"]

logger = logging.getLogger(__name__)

BACKENDS = ("simplejpeg", "opencv")
_BACKEND: str | None = None
_JPEG_MAGIC = b"\xff\xd8"
_SOS, _EOI, _APP1 = 0xDA, 0xD9, 0xE1
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION_TAG = 0x0112
_IMREAD_COLOR_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


class CorruptImageError(ValueError):
    """An image file exists but cannot be decoded (empty, not an image, or a JPEG cut short)."""


def _probe_image() -> np.ndarray:
    """A small colour image with edges and gradients, so chroma upsampling and the IDCT both show."""
    y, x = np.mgrid[0:24, 0:40]
    image = np.stack([x * 6, y * 10, (x * y) % 256], axis=-1).astype(np.uint8)  # (24, 40, 3)
    image[8:16, 10:30] = (250, 20, 60)
    return image


def _simplejpeg_matches_opencv() -> bool:
    """Whether simplejpeg imports and decodes a 4:2:0 probe JPEG to exactly OpenCV's pixels."""
    try:
        import simplejpeg
        ok, encoded = cv2.imencode(".jpg", _probe_image(), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            return False
        fast = simplejpeg.decode_jpeg(encoded, colorspace="RGB", fastdct=False, fastupsample=False)
        reference = _decode_opencv(encoded)
        same = reference is not None and fast.shape == reference.shape and bool(np.array_equal(fast, reference))
        if not same:
            logger.warning("simplejpeg decodes a probe JPEG differently from OpenCV; decoding with OpenCV")
        return same
    except Exception as err:  # an import or run failure of the optional fast path means: use OpenCV
        logger.debug("simplejpeg unavailable: %s", err)
        return False


def image_backend() -> str:
    """'simplejpeg' or 'opencv': decided on first use in this process and logged once."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = "simplejpeg" if _simplejpeg_matches_opencv() else "opencv"
        logger.info("JPEG decoding with %s (pid %d)", _BACKEND, os.getpid())
    return _BACKEND


def exif_orientation(data: bytes | bytearray | memoryview | np.ndarray) -> int | None:
    """The EXIF orientation (1-8) of a JPEG, None without one, 0 when an EXIF block cannot be read.

    Walks the marker segments up to the start of the scan; reads only the header.
    """
    view = memoryview(data).cast("B")
    size, pos = len(view), 2
    while pos + 4 <= size:
        if view[pos] != 0xFF:
            return None  # not a marker: malformed header, nothing more to learn
        marker = view[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (_SOS, _EOI):
            return None
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        length = (view[pos + 2] << 8) | view[pos + 3]
        if marker == _APP1 and bytes(view[pos + 4:pos + 10]) == _EXIF_HEADER:
            return _tiff_orientation(bytes(view[pos + 10:pos + 2 + length]))
        pos += 2 + length
    return None


def _tiff_orientation(tiff: bytes) -> int | None:
    """The Orientation tag of IFD0 of an EXIF TIFF block; 0 when the block is malformed."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 0
    order = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 0
    count = int.from_bytes(tiff[ifd:ifd + 2], order)
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(tiff):
            return 0
        if int.from_bytes(tiff[entry:entry + 2], order) == _ORIENTATION_TAG:
            return int.from_bytes(tiff[entry + 8:entry + 10], order)  # a SHORT, left-justified in the value field
    return None


def _decode_opencv(buffer: np.ndarray) -> np.ndarray | None:
    # OpenCV >= 4.11 decodes straight to RGB (the same pixels as BGR + cvtColor, without the extra pass)
    if _IMREAD_COLOR_RGB is not None:
        return cv2.imdecode(buffer, _IMREAD_COLOR_RGB)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decode_simplejpeg(buffer: np.ndarray) -> np.ndarray | None:
    import simplejpeg
    if exif_orientation(buffer) not in (None, 1):
        return None  # OpenCV applies the rotation; leave the file to it
    try:
        return simplejpeg.decode_jpeg(buffer, colorspace="RGB", fastdct=False, fastupsample=False)
    except ValueError:  # simplejpeg's error for data it cannot (or, strictly, should not) decode
        return None


def decode_image(data: bytes | bytearray | memoryview | np.ndarray, name: str = "<bytes>",
                 backend: str | None = None) -> np.ndarray:
    """Decode encoded image bytes to an (H, W, 3) RGB uint8 array.

    Args:
        data: the encoded file contents.
        name: shown in the error message.
        backend: 'simplejpeg' or 'opencv' to force one (tests, benchmarks); None uses :func:`image_backend`.
            Whatever is chosen, files the fast path does not take go through OpenCV.

    Raises:
        CorruptImageError: the data is empty or cannot be decoded.
        ValueError: an unknown ``backend``.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown image decoding backend {backend!r}; known: {', '.join(BACKENDS)}")
    buffer = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    if buffer.size == 0:
        raise CorruptImageError(f"empty image file {name}")
    is_jpeg = buffer[:2].tobytes() == _JPEG_MAGIC
    # a complete JPEG ends with the EOI marker FF D9 (some writers append a trailer); in entropy-coded data an FF
    # byte is always followed by 00 or a restart marker, so a cut-short file has no FF D9 near its end
    if is_jpeg and b"\xff\xd9" not in buffer[-4096:].tobytes():
        raise CorruptImageError(f"the image {name} is a truncated JPEG (no end-of-image marker)")
    image = None
    if is_jpeg and (backend or image_backend()) == "simplejpeg":
        image = _decode_simplejpeg(np.ascontiguousarray(buffer))
    if image is None:
        image = _decode_opencv(buffer)
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        raise CorruptImageError(f"cannot decode the image {name} (not an image, or damaged)")
    return image


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read and decode an image file to (H, W, 3) uint8 RGB (the colour order trackers are trained with).

    Raises:
        OSError: the file is missing or unreadable (FileNotFoundError when absent).
        CorruptImageError: the file is empty, not an image, or a JPEG cut short.
    """
    with open(path, "rb") as f:
        data = f.read()
    return decode_image(data, str(path))
