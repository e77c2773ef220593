"""Tests for bot.rules.localtime: zones, times, weekdays and dates, and DST-safe resolution."""

from __future__ import annotations

import contextlib
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.rules import localtime
from bot.rules.localtime import (
    WEEKDAYS,
    local_date,
    parse_date,
    parse_hhmm,
    parse_timezone,
    parse_weekday,
    resolve_local,
    to_local,
)
from tests.unit._zones import TRICKY_ZONES, instants, zone_names

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- parse_timezone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  AMERICA/NEW_YORK ", "America/New_York"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("asia/kathmandu", "Asia/Kathmandu"),
    ],
)
def test_a_timezone_is_recognised_whatever_its_letter_case(text: str, key: str) -> None:
    assert parse_timezone(text).key == key


def test_an_unknown_timezone_is_named_in_the_error_with_the_usage() -> None:
    with pytest.raises(UserError) as info:
        parse_timezone("Mars/Olympus")
    assert "Mars/Olympus" in info.value.message
    assert info.value.usage == "Write an IANA zone such as Europe/Berlin or America/New_York."


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("America/NewYork", "America/New_York"),
        ("berlin", "Europe/Berlin"),
    ],
)
def test_a_misspelt_timezone_gets_a_did_you_mean(text: str, suggestion: str) -> None:
    with pytest.raises(UserError) as info:
        parse_timezone(text)
    assert f"Did you mean {suggestion}?" in info.value.message


@pytest.mark.parametrize(
    "text",
    ["", "   ", "../../etc/passwd", "/etc/localtime", "Europe/../Berlin", "Europe\\Berlin",
     "Europe/Berlin\x00", "Europe/\nBerlin", "A" * 65, "Europe/" + "x" * 80],
)  # fmt: skip
def test_empty_overlong_and_path_like_timezones_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_timezone(text)


@settings(deadline=None)
@given(st.text(max_size=80))
def test_any_text_given_as_a_timezone_parses_or_raises_a_user_error(text: str) -> None:
    with contextlib.suppress(UserError):
        assert isinstance(parse_timezone(text), ZoneInfo)


@settings(deadline=None)
@given(zone_names)
def test_every_tricky_zone_parses_in_lower_case(name: str) -> None:
    assert parse_timezone(name.lower()).key == name


def test_every_listed_zone_parses_to_its_own_name() -> None:
    for name in zoneinfo.available_timezones():
        assert parse_timezone(name).key == name


@pytest.mark.parametrize("text", ["posixrules", "posix/Europe/Berlin", "right/UTC", "Europe"])
def test_files_of_the_zoneinfo_tree_the_list_leaves_out_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_timezone(text)


def test_a_zone_spelled_exactly_is_opened_without_listing_every_zone() -> None:
    localtime._zone_names.cache_clear()
    assert parse_timezone("Europe/Berlin").key == "Europe/Berlin"
    assert parse_timezone("UTC").key == "UTC"
    assert localtime._zone_names.cache_info().currsize == 0  # the walk of the zoneinfo tree
    assert parse_timezone("europe/berlin").key == "Europe/Berlin"  # other spellings: the list
    assert localtime._zone_names.cache_info().currsize == 1


# --- resolve_local ----------------------------------------------------------------------------


def test_an_ordinary_local_time_resolves_to_its_utc_instant() -> None:
    assert resolve_local(date(2026, 7, 1), time(19, 0), BERLIN) == utc(2026, 7, 1, 17, 0)
    assert resolve_local(date(2026, 1, 1), time(19, 0), BERLIN) == utc(2026, 1, 1, 18, 0)


def test_a_time_in_the_berlin_spring_gap_resolves_to_the_instant_the_clock_jumps() -> None:
    resolved = resolve_local(date(2026, 3, 29), time(2, 30), BERLIN)
    assert resolved == utc(2026, 3, 29, 1, 0)
    assert to_local(resolved, BERLIN).time() == time(3, 0)


