"""The summary pictures: a group's last 12 weeks per pledge, and a member's own 12-week grid.

Pure: plain data in, PNG bytes and an alt text that says the same in words out (no database,
no platform). The group picture names no member at all; the member grid shows one member's own
weeks and nobody else's.

Design, for a phone at 2x density (800 px wide = 400 CSS px): a sequential single-hue ramp
(ColorBrewer's 5-class "Blues", safe for every common colour-vision deficiency because the
classes differ in lightness, not hue), every share also written in its cell, weeks with
nothing to count hatched rather than coloured, the group streak as an orange line under its
weeks (blue and orange stay apart for red-green deficiencies) with its length in words, a
legend, and week-start dates as text. Long titles end in an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from bot.messages import picture_bands as bands
from bot.messages import picture_canvas as pc

WEEKS_SHOWN = 12
MAX_PLEDGES = 12  # rows drawn; the rest are counted in a line under them
ALT_LIMIT = 1000  # Discord's attachment description allows 1,024 characters

SCALE = 2  # pixels per CSS pixel: crisp on phones, 400 CSS px wide
WIDTH = 400 * SCALE
PITCH = 31 * SCALE  # one week column
GAP = 2 * SCALE  # between cells
CELL_W = PITCH - GAP
CELL_H = 22 * SCALE
LEFT = (WIDTH - (WEEKS_SHOWN * PITCH - GAP)) // 2
RIGHT = WIDTH - LEFT
TOP = 12 * SCALE

# ColorBrewer "Blues", 5 classes (Cynthia Brewer, colorbrewer2.org): lightest = least kept.
RAMP = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
RAMP_LABELS = ("0-19", "20-39", "40-59", "60-79", "80-100")
# Text on each class, for contrast >= 4:1 on all five.
RAMP_TEXT = ("#08306b", "#08306b", "#08306b", "#ffffff", "#ffffff")
STREAK = "#d94801"  # ColorBrewer "Oranges": apart from the blues in lightness and hue
STREAK_TEXT = "#a63603"
INK = "#1a1a1a"
MUTED = "#525252"
HATCH = "#bdbdbd"
FRAME = "#d9d9d9"
PAPER = "#ffffff"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CADENCE_UNIT = {"day": "day", "week": "week", "month": "month"}


def percent(share: float) -> int:
    return round(share * 100)


def ramp_class(share: float) -> int:
    """Which of the five colours a kept share (0..1) gets: by the number written in the cell."""
    return min(len(RAMP) - 1, max(0, percent(share) // 20))


def cadence_words(cadence: str, target: int) -> str:
    """'once a week', '3 times a week' (ASCII: the fallback font has no multiplication sign)."""
    times = "once" if target == 1 else "twice" if target == 2 else f"{target} times"
    return f"{times} a {CADENCE_UNIT.get(cadence, cadence)}"


def _day(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]}"


def _range(weeks: Sequence[date], short: bool = False) -> str:
    first, last = weeks[0], weeks[-1]
    lead = "" if short else "weeks starting "
    if first.year == last.year:
        return f"{lead}{_day(first)} to {_day(last)} {last.year}"
    return f"{lead}{_day(first)} {first.year} to {_day(last)} {last.year}"


def _weeks_word(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


# ---- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """A rendered picture: what an adapter attaches or uploads (Matrix `info` needs w, h,
    mimetype and size)."""

    png: bytes
    alt: str
    width: int
    height: int
    filename: str
    mimetype: str = "image/png"

    @property
    def size(self) -> int:
        return len(self.png)


@dataclass(frozen=True)
class PledgeWeeks:
    """One pledge in the group picture: kept share per week, None where nothing was counted
    (nobody took part, everyone was excused, or its month has not closed yet)."""

    title: str
    cadence: str  # day | week | month
    target: int
    shares: tuple[float | None, ...]
    number: int = 0  # the pledge's number in the group: drawn when no letter of the title can be


@dataclass(frozen=True)
class GroupWeeks:
    """What the group picture shows. Weeks are oldest first; `weeks` holds each week's first
    local day. `streak_weeks`: how many of the latest weeks the running group streak spans
    (0 when there is none; it may span weeks with nothing counted, which neither break nor
    extend it)."""

    name: str
    weeks: tuple[date, ...]
    overall: tuple[float | None, ...]
    met: tuple[bool | None, ...]
    streak: int
    streak_weeks: int
    threshold: float
    pledges: tuple[PledgeWeeks, ...]
    before: int = 0  # leading weeks before the group's first closed week: drawn empty


class Mark(Enum):
    KEPT = "kept"
    MISSED = "missed"
    PART = "part"  # a daily pledge: some of the week's days kept
    EXCUSED = "excused"
    ABSENT = "not taking part"
    OPEN = "still open"


@dataclass(frozen=True)
class WeekResult:
    """A member's outcomes of one pledge in one week: one for a weekly pledge, up to seven
    for a daily one; `open` when the member takes part but the period (a month) is still open."""

    kept: int = 0
    missed: int = 0
    excused: int = 0
    open: bool = False

    @property
    def mark(self) -> Mark:
        counted = self.kept + self.missed
        if counted == 0:
            if self.excused:
                return Mark.EXCUSED
            return Mark.OPEN if self.open else Mark.ABSENT
        if self.missed == 0:
            return Mark.KEPT
        return Mark.MISSED if self.kept == 0 else Mark.PART


@dataclass(frozen=True)
class MemberPledgeWeeks:
    title: str
    cadence: str
    target: int
    weeks: tuple[WeekResult, ...]
    number: int = 0


@dataclass(frozen=True)
class MemberWeeks:
    """What a member's own grid shows: their weeks per pledge, oldest first."""

    weeks: tuple[date, ...]
    pledges: tuple[MemberPledgeWeeks, ...]
    heading: str = "Your last 12 weeks"
    before: int = 0  # leading weeks before the group's first closed week: drawn empty


