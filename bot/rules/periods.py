"""Pledge periods (day, week, month) in a group's calendar, and their stable string keys."""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.rules.localtime import local_date, resolve_local

Cadence = Literal["day", "week", "month"]
CADENCES: tuple[Cadence, ...] = ("day", "week", "month")

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_DAY_KEY = re.compile(r"(day|week):([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_MONTH_KEY = re.compile(r"month:([0-9]{4})-([0-9]{2})", re.ASCII)

# Guards against looping forever on a broken zone; real zones need at most a step or two.
_MAX_STEPS = 8
# Periods built and named keys read, kept: a period is a pure function of its cadence, first
# day and zone (and a key of itself and the calendar), and every member of every group in a
# zone shares the same ones, so a command asks for the same few again and again (each one two
# zone conversions). Bounded: a Period is ~0.5 KB, so each cache holds at most ~1 MB.
_KEPT = 2048


@dataclass(frozen=True)
class Period:
    """One period of a cadence: local days [first_day, first_day + days), instants [start, end)."""

    cadence: Cadence
    key: str
    first_day: date
    days: int
    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        """Whether `instant` lies in [start, end)."""
        return self.start <= instant < self.end


def _check_week_start(week_start: int) -> None:
    if not 0 <= week_start <= 6:
        raise ValueError(f"week_start must be 0 (Monday) to 6 (Sunday), not {week_start}")


def _first_day_for(day: date, cadence: Cadence, week_start: int) -> date:
    if cadence == "day":
        return day
    if cadence == "week":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    return day.replace(day=1)


@functools.lru_cache(maxsize=_KEPT)
def _build(cadence: Cadence, first_day: date, tz: ZoneInfo) -> Period:
    if cadence == "day":
        days, key = 1, f"day:{first_day.isoformat()}"
    elif cadence == "week":
        days, key = 7, f"week:{first_day.isoformat()}"
    else:
        days = calendar.monthrange(first_day.year, first_day.month)[1]
        key = f"month:{first_day.year:04d}-{first_day.month:02d}"
    midnight = time(0, 0)
    return Period(
        cadence=cadence,
        key=key,
        first_day=first_day,
        days=days,
        start=resolve_local(first_day, midnight, tz),
        end=resolve_local(first_day + timedelta(days=days), midnight, tz),
    )


def _step(p: Period, tz: ZoneInfo, forward: bool) -> Period:
    if p.cadence == "month":
        if forward:
            first = p.first_day + timedelta(days=p.days)
        else:
            first = (p.first_day - timedelta(days=1)).replace(day=1)
    else:
        first = p.first_day + timedelta(days=p.days if forward else -p.days)
    return _build(p.cadence, first, tz)


def next_period(p: Period, tz: ZoneInfo, week_start: int = 0) -> Period:
    """The period right after `p` (skipping a local day that does not exist, as in Samoa 2011)."""
    _check_week_start(week_start)
    nxt = _step(p, tz, forward=True)
    for _ in range(_MAX_STEPS):
        if nxt.end > nxt.start:
            break
        nxt = _step(nxt, tz, forward=True)
    return nxt


def previous_period(p: Period, tz: ZoneInfo, week_start: int = 0) -> Period:
    """The period right before `p` (skipping a local day that does not exist)."""
    _check_week_start(week_start)
    prev = _step(p, tz, forward=False)
    for _ in range(_MAX_STEPS):
        if prev.end > prev.start:
            break
        prev = _step(prev, tz, forward=False)
    return prev


def period_at(instant: datetime, cadence: Cadence, tz: ZoneInfo, week_start: int = 0) -> Period:
    """The period of `cadence` in the group's calendar that contains `instant`."""
    _check_week_start(week_start)
    if cadence not in CADENCES:
        raise ValueError(f"unknown cadence {cadence!r}")
    p = _build(cadence, _first_day_for(local_date(instant, tz), cadence, week_start), tz)
    # The local date decides, except where clocks go back across midnight: then the repeated
    # late-evening minutes belong to the period that had already begun.
    for _ in range(_MAX_STEPS):
        if instant >= p.end:
            p = next_period(p, tz, week_start)
        elif instant < p.start:
            p = previous_period(p, tz, week_start)
        else:
            return p
    raise ValueError(f"no {cadence} period contains {instant.isoformat()} in {tz.key}")


@functools.lru_cache(maxsize=_KEPT)
def period_from_key(key: str, tz: ZoneInfo, week_start: int = 0) -> Period:
    """The period named by `key`; ValueError if it is malformed or not a period of this calendar."""
    _check_week_start(week_start)
    try:
        if (m := _DAY_KEY.fullmatch(key)) is not None:
            first = date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
            if m.group(1) == "day":
                return _build("day", first, tz)
            if first.weekday() != week_start:
                raise ValueError(
                    f"{key!r} does not start on {_DAY_ABBR[week_start]}, this calendar's week start"
                )
            return _build("week", first, tz)
        if (m := _MONTH_KEY.fullmatch(key)) is not None:
            return _build("month", date(int(m.group(1)), int(m.group(2)), 1), tz)
    except OverflowError as exc:
        raise ValueError(f"period key {key!r} is out of range") from exc
    raise ValueError(f"malformed period key {key!r}")


def periods_between(
    first: Period, until: datetime, tz: ZoneInfo, week_start: int = 0
) -> Iterator[Period]:
    """Consecutive periods from `first` on, as long as they have ended by `until`."""
    p = first
    while p.end <= until:
        yield p
        p = next_period(p, tz, week_start)


def _day_text(day: date) -> str:
    return f"{_DAY_ABBR[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1][:3]} {day.year}"


def describe(p: Period) -> str:
    """Human text: "Fri 27 Nov 2026", "week of Mon 30 Nov 2026" or "November 2026"."""
    if p.cadence == "day":
        return _day_text(p.first_day)
    if p.cadence == "week":
        return f"week of {_day_text(p.first_day)}"
    return f"{_MONTH_NAMES[p.first_day.month - 1]} {p.first_day.year}"
