"""A picture composed of horizontal bands whose compressed rows are kept: drawn once, reused.

A member's grid is the same few bands in every member's picture (the header of this week's
dates, a pledge's title line, the legend) and rows of cells of a handful of kinds. Drawing
the picture and compressing its ~1.2 MB of pixels took ~15 ms; here each band is drawn and
compressed once and a picture is its bands' compressed bytes one after the other.

How: a band's rows are compressed as raw deflate ending on a sync flush (byte-aligned, no
back-reference outside the band), so bands concatenate into one valid zlib stream, closed by
an empty final block and the Adler-32 of all the rows (combined from the bands' own). A band
of tiles (a row of cells) is assembled from the tiles' kept pixels, white between them, and
compressed as a whole (and kept too).

Why the pixels are the same as drawing the whole picture at once: every band (and tile) is
drawn in the picture's own coordinates onto a white canvas with spare rows around it (and
columns, for a tile), and used only if nothing was drawn outside its place; otherwise the
picture is drawn whole, as before. Tests compare both ways pixel for pixel.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.messages import picture_canvas as pc

if TYPE_CHECKING:
    from PIL import Image

MARGIN = 32  # spare rows drawn above and below a band: anything there is a leak
EDGE = 16  # a tile at least this far from the picture's sides is kept for every place
WHITE = b"\xff\xff\xff"
MAX_BANDS = 256  # drawn bands kept compressed (titles, headers, legends): ~2-10 KB each
MAX_ROWS = 256  # rows of cells kept compressed (~3-4 KB each): apart, so that many members'
# rows of cells, cheap to assemble again, never push out a band that would have to be drawn
MAX_TILES = 256  # a cell's pixels: 60 x 44 RGB, ~8 KB each
_ADLER_BASE = 65521
_SYNC_END = b"\x00\x00\xff\xff"
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KB window, the fastest level
_LAST_BLOCK = zlib.compressobj(pc.PNG_LEVEL, zlib.DEFLATED, -15).flush()  # empty, final


@dataclass(frozen=True)
class Tile:
    """Part of a band: columns [left, right) drawn by `draw`; `key` is all its pixels depend
    on besides its size and where it is (the same key elsewhere is the same pixels moved)."""

    key: Hashable
    left: int
    right: int
    draw: Callable[[pc.Canvas], None] = field(compare=False, hash=False)


@dataclass(frozen=True)
class Band:
    """Rows [top, bottom) of a picture: its tiles, white wherever no tile is."""

    top: int
    bottom: int
    tiles: tuple[Tile, ...]

    def key(self, width: int) -> Hashable:
        return (width, self.bottom - self.top, tuple((t.key, t.left, t.right) for t in self.tiles))


@dataclass(frozen=True)
class _Segment:
    deflate: bytes  # raw deflate of the band's filtered rows, ending on a sync flush
    adler: int
    length: int


class _Lru:
    """A bounded map shared by the drawing threads (`asyncio.to_thread`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: OrderedDict[Hashable, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> object:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.limit:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_LEAKS = object()  # cached verdict: this band (or tile) draws outside its place
_bands = _Lru(MAX_BANDS)
_rows = _Lru(MAX_ROWS)
_tiles = _Lru(MAX_TILES)


def clear() -> None:
    _bands.clear()
    _rows.clear()
    _tiles.clear()


def _whole_width(width: int, band: Band) -> bool:
    tiles = band.tiles
    return len(tiles) == 1 and tiles[0].left == 0 and tiles[0].right == width


def _adler_combine(first: int, second: int, second_length: int) -> int:
    """zlib's adler32_combine: the Adler-32 of A+B from those of A and B and B's length."""
    rem = second_length % _ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 = (sum1 + (second & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    sum2 = (sum2 + (first >> 16) + (second >> 16) + _ADLER_BASE - rem) % _ADLER_BASE
    return sum1 | (sum2 << 16)


class _Undrawn(Exception):
    """Raised where a band or tile would be drawn while only kept ones may be used."""


def _drawn(width: int, band: Band, tiles: Sequence[Tile], draw: bool) -> bytes:
    """The band's rows with the margins around them, `tiles` drawn."""
    if not draw:
        raise _Undrawn
    canvas = pc.Canvas(width, band.bottom - band.top + 2 * MARGIN, top=band.top - MARGIN)
    for tile in tiles:
        tile.draw(canvas)
    return canvas.image.tobytes()


def _margins_white(raw: bytes, stride: int, height: int) -> bool:
    blank = WHITE * (stride // 3 * MARGIN)
    return raw[: len(blank)] == blank and raw[len(blank) + height * stride :] == blank


def _tile_key(width: int, band: Band, tile: Tile) -> Hashable:
    """A tile's pixels depend on its key and size, not on where it is (drawing translated by
    whole pixels paints the same pixels): one kind of cell is drawn once for every column.
    Near the picture's edge a drawing could spill past it unseen (cut off, not a leak there):
    such a tile is kept for its own place only."""
    size = (width, band.bottom - band.top, tile.key, tile.right - tile.left)
    if min(tile.left, width - tile.right) < EDGE:
        return (*size, tile.left)
    return size


def _tile_pixels(width: int, band: Band, tile: Tile, draw: bool) -> Image.Image | None:
    """The tile's own columns, one byte per sample (mode L); None when it draws outside them."""
    from PIL import Image

    key = _tile_key(width, band, tile)
    kept = _tiles.get(key)
    if kept is not None:
        return None if kept is _LEAKS else kept  # type: ignore[return-value]
    stride, height = width * 3, band.bottom - band.top
    raw = _drawn(width, band, (tile,), draw)
    left, right = tile.left * 3, tile.right * 3
    inside = []
    clean = _margins_white(raw, stride, height)
    for r in range(MARGIN, MARGIN + height):
        row = raw[r * stride : (r + 1) * stride]
        if row[:left] != WHITE * tile.left or row[right:] != WHITE * (width - tile.right):
            clean = False
            break
        inside.append(row[left:right])
    pixels = Image.frombytes("L", (right - left, height), b"".join(inside)) if clean else None
    _tiles.put(key, _LEAKS if pixels is None else pixels)
    return pixels


def _band_rows(width: int, band: Band, draw: bool) -> bytes | None:
    """The band's rows, each after PNG's filter byte 0; None when a part draws outside."""
    stride, height = width * 3, band.bottom - band.top
    tiles = band.tiles
    if _whole_width(width, band):
        raw = _drawn(width, band, tiles, draw)
        if not _margins_white(raw, stride, height):
            return None
        pixels = memoryview(raw)[MARGIN * stride : (MARGIN + height) * stride]
        return b"".join(
            part
            for at in range(0, height * stride, stride)
            for part in (b"\x00", pixels[at : at + stride])
        )
    from PIL import Image

    # One byte per sample, the filter byte as column 0: the band's rows exactly as PNG has them.
    canvas = Image.new("L", (stride + 1, height), 255)
    canvas.paste(0, (0, 0, 1, height))
    at = 0
    for tile in sorted(tiles, key=lambda t: t.left):
        if tile.left < at:
            return None  # overlapping tiles: only a whole drawing knows which is on top
        block = _tile_pixels(width, band, tile, draw)
        if block is None:
            return None
        canvas.paste(block, (1 + 3 * tile.left, 0))
        at = tile.right
    return canvas.tobytes()


def _segment(width: int, band: Band, context: Hashable, draw: bool) -> _Segment | None:
    key = (context, band.key(width))
    store = _bands if _whole_width(width, band) else _rows
    kept = store.get(key)
    if kept is not None:
        return None if kept is _LEAKS else kept  # type: ignore[return-value]
    rows = _band_rows(width, band, draw)
    if rows is None:
        store.put(key, _LEAKS)
        return None
    packer = zlib.compressobj(pc.PNG_LEVEL, zlib.DEFLATED, -15)
    deflate = packer.compress(rows) + packer.flush(zlib.Z_SYNC_FLUSH)
    assert deflate.endswith(_SYNC_END)
    segment = _Segment(deflate, zlib.adler32(rows), len(rows))
    store.put(key, segment)
    return segment


def compose(
    width: int, height: int, bands: Sequence[Band], context: Hashable, *, draw: bool = True
) -> bytes | None:
    """The PNG of `bands` (which must cover rows 0 to `height` in order), from kept bands
    where it can; None when one draws outside its place (then draw the picture whole).
    `context`: what every band's pixels also depend on (the fonts). With `draw` False,
    nothing is drawn: None unless every band and tile is kept (a row of kept cells is
    still assembled and compressed, ~0.3 ms), so the caller can stay on its event loop."""
    at = 0
    for band in bands:
        if band.top != at or band.bottom <= band.top:
            raise ValueError(f"bands must cover the picture in order: {band.top} after {at}")
        at = band.bottom
    if at != height:
        raise ValueError(f"the bands end at row {at}, the picture at {height}")
    segments = []
    for band in bands:
        try:
            segment = _segment(width, band, context, draw)
        except _Undrawn:
            return None
        if segment is None:
            return None
        segments.append(segment)
    adler = 1
    for s in segments:
        adler = _adler_combine(adler, s.adler, s.length)
    stream = b"".join(
        [_ZLIB_HEADER, *(s.deflate for s in segments), _LAST_BLOCK, adler.to_bytes(4, "big")]
    )
    return pc.png_file(width, height, stream)


def draw_whole(width: int, height: int, bands: Sequence[Band]) -> bytes:
    """The same picture drawn on one canvas, band after band: the PNG as it always was."""
    canvas = pc.Canvas(width, height)
    for band in bands:
        for tile in band.tiles:
            tile.draw(canvas)
    return canvas.png()


def png(width: int, height: int, bands: Sequence[Band], context: Hashable) -> bytes:
    """The picture's PNG: composed from kept bands, or drawn whole when a band leaks."""
    composed = compose(width, height, bands, context)
    return composed if composed is not None else draw_whole(width, height, bands)
