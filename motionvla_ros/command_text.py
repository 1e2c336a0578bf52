"""A command's text from the bytes of its ``std_msgs/String``: strict UTF-8, plain text.

The generator subscribes to ``command`` raw (serialized CDR) because rclpy decodes a
``String`` with replacement characters: a U+FFFD the sender meant and one that stands
for bytes that are not UTF-8 would look the same. :func:`command_from_cdr` reads the
bytes, decodes them strictly and passes the text to :func:`clean_command`, which
turns what a careless publisher adds into plain text or a refusal:

* terminal escape sequences (an ANSI colour prefix from a console tool) are removed;
  left in, their letters join the command's first word ("\\x1b[31mwalk" reads
  "mwalk") and change which motion is chosen;
* invisible formatting characters (Unicode category Cf: zero-width spaces, bidi
  overrides) are removed, and whitespace controls (tab, newline) become spaces;
* any other control character (NUL, a lone ESC, DEL, C1 controls) refuses the command.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CommandTextError", "clean_command", "command_from_cdr"]

_HEADER_BYTES = 4  # CDR encapsulation: representation id (2 bytes) and options (2 bytes)
_LITTLE_ENDIAN_IDS = {b"\x00\x01", b"\x00\x03", b"\x00\x07", b"\x00\x09", b"\x00\x0b"}
# CSI (ESC [ ... final byte) and OSC (ESC ] ... BEL or ESC \) sequences.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_WHITESPACE_CONTROLS = re.compile(r"[\t\n\r\v\f]")


class CommandTextError(ValueError):
    """A command cannot be taken as text; ``preview`` is what it showed, for reports."""

    def __init__(self, reason: str, preview: str = "") -> None:
        super().__init__(reason)
        self.preview = preview


def command_from_cdr(raw: bytes, max_chars: int) -> str:
    """The command in a serialized ``std_msgs/String``, as plain text (see above).

    Text longer than ``max_chars`` is refused; text of more than ``4 * max_chars``
    bytes (the most that many UTF-8 characters take) before it is decoded.
    """
    if len(raw) < _HEADER_BYTES + 4:
        raise CommandTextError(f"command message is {len(raw)} bytes, too short for a String")
    order = "little" if raw[:2] in _LITTLE_ENDIAN_IDS else "big"
    length = int.from_bytes(raw[_HEADER_BYTES : _HEADER_BYTES + 4], order)
    start = _HEADER_BYTES + 4
    if length == 0 or start + length > len(raw):
        raise CommandTextError(f"command message declares {length} bytes of text in {len(raw)}")
    data = bytes(raw[start : start + length - 1])  # the length counts the terminating NUL
    preview = data[:80].decode("utf-8", "replace")
    if len(data) > 4 * max_chars:
        raise CommandTextError(
            f"command has {len(data)} bytes; the limit (max_command_chars) is {max_chars} "
            "characters",
            preview,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"command is not valid UTF-8 ({error.reason} at byte {error.start})"
        raise CommandTextError(reason, preview) from None
    return clean_command(text, max_chars)


def clean_command(text: str, max_chars: int) -> str:
    """``text`` as plain, stripped text of at most ``max_chars`` characters (see above)."""
    preview = text[:80]
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _WHITESPACE_CONTROLS.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").strip()
    control = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        reason = f"command contains the control character U+{ord(control):04X}"
        raise CommandTextError(reason, preview)
    if not text:
        raise CommandTextError("command is empty", preview)
    if len(text) > max_chars:
        raise CommandTextError(
            f"command has {len(text)} characters; the limit (max_command_chars) is {max_chars}",
            preview,
        )
    return text
