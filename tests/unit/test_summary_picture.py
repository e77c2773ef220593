"""The summary pictures on synthetic data: size, palette, legend, streak bar, text, alt text."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.messages import picture_canvas as pc
from bot.messages import summary_picture as sp
from bot.messages.summary_picture import (
    GroupWeeks,
    Mark,
    MemberPledgeWeeks,
    MemberWeeks,
    PledgeWeeks,
    WeekResult,
)

WEEKS = tuple(date(2026, 9, 7) + timedelta(weeks=n) for n in range(12))
SHARES = (0.05, 0.25, 0.45, 0.65, 0.85, 1.0, 0.0, None, 0.5, None, 0.7, 0.9)


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def group(pledges: int | tuple[PledgeWeeks, ...] = 2, **changes: object) -> GroupWeeks:
    """A group's 12 weeks; `pledges` is a count of plain pledges or the pledges themselves."""
    if isinstance(pledges, int):
        pledges = tuple(
            PledgeWeeks(f"Pledge number {n + 1}", "week", 1, SHARES) for n in range(pledges)
        )
    data = GroupWeeks(
        name="Riverside Tenants' Union",
        weeks=WEEKS,
        overall=(0.5, 0.7, 0.65, 0.8, 0.4, None, 0.62, 0.75, 0.9, 0.61, 0.7, 0.66),
        met=(False, True, True, True, False, None, True, True, True, True, True, True),
        streak=6,
        streak_weeks=7,
        threshold=0.6,
        pledges=pledges,
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def image(picture: sp.Picture) -> Image.Image:
    im = Image.open(io.BytesIO(picture.png))
    assert im.format == "PNG"
    return im.convert("RGB")


def colours_in(im: Image.Image, box: sp.Box) -> set[tuple[int, int, int]]:
    return {
        im.getpixel((x, y)) for x in range(box[0], box[2] + 1) for y in range(box[1], box[3] + 1)
    }  # type: ignore[misc]


def corner(im: Image.Image, box: sp.Box) -> tuple[int, int, int]:
    """A pixel inside the cell, clear of its frame and of the number in its middle."""
    return im.getpixel((box[0] + 5, box[1] + 5))  # type: ignore[return-value]


@pytest.fixture
def fallback_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without DejaVu: Pillow's bundled font only."""
    caches = (pc.font, pc.can_draw, pc._missing_mask)
    for c in caches:
        c.cache_clear()
    monkeypatch.setattr(pc, "FONT_FILES", {False: (), True: ()})
    yield
    for c in caches:
        c.cache_clear()


# --- the group picture -----------------------------------------------------------------------


def test_the_group_picture_is_a_png_sized_for_a_phone_at_double_density():
    picture = sp.render_group_picture(group())
    im = image(picture)
    assert im.size == (picture.width, picture.height) == (800, sp.layout_group(group()).height)
    assert picture.mimetype == "image/png"
    assert picture.size == len(picture.png)
    assert picture.filename.endswith(".png")
    # Phone width: 400 CSS pixels; the smallest text is 11 CSS pixels.
    assert sp.WIDTH == 400 * sp.SCALE
    assert sp.SMALL >= 11 * sp.SCALE


def test_each_cell_has_the_colour_of_its_share_and_empty_weeks_are_hatched():
    data = group(pledges=1)
    im = image(sp.render_group_picture(data))
    cells = sp.layout_group(data).rows[1]
    for box, share in zip(cells, SHARES, strict=True):
        if share is None:
            seen = colours_in(im, box)
            assert rgb(sp.HATCH) in seen
            assert rgb(sp.PAPER) in seen
            assert not seen & {rgb(c) for c in sp.RAMP}
        else:
            assert corner(im, box) == rgb(sp.RAMP[sp.ramp_class(share)])
    # All five colours of the ramp are used by these shares, lightest for the least kept.
    assert [sp.ramp_class(s) for s in (0.05, 0.25, 0.45, 0.65, 0.85)] == [0, 1, 2, 3, 4]


def test_the_colour_follows_the_number_written_in_the_cell():
    assert sp.ramp_class(0.199) == 1  # written as 20
    assert sp.ramp_class(0.194) == 0  # written as 19
    assert sp.ramp_class(0.6) == 3
    assert sp.ramp_class(1.0) == 4
    assert sp.ramp_class(0.0) == 0


def test_the_palette_is_one_published_single_hue_ramp_with_readable_text():
    def luminance(colour: str) -> float:
        def channel(v: int) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = rgb(colour)
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)

    assert sp.RAMP == ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")  # ColorBrewer Blues
    lightness = [luminance(c) for c in sp.RAMP]
    assert lightness == sorted(lightness, reverse=True)  # darker means more kept, for everyone
    for fill, ink in zip(sp.RAMP, sp.RAMP_TEXT, strict=True):
        hi, lo = sorted((luminance(fill), luminance(ink)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.0


def test_the_legend_shows_the_ramp_nothing_to_count_the_target_and_the_streak():
    data = group()
    im = image(sp.render_group_picture(data))
    layout = sp.layout_group(data)
    ramp, extra = layout.legend
    assert [corner(im, box) for box in ramp] == [rgb(c) for c in sp.RAMP]
    assert rgb(sp.HATCH) in colours_in(im, extra[0])
    assert rgb(sp.STREAK) in colours_in(im, extra[1])
    assert rgb(sp.STREAK) in colours_in(im, extra[2])
    assert all(box[3] < layout.height for box in extra)


def test_the_running_streak_is_a_bar_under_its_weeks_and_met_weeks_are_marked():
    data = group(streak_weeks=4, streak=4)
    im = image(sp.render_group_picture(data))
    layout = sp.layout_group(data)
    bar = layout.streak_bar
    assert bar is not None
    y = (bar[1] + bar[3]) // 2
    columns = layout.rows[0]
    inside = [im.getpixel(((b[0] + b[2]) // 2, y)) for b in columns]
    assert inside[8:] == [rgb(sp.STREAK)] * 4
    assert inside[:8] == [rgb(sp.PAPER)] * 8
    assert bar[0] == columns[8][0]
    marked = {i for i, box in enumerate(columns) if box[0] in {m[0] for m in layout.target_marks}}
    assert marked == {i for i, met in enumerate(data.met) if met}


def test_no_streak_draws_no_bar_and_says_how_to_start_one():
    data = group(streak=0, streak_weeks=0)
    assert sp.layout_group(data).streak_bar is None
    assert "No group streak yet: a week at 60% starts one." in sp.render_group_picture(data).alt


def test_a_streak_longer_than_the_picture_says_it_began_before():
    data = group(streak=30, streak_weeks=12)
    assert "Group streak: 30 weeks in a row (began before these weeks)" in sp.group_alt_text(data)


def test_the_alt_text_says_what_the_picture_shows():
    alt = sp.render_group_picture(group()).alt
    assert alt.startswith("Picture: the last 12 weeks in Riverside Tenants' Union")
    assert "weeks starting 7 Sep to 23 Nov 2026" in alt
    assert "Whole group: 66% kept in the latest week (target 60%)" in alt
    assert "the target was met in 9 of 11 weeks with answers" in alt
    assert "Group streak: 6 weeks in a row." in alt
    assert (
        "Pledge number 1 (once a week): 5%, 25%, 45%, 65%, 85%, 100%, 0%, -, 50%, -, 70%, 90%."
        in alt
    )
    assert "Pledge number 2" in alt


def test_the_alt_text_of_twelve_long_pledges_stays_within_discords_limit():
    long = "Knock on ten doors in the building and talk about the rent strike with everyone"
    pledges = tuple(PledgeWeeks(f"{long} {n}", "day", 3, SHARES) for n in range(12))
    alt = sp.group_alt_text(group(pledges=pledges))
    assert len(alt) <= sp.ALT_LIMIT <= 1024
    assert "Group streak: 6 weeks in a row." in alt
    assert f"{long} 0: 90% in the latest week, 54% on average over 10 weeks." in alt
    assert alt.endswith("more pledges.")


def test_the_group_picture_has_no_place_for_a_member_name():
    names = {f.name for f in fields(GroupWeeks)} | {f.name for f in fields(PledgeWeeks)}
    assert names == {
        "name", "weeks", "overall", "met", "streak", "streak_weeks", "threshold", "pledges",
        "before", "title", "cadence", "target", "shares", "number",
    }  # fmt: skip


def test_long_titles_end_with_an_ellipsis_inside_the_margin():
    long = "Attend one local meeting of the tenants' union and bring a neighbour along " * 3
    data = group(pledges=(PledgeWeeks(long, "week", 2, SHARES),))
    im = image(sp.render_group_picture(data))
    layout = sp.layout_group(data)
    bold = pc.font(sp.TITLE, bold=True)
    room = sp.RIGHT - sp.LEFT - pc.width_of("twice a week", pc.font(sp.SMALL)) - 8 * sp.SCALE
    shown = pc.fit(pc.plain(long, bold), bold, room)
    assert shown.endswith("…")
    assert pc.width_of(shown, bold) <= room
    assert long.startswith(shown[:-1].rstrip())
    y = layout.titles_y[1]
    margin = (sp.RIGHT + 1, y, sp.WIDTH - 1, y + sp.TITLE * 2)
    assert colours_in(im, margin) == {rgb(sp.PAPER)}


def test_one_pledge_and_twelve_pledges_fit_and_more_are_counted():
    one, twelve = sp.layout_group(group(pledges=1)), sp.layout_group(group(pledges=12))
    assert (len(one.rows), len(twelve.rows)) == (2, 13)
    assert one.height < twelve.height
    pictures = [sp.render_group_picture(group(pledges=n)) for n in (1, 12, 15)]
    assert [image(p).size[0] for p in pictures] == [800, 800, 800]
    more = sp.layout_group(group(pledges=15))
    assert len(more.rows) == 13
    assert more.more_y is not None
    assert "Pledge number 10: 90% in the latest week" in pictures[2].alt
    assert pictures[2].alt.endswith(" And 5 more pledges.")
    assert twelve.more_y is None


def test_weeks_with_nothing_counted_anywhere():
    empty = (None,) * 12
    data = group(
        overall=empty,
        met=empty,
        streak=0,
        streak_weeks=0,
        pledges=(PledgeWeeks("New pledge", "month", 1, empty),),
    )
    picture = sp.render_group_picture(data)
    im = image(picture)
    for box in sp.layout_group(data).rows[1]:
        assert rgb(sp.HATCH) in colours_in(im, box)
    assert "Whole group: nothing to count in the latest week" in picture.alt
    assert "the target was met in 0 of 0 weeks" in picture.alt
    assert "New pledge (once a month): -, -, -" in picture.alt


def test_weeks_before_the_group_began_are_left_empty():
    data = group(pledges=1, before=8)
    im = image(sp.render_group_picture(data))
    for i, box in enumerate(sp.layout_group(data).rows[1]):
        if i < 8:
            assert corner(im, box) == rgb(sp.PAPER)
            assert rgb(sp.HATCH) in colours_in(im, box)  # a small dot in the middle
            assert not colours_in(im, box) & {rgb(c) for c in sp.RAMP}


def test_a_picture_needs_twelve_weeks():
    with pytest.raises(ValueError, match="12 weeks"):
        sp.render_group_picture(group(weeks=WEEKS[:5]))


def test_member_written_titles_are_plain_text_without_glyphs_the_font_lacks():
    bold = pc.font(sp.TITLE, bold=True)
    assert pc.plain("🚲  Bike to\nwork **now**", bold) == "Bike to work **now**"
    assert pc.plain("Café — Ж", bold) == "Café — Ж"  # DejaVu draws these


def test_a_title_with_nothing_drawable_is_drawn_as_its_pledge_number(fallback_font: None):
    data = group(pledges=(PledgeWeeks("読書会", "week", 1, SHARES, 3),))
    im = image(sp.render_group_picture(data))
    y = sp.layout_group(data).titles_y[1]
    title = (sp.LEFT, y, sp.LEFT + 200, y + sp.TITLE)
    assert rgb(sp.INK) in colours_in(im, title)  # "Pledge 3", not an empty line
    assert "読書会 (once a week)" in sp.group_alt_text(data)


def test_without_dejavu_pillows_own_font_still_draws_the_picture(fallback_font: None):
    face = pc.font(sp.TITLE, bold=True)
    assert face.fake_bold
    assert pc.plain("Café 🚲 club", face) == "Caf club"  # Aileron is ASCII only
    picture = sp.render_group_picture(group(name="Café 🚲 club"))
    assert image(picture).size == (800, picture.height)
    assert "Café 🚲 club" in picture.alt  # the words keep what the font could not draw


def test_pillow_is_imported_only_when_a_picture_is_drawn():
    code = (
        "import sys, bot.messages.summary_picture, bot.messages.picture_data;"
        "import bot.app.bootstrap, bot.messages.weekly_summary;"
        "print('PIL' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- a member's own grid ---------------------------------------------------------------------

K, M, X = WeekResult(kept=1), WeekResult(missed=1), WeekResult(excused=1)
NONE, OPEN = WeekResult(), WeekResult(open=True)


def member(*rows: tuple[WeekResult, ...]) -> MemberWeeks:
    return MemberWeeks(
        weeks=WEEKS,
        pledges=tuple(
            MemberPledgeWeeks(f"Pledge {n}", "week", 1, row) for n, row in enumerate(rows)
        ),
    )


def test_a_week_result_is_kept_missed_part_excused_absent_or_open():
    assert [r.mark for r in (K, M, X, NONE, OPEN)] == [
        Mark.KEPT, Mark.MISSED, Mark.EXCUSED, Mark.ABSENT, Mark.OPEN,
    ]  # fmt: skip
    assert WeekResult(kept=5, missed=2).mark is Mark.PART
    assert WeekResult(kept=6, excused=1).mark is Mark.KEPT
    assert WeekResult(missed=6, excused=1).mark is Mark.MISSED


def test_the_member_grid_draws_each_outcome_its_own_way():
    row = (NONE, NONE, K, K, M, X, K, WeekResult(kept=3, missed=4), K, K, M, K)
    data = member(row)
    picture = sp.render_member_grid(data)
    im = image(picture)
    cells = sp.layout_member(data).rows[0]
    assert corner(im, cells[2]) == rgb(sp.RAMP[-1])
    assert rgb(sp.PAPER) in colours_in(im, cells[2])  # the check mark
    assert corner(im, cells[4]) == rgb(sp.RAMP[0])
    assert rgb(sp.HATCH) in colours_in(im, cells[5])
    assert corner(im, cells[0]) == rgb(sp.PAPER)
    assert corner(im, cells[7]) == rgb(sp.RAMP[sp.ramp_class(3 / 7)])
    assert im.size == (800, picture.height)


def test_the_same_grid_data_is_drawn_once_and_new_data_draws_anew():
    from bot.messages.picture_data import draw_member_grid

    row = (NONE, NONE, K, K, M, X, K, K, K, K, M, K)
    first = draw_member_grid(member(row))
    assert draw_member_grid(member(row)) is first  # equal data, built again: from memory
    changed = draw_member_grid(member((*row[:-1], M)))
    assert changed is not first
    assert changed.png != first.png


def test_the_png_holds_exactly_the_pixels_drawn():
    """The PNG is written without Pillow's row filters: decoded, it is the canvas pixel for
    pixel, as Pillow's own encoding of the same canvas is."""
    canvas = pc.Canvas(800, 300)
    canvas.box((10, 10, 200, 120), sp.RAMP[2], outline=sp.INK)
    canvas.hatch((220, 10, 400, 120), sp.HATCH, sp.INK)
    canvas.text((420, 40), "Call a neighbour — ÄÖÜ ß", pc.font(28, bold=True), sp.INK)
    canvas.check((600, 10, 700, 110), sp.PAPER)
    drawn = pc.png_bytes(canvas.image.tobytes(), 800, 300)
    assert drawn == canvas.png()
    decoded = Image.open(io.BytesIO(drawn))
    assert (decoded.format, decoded.mode, decoded.size) == ("PNG", "RGB", (800, 300))
    assert decoded.tobytes() == canvas.image.tobytes()
    out = io.BytesIO()
    canvas.image.save(out, format="PNG")
    assert Image.open(io.BytesIO(out.getvalue())).tobytes() == decoded.tobytes()
    with pytest.raises(ValueError, match="not 800x300 RGB"):
        pc.png_bytes(b"\x00" * 10, 800, 300)


def test_the_member_legend_names_every_mark_shown():
    plain = sp.layout_member(member((K,) * 12))
    assert [len(row) for row in plain.legend] == [3, 3]
    picture = sp.render_member_grid(member((K,) * 11 + (OPEN,)))
    im = image(picture)
    legend = sp.layout_member(member((K,) * 12)).legend
    assert corner(im, legend[0][0]) == rgb(sp.RAMP[-1])
    assert corner(im, legend[0][1]) == rgb(sp.RAMP[0])
    assert rgb(sp.HATCH) in colours_in(im, legend[0][2])
    assert rgb(sp.MUTED) in colours_in(im, legend[1][2])  # "still open", only when shown


def test_the_member_alt_text_lists_each_week():
    row = (NONE, NONE, K, K, M, X, K, WeekResult(kept=3, missed=4), K, K, M, K)
    alt = sp.render_member_grid(member(row)).alt
    assert alt.startswith("Picture: Your last 12 weeks, weeks starting 7 Sep to 23 Nov 2026.")
    assert "Pledge 0 (once a week): kept in 6 weeks, excused in 1; week by week: " in alt
    assert (
        "not taking part, not taking part, kept, kept, missed, excused, kept, "
        "3 of 7 days kept, kept, kept, missed, kept." in alt
    )


def test_the_member_alt_text_of_many_pledges_stays_within_the_limit():
    rows = [(K, M, X, NONE) * 3] * 12
    alt = sp.member_alt_text(member(*rows))
    assert len(alt) <= sp.ALT_LIMIT
    assert "Pledge 0 (once a week): kept in 3 weeks, excused in 3; latest week: " in alt


def test_a_member_with_no_pledges_gets_a_plain_sentence():
    picture = sp.render_member_grid(member())
    assert picture.alt.endswith("No pledges taken part in during these weeks.")
    assert image(picture).size[0] == 800
