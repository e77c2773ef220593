"""Quiet hours: a local wall-clock window (possibly across midnight) in which nothing is sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.rules.localtime import parse_hhmm, resolve_local, to_local

QUIET_USAGE = 'Write quiet hours as "HH:MM-HH:MM", e.g. "22:00-08:00", or "off".'

_RANGE = re.compile(r"([^-–—]+)[-–—]([^-–—]+)")


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock window [start, end); crosses midnight if end < start; none if equal."""

    start: time
    end: time


def parse_quiet_hours(text: str) -> QuietHours | None:
    """ "22:00-08:00" -> a window; "off", "none" (or an empty window like 08:00-08:00) -> None."""
    stripped = text.strip()
    if stripped.lower() in ("off", "none"):
        return None
    match = _RANGE.fullmatch(stripped)
    if match is None:
        shown = stripped[:40]
        raise UserError(
            f'"{shown}" is not a quiet-hours window.' if shown else "No quiet hours given.",
            QUIET_USAGE,
        )
    try:
        start, end = parse_hhmm(match.group(1)), parse_hhmm(match.group(2))
    except UserError as exc:
        raise UserError(exc.message, QUIET_USAGE) from exc
    if start == end:
        return None
    return QuietHours(start, end)


def format_quiet_hours(quiet: QuietHours | None) -> str:
    """ "22:00-08:00" or "off"."""
    if quiet is None or quiet.start == quiet.end:
        return "off"
    return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


def quiet_end(instant: datetime, quiet: QuietHours | None, tz: ZoneInfo) -> datetime | None:
    """If `instant` is inside the local quiet window, the UTC instant it ends; else None."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = to_local(instant, tz)
    wall = local.time().replace(tzinfo=None, fold=0)
    day = local.date()
    if quiet.start < quiet.end:
        if not quiet.start <= wall < quiet.end:
            return None
        end_day = day
    elif wall >= quiet.start:
        end_day = day + timedelta(days=1)
    elif wall < quiet.end:
        end_day = day
    else:
        return None
    end = resolve_local(end_day, quiet.end, tz)
    if end <= instant:
        # `instant` is in the second pass of a repeated hour; the window ends at the second
        # occurrence of its end time.
        second = datetime.combine(end_day, quiet.end, tzinfo=tz).replace(fold=1)
        end = second.astimezone(UTC)
        if end <= instant:
            return None
    return end
