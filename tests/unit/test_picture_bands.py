"""Pictures composed of kept bands: the pixels of the picture drawn whole, one valid PNG."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.messages import picture_bands as bands
from bot.messages import picture_canvas as pc
from bot.messages import summary_picture as sp
from bot.messages.summary_picture import MemberPledgeWeeks, MemberWeeks, WeekResult

WEEKS = tuple(date(2026, 9, 7) + timedelta(weeks=n) for n in range(12))
KINDS = (
    WeekResult(kept=1),
    WeekResult(missed=1),
    WeekResult(excused=1),
    WeekResult(),
    WeekResult(open=True),
    WeekResult(kept=3, missed=4),
    WeekResult(kept=1, missed=6),
    WeekResult(kept=6, missed=1),
)


@pytest.fixture(autouse=True)
def empty_bands() -> None:
    bands.clear()


def grid(
    pledges: int, shift: int = 0, before: int = 0, title: str = "Call a neighbour"
) -> MemberWeeks:
    """Every kind of cell in every column (shifted per pledge), titles long and accented."""
    rows = tuple(
        MemberPledgeWeeks(
            f"{title} {n} — Ärger, Åsa, Ŝ, ǅ" + " and more words" * (n % 3),
            ("day", "week", "month")[n % 3],
            1 + n % 4,
            tuple(KINDS[(i + n + shift) % len(KINDS)] for i in range(12)),
            n + 1,
        )
        for n in range(pledges)
    )
    return MemberWeeks(weeks=WEEKS, pledges=rows, before=before)


def whole(data: MemberWeeks) -> bytes:
    layout = sp.layout_member(data)
    return bands.draw_whole(sp.WIDTH, layout.height, sp.member_bands(data, layout))


def pixels(png: bytes) -> bytes:
    im = Image.open(io.BytesIO(png))
    assert (im.format, im.mode) == ("PNG", "RGB")
    return im.tobytes()


def idat(png: bytes) -> bytes:
    at, found = 8, b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            found += png[at + 8 : at + 8 + length]
        at += 12 + length
    return found


@pytest.mark.parametrize("pledges", [0, 1, 3, 13])
def test_a_composed_grid_has_the_pixels_of_the_grid_drawn_whole(pledges: int) -> None:
    for shift, before in ((0, 0), (3, 5), (5, 11)):
        data = grid(pledges, shift, before)
        composed = sp.render_member_grid(data).png
        assert pixels(composed) == pixels(whole(data))


def test_bands_drawn_once_serve_other_pictures_at_other_places() -> None:
    """The second picture's cells sit in other rows than the first one's: kept bands are
    drawn in the picture's own coordinates, and moved they still match the whole drawing."""
    sp.render_member_grid(grid(8))
    kept = len(bands._rows.items)
    data = grid(8, shift=1)  # each row of cells now equals the next pledge's row before
    assert pixels(sp.render_member_grid(data).png) == pixels(whole(data))
    assert len(bands._rows.items) == kept  # every row moved up one pledge: none drawn anew
    other = grid(8, shift=1, title="Phone off")
    assert sp.render_member_grid(other).png != sp.render_member_grid(data).png


def test_the_composed_png_is_one_valid_zlib_stream() -> None:
    data = grid(3)
    png = sp.render_member_grid(data).png
    layout = sp.layout_member(data)
    rows = zlib.decompress(idat(png))  # checks the combined Adler-32 too
    assert len(rows) == (sp.WIDTH * 3 + 1) * layout.height
    stride = sp.WIDTH * 3 + 1
    assert {rows[at] for at in range(0, len(rows), stride)} == {0}  # every row unfiltered


def test_a_band_that_draws_outside_its_place_is_drawn_whole() -> None:
    def inside(canvas: pc.Canvas) -> None:
        canvas.box((10, 10, 50, 30), sp.RAMP[2])

    def spills(canvas: pc.Canvas) -> None:  # its tile is columns 100-160, rows 40-80
        canvas.box((90, 45, 150, 60), sp.RAMP[4])

    def below(canvas: pc.Canvas) -> None:
        canvas.box((200, 70, 300, 90), sp.RAMP[3])  # past its band's last row

    for leak in (
        bands.Band(40, 80, (bands.Tile("spills", 100, 160, spills),)),
        bands.Band(40, 80, (bands.Tile("below", 0, 400, below),)),
    ):
        picture = [bands.Band(0, 40, (bands.Tile("top", 0, 400, inside),)), leak]
        assert bands.compose(400, 80, picture, "test") is None
        assert bands.png(400, 80, picture, "test") == bands.draw_whole(400, 80, picture)
    with pytest.raises(ValueError, match="cover the picture in order"):
        bands.compose(400, 80, [bands.Band(0, 30, ()), bands.Band(40, 80, ())], "test")
    with pytest.raises(ValueError, match="the picture at 90"):
        bands.compose(400, 90, [bands.Band(0, 80, ())], "test")


def test_the_kept_bands_are_bounded() -> None:
    for shift in range(40):
        sp.render_member_grid(grid(12, shift % 8, before=shift % 12, title=f"T{shift}"))
    assert len(bands._bands.items) <= bands.MAX_BANDS
    assert len(bands._rows.items) <= bands.MAX_ROWS
    assert len(bands._tiles.items) <= bands.MAX_TILES


def test_many_rows_of_cells_do_not_push_out_the_drawn_bands() -> None:
    data = grid(2)
    sp.render_member_grid(data)
    for shift in range(bands.MAX_ROWS):  # more new rows of cells than are kept
        first, second = data.pledges
        weeks = tuple(KINDS[(i * shift + shift // 8) % len(KINDS)] for i in range(12))
        sp.render_member_grid(replace(data, pledges=(replace(first, weeks=weeks), second)))
    assert sp.kept_member_grid(data) is not None  # its header, titles and legend still kept


def test_adler_combine_is_zlibs() -> None:
    a, b = b"first part " * 999, b"second" * 12_345
    assert bands._adler_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_a_grid_of_kept_parts_is_composed_without_drawing() -> None:
    data = grid(3)
    assert sp.kept_member_grid(data) is None  # nothing kept yet: it would have to draw
    drawn = sp.render_member_grid(data)
    kept = sp.kept_member_grid(data)
    assert kept is not None
    assert kept == drawn
    # Kept cells in a new row (half of one pledge's, half of the next's): assembled and
    # compressed, still nothing drawn.
    first, second, third = data.pledges
    mixed = replace(first, weeks=first.weeks[:6] + second.weeks[6:])
    moved = replace(data, pledges=(mixed, second, third))
    composed = sp.kept_member_grid(moved)
    assert composed is not None
    assert pixels(composed.png) == pixels(whole(moved))
    assert sp.kept_member_grid(grid(3, title="Phone off")) is None  # new titles: drawn


def test_a_group_with_other_weeks_greyed_draws_no_new_header() -> None:
    """Groups younger than 12 weeks grey their first weeks (`before`): the header's text is
    kept once for all of them and only the week labels that change are drawn (small tiles)."""
    sp.render_member_grid(grid(2, before=0))
    drawn = len(bands._bands.items)
    for before in (1, 4, 11):
        data = grid(2, before=before)
        assert pixels(sp.render_member_grid(data).png) == pixels(whole(data))
    assert len(bands._bands.items) == drawn  # no whole-width band drawn for another `before`
    assert sp.kept_member_grid(grid(2, before=3)) is not None  # its labels are all kept now