# ---- layout (pure: the tests find cells here) ----------------------------------------------

Box = tuple[int, int, int, int]


@dataclass
class Layout:
    """Where everything goes; heights follow from the number of rows."""

    height: int = 0
    header: list[tuple[int, str]] = field(default_factory=list)  # (y, kind)
    labels_y: int = 0
    body_y: int = 0  # where the rows begin, under the week labels
    rows: list[list[Box]] = field(default_factory=list)  # cells of each row, group row first
    titles_y: list[int] = field(default_factory=list)
    streak_bar: Box | None = None
    streak_text_y: int = 0
    target_marks: list[Box] = field(default_factory=list)
    more_y: int | None = None
    legend: list[list[Box]] = field(default_factory=list)  # swatches, row by row
    legend_y: int = 0


H1 = 16 * SCALE
H2 = 12 * SCALE
TITLE = 13 * SCALE
SMALL = 11 * SCALE
LINE = 1.3


def _cells(y: int) -> list[Box]:
    return [
        (LEFT + i * PITCH, y, LEFT + i * PITCH + CELL_W - 1, y + CELL_H - 1)
        for i in range(WEEKS_SHOWN)
    ]


def _header(layout: Layout, y: int) -> int:
    layout.header = [(y, "h1"), (y + round(H1 * LINE) + SCALE * 2, "h2")]
    y += round(H1 * LINE) + 2 * SCALE + round(H2 * LINE) + 8 * SCALE
    layout.labels_y = y
    layout.body_y = y + round(2 * SMALL * LINE) + 4 * SCALE
    return layout.body_y


def _pledge_rows(layout: Layout, y: int, count: int) -> int:
    for _ in range(min(count, MAX_PLEDGES)):
        layout.titles_y.append(y)
        y += round(TITLE * LINE) + 2 * SCALE
        layout.rows.append(_cells(y))
        y += CELL_H + 8 * SCALE
    if count > MAX_PLEDGES:
        layout.more_y = y
        y += round(SMALL * LINE) + 4 * SCALE
    return y


