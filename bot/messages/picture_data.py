"""What the summary pictures show, read from storage: a group's or a member's last 12 weeks.

The weeks are the group's last closed weeks (the ones its group streak counted), oldest first,
padded with the weeks before when the group is younger than twelve weeks. A period counts in
the week its end falls in, as it does for the group streak; a month is shown on every week
whose middle lies in it, so a monthly pledge reads as a month-long band, not one week in four.
Three SQL statements for a picture, whatever the group's size.
"""

from __future__ import annotations

import asyncio
import functools
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.messages.summary_picture import (
    WEEKS_SHOWN,
    GroupWeeks,
    MemberPledgeWeeks,
    MemberWeeks,
    Picture,
    PledgeWeeks,
    WeekResult,
    kept_member_grid,
    render_group_picture,
    render_member_grid,
)
from bot.rules import pledge_periods as tracking
from bot.rules.periods import Period, period_at, period_from_key, previous_period
from storage import closing as close_queries
from storage import history as history_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, GroupWeekRec, PledgeRec

STATUSES = ("active", "paused", "archived")
LIVE = ("active", "paused")
# Drawing a picture takes tens of milliseconds; its data (frozen, hashable) changes only when a
# week or a member's period closes, so asking `streak` again draws from memory. Bounded: a
# member's grid is ~10-30 KB of PNG.
draw_member_grid = functools.lru_cache(maxsize=32)(render_member_grid)
draw_group_picture = functools.lru_cache(maxsize=8)(render_group_picture)


def _week(key: str, tz: ZoneInfo) -> Period:
    """A stored week key, read on its own weekday (the group's week start may have moved)."""
    first = date.fromisoformat(key.removeprefix("week:"))
    return period_from_key(key, tz, first.weekday())


def _middle(p: Period) -> datetime:
    return p.start + (p.end - p.start) / 2


@dataclass(frozen=True)
class WeekColumns:
    """The picture's twelve weeks, and which of them a closed period counts in."""

    columns: list[Period]
    tz: ZoneInfo
    before: int  # leading columns before the group's first closed week: nothing counts there

    @property
    def after(self) -> datetime:
        return self.columns[self.before].start

    @property
    def through(self) -> datetime:
        """The last instant a shown period may end at: the last week's end, or the end of the
        month that holds its middle (that month is shown on the last weeks too)."""
        month = period_at(_middle(self.columns[-1]), "month", self.tz)
        return max(self.columns[-1].end, month.end)

    def month(self, key: str) -> Period:
        return period_from_key(key, self.tz)

    def spans(self, cadence: str, key: str, end: datetime) -> list[int]:
        if cadence == "month":
            month = self.month(key)
            shown = range(self.before, len(self.columns))
            return [i for i in shown if month.contains(_middle(self.columns[i]))]
        i = bisect_left([w.end for w in self.columns], end)
        return [i] if self.before <= i < len(self.columns) and end > self.after else []

    def unclosed_month_columns(self) -> list[int]:
        """Columns whose month ends after the last closed week: it may still be open."""
        last = self.columns[-1].end
        shown = range(self.before, len(self.columns))
        return [
            i for i in shown if period_at(_middle(self.columns[i]), "month", self.tz).end > last
        ]


def week_columns(weeks: Sequence[GroupWeekRec], tz: ZoneInfo) -> WeekColumns:
    """The picture's weeks, oldest first: the closed weeks, padded with earlier ones."""
    columns = [_week(w.week_key, tz) for w in sorted(weeks, key=lambda w: w.week_key)]
    columns = columns[-WEEKS_SHOWN:]
    before = WEEKS_SHOWN - len(columns)
    while len(columns) < WEEKS_SHOWN:
        first = columns[0]
        columns.insert(0, previous_period(first, tz, first.first_day.weekday()))
    return WeekColumns(columns, tz, before)


class _Tally:
    """Kept, missed and excused counts per picture column of one pledge."""

    def __init__(self) -> None:
        self.counts = [[0, 0, 0] for _ in range(WEEKS_SHOWN)]
        self.any = False

    def add(self, columns: Iterable[int], kept: int, missed: int, excused: int) -> None:
        for i in columns:
            c = self.counts[i]
            c[0] += kept
            c[1] += missed
            c[2] += excused
            self.any = True

    def shares(self) -> tuple[float | None, ...]:
        return tuple(k / (k + m) if k + m else None for k, m, _ in self.counts)


def _share(week: GroupWeekRec | None) -> float | None:
    if week is None or week.kept + week.missed == 0:
        return None
    return week.kept / (week.kept + week.missed)


def streak_columns(columns: list[Period], by_key: dict[str, GroupWeekRec], streak: int) -> int:
    """How many of the latest columns the running streak spans: back to its first met week
    (weeks with nothing counted inside it neither break nor extend it)."""
    covered = counted = 0
    for col in reversed(columns):
        week = by_key.get(col.key)
        if counted >= streak or week is None or week.met is False:
            break
        covered += 1
        counted += 1 if week.met else 0
    return covered


