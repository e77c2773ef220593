"""Drawing the summary pictures with Pillow: fonts found offline, plain text, cells, PNG bytes.

Pillow is imported here only, and only when a picture is drawn, so the bot starts without it.
Member-written text is drawn as plain text: a font has no markup, and characters the font
cannot draw (emoji in a title, say) are left out rather than drawn as empty boxes.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw as Draw
    from PIL.ImageFont import FreeTypeFont

# DejaVu (Debian's fonts-dejavu-core, in most desktop and server images) covers Latin,
# Greek, Cyrillic and more; without it, Pillow's bundled Aileron (ASCII only) still draws.
FONT_FILES = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    ),
}
ELLIPSIS = "…"  # in DejaVu and in Aileron
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Font:
    """A loaded font; `fake_bold` when no bold face exists (drawn with a thin stroke)."""

    face: FreeTypeFont
    fake_bold: bool = False


@cache
def font(size: int, bold: bool = False) -> Font:
    from PIL import ImageFont

    for name in FONT_FILES[bold]:
        if Path(name).is_file():
            try:
                return Font(ImageFont.truetype(name, size))
            except OSError:
                continue
    face = ImageFont.load_default(size=size)
    assert isinstance(face, ImageFont.FreeTypeFont)  # Pillow >= 10.1 built with FreeType
    return Font(face, fake_bold=bold)


@cache
def _missing_mask(f: Font) -> bytes:
    # What the font draws for a character it lacks (its .notdef box).
    return bytes(f.face.getmask("\U0010fffd"))


@cache
def can_draw(f: Font, ch: str) -> bool:
    if ch.isspace():
        return True
    mask = f.face.getmask(ch)
    return mask.size[0] > 0 and bytes(mask) != _missing_mask(f)


def plain(text: str, f: Font) -> str:
    """Member-written text as one line the font can draw: whitespace folded, unknown glyphs out."""
    kept = "".join(ch for ch in _SPACES.sub(" ", text) if ch.isprintable() and can_draw(f, ch))
    return _SPACES.sub(" ", kept).strip()


def fit(text: str, f: Font, width: float) -> str:
    """`text`, cut with an ellipsis where it is wider than `width` pixels."""
    if f.face.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if f.face.getlength(text[:mid].rstrip() + ELLIPSIS) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


def width_of(text: str, f: Font) -> float:
    return float(f.face.getlength(text))


class Canvas:
    """A white picture to draw on, in pixels (the callers' sizes are already at 2x).

    `top`: the picture's row this canvas starts at (a band of a taller picture, see
    picture_bands): what is drawn keeps the picture's coordinates and lands `top` rows higher.
    """

    def __init__(self, width: int, height: int, top: int = 0) -> None:
        from PIL import Image, ImageDraw

        self.image = Image.new("RGB", (width, height), "#ffffff")
        self.draw: Draw = ImageDraw.Draw(self.image)
        self.top = top

    def _at(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        return (box[0], box[1] - self.top, box[2], box[3] - self.top)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        f: Font,
        fill: str,
        anchor: str = "la",
    ) -> None:
        extra: dict[str, Any] = {}
        if f.fake_bold:
            extra = {"stroke_width": 1, "stroke_fill": fill}
        xy = (xy[0], xy[1] - self.top)
        self.draw.text(xy, text, font=f.face, fill=fill, anchor=anchor, **extra)

    def box(self, box: tuple[int, int, int, int], fill: str, outline: str | None = None) -> None:
        self.draw.rectangle(self._at(box), fill=fill, outline=outline, width=2 if outline else 0)

    def hatch(self, box: tuple[int, int, int, int], stripe: str, outline: str) -> None:
        """Diagonal stripes: a cell with nothing to count, told apart without colour."""
        box = self._at(box)
        x0, y0, x1, y1 = box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2  # inside the frame
        h = y1 - y0
        for start in range(x0 - h, x1, 10):
            # From (start, y1) up and to the right, clipped to the inner box.
            left, right = max(start, x0), min(start + h, x1)
            self.draw.line([(left, y1 - (left - start)), (right, y1 - (right - start))],
                           fill=stripe, width=2)  # fmt: skip
        self.draw.rectangle(box, outline=outline, width=2)

    def dotted(self, box: tuple[int, int, int, int], fill: str) -> None:
        x0, y0, x1, y1 = self._at(box)
        for x in range(x0, x1 + 1, 8):
            self.draw.rectangle((x, y0, min(x + 3, x1), y0 + 1), fill=fill)
            self.draw.rectangle((x, y1 - 1, min(x + 3, x1), y1), fill=fill)
        for y in range(y0, y1 + 1, 8):
            self.draw.rectangle((x0, y, x0 + 1, min(y + 3, y1)), fill=fill)
            self.draw.rectangle((x1 - 1, y, x1, min(y + 3, y1)), fill=fill)

    def check(self, box: tuple[int, int, int, int], fill: str) -> None:
        """A check mark drawn as lines, so it does not depend on the font's glyphs."""
        x0, y0, x1, y1 = self._at(box)
        w, h = x1 - x0, y1 - y0
        size = min(w, h) * 0.5
        cx, cy = x0 + w / 2, y0 + h / 2
        points = [
            (cx - size * 0.5, cy),
            (cx - size * 0.15, cy + size * 0.35),
            (cx + size * 0.5, cy - size * 0.35),
        ]
        self.draw.line(points, fill=fill, width=max(3, round(size / 6)), joint="curve")

    def dot(self, center: tuple[float, float], radius: float, fill: str) -> None:
        x, y = center[0], center[1] - self.top
        self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)

    def png(self) -> bytes:
        return png_bytes(self.image.tobytes(), self.image.width, self.image.height)


# PNG's signature and colour type 2 (8-bit RGB); every row is sent unfiltered (filter byte 0).
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGB = 2
PNG_LEVEL = 1  # zlib level: the size Pillow's level 6 gave (~40 KB a grid), in a third of the time


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(rgb: bytes, width: int, height: int) -> bytes:
    """8-bit RGB pixels (row after row) as a PNG with unfiltered rows.

    Pillow's encoder tries PNG's five row filters on every row to pick one: on these pictures
    (flat fills and a little text) that took 13 of its ~20 ms, and zlib alone at level 1
    compresses the unfiltered rows as small. The pixels are the same either way.
    """
    stride = width * 3
    if len(rgb) != stride * height:
        raise ValueError(f"{len(rgb)} bytes are not {width}x{height} RGB pixels")
    pixels = memoryview(rgb)
    parts: list[bytes | memoryview] = []
    for at in range(0, len(rgb), stride):  # views, not copies: a row is ~2.4 KB
        parts += (b"\x00", pixels[at : at + stride])
    return png_file(width, height, zlib.compress(b"".join(parts), PNG_LEVEL))


def png_file(width: int, height: int, stream: bytes) -> bytes:
    """A PNG of 8-bit RGB rows from their zlib stream (each row after its filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, 8, _RGB, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")
