"""``sensor_msgs/Image`` and ``sensor_msgs/CompressedImage`` <-> numpy arrays.

An ``Image`` is ``height`` rows of ``step`` bytes each; a row holds ``width`` pixels
of ``channels`` samples of one dtype, followed by ``step - width * channels * itemsize``
bytes of padding. Multi-byte samples are big-endian when ``is_bigendian`` is set.
So the array view of ``data`` is::

    rows  = frombuffer(data, uint8)[: height * step].reshape(height, step)
    image = rows[:, : width * channels * itemsize].view(dtype).reshape(height, width, channels)

followed by a byte swap when the message's byte order differs from the host's.

The real ``cv_bridge`` is used when it is importable (a ROS 2 installation); the
built-in conversion covers the same encodings where it is not (PyPI wheels), and
both are preceded by the same validation, so a malformed message always ends in an
:class:`ImageConversionError` that names the problem, never in a crash or a
silently wrong picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

try:  # A ROS 2 installation ships cv_bridge; the PyPI wheels do not.
    from cv_bridge import CvBridge as _CvBridge
except ImportError:
    _CvBridge = None

__all__ = [
    "ENCODINGS",
    "Encoding",
    "ImageConversionError",
    "compressed_to_rgb8",
    "imgmsg_to_numpy",
    "imgmsg_to_rgb8",
    "numpy_to_imgmsg",
    "using_cv_bridge",
]


class ImageConversionError(ValueError):
    """An image message cannot be turned into an array (or an array into a message)."""


@dataclass(frozen=True)
class Encoding:
    """How one ``sensor_msgs/Image`` encoding lays out a pixel."""

    dtype: np.dtype
    channels: int
    # Channel permutation that turns this encoding into RGB, or None for mono.
    to_rgb: tuple[int, ...] | None


_U8, _U16 = np.dtype(np.uint8), np.dtype(np.uint16)

ENCODINGS: dict[str, Encoding] = {
    "rgb8": Encoding(_U8, 3, (0, 1, 2)),
    "bgr8": Encoding(_U8, 3, (2, 1, 0)),
    "rgba8": Encoding(_U8, 4, (0, 1, 2)),
    "bgra8": Encoding(_U8, 4, (2, 1, 0)),
    "mono8": Encoding(_U8, 1, None),
    "8UC1": Encoding(_U8, 1, None),
    "8UC3": Encoding(_U8, 3, (2, 1, 0)),  # OpenCV's default channel order is BGR
    "mono16": Encoding(_U16, 1, None),
    "16UC1": Encoding(_U16, 1, None),
}


def using_cv_bridge() -> bool:
    """True when conversions go through the real ``cv_bridge``."""
    return _CvBridge is not None


def _encoding(name: str) -> Encoding:
    try:
        return ENCODINGS[name]
    except KeyError:
        raise ImageConversionError(
            f"unsupported image encoding {name!r}; supported: {', '.join(ENCODINGS)}"
        ) from None


def _validate_layout(msg: Image) -> Encoding:
    enc = _encoding(msg.encoding)
    if msg.height == 0 or msg.width == 0:
        raise ImageConversionError(f"image is empty ({msg.width}x{msg.height})")
    row_bytes = msg.width * enc.channels * enc.dtype.itemsize
    if msg.step < row_bytes:
        raise ImageConversionError(
            f"step {msg.step} is shorter than one row of {msg.width} {msg.encoding} pixels "
            f"({row_bytes} bytes)"
        )
    # The last row need not carry its padding; everything before it must.
    needed = msg.step * (msg.height - 1) + row_bytes
    if len(msg.data) < needed:
        raise ImageConversionError(
            f"image data is truncated: {len(msg.data)} bytes for {msg.width}x{msg.height} "
            f"{msg.encoding} with step {msg.step} (needs {needed})"
        )
    return enc


def imgmsg_to_numpy(msg: Image) -> np.ndarray:
    """The pixels of ``msg`` as ``[H, W]`` (one channel) or ``[H, W, C]``, host byte order.

    The array owns its memory (it does not alias the message buffer).
    """
    enc = _validate_layout(msg)
    if _CvBridge is not None and not msg.is_bigendian:
        image = _CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")
        return np.array(image, copy=True)
    row_bytes = msg.width * enc.channels * enc.dtype.itemsize
    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    # Pad a short final row so every row can be viewed with the same stride.
    total = msg.step * msg.height
    if len(buffer) < total:
        buffer = np.concatenate([buffer, np.zeros(total - len(buffer), np.uint8)])
    rows = buffer[:total].reshape(msg.height, msg.step)[:, :row_bytes]
    dtype = enc.dtype.newbyteorder(">" if msg.is_bigendian else "<")
    image = np.ascontiguousarray(rows).view(dtype).astype(enc.dtype.newbyteorder("="))
    shape = (msg.height, msg.width) if enc.channels == 1 else (msg.height, msg.width, enc.channels)
    return image.reshape(shape)


def imgmsg_to_rgb8(msg: Image) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB for the vision model; mono images are replicated to grey.

    16-bit images are scaled to 8 bits by their full range (``mono16``) — a
    ``16UC1`` depth image carries distances, not brightness, and is refused.
    """
    if msg.encoding == "16UC1":
        raise ImageConversionError("16UC1 is a depth encoding; the model needs a colour image")
    image = imgmsg_to_numpy(msg)
    enc = ENCODINGS[msg.encoding]
    if enc.dtype == _U16:
        image = (image >> 8).astype(np.uint8)
    if enc.to_rgb is None:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, list(enc.to_rgb)])


def compressed_to_rgb8(msg: CompressedImage) -> np.ndarray:
    """Decode a JPEG/PNG ``CompressedImage`` to ``[H, W, 3]`` uint8 RGB with OpenCV."""
    if len(msg.data) == 0:
        raise ImageConversionError("compressed image has no data")
    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageConversionError(
            f"compressed image (format {msg.format!r}, {len(msg.data)} bytes) could not be decoded"
        )
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def numpy_to_imgmsg(
    image: np.ndarray,
    encoding: str,
    *,
    step: int | None = None,
    is_bigendian: bool = False,
    frame_id: str = "",
) -> Image:
    """Pack ``image`` (``[H, W]`` or ``[H, W, C]``) into an ``Image`` of ``encoding``.

    ``step`` larger than a row adds zero padding (as some drivers do);
    ``is_bigendian`` writes multi-byte samples big-endian. The header stamp is
    left for the caller to set.
    """
    enc = _encoding(encoding)
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] != enc.channels:
        raise ImageConversionError(
            f"{encoding} needs {enc.channels} channel(s); got an array of shape {image.shape}"
        )
    if image.dtype != enc.dtype:
        raise ImageConversionError(f"{encoding} needs dtype {enc.dtype}; got {image.dtype}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ImageConversionError(f"image is empty ({width}x{height})")
    row_bytes = width * enc.channels * enc.dtype.itemsize
    step = row_bytes if step is None else int(step)
    if step < row_bytes:
        raise ImageConversionError(f"step {step} is shorter than one row ({row_bytes} bytes)")
    samples = image.astype(enc.dtype.newbyteorder(">" if is_bigendian else "<"), copy=False)
    rows = np.zeros((height, step), dtype=np.uint8)
    rows[:, :row_bytes] = np.ascontiguousarray(samples).view(np.uint8).reshape(height, row_bytes)
    msg = Image()
    msg.header.frame_id = frame_id
    msg.height, msg.width = height, width
    msg.encoding = encoding
    msg.is_bigendian = int(is_bigendian)
    msg.step = step
    msg.data = rows.tobytes()
    return msg
