"""Tests for bot.rules.quiet: quiet-hours windows and when they end, across midnight and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.rules.localtime import to_local
from bot.rules.quiet import QuietHours, format_quiet_hours, parse_quiet_hours, quiet_end
from tests.unit._zones import instants, zone_names

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(22, 0), time(8, 0))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-08:00", NIGHT),
        ("22:00 - 8:00", NIGHT),
        ("13:00–14:30", QuietHours(time(13, 0), time(14, 30))),
        ("off", None),
        ("None", None),
        (" OFF ", None),
        ("08:00-08:00", None),
    ],
)
def test_quiet_hours_are_read_as_a_window_or_off(text: str, expected: QuietHours | None) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize("text", ["", "22:00", "22:00-", "22:00-24:00", "night", "22-08"])
def test_bad_quiet_hours_raise_a_user_error_with_usage(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_quiet_hours(text)
    assert info.value.usage is not None
    assert "22:00-08:00" in info.value.usage


def test_quiet_hours_are_written_back_as_read() -> None:
    assert format_quiet_hours(NIGHT) == "22:00-08:00"
    assert format_quiet_hours(None) == "off"


def test_an_instant_late_in_the_evening_is_quiet_until_the_next_morning() -> None:
    # 23:30 Berlin on 27 Nov -> quiet until 08:00 on 28 Nov (07:00 UTC).
    assert quiet_end(utc(2026, 11, 27, 22, 30), NIGHT, BERLIN) == utc(2026, 11, 28, 7)


def test_an_instant_early_in_the_morning_is_quiet_until_that_morning() -> None:
    assert quiet_end(utc(2026, 11, 28, 5), NIGHT, BERLIN) == utc(2026, 11, 28, 7)


def test_an_instant_outside_the_window_is_not_quiet() -> None:
    assert quiet_end(utc(2026, 11, 28, 12), NIGHT, BERLIN) is None
    # The window's end is exclusive and its start inclusive.
    assert quiet_end(utc(2026, 11, 28, 7), NIGHT, BERLIN) is None
    assert quiet_end(utc(2026, 11, 28, 21), NIGHT, BERLIN) == utc(2026, 11, 29, 7)


def test_a_window_within_one_day_works_too() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert quiet_end(utc(2026, 7, 1, 10, 15), lunch, BERLIN) == utc(2026, 7, 1, 11, 30)
    assert quiet_end(utc(2026, 7, 1, 9, 59), lunch, BERLIN) is None
    assert quiet_end(utc(2026, 7, 1, 11, 30), lunch, BERLIN) is None


def test_no_quiet_hours_are_never_quiet() -> None:
    assert quiet_end(utc(2026, 11, 28, 1), None, BERLIN) is None
    assert quiet_end(utc(2026, 11, 28, 1), QuietHours(time(8), time(8)), BERLIN) is None


def test_quiet_hours_ending_at_8_00_end_at_8_00_local_across_the_spring_transition() -> None:
    # Night of 28->29 March 2026: 08:00 CEST is 06:00 UTC, not 07:00.
    assert quiet_end(utc(2026, 3, 28, 23), NIGHT, BERLIN) == utc(2026, 3, 29, 6)


def test_quiet_hours_ending_in_the_spring_gap_end_when_the_clock_jumps() -> None:
    quiet = QuietHours(time(22, 0), time(2, 30))
    ended = quiet_end(utc(2026, 3, 29, 0, 30), quiet, BERLIN)  # 01:30 CET
    assert ended == utc(2026, 3, 29, 1)
    assert ended is not None
    assert to_local(ended, BERLIN).time() == time(3, 0)


def test_quiet_hours_ending_in_the_repeated_hour_end_at_the_right_pass() -> None:
    quiet = QuietHours(time(22, 0), time(2, 30))
    # First pass of 02:15 (CEST) ends at the first 02:30; the second pass (CET) at the second.
    assert quiet_end(utc(2026, 10, 25, 0, 15), quiet, BERLIN) == utc(2026, 10, 25, 0, 30)
    assert quiet_end(utc(2026, 10, 25, 1, 15), quiet, BERLIN) == utc(2026, 10, 25, 1, 30)
    # Between the passes (02:45 CEST) it is not quiet.
    assert quiet_end(utc(2026, 10, 25, 0, 45), quiet, BERLIN) is None


@settings(deadline=None)
@given(instants, zone_names, st.integers(0, 23), st.integers(0, 23))
def test_a_quiet_window_always_ends_after_the_instant_and_within_a_day(
    instant: datetime, name: str, start: int, end: int
) -> None:
    tz = ZoneInfo(name)
    quiet = QuietHours(time(start), time(end))
    ended = quiet_end(instant, quiet, tz)
    if ended is not None:
        assert instant < ended <= instant + timedelta(days=1, hours=3)
        assert ended.tzinfo is UTC
