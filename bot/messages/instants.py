"""Instants in replies: the core marks a moment, each platform's renderer decides how it reads.

A core text that shows a moment (an event's start, a period's close, a reminder's next time)
writes `mark(at, zone, style)` instead of formatting it. The mark carries the aware UTC instant
and the zone the group reads it in. Where the text leaves for a platform, markup resolves each
mark: Discord shows `<t:UNIX:f>` so every reader sees their own local time; Matrix, the console
and the sandbox get `zone_text`, the time in the marked zone (with the zone's name where the
style asks for it). Marks are private-use characters, which member text never holds
(`markup.clean_text` drops them), so no member can forge one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

OPEN, CLOSE = "\ue001", "\ue002"
_MARK = re.compile(OPEN + r"(-?\d+)\|(\w+)\|([\w/+\-]+)\|(-?\d*)\|([01])" + CLOSE, re.ASCII)

# style -> how the group-zone text reads. Discord's forms are in adapters/discord/render.py.
STYLES = frozenset({"f", "s", "t", "wt", "d", "on", "day", "slot", "slotday"})


@dataclass(frozen=True)
class Instant:
    """One marked moment: when (aware UTC), the zone it is read in, and how it is phrased.

    Styles: "f" Sat 12 Dec 2026, 18:00 · "s" Sat 12 Dec 18:00 · "t" 18:00 · "wt" Sat 18:00 ·
    "d" Sat 12 Dec · "on" today at 18:00 / on Sat 12 Dec at 18:00 (against `ref`) ·
    "day" today at 18:00 / Saturday 12 Dec at 18:00 (against `ref`) ·
    "slot" thu 18:00 and "slotday" 18:00 (a reminder slot, shown by its next occurrence).
    """

    at: datetime
    zone: str
    style: str = "f"
    ref: datetime | None = None  # "now" for the styles that say "today"
    named: bool = False  # the zone's name follows the group-zone text

    @property
    def unix(self) -> int:
        return int(self.at.timestamp())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def mark(
    at: datetime,
    zone: ZoneInfo | str,
    style: str = "f",
    *,
    ref: datetime | None = None,
    named: bool = False,
) -> str:
    """The mark for `at` to put in a core text (see the module docstring)."""
    if at.tzinfo is None:
        raise ValueError("an instant must be aware")
    if style not in STYLES:
        raise ValueError(f"unknown instant style {style!r}")
    key = zone if isinstance(zone, str) else zone.key
    since = "" if ref is None else str(int(ref.timestamp()))
    return f"{OPEN}{int(at.timestamp())}|{style}|{key}|{since}|{int(named)}{CLOSE}"


def reader_mark(
    at: datetime,
    group_zone: ZoneInfo,
    reader_zone: str | None,
    style: str = "f",
    *,
    ref: datetime | None = None,
) -> str:
    """A mark for a private text: in the group's zone, or, for a reader who set another zone
    (`me timezone`), in theirs and named, so "closes today at 13:00" is not read on the wrong
    clock by a member abroad."""
    if reader_zone and reader_zone != group_zone.key:
        return mark(at, reader_zone, style, ref=ref, named=True)
    return mark(at, group_zone, style, ref=ref)


def instants(text: str) -> list[Instant]:
    """Every instant marked in `text`, in order."""
    return [_parsed(m) for m in _MARK.finditer(text)]


def resolve(text: str, render: Callable[[Instant], str]) -> str:
    """`text` with each mark replaced by `render(instant)`."""
    if OPEN not in text:
        return text
    return _MARK.sub(lambda m: render(_parsed(m)), text)


def _parsed(m: re.Match[str]) -> Instant:
    ref = datetime.fromtimestamp(int(m.group(4)), UTC) if m.group(4) else None
    at = datetime.fromtimestamp(int(m.group(1)), UTC)
    return Instant(at, m.group(3), m.group(2), ref, m.group(5) == "1")


def zone_text(instant: Instant) -> str:
    """The instant as the group reads it on its clock: Matrix, the console, the sandbox."""
    tz = instant.tz
    local = instant.at.astimezone(tz)
    hhmm = f"{local:%H:%M}"
    day = f"{local:%a} {local.day} {local:%b}"
    style = instant.style
    if style == "f":
        text = f"{day} {local.year}, {hhmm}"
    elif style == "s":
        text = f"{day} {hhmm}"
    elif style in ("t", "slotday"):
        text = hhmm
    elif style == "wt":
        text = f"{local:%a} {hhmm}"
    elif style == "d":
        text = day
    elif style == "slot":
        text = f"{local:%a}".lower() + f" {hhmm}"
    else:  # "on", "day"
        today = instant.ref.astimezone(tz).date() if instant.ref is not None else None
        if local.date() == today:
            text = f"today at {hhmm}"
        elif style == "day":
            text = f"{local:%A} {local.day} {local:%b} at {hhmm}"
        else:
            text = f"on {day} at {hhmm}"
    return f"{text} ({tz.key})" if instant.named else text