# Legend rows: (first column, columns spanned) of each swatch.
GROUP_LEGEND = (((0, 2), (2, 2), (4, 2), (6, 2), (8, 2)), ((0, 1), (5, 1), (8, 1)))
MARK_H = 2 * SCALE
BAR_H = 5 * SCALE
MEMBER_LEGEND = (((0, 1), (4, 1), (8, 1)), ((0, 1), (4, 1), (8, 1)))


def layout_group(data: GroupWeeks) -> Layout:
    layout = Layout()
    y = _header(layout, TOP)
    layout.titles_y.append(y)
    y += round(TITLE * LINE) + 2 * SCALE
    layout.rows.append(_cells(y))
    y += CELL_H + 2 * SCALE
    for i, met in enumerate(data.met):
        if met:  # a thin mark under each week that met the target
            x0, _, x1, _ = layout.rows[0][i]
            layout.target_marks.append((x0, y, x1, y + MARK_H - 1))
    y += MARK_H + 2 * SCALE
    covered = min(data.streak_weeks, WEEKS_SHOWN)
    if covered:  # a thick bar under the weeks of the running streak
        first = layout.rows[0][WEEKS_SHOWN - covered]
        layout.streak_bar = (first[0], y, RIGHT - 1, y + BAR_H - 1)
    y += BAR_H + 2 * SCALE
    layout.streak_text_y = y
    y += round(SMALL * LINE) + 10 * SCALE
    y = _pledge_rows(layout, y, len(data.pledges))
    return _legend(layout, y + 4 * SCALE, GROUP_LEGEND)


def layout_member(data: MemberWeeks) -> Layout:
    layout = Layout()
    y = _header(layout, TOP)
    y = _pledge_rows(layout, y, len(data.pledges))
    return _legend(layout, y + 4 * SCALE, MEMBER_LEGEND)


def _legend(layout: Layout, y: int, rows: tuple[tuple[tuple[int, int], ...], ...]) -> Layout:
    layout.legend_y = y
    swatch_h = 16 * SCALE
    top = y + round(SMALL * LINE) + 4 * SCALE
    for r, row in enumerate(rows):
        y0 = top + r * (swatch_h + 6 * SCALE)
        layout.legend.append(
            [
                (LEFT + col * PITCH, y0, LEFT + (col + span) * PITCH - GAP - 1, y0 + swatch_h - 1)
                for col, span in row
            ]
        )
    layout.height = top + len(rows) * (swatch_h + 6 * SCALE) + 6 * SCALE
    return layout


# ---- drawing ------------------------------------------------------------------------------


def _draw_header(canvas: pc.Canvas, layout: Layout, h1: str, h2: str) -> None:
    big, small = pc.font(H1, bold=True), pc.font(H2)
    (y1, _), (y2, _) = layout.header
    canvas.text((LEFT, y1), pc.fit(pc.plain(h1, big), big, RIGHT - LEFT), big, INK)
    canvas.text((LEFT, y2), pc.fit(h2, small, RIGHT - LEFT), small, MUTED)


def _draw_week_labels(
    canvas: pc.Canvas, layout: Layout, weeks: Sequence[date], before: int
) -> None:
    for i, label in enumerate(_week_labels(weeks, before)):
        _draw_week_label(canvas, layout, i, *label)


def _week_labels(weeks: Sequence[date], before: int) -> list[tuple[str, str, bool]]:
    """Each week column's (month shown above it, or "", day, greyed): a month is shown where
    it changes; weeks before the group began are greyed."""
    labels, last_month = [], None
    for i, first_day in enumerate(weeks):
        month = MONTHS[first_day.month - 1] if first_day.month != last_month else ""
        last_month = first_day.month
        labels.append((month, str(first_day.day), i < before))
    return labels


def _draw_week_label(
    canvas: pc.Canvas, layout: Layout, i: int, month: str, day: str, greyed: bool
) -> None:
    x = LEFT + i * PITCH + CELL_W / 2
    ink, muted = (HATCH, HATCH) if greyed else (INK, MUTED)
    y_month = layout.labels_y
    if month:
        canvas.text((x, y_month), month, pc.font(SMALL, bold=True), ink, anchor="ma")
    canvas.text((x, y_month + round(SMALL * LINE)), day, pc.font(SMALL), muted, anchor="ma")


