"""Durations written as 3d, 2h30m or 1w: parsing and formatting (minutes are the finest unit)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError

DURATION_USAGE = "Write a duration like 3d, 2h30m or 1w (units: w, d, h, m)."

_UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
_UNIT_NAMES = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_PART = re.compile(r"\s*([0-9]+)\s*([a-z]+)\s*", re.ASCII)
_MAX_DIGITS = 9


def _shown(text: str, limit: int = 40) -> str:
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def parse_duration(text: str, *, max_days: int = 366) -> timedelta:
    """A positive duration of whole minutes, at most `max_days` long."""
    stripped = text.strip()
    if not stripped:
        raise UserError("No duration given.", DURATION_USAGE)
    lowered = stripped.lower()
    shown = _shown(stripped)
    total = 0
    seen: set[str] = set()
    pos = 0
    while pos < len(lowered):
        match = _PART.match(lowered, pos)
        if match is None:
            raise UserError(f'"{shown}" is not a duration.', DURATION_USAGE)
        digits, unit = match.group(1), match.group(2)
        if unit not in _UNIT_MINUTES:
            raise UserError(
                f'"{shown}" uses the unknown unit "{_shown(unit, 10)}".', DURATION_USAGE
            )
        if unit in seen:
            raise UserError(
                f'"{shown}" gives the {_UNIT_NAMES[unit]} ({unit}) more than once.',
                DURATION_USAGE,
            )
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            raise UserError(f'"{shown}" is longer than {max_days} days.', DURATION_USAGE)
        seen.add(unit)
        total += int(digits) * _UNIT_MINUTES[unit]
        pos = match.end()
    if total <= 0:
        raise UserError(f'"{shown}" is no time at all; give a positive duration.', DURATION_USAGE)
    if total > max_days * 24 * 60:
        raise UserError(f'"{shown}" is longer than {max_days} days.', DURATION_USAGE)
    return timedelta(minutes=total)


def format_duration(td: timedelta) -> str:
    """`td` in the form parse_duration reads, e.g. "1w2d", "2h30m" (rounded down to minutes)."""
    minutes = td // timedelta(minutes=1)
    if minutes <= 0:
        return "0m"
    parts: list[str] = []
    for unit, size in _UNIT_MINUTES.items():
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
