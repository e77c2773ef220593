"""When an event is: its local date and time read in a zone, DST-exact, and its reminder rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.rules.durations import format_duration, parse_duration
from bot.rules.localtime import (
    DATE_USAGE,
    WEEKDAY_NAMES,
    WEEKDAYS,
    format_hhmm,
    parse_date,
    parse_hhmm,
    parse_weekday,
    resolve_local,
)

EVENT_DATE_USAGE = DATE_USAGE + ", or today, tomorrow, or a weekday (sat) for the next one to come"
DEFAULT_LENGTH = timedelta(hours=2)
MAX_LENGTH_DAYS = 7
# How far ahead an event may be planned, and how far back one may still be recorded.
MAX_AHEAD_DAYS = 366
REMINDER_USAGE = (
    "Write the days before and, if you like, the time: `1d` (the day before at the "
    "group's question hour), `1d 19:00`, `2d 18:00`, hours before (`3h`), or `off`."
)
_DAYS_BEFORE = re.compile(r"([0-9]{1,2})d", re.ASCII)
_HOURS_BEFORE = re.compile(r"([0-9]{1,2})h", re.ASCII)


@dataclass(frozen=True)
class EventTime:
    """The start instant of a local date and time, and what a member must be told about it."""

    starts_at: datetime
    local_date: date
    local_time: time
    # Set when the clock time does not exist that day or happens twice (DST).
    note: str = ""


def parse_event_date(text: str, today: date) -> date:
    """YYYY-MM-DD, today, tomorrow, or a weekday name meaning the next such day (today counts)."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in WEEKDAYS or word in WEEKDAY_NAMES or word in ("tues", "weds", "thur", "thurs"):
        ahead = (parse_weekday(word) - today.weekday()) % 7
        return today + timedelta(days=ahead)
    try:
        return parse_date(word)
    except UserError as exc:
        raise UserError(exc.message, EVENT_DATE_USAGE) from None


def resolve_event_time(day: date, at: time, tz: ZoneInfo) -> EventTime:
    """The instant `day at` in `tz`, as reminders resolve it: a time in a DST gap starts when
    the clock jumps, a repeated time at its first occurrence; either way the member is told."""
    starts = resolve_local(day, at, tz)
    wall = datetime.combine(day, at, tzinfo=tz)
    shown = format_hhmm(at)
    note = ""
    if starts.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
        actual = starts.astimezone(tz)
        note = (
            f"{shown} does not exist on {day.isoformat()} in {tz.key} (the clocks jump forward), "
            f"so it starts at {actual:%H:%M}."
        )
    elif wall.replace(fold=1).astimezone(UTC) != starts:
        first = starts.astimezone(tz)
        note = (
            f"{shown} happens twice on {day.isoformat()} in {tz.key} (the clocks go back); "
            f"it starts at the first one ({first:%H:%M} {first.tzname()})."
        )
    return EventTime(starts_at=starts, local_date=day, local_time=at, note=note)


def parse_length(text: str) -> timedelta:
    """How long an event lasts: a duration such as 2h or 1h30m, at most a week."""
    return parse_duration(text, max_days=MAX_LENGTH_DAYS)


def describe_length(length: timedelta) -> str:
    return format_duration(length)


def parse_time(text: str) -> time:
    return parse_hhmm(text)


def check_ahead(starts_at: datetime, now: datetime) -> None:
    """An event is planned for later, and not more than a year ahead."""
    if starts_at <= now:
        raise UserError(
            "That time has passed already.",
            "Give a date and time still to come, in the group's zone.",
        )
    if starts_at - now > timedelta(days=MAX_AHEAD_DAYS):
        raise UserError(
            f"That is more than {MAX_AHEAD_DAYS} days ahead.", "Plan events up to a year ahead."
        )


# -- the reminder rule ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRule:
    """`days` before at `at` (None: the group's question hour), or `hours` before, or off."""

    days: int = 1
    at: time | None = None
    hours: int = 0
    off: bool = False


def parse_reminder(text: str) -> ReminderRule:
    words = text.strip().lower().split()
    if words == ["off"]:
        return ReminderRule(off=True)
    if len(words) == 1 and (m := _HOURS_BEFORE.fullmatch(words[0])):
        hours = int(m.group(1))
        if not 1 <= hours <= 48:
            raise UserError("Hours before must be from 1 to 48.", REMINDER_USAGE)
        return ReminderRule(days=0, hours=hours)
    if words and len(words) <= 2 and (m := _DAYS_BEFORE.fullmatch(words[0])):
        days = int(m.group(1))
        if not 1 <= days <= 14:
            raise UserError("Days before must be from 1 to 14.", REMINDER_USAGE)
        at = parse_hhmm(words[1]) if len(words) == 2 else None
        return ReminderRule(days=days, at=at)
    raise UserError(f"`{text.strip()[:30]}` is not an event reminder rule.", REMINDER_USAGE)


def format_reminder(rule: ReminderRule) -> str:
    if rule.off:
        return "off"
    if rule.hours:
        return f"{rule.hours}h"
    return f"{rule.days}d" + (f" {format_hhmm(rule.at)}" if rule.at else "")


def reminder_time(
    rule: ReminderRule, starts_at: datetime, tz: ZoneInfo, hour: time
) -> datetime | None:
    """When the reminder of an event starting at `starts_at` is due (before the start), or None.

    `hour` is the group's question hour, used when the rule names no time of day.
    """
    if rule.off:
        return None
    if rule.hours:
        return starts_at - timedelta(hours=rule.hours)
    day = starts_at.astimezone(tz).date() - timedelta(days=rule.days)
    at = resolve_local(day, rule.at or hour, tz)
    return at if at < starts_at else None