def _empty_cell(canvas: pc.Canvas, box: Box) -> None:
    """A week before the group began (or one the member did not take part in)."""
    canvas.dot(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), 2 * SCALE, HATCH)


def _row_title(canvas: pc.Canvas, y: int, title: str, right: str, number: int = 0) -> None:
    bold, small = pc.font(TITLE, bold=True), pc.font(SMALL)
    right_w = pc.width_of(right, small) if right else 0
    room = RIGHT - LEFT - right_w - (8 * SCALE if right else 0)
    # A title in a script the font lacks still gets a name the reader can match to the list.
    shown = pc.plain(title, bold) or (f"Pledge {number}" if number else "Pledge")
    canvas.text((LEFT, y), pc.fit(shown, bold, room), bold, INK)
    if right:
        canvas.text((RIGHT, y + TITLE - SMALL), right, small, MUTED, anchor="ra")


def _share_cell(canvas: pc.Canvas, box: Box, share: float | None) -> None:
    if share is None:
        canvas.hatch(box, HATCH, FRAME)
        return
    k = ramp_class(share)
    canvas.box(box, RAMP[k], outline=FRAME if k == 0 else None)
    f = pc.font(SMALL, bold=True)
    center = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    canvas.text(center, str(percent(share)), f, RAMP_TEXT[k], anchor="mm")


def _share_row(
    canvas: pc.Canvas, cells: list[Box], shares: Sequence[float | None], before: int
) -> None:
    for i, (box, share) in enumerate(zip(cells, shares, strict=True)):
        if i < before:
            _empty_cell(canvas, box)
        else:
            _share_cell(canvas, box, share)


def _draw_ramp_legend(canvas: pc.Canvas, layout: Layout) -> None:
    small = pc.font(SMALL)
    heading = "Each cell: % of the week's answers that were kept"
    canvas.text((LEFT, layout.legend_y), heading, pc.font(SMALL, bold=True), INK)
    for k, (label, box) in enumerate(zip(RAMP_LABELS, layout.legend[0], strict=True)):
        canvas.box(box, RAMP[k], outline=FRAME if k == 0 else None)
        mid = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        canvas.text(mid, label + "%", small, RAMP_TEXT[k], anchor="mm")


def _legend_item(canvas: pc.Canvas, box: Box, text: str) -> None:
    small = pc.font(SMALL)
    canvas.text((box[2] + 6 * SCALE, (box[1] + box[3]) / 2), text, small, INK, anchor="lm")


