"""Reminder and summary slots ("thu 18:00", "18:00") and when they next fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.rules.localtime import WEEKDAYS, local_date, parse_hhmm, parse_weekday, resolve_local
from bot.rules.periods import Period

SLOT_USAGE = 'Write a slot as "<day> <HH:MM>", e.g. "thu 18:00", or "HH:MM" for every day.'

# A weekly slot recurs within 7 local days; the margin covers a skipped local day.
_SEARCH_DAYS = 16


@dataclass(frozen=True)
class Slot:
    """A local wall-clock time on one weekday (0 = Monday), or on every day if weekday is None."""

    weekday: int | None
    at: time

    def __post_init__(self) -> None:
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6 or None, not {self.weekday}")


def parse_slot(text: str) -> Slot:
    """ "thu 18:00", "Thursday 18:00" or "18:00" (every day)."""
    parts = text.split()
    if not parts:
        raise UserError("No slot given.", SLOT_USAGE)
    if len(parts) > 2:
        raise UserError(f'"{" ".join(parts)[:40]}" has too many parts for a slot.', SLOT_USAGE)
    try:
        if len(parts) == 1:
            return Slot(None, parse_hhmm(parts[0]))
        return Slot(parse_weekday(parts[0]), parse_hhmm(parts[1]))
    except UserError as exc:
        raise UserError(exc.message, SLOT_USAGE) from exc


def format_slot(slot: Slot) -> str:
    """ "thu 18:00" or "18:00"."""
    hhmm = f"{slot.at.hour:02d}:{slot.at.minute:02d}"
    return hhmm if slot.weekday is None else f"{WEEKDAYS[slot.weekday]} {hhmm}"


def next_occurrence(slot: Slot, after: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant strictly after `after` at which the local clock shows the slot.

    DST follows `resolve_local`: a slot inside a spring-forward gap fires when the clock jumps
    past it, and a repeated wall time fires only at its first occurrence.
    """
    # Start a day early: `after` may sit in a repeated hour that belongs to yesterday's slot.
    day = local_date(after, tz) - timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if slot.weekday is None or day.weekday() == slot.weekday:
            candidate = resolve_local(day, slot.at, tz)
            if candidate > after:
                return candidate
        day += timedelta(days=1)
    raise ValueError(f"{format_slot(slot)} does not occur after {after.isoformat()} in {tz.key}")


def occurrence_in_period(slot: Slot, period: Period, tz: ZoneInfo) -> datetime | None:
    """The first firing of `slot` within [period.start, period.end), or None if there is none."""
    for offset in range(period.days):
        day = period.first_day + timedelta(days=offset)
        if slot.weekday is None or day.weekday() == slot.weekday:
            candidate = resolve_local(day, slot.at, tz)
            if period.start <= candidate < period.end:
                return candidate
    return None