def test_the_very_start_of_the_berlin_spring_gap_also_resolves_to_three_oclock() -> None:
    assert resolve_local(date(2026, 3, 29), time(2, 0), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert resolve_local(date(2026, 3, 29), time(2, 59), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_a_repeated_berlin_autumn_time_resolves_to_its_first_occurrence() -> None:
    resolved = resolve_local(date(2026, 10, 25), time(2, 30), BERLIN)
    assert resolved == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET (01:30 UTC)


def test_a_repeated_new_york_time_resolves_to_its_first_occurrence() -> None:
    assert resolve_local(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_midnight_that_does_not_exist_in_santiago_resolves_to_one_oclock() -> None:
    resolved = resolve_local(date(2026, 9, 6), time(0, 0), SANTIAGO)
    assert resolved == utc(2026, 9, 6, 4, 0)
    assert to_local(resolved, SANTIAGO).time() == time(1, 0)


def test_santiago_midnight_after_the_autumn_fallback_happens_once() -> None:
    assert resolve_local(date(2026, 4, 5), time(0, 0), SANTIAGO) == utc(2026, 4, 5, 4, 0)


def test_a_half_hour_gap_on_lord_howe_resolves_to_its_end() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    resolved = resolve_local(date(2026, 10, 4), time(2, 10), lord_howe)
    assert to_local(resolved, lord_howe).time() == time(2, 30)
    assert resolved == utc(2026, 10, 3, 15, 30)


@settings(deadline=None)
@given(instants, zone_names)
def test_resolving_the_local_wall_time_of_an_instant_never_lands_after_it(
    instant: datetime, name: str
) -> None:
    tz = ZoneInfo(name)
    local = to_local(instant, tz)
    resolved = resolve_local(local.date(), local.time(), tz)
    # The first occurrence of this wall time: the instant itself, or an hour-ish before it.
    assert resolved <= instant
    assert instant - resolved <= timedelta(hours=3)
    assert to_local(resolved, tz).replace(tzinfo=None) == local.replace(tzinfo=None, fold=0)


@settings(deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)), zone_names)
def test_resolved_local_midnight_is_aware_utc_and_shows_a_time_on_or_after_it(
    day: date, name: str
) -> None:
    tz = ZoneInfo(name)
    resolved = resolve_local(day, time(0, 0), tz)
    assert resolved.tzinfo is UTC
    local = to_local(resolved, tz).replace(tzinfo=None)
    assert local >= datetime.combine(day, time(0, 0))
    assert local - datetime.combine(day, time(0, 0)) <= timedelta(days=1)


def test_local_date_follows_the_zone_not_utc() -> None:
    instant = utc(2026, 11, 27, 23, 30)
    assert local_date(instant, BERLIN) == date(2026, 11, 28)
    assert local_date(instant, NEW_YORK) == date(2026, 11, 27)


def test_a_naive_instant_is_refused() -> None:
    naive = utc(2026, 1, 1).replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        to_local(naive, BERLIN)


def test_the_tricky_zone_list_is_all_installed() -> None:
    for name in TRICKY_ZONES:
        assert parse_timezone(name).key == name


# --- parse_hhmm ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("18:00", time(18, 0)), ("6:05", time(6, 5)), ("06:05", time(6, 5)), ("0:00", time(0, 0)),
     ("23:59", time(23, 59)), (" 7:30 ", time(7, 30))],
)  # fmt: skip
def test_a_24_hour_time_is_read_with_one_or_two_hour_digits(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text", ["24:00", "18:60", "18h", "1800", "6pm", "18:0", "118:00", "", "18:00:00", "٦:٠٥"]
)
def test_an_impossible_or_misshapen_time_raises_a_user_error_with_usage(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_hhmm(text)
    assert info.value.usage is not None
    assert "18:00" in info.value.usage


def test_the_time_error_says_which_part_is_out_of_range() -> None:
    with pytest.raises(UserError, match="hours go from 0 to 23"):
        parse_hhmm("24:00")
    with pytest.raises(UserError, match="minutes go from 00 to 59"):
        parse_hhmm("18:60")


# --- parse_weekday ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mon", 0), ("thu", 3), ("Thu", 3), ("thursday", 3), ("THURSDAY", 3), ("sun", 6),
     ("Sunday", 6), ("tues", 1)],
)  # fmt: skip
def test_a_weekday_is_read_short_or_full_in_any_case(text: str, expected: int) -> None:
    assert parse_weekday(text) == expected


def test_weekday_names_run_from_monday() -> None:
    assert WEEKDAYS == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.mark.parametrize("text", ["", "th", "thursdays", "donnerstag", "7"])
def test_an_unknown_weekday_raises_a_user_error(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_weekday(text)
    assert info.value.usage is not None


# --- parse_date -----------------------------------------------------------------------------------


def test_an_iso_date_is_read() -> None:
    assert parse_date("2026-12-24") == date(2026, 12, 24)
    assert parse_date(" 2028-02-29 ") == date(2028, 2, 29)


@pytest.mark.parametrize(
    "text", ["24/12/2026", "20261224", "2026-12-24T10:00", "2026-2-3", "2026-02-30", "0000-01-01",
             "", "tomorrow"],
)  # fmt: skip
def test_a_date_not_written_as_yyyy_mm_dd_raises_a_user_error_with_an_example(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_date(text)
    assert info.value.usage == "Write a date as YYYY-MM-DD, e.g. 2026-12-24"


@settings(deadline=None)
@given(st.text(max_size=30))
def test_any_text_given_as_a_date_parses_or_raises_a_user_error(text: str) -> None:
    with contextlib.suppress(UserError):
        parse_date(text)


@settings(deadline=None)
@given(st.text(max_size=12))
def test_any_text_given_as_a_time_or_weekday_parses_or_raises_a_user_error(text: str) -> None:
    for parse in (parse_hhmm, parse_weekday):
        with contextlib.suppress(UserError):
            parse(text)