def render_group_picture(data: GroupWeeks) -> Picture:
    """The group's picture: whole-group row with target marks and the streak, one heatmap row
    per pledge (at most MAX_PLEDGES), a legend. Names no member."""
    if len(data.weeks) != WEEKS_SHOWN:
        raise ValueError(f"the picture shows {WEEKS_SHOWN} weeks, not {len(data.weeks)}")
    layout = layout_group(data)
    canvas = pc.Canvas(WIDTH, layout.height)
    name = data.name.strip()
    _draw_header(
        canvas,
        layout,
        name or "This group",
        f"The last 12 weeks: % kept per week, {_range(data.weeks, short=True)}",
    )
    _draw_week_labels(canvas, layout, data.weeks, data.before)
    target = percent(data.threshold)
    _row_title(canvas, layout.titles_y[0], "Whole group", f"target {target}% kept")
    _share_row(canvas, layout.rows[0], data.overall, data.before)
    for mark in layout.target_marks:
        canvas.box(mark, STREAK)
    if layout.streak_bar is not None:
        canvas.box(layout.streak_bar, STREAK)
    canvas.text(
        (RIGHT, layout.streak_text_y),
        _streak_words(data),
        pc.font(SMALL, bold=True),
        STREAK_TEXT,
        anchor="ra",
    )
    for pledge, y, cells in zip(data.pledges, layout.titles_y[1:], layout.rows[1:], strict=False):
        words = cadence_words(pledge.cadence, pledge.target)
        _row_title(canvas, y, pledge.title, words, pledge.number)
        _share_row(canvas, cells, pledge.shares, data.before)
    if layout.more_y is not None:
        more = len(data.pledges) - MAX_PLEDGES
        canvas.text((LEFT, layout.more_y), f"...and {more} more", pc.font(SMALL), MUTED)
    _draw_ramp_legend(canvas, layout)
    nothing, mark, bar = layout.legend[1]
    canvas.hatch(nothing, HATCH, FRAME)
    _legend_item(canvas, nothing, "nothing to count")
    mid = (mark[1] + mark[3]) // 2
    canvas.box((mark[0], mid - MARK_H // 2, mark[2], mid + MARK_H // 2 - 1), STREAK)
    _legend_item(canvas, mark, f"{target}% met")
    canvas.box((bar[0], mid - BAR_H // 2, bar[2], mid + BAR_H // 2), STREAK)
    _legend_item(canvas, bar, "group streak")
    return Picture(
        png=canvas.png(),
        alt=group_alt_text(data),
        width=WIDTH,
        height=layout.height,
        filename="summary.png",
    )


def _streak_words(data: GroupWeeks) -> str:
    if data.streak <= 0:
        return f"No group streak yet: a week at {percent(data.threshold)}% starts one"
    words = f"Group streak: {_weeks_word(data.streak)} in a row"
    if data.streak > data.streak_weeks and data.streak_weeks >= WEEKS_SHOWN:
        words += " (began before these weeks)"
    return words


def _member_cell(canvas: pc.Canvas, box: Box, result: WeekResult) -> None:
    mark = result.mark
    center = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    if mark is Mark.KEPT:
        canvas.box(box, RAMP[-1])
        canvas.check(box, PAPER)
    elif mark is Mark.MISSED:
        canvas.box(box, RAMP[0], outline=RAMP[2])
    elif mark is Mark.PART:
        share = result.kept / (result.kept + result.missed)
        k = ramp_class(share)
        canvas.box(box, RAMP[k], outline=FRAME if k == 0 else None)
        text = f"{result.kept}/{result.kept + result.missed}"
        canvas.text(center, text, pc.font(SMALL, bold=True), RAMP_TEXT[k], anchor="mm")
    elif mark is Mark.EXCUSED:
        canvas.hatch(box, HATCH, FRAME)
    elif mark is Mark.OPEN:
        canvas.dotted(box, MUTED)
    else:
        _empty_cell(canvas, box)


def _fonts() -> tuple[pc.Font, ...]:
    """The fonts the pictures are drawn with: what kept bands depend on besides their data."""
    return tuple(pc.font(size, bold) for size in (H1, H2, TITLE, SMALL) for bold in (False, True))


def _cell_key(result: WeekResult) -> Hashable:
    mark = result.mark
    return (mark, result.kept, result.missed) if mark is Mark.PART else mark


def _legend_samples(data: MemberWeeks, layout: Layout) -> list[tuple[Box, WeekResult, str]]:
    first, second = layout.legend
    samples = [
        (first[0], WeekResult(kept=1), "kept"),
        (first[1], WeekResult(missed=1), "missed"),
        (first[2], WeekResult(excused=1), "excused"),
        (second[0], WeekResult(), "not taking part"),
    ]
    marks = {r.mark for p in data.pledges for r in p.weeks}
    if Mark.PART in marks:
        samples.append((second[1], WeekResult(kept=5, missed=2), "days kept"))
    if Mark.OPEN in marks:
        samples.append((second[2], WeekResult(open=True), "still open"))
    return samples


def _whole(key: Hashable, draw: Callable[[pc.Canvas], None]) -> tuple[bands.Tile]:
    return (bands.Tile(key, 0, WIDTH, draw),)


def member_bands(data: MemberWeeks, layout: Layout) -> list[bands.Band]:
    """The member grid as bands, top to bottom: the header with the weeks' dates, then per
    pledge its title line and its row of cells (one tile per cell), then the legend."""

    subtitle = f"One row per pledge, {_range(data.weeks)}"

    def head(canvas: pc.Canvas) -> None:
        _draw_header(canvas, layout, data.heading, subtitle)

    def label(i: int, month: str, day: str, greyed: bool) -> Callable[[pc.Canvas], None]:
        return lambda canvas: _draw_week_label(canvas, layout, i, month, day, greyed)

    def title(pledge: MemberPledgeWeeks, y: int) -> Callable[[pc.Canvas], None]:
        words = cadence_words(pledge.cadence, pledge.target)
        return lambda canvas: _row_title(canvas, y, pledge.title, words, pledge.number)

    def cell(box: Box, result: WeekResult) -> Callable[[pc.Canvas], None]:
        return lambda canvas: _member_cell(canvas, box, result)

    samples = _legend_samples(data, layout)
    more = len(data.pledges) - MAX_PLEDGES if layout.more_y is not None else 0

    def tail(canvas: pc.Canvas) -> None:
        if layout.more_y is not None:
            canvas.text((LEFT, layout.more_y), f"...and {more} more", pc.font(SMALL), MUTED)
        small = pc.font(SMALL, bold=True)
        canvas.text((LEFT, layout.legend_y), "Each cell is one week", small, INK)
        for box, sample, label in samples:
            _member_cell(canvas, box, sample)
            _legend_item(canvas, box, label)

    # The header's text, then the week labels as one tile per column: a group whose first
    # weeks are greyed (`before`) shares the header and most labels with every other group.
    labels_top = layout.labels_y - 4 * SCALE  # halfway between the subtitle and the labels
    at = layout.body_y - 4 * SCALE  # halfway between the week labels and the first title
    out = [
        bands.Band(0, labels_top, _whole(("head", data.heading, subtitle), head)),
        bands.Band(
            labels_top,
            at,
            tuple(
                bands.Tile(
                    ("label", month, day, greyed, layout.labels_y - labels_top),
                    LEFT + i * PITCH - GAP // 2,
                    LEFT + (i + 1) * PITCH - GAP // 2,
                    label(i, month, day, greyed),
                )
                for i, (month, day, greyed) in enumerate(_week_labels(data.weeks, data.before))
            ),
        ),
    ]
    for pledge, y, cells in zip(data.pledges, layout.titles_y, layout.rows, strict=False):
        top, bottom = cells[0][1], cells[0][1] + CELL_H
        key = ("title", pledge.title, pledge.cadence, pledge.target, pledge.number, top - y)
        out.append(bands.Band(at, top, _whole(key, title(pledge, y))))
        tiles = tuple(
            bands.Tile(("cell", _cell_key(result)), box[0], box[2] + 1, cell(box, result))
            for box, result in zip(cells, pledge.weeks, strict=True)
        )
        out.append(bands.Band(top, bottom, tiles))
        at = bottom
    tail_key = ("tail", more, tuple(label for _, _, label in samples), layout.legend_y - at)
    out.append(bands.Band(at, layout.height, _whole(tail_key, tail)))
    return out


def render_member_grid(data: MemberWeeks) -> Picture:
    """A member's own 12 weeks, one row per pledge: kept, missed, excused, not taking part."""
    picture = _member_grid(data, draw=True)
    assert picture is not None
    return picture


def kept_member_grid(data: MemberWeeks) -> Picture | None:
    """The member grid when every part of it is kept (picture_bands), None when something
    would have to be drawn: fast enough for the event loop."""
    return _member_grid(data, draw=False)


def _member_grid(data: MemberWeeks, draw: bool) -> Picture | None:
    if len(data.weeks) != WEEKS_SHOWN:
        raise ValueError(f"the picture shows {WEEKS_SHOWN} weeks, not {len(data.weeks)}")
    layout = layout_member(data)
    parts = member_bands(data, layout)
    if draw:
        png = bands.png(WIDTH, layout.height, parts, _fonts())
    else:
        kept = bands.compose(WIDTH, layout.height, parts, _fonts(), draw=False)
        if kept is None:
            return None
        png = kept
    return Picture(
        png=png,
        alt=member_alt_text(data),
        width=WIDTH,
        height=layout.height,
        filename="streak.png",
    )


# ---- alt text -----------------------------------------------------------------------------


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{percent(share)}%"


def _shorten(parts: list[str], head: str) -> str:
    """Join `parts` after `head`; past ALT_LIMIT, the rest are counted instead of listed."""
    text = head
    for i, part in enumerate(parts):
        rest = len(parts) - i - 1
        more = f" And {rest} more pledges." if rest else ""
        if len(text) + 1 + len(part) + len(more) > ALT_LIMIT:
            left = len(parts) - i
            text += f" And {left} more pledge{'s' if left > 1 else ''}."
            break
        text += " " + part
    return text[:ALT_LIMIT]


def _clean(title: str) -> str:
    return " ".join(title.split())


def group_alt_text(data: GroupWeeks) -> str:
    """The group picture in words: the whole group, the streak, each pledge's weeks."""
    name = _clean(data.name)
    target = percent(data.threshold)
    latest = data.overall[-1]
    met = sum(1 for m in data.met if m)
    counted = sum(1 for m in data.met if m is not None)
    head = (
        f"Picture: the last 12 weeks in {name or 'this group'}, {_range(data.weeks)}. "
        f"Whole group: {_pct(latest)} kept in the latest week"
        if latest is not None
        else f"Picture: the last 12 weeks in {name or 'this group'}, {_range(data.weeks)}. "
        f"Whole group: nothing to count in the latest week"
    )
    head += (
        f" (target {target}%); the target was met in {met} of {counted} weeks with answers. "
        f"{_streak_words(data)}."
    )
    if not data.pledges:
        return head[:ALT_LIMIT]
    full = [
        f"{_clean(p.title)} ({cadence_words(p.cadence, p.target)}): "
        + ", ".join(_pct(s) for s in p.shares)
        + "."
        for p in data.pledges
    ]
    lead = " Per pledge, % kept from the oldest week to the latest (- = nothing to count):"
    text = head + lead + " " + " ".join(full)
    if len(text) <= ALT_LIMIT:
        return text
    brief = []
    for p in data.pledges:
        shares = [s for s in p.shares if s is not None]
        if shares:
            average = round(100 * sum(shares) / len(shares))
            brief.append(
                f"{_clean(p.title)}: {_pct(p.shares[-1])} in the latest week, "
                f"{average}% on average over {_weeks_word(len(shares))}."
            )
        else:
            brief.append(f"{_clean(p.title)}: nothing to count yet.")
    return _shorten(brief, head + " Per pledge:")


def _result_words(r: WeekResult) -> str:
    mark = r.mark
    if mark is Mark.PART:
        return f"{r.kept} of {r.kept + r.missed} days kept"
    if mark is Mark.KEPT and r.kept > 1:
        return f"all {r.kept} kept"
    return str(mark.value)


def member_alt_text(data: MemberWeeks) -> str:
    """A member's grid in words: per pledge the tally and each week from oldest to latest."""
    head = f"Picture: {_clean(data.heading)}, {_range(data.weeks)}."
    if not data.pledges:
        return head + " No pledges taken part in during these weeks."
    full, brief = [], []
    for p in data.pledges:
        marks = [r.mark for r in p.weeks]
        kept = sum(1 for m in marks if m is Mark.KEPT)
        tally = (
            f"{_clean(p.title)} ({cadence_words(p.cadence, p.target)}): kept in "
            f"{_weeks_word(kept)}, excused in {marks.count(Mark.EXCUSED)}"
        )
        full.append(tally + "; week by week: " + ", ".join(_result_words(r) for r in p.weeks) + ".")
        brief.append(tally + f"; latest week: {_result_words(p.weeks[-1])}.")
    text = head + " " + " ".join(full)
    if len(text) <= ALT_LIMIT:
        return text
    return _shorten(brief, head)
