"""Tests for bot.rules.durations: reading and writing durations such as 3d, 2h30m and 1w."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.rules.durations import format_duration, parse_duration

USAGE = "Write a duration like 3d, 2h30m or 1w (units: w, d, h, m)."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
        ("1w2d", timedelta(days=9)),
        ("2h 30m", timedelta(hours=2, minutes=30)),
        ("2 h 30 m", timedelta(hours=2, minutes=30)),
        ("  3D ", timedelta(days=3)),
        ("1W2D3H4M", timedelta(days=9, hours=3, minutes=4)),
        ("30m2h", timedelta(hours=2, minutes=30)),
        ("366d", timedelta(days=366)),
        ("05m", timedelta(minutes=5)),
    ],
)
def test_a_duration_is_read_from_its_parts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "No duration"),
        ("0d", "no time at all"),
        ("0h0m", "no time at all"),
        ("-3d", "not a duration"),
        ("3", "not a duration"),
        ("d", "not a duration"),
        ("45s", 'unknown unit "s"'),
        ("3days", 'unknown unit "days"'),
        ("3x", 'unknown unit "x"'),
        ("2h3h", "more than once"),
        ("1d 1d", "more than once"),
        ("367d", "longer than 366 days"),
        ("53w", "longer than 366 days"),
        ("99999999999999999999999d", "longer than 366 days"),
        ("1" * 5000 + "m", "longer than 366 days"),
        ("1.5h", "not a duration"),
        ("٣d", "not a duration"),
        ("3d,2h", "not a duration"),
    ],
)
def test_a_bad_duration_raises_a_user_error_saying_what_was_wrong(text: str, reason: str) -> None:
    with pytest.raises(UserError) as info:
        parse_duration(text)
    assert reason in info.value.message
    assert info.value.usage == USAGE


def test_the_longest_duration_can_be_lowered() -> None:
    assert parse_duration("3d", max_days=3) == timedelta(days=3)
    with pytest.raises(UserError, match="longer than 3 days"):
        parse_duration("3d1m", max_days=3)


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(days=3), "3d"),
        (timedelta(hours=2, minutes=30), "2h30m"),
        (timedelta(weeks=1), "1w"),
        (timedelta(days=9), "1w2d"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, minutes=1), "1d1m"),
        (timedelta(seconds=59), "0m"),
    ],
)
def test_a_duration_is_written_in_its_largest_units(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=366 * 24 * 60))
def test_a_formatted_duration_parses_back_to_itself(minutes: int) -> None:
    td = timedelta(minutes=minutes)
    assert parse_duration(format_duration(td)) == td


@settings(deadline=None)
@given(st.text(max_size=40))
def test_any_text_given_as_a_duration_parses_or_raises_a_user_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except UserError:
        return
    assert timedelta(0) < result <= timedelta(days=366)
    assert result % timedelta(minutes=1) == timedelta(0)


@settings(deadline=None)
@given(st.text(alphabet="0123456789wdhmWDHMs -", max_size=20))
def test_duration_like_text_parses_or_raises_a_user_error(text: str) -> None:
    with contextlib.suppress(UserError):
        parse_duration(text)
