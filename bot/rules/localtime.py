"""Local wall-clock time: timezone, time, weekday and date parsing, and DST-safe resolution."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.errors import UserError

TIMEZONE_USAGE = "Write an IANA zone such as Europe/Berlin or America/New_York."
TIME_USAGE = "Write a time as H:MM or HH:MM on the 24-hour clock, e.g. 18:00 or 6:05."
WEEKDAY_USAGE = "Write a weekday as mon, tue, wed, thu, fri, sat or sun, or in full (thursday)."
DATE_USAGE = "Write a date as YYYY-MM-DD, e.g. 2026-12-24"

MAX_TIMEZONE_LENGTH = 64

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_WEEKDAY_LOOKUP: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(WEEKDAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


def _shown(text: str, limit: int = 40) -> str:
    """A safe, short rendering of user input for an error message."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@cache
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA name -> canonical spelling, built once on first use."""
    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    names["utc"] = "UTC"
    return names


@cache
def _city_names() -> dict[str, str]:
    """Lower-cased last component ("berlin") -> canonical zone, for suggestions only."""
    cities: dict[str, str] = {}
    for lower, name in sorted(_zone_names().items()):
        if "/" in lower and not lower.startswith("etc/"):
            cities.setdefault(lower.rsplit("/", 1)[1], name)
    return cities


def _suggest(lower: str) -> str | None:
    names = _zone_names()
    close = difflib.get_close_matches(lower, list(names), n=1, cutoff=0.75)
    if close:
        return names[close[0]]
    city = lower.rsplit("/", 1)[-1].replace(" ", "_")
    cities = _city_names()
    close = difflib.get_close_matches(city, list(cities), n=1, cutoff=0.75)
    if close:
        return cities[close[0]]
    return None


def _exact_zone(text: str) -> ZoneInfo | None:
    """The zone of an IANA name spelled exactly, without listing every zone; None otherwise.

    Listing them (`_zone_names`) walks the whole zoneinfo tree (~50-70 ms), which the first
    command after a start paid for its group's stored zone. A name whose every part starts
    with a capital is opened directly: that leaves out what `available_timezones` leaves out
    (`posixrules`, `posix/...`, `right/...`) and the lower-case spellings the list maps."""
    if not all(part[:1].isascii() and part[:1].isupper() for part in text.split("/")):
        return None
    try:
        return ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_timezone(name: str) -> ZoneInfo:
    """The zone named by an IANA name (any letter case) or "UTC"; UserError otherwise."""
    text = name.strip()
    if not text:
        raise UserError("No timezone given.", TIMEZONE_USAGE)
    if len(text) > MAX_TIMEZONE_LENGTH:
        raise UserError(
            f'"{_shown(text)}" is too long for a timezone name '
            f"(at most {MAX_TIMEZONE_LENGTH} characters).",
            TIMEZONE_USAGE,
        )
    if not text.isprintable() or "\\" in text or ".." in text or text.startswith("/"):
        raise UserError(f'"{_shown(text)}" is not a timezone name.', TIMEZONE_USAGE)
    exact = _exact_zone(text)
    if exact is not None:
        return exact
    lower = text.lower()
    canonical = _zone_names().get(lower)
    if canonical is None:
        message = f'"{_shown(text)}" is not a timezone I know.'
        suggestion = _suggest(lower)
        if suggestion is not None:
            message += f" Did you mean {suggestion}?"
        raise UserError(message, TIMEZONE_USAGE)
    try:
        return ZoneInfo(canonical)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UserError(
            f'The timezone "{canonical}" is not installed on this server.', TIMEZONE_USAGE
        ) from exc


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: instants must be timezone-aware")


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """`instant` (aware) as a wall-clock datetime in `tz`."""
    _require_aware(instant)
    return instant.astimezone(tz)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date in `tz` at `instant`."""
    return to_local(instant, tz).date()


def _same_wall(a: datetime, b: datetime) -> bool:
    return a.replace(tzinfo=None, fold=0) == b.replace(tzinfo=None, fold=0)


def resolve_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of the local wall-clock time `day at` in `tz`.

    An ambiguous time (clocks going back) resolves to its first occurrence. A time that does not
    exist (clocks jumping forward) resolves to the instant the clock jumps, i.e. the first valid
    moment after the gap.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)  # fold=0
    utc = wall.astimezone(UTC)
    if _same_wall(utc.astimezone(tz), wall):
        return utc
    # In a gap: fold=0 uses the offset before the jump, fold=1 the offset after it, so the
    # transition lies in (after, before]. Find its exact second by bisection.
    other = wall.replace(fold=1).astimezone(UTC)
    lo, hi = min(utc, other).replace(microsecond=0), max(utc, other)
    before = lo.astimezone(tz).utcoffset()
    lo_s, hi_s = 0, int((hi - lo).total_seconds())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if (lo + timedelta(seconds=mid)).astimezone(tz).utcoffset() == before:
            lo_s = mid
        else:
            hi_s = mid
    return lo + timedelta(seconds=hi_s)


def parse_hhmm(text: str) -> time:
    """A 24-hour wall-clock time written H:MM or HH:MM."""
    match = _HHMM.fullmatch(text.strip())
    if match is None:
        raise UserError(f'"{_shown(text.strip())}" is not a time of day.', TIME_USAGE)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise UserError(
            f'"{match.group(0)}" is not a time of day: hours go from 0 to 23.', TIME_USAGE
        )
    if minute > 59:
        raise UserError(
            f'"{match.group(0)}" is not a time of day: minutes go from 00 to 59.', TIME_USAGE
        )
    return time(hour, minute)


def format_hhmm(at: time) -> str:
    """`at` as HH:MM."""
    return f"{at.hour:02d}:{at.minute:02d}"


def parse_weekday(text: str) -> int:
    """A weekday name, short or full and in any case, as 0 (Monday) to 6 (Sunday)."""
    key = text.strip().lower()
    if key in _WEEKDAY_LOOKUP:
        return _WEEKDAY_LOOKUP[key]
    shown = _shown(text.strip())
    raise UserError(f'"{shown}" is not a weekday.' if shown else "No weekday given.", WEEKDAY_USAGE)


def parse_date(text: str) -> date:
    """An ISO calendar date written YYYY-MM-DD."""
    stripped = text.strip()
    match = _ISO_DATE.fullmatch(stripped)
    if match is None:
        shown = _shown(stripped)
        raise UserError(f'"{shown}" is not a date.' if shown else "No date given.", DATE_USAGE)
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise UserError(f'"{stripped}" is not a real calendar date.', DATE_USAGE) from exc


def parse_start(text: str, tz: ZoneInfo) -> datetime:
    """A `--start` value: an ISO date or date-time, local to `tz` unless it names its offset."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--start {text!r} is not an ISO date or date-time.",
            "Write it like --start 2026-11-30 or --start 2026-11-30T09:00.",
        ) from None
    if value.tzinfo is None:
        return resolve_local(value.date(), value.time(), tz)
    return value
