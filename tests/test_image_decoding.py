"""JPEG decoding through simplejpeg gives OpenCV's pixels (issue 15 part 7), and OpenCV keeps what it alone does."""

import cv2
import numpy as np
import pytest

from lib.utils import image as image_loader
from lib.utils.image import CorruptImageError, decode_image, exif_orientation, image_backend
from lib.train.dataset.storage import FolderStorage
from lib.train.dataset.synthetic_generator import generate_dataset


def opencv_rgb(data: bytes) -> np.ndarray:
    """The reference: OpenCV's decoding, BGR -> RGB."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def photo(height: int = 61, width: int = 97) -> np.ndarray:
    """A BGR test image with texture, edges and saturated colours (odd sizes exercise chroma edge handling)."""
    rng = np.random.RandomState(3)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x ^ y) & 255], axis=-1).astype(np.int32)
    image += rng.randint(-20, 21, image.shape)
    image[height // 4:height // 2, width // 3:width // 2] = (10, 240, 250)
    return np.clip(image, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, *params: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, list(params))
    assert ok
    return buffer.tobytes()


def with_exif_orientation(jpeg: bytes, orientation: int, byte_order: bytes = b"II") -> bytes:
    """Insert an APP1 EXIF segment whose IFD0 holds only the Orientation tag, right after SOI."""
    order = "little" if byte_order == b"II" else "big"
    entry = ((0x0112).to_bytes(2, order) + (3).to_bytes(2, order) + (1).to_bytes(4, order)
             + orientation.to_bytes(2, order) + b"\x00\x00")
    tiff = byte_order + (42).to_bytes(2, order) + (8).to_bytes(4, order) + (1).to_bytes(2, order) + entry \
        + (0).to_bytes(4, order)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def test_the_fast_path_is_used():
    # simplejpeg is a declared dependency: a missing install or a decoder that disagrees with OpenCV fails here.
    assert image_backend() == "simplejpeg"


def test_synthetic_dataset_frames_equal_opencv_pixels(tmp_path):
    # The frames the main job trains on: every JPEG of a small synthetic dataset, at two qualities.
    for quality in (90, 75):
        root = tmp_path / f"q{quality}"
        generate_dataset(root, layout="got10k", num_train=2, num_val=1, num_test=0, frames=8, size=(160, 90),
                         seed=1, workers=1, quality=quality)
        files = sorted(root.rglob("*.jpg"))
        assert len(files) == 24
        for path in files:
            data = path.read_bytes()
            fast = decode_image(data, str(path), backend="simplejpeg")
            assert fast.dtype == np.uint8 and fast.shape == (90, 160, 3)
            np.testing.assert_array_equal(fast, opencv_rgb(data), err_msg=str(path))


@pytest.mark.parametrize("params", [
    (cv2.IMWRITE_JPEG_QUALITY, 95),
    (cv2.IMWRITE_JPEG_QUALITY, 30),
    (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
    (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422),
    (cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
    (cv2.IMWRITE_JPEG_RST_INTERVAL, 4),
], ids=["q95", "q30", "444", "422", "progressive", "restart"])
def test_jpeg_variants_equal_opencv_pixels(params):
    data = encode(photo(), *params)
    np.testing.assert_array_equal(decode_image(data, backend="simplejpeg"), opencv_rgb(data))


def test_grayscale_jpeg_becomes_three_equal_channels_as_in_opencv():
    data = encode(cv2.cvtColor(photo(), cv2.COLOR_BGR2GRAY))
    image = decode_image(data, backend="simplejpeg")
    assert image.shape == (61, 97, 3)
    np.testing.assert_array_equal(image, opencv_rgb(data))


@pytest.mark.parametrize("byte_order", [b"II", b"MM"])
def test_exif_rotation_is_left_to_opencv(byte_order):
    # OpenCV applies the EXIF orientation (6: rotate 90 degrees clockwise); simplejpeg would not.
    plain = encode(photo())
    rotated = with_exif_orientation(plain, 6, byte_order)
    assert exif_orientation(plain) is None and exif_orientation(rotated) == 6
    image = decode_image(rotated, backend="simplejpeg")
    assert image.shape == (97, 61, 3)
    np.testing.assert_array_equal(image, opencv_rgb(rotated))
    upright = with_exif_orientation(plain, 1, byte_order)
    assert exif_orientation(upright) == 1
    np.testing.assert_array_equal(decode_image(upright, backend="simplejpeg"), opencv_rgb(plain))


def test_png_goes_through_opencv():
    ok, png = cv2.imencode(".png", photo())
    np.testing.assert_array_equal(decode_image(png.tobytes(), backend="simplejpeg"), opencv_rgb(png.tobytes()))


@pytest.mark.parametrize("backend", ["simplejpeg", "opencv"])
def test_truncated_jpeg_is_corrupt_with_either_backend(backend):
    # simplejpeg refuses a JPEG cut short and so does OpenCV, so the sampler skips and counts the frame instead
    # of training on a half-grey image.
    data = encode(photo(120, 160))
    for size in (1500, len(data) - 200, len(data) - 2):
        with pytest.raises(CorruptImageError, match="frame.jpg"):
            decode_image(data[:size], "frame.jpg", backend=backend)


def test_broken_data_is_a_corrupt_image_error_naming_the_file(tmp_path):
    storage = FolderStorage(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "noise.jpg").write_bytes(b"\xff\xd8" + bytes(range(256)) * 4)
    with pytest.raises(CorruptImageError, match="empty.jpg"):
        storage.read_image("empty.jpg")
    with pytest.raises(CorruptImageError, match="noise.jpg"):
        storage.read_image("noise.jpg")
    with pytest.raises(FileNotFoundError):
        storage.read_image("missing.jpg")


def test_storage_reads_through_the_fast_path(tmp_path):
    data = encode(photo())
    (tmp_path / "00000001.jpg").write_bytes(data)
    np.testing.assert_array_equal(FolderStorage(tmp_path).read_image("00000001.jpg"), opencv_rgb(data))


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown image decoding backend 'jpeg4py'; known: simplejpeg, opencv"):
        decode_image(encode(photo()), backend="jpeg4py")


def test_malformed_exif_block_is_left_to_opencv():
    data = encode(photo())
    broken = data[:2] + b"\xff\xe1\x00\x0aExif\x00\x00XX" + data[2:]  # 2 bytes of TIFF: unreadable
    assert exif_orientation(broken) == 0
    assert image_loader._decode_simplejpeg(np.frombuffer(broken, np.uint8)) is None
