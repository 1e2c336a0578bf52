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

Every check runs before anything is allocated or decoded, since a message's header
can declare far more than it carries: ``step`` is bounded by a row plus
:data:`MAX_ROW_PADDING_BYTES`, ``data`` must hold exactly ``height`` rows (the last
one may omit its padding) and is viewed in place, never padded up to a declared size;
a JPEG or PNG has its declared size read from its header (PNG ``IHDR``, JPEG ``SOF``)
and checked against :class:`FrameLimits` before OpenCV decodes it. A 69-byte PNG can
declare 100000 x 100000 pixels, and ``step`` is a uint32: without these checks one
message costs gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from motionvla_model.configuration import MotionVLAConfig

try:  # A ROS 2 installation ships cv_bridge; the PyPI wheels do not.
    from cv_bridge import CvBridge as _CvBridge
except ImportError:
    _CvBridge = None

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ENCODINGS",
    "MAX_ROW_PADDING_BYTES",
    "Encoding",
    "FrameLimits",
    "ImageConversionError",
    "compressed_to_rgb8",
    "imgmsg_to_numpy",
    "imgmsg_to_rgb8",
    "numpy_to_imgmsg",
    "using_cv_bridge",
]

# Drivers pad rows to an alignment (4 to 64 bytes, at most a 4 KiB page); a longer
# padding is not alignment but a header that lies about the data.
MAX_ROW_PADDING_BYTES = 4096
# 2048 x 2048: a 1080p or 1440p frame fits; the model resizes every frame to at most
# 448 x 448, so larger frames cost memory (12 MB per rgb8 copy) and gain nothing.
DEFAULT_MAX_PIXELS = 2048 * 2048


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


@dataclass(frozen=True)
class FrameLimits:
    """The frames the model can use: a frame outside them is refused on arrival.

    The side and aspect limits are the model's own (``MotionVLAConfig``); a frame it
    would refuse must never replace a usable one. ``max_pixels`` bounds the memory
    and time one frame may cost the node.
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    min_side: int = MotionVLAConfig.min_image_side
    max_side: int = MotionVLAConfig.max_image_side
    max_aspect_ratio: float = MotionVLAConfig.max_image_aspect_ratio

    def __post_init__(self) -> None:
        if not 1 <= self.min_side <= self.max_side:
            raise ValueError(f"need 1 <= min_side <= max_side, got {self.min_side}, "
                             f"{self.max_side}")  # fmt: skip
        if self.max_pixels < self.min_side**2:
            raise ValueError(f"max_pixels {self.max_pixels} is below one {self.min_side}-pixel "
                             "square")  # fmt: skip
        if not self.max_aspect_ratio >= 1:
            raise ValueError(f"max_aspect_ratio must be >= 1, got {self.max_aspect_ratio}")

    def check(self, width: int, height: int) -> None:
        """Raise :class:`ImageConversionError` unless a ``width`` x ``height`` frame fits."""
        low, high = self.min_side, self.max_side
        if not (low <= width <= high and low <= height <= high):
            raise ImageConversionError(
                f"image is {width}x{height} pixels; each side must be in [{low}, {high}]"
            )
        if width * height > self.max_pixels:
            raise ImageConversionError(
                f"image is {width}x{height} = {width * height} pixels; the limit "
                f"(max_image_pixels) is {self.max_pixels}"
            )
        ratio = max(width, height) / min(width, height)
        if ratio > self.max_aspect_ratio:
            raise ImageConversionError(
                f"image aspect ratio {ratio:.1f} exceeds {self.max_aspect_ratio:g}"
            )


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
    if msg.step > row_bytes + MAX_ROW_PADDING_BYTES:
        raise ImageConversionError(
            f"step {msg.step} pads a row of {row_bytes} bytes by more than "
            f"{MAX_ROW_PADDING_BYTES} bytes"
        )
    # The last row need not carry its padding; everything before it must.
    full = msg.step * msg.height
    unpadded_last = full - (msg.step - row_bytes)
    if len(msg.data) not in (full, unpadded_last):
        needs = f"{full}" if full == unpadded_last else f"{unpadded_last} or {full}"
        problem = "truncated" if len(msg.data) < unpadded_last else "longer than declared"
        raise ImageConversionError(
            f"image data is {problem}: {len(msg.data)} bytes for {msg.width}x{msg.height} "
            f"{msg.encoding} with step {msg.step} (needs {needs})"
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
    # A strided view of the message's own buffer: no copy, no padding to step x height.
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    rows = np.lib.stride_tricks.as_strided(
        buffer, shape=(msg.height, row_bytes), strides=(msg.step, 1), writeable=False
    )
    dtype = enc.dtype.newbyteorder(">" if msg.is_bigendian else "<")
    image = np.ascontiguousarray(rows).view(dtype).astype(enc.dtype.newbyteorder("="))
    shape = (msg.height, msg.width) if enc.channels == 1 else (msg.height, msg.width, enc.channels)
    return image.reshape(shape)


def imgmsg_to_rgb8(msg: Image, limits: FrameLimits | None = None) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB for the vision model; mono images are replicated to grey.

    16-bit images are scaled to 8 bits by their full range (``mono16``) — a
    ``16UC1`` depth image carries distances, not brightness, and is refused. A frame
    outside ``limits`` (default :class:`FrameLimits`) is refused before conversion.
    """
    (limits or FrameLimits()).check(msg.width, msg.height)
    if msg.encoding == "16UC1":
        raise ImageConversionError("16UC1 is a depth encoding; the model needs a colour image")
    image = imgmsg_to_numpy(msg)
    enc = ENCODINGS[msg.encoding]
    if enc.dtype == _U16:
        image = (image >> 8).astype(np.uint8)
    if enc.to_rgb is None:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, list(enc.to_rgb)])


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C0-CF but DHT C4, JPG C8 and DAC CC): they carry the size.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageConversionError(f"JPEG has no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _JPEG_SOF:
            if length < 7 or position + 9 > len(data):
                break
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        if marker == 0xDA or length < 2:  # scan data before any frame header
            break
        position += 2 + length
    raise ImageConversionError("JPEG has no readable frame header (SOF)")


def _declared_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) as the JPEG/PNG header declares them, before decoding."""
    if data.startswith(_PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageConversionError("PNG has no IHDR header")
        return "png", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        return ("jpeg", *_jpeg_size(data))
    raise ImageConversionError(
        f"compressed image ({len(data)} bytes, starting {data[:4].hex()}) is neither JPEG nor PNG"
    )


def compressed_to_rgb8(msg: CompressedImage, limits: FrameLimits | None = None) -> np.ndarray:
    """Decode a JPEG/PNG ``CompressedImage`` to ``[H, W, 3]`` uint8 RGB with OpenCV.

    The size the header declares must fit ``limits`` (default :class:`FrameLimits`)
    before OpenCV decodes anything, and the decoded image must have that size.
    """
    if len(msg.data) == 0:
        raise ImageConversionError("compressed image has no data")
    data = bytes(msg.data)
    kind, width, height = _declared_size(data)
    (limits or FrameLimits()).check(width, height)
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise ImageConversionError(f"{kind} image could not be decoded: {error.err}") from None
    if decoded is None:
        raise ImageConversionError(
            f"compressed image (format {msg.format!r}, {len(msg.data)} bytes) could not be decoded"
        )
    if decoded.shape[:2] != (height, width):
        raise ImageConversionError(
            f"{kind} decoded to {decoded.shape[1]}x{decoded.shape[0]}, its header declares "
            f"{width}x{height}"
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