async def group_weeks(group: GroupRec) -> GroupWeeks | None:
    """The group picture's data, or None before the group's first week has closed.

    Three queries: the group's closed weeks, its pledges, and its outcomes counted per pledge
    and period by the database.
    """
    weeks = await close_queries.recent_group_weeks(group.id, limit=WEEKS_SHOWN)
    if not weeks:
        return None
    cal = week_columns(weeks, tracking.group_tz(group))
    pledges = await pledge_queries.group_pledges(group.id, STATUSES)
    cadence = {p.id: p.cadence for p in pledges}
    tallies = {p.id: _Tally() for p in pledges}
    for row in await history_queries.pledge_period_counts(group.id, cal.after, cal.through):
        tally = tallies.get(row.pledge_id)
        if tally is not None:
            spans = cal.spans(cadence[row.pledge_id], row.period_key, row.period_end)
            tally.add(spans, row.kept, row.missed, row.excused)
    by_key = {w.week_key: w for w in weeks}
    latest = max(weeks, key=lambda w: w.week_key)
    return GroupWeeks(
        name=group.name,
        weeks=tuple(c.first_day for c in cal.columns),
        overall=tuple(_share(by_key.get(c.key)) for c in cal.columns),
        met=tuple(w.met if (w := by_key.get(c.key)) else None for c in cal.columns),
        streak=latest.streak,
        streak_weeks=streak_columns(cal.columns, by_key, latest.streak),
        threshold=group.threshold,
        before=cal.before,
        pledges=tuple(
            PledgeWeeks(p.title, p.cadence, p.target, tallies[p.id].shares(), p.number)
            for p in pledges
            if p.status in LIVE or tallies[p.id].any
        ),
    )


def _member_row(
    pledge: PledgeRec, tally: _Tally, active: bool, cal: WeekColumns
) -> MemberPledgeWeeks:
    unclosed = set(cal.unclosed_month_columns()) if pledge.cadence == "month" and active else ()
    results = []
    for i, (kept, missed, excused) in enumerate(tally.counts):
        empty = kept + missed + excused == 0
        results.append(WeekResult(kept, missed, excused, open=empty and i in unclosed))
    return MemberPledgeWeeks(
        pledge.title, pledge.cadence, pledge.target, tuple(results), pledge.number
    )


async def member_weeks(group: GroupRec, member_id: int) -> MemberWeeks | None:
    """A member's own grid data, or None before the group's first closed week or when the
    member has never taken part in its pledges. Nobody else's outcomes; one query when the
    record cache holds the group's weeks and live pledges."""
    weeks = await close_queries.recent_group_weeks(group.id, limit=WEEKS_SHOWN)
    if not weeks:
        return None
    cal = week_columns(weeks, tracking.group_tz(group))
    rows = await history_queries.member_periods(group.id, member_id, cal.after, cal.through)
    if not rows:
        return None
    # The live pledges are the board's (the record cache holds them); archived ones are read
    # only when the member has outcomes of one in these weeks.
    pledges = {p.id: p for p in await pledge_queries.group_pledges(group.id, LIVE)}
    if any(row.pledge_id not in pledges for row in rows):
        pledges = {p.id: p for p in await pledge_queries.group_pledges(group.id, STATUSES)}
    tallies: dict[int, _Tally] = {}
    active: dict[int, bool] = {}
    for row in rows:
        pledge = pledges.get(row.pledge_id)
        if pledge is None:
            continue
        tally = tallies.setdefault(row.pledge_id, _Tally())
        active[row.pledge_id] = row.active
        if row.period_key is None or row.period_end is None or row.outcome is None:
            continue
        spans = cal.spans(pledge.cadence, row.period_key, row.period_end)
        outcome = row.outcome
        tally.add(spans, outcome == "kept", outcome == "missed", outcome == "excused")
    shown = [
        _member_row(pledges[pid], tally, active[pid], cal)
        for pid, tally in sorted(tallies.items(), key=lambda item: pledges[item[0]].number)
        if (active[pid] and pledges[pid].status in LIVE) or tally.any
    ]
    if not shown:
        return None
    return MemberWeeks(
        weeks=tuple(c.first_day for c in cal.columns),
        pledges=tuple(shown),
        before=cal.before,
    )


async def group_picture(group: GroupRec) -> Picture | None:
    """The weekly summary's picture, rendered off the event loop; None when there is none."""
    data = await group_weeks(group)
    if data is None:
        return None
    return await asyncio.to_thread(draw_group_picture, data)


async def member_picture(group: GroupRec, member_id: int) -> Picture | None:
    """A member's own 12-week grid (what `streak` offers), rendered off the event loop."""
    data = await member_weeks(group, member_id)
    if data is None:
        return None
    # Composed of kept bands (the usual case) it takes ~0.3 ms: no hop to a thread for that.
    kept = kept_member_grid(data)
    if kept is not None:
        return kept
    return await asyncio.to_thread(draw_member_grid, data)
