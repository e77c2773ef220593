"""Tests for bot.rules.periods: period boundaries, keys and steps in a group's local calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.periods import (
    CADENCES,
    Cadence,
    describe,
    next_period,
    period_at,
    period_from_key,
    periods_between,
    previous_period,
)
from tests.unit._zones import instants, week_starts, zone_names

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


cadences = st.sampled_from(CADENCES)


def test_cadences_are_day_week_and_month() -> None:
    assert CADENCES == ("day", "week", "month")


def test_a_day_period_runs_from_local_midnight_to_local_midnight() -> None:
    p = period_at(utc(2026, 11, 27, 12), "day", BERLIN)
    assert p.key == "day:2026-11-27"
    assert p.first_day == date(2026, 11, 27)
    assert p.days == 1
    assert p.start == utc(2026, 11, 26, 23)
    assert p.end == utc(2026, 11, 27, 23)


def test_late_evening_in_new_york_is_still_the_local_day() -> None:
    p = period_at(utc(2026, 11, 28, 3), "day", NEW_YORK)
    assert p.key == "day:2026-11-27"


def test_a_week_key_names_the_monday_it_starts_on_by_default() -> None:
    p = period_at(utc(2026, 12, 3, 12), "week", BERLIN)
    assert p.key == "week:2026-11-30"
    assert p.days == 7
    assert p.start == utc(2026, 11, 29, 23)
    assert p.end == utc(2026, 12, 6, 23)


def test_a_week_key_follows_the_groups_week_start_day() -> None:
    thursday = utc(2026, 12, 3, 12)
    assert period_at(thursday, "week", BERLIN, week_start=6).key == "week:2026-11-29"
    assert period_at(thursday, "week", BERLIN, week_start=3).key == "week:2026-12-03"
    assert period_at(thursday, "week", BERLIN, week_start=4).key == "week:2026-11-27"


def test_a_month_period_has_as_many_days_as_the_month() -> None:
    p = period_at(utc(2026, 11, 15), "month", BERLIN)
    assert p.key == "month:2026-11"
    assert p.days == 30
    assert period_at(utc(2028, 2, 10), "month", BERLIN).days == 29
    assert period_at(utc(2026, 2, 10), "month", BERLIN).days == 28
    assert period_at(utc(2026, 12, 10), "month", BERLIN).days == 31


def test_the_berlin_spring_forward_day_lasts_23_hours_and_the_autumn_one_25() -> None:
    spring = period_from_key("day:2026-03-29", BERLIN)
    autumn = period_from_key("day:2026-10-25", BERLIN)
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)


def test_a_week_containing_a_dst_change_is_not_exactly_seven_times_24_hours() -> None:
    week = period_from_key("week:2026-03-23", BERLIN)
    assert week.end - week.start == timedelta(days=7) - timedelta(hours=1)


def test_a_santiago_day_without_a_midnight_starts_at_one_oclock() -> None:
    p = period_from_key("day:2026-09-06", SANTIAGO)
    assert p.start == utc(2026, 9, 6, 4)  # 01:00 -03, the first instant of that local day
    assert previous_period(p, SANTIAGO).end == p.start
    assert p.end - p.start == timedelta(hours=23)


def test_the_santiago_day_before_the_autumn_fallback_lasts_25_hours() -> None:
    p = period_from_key("day:2026-04-04", SANTIAGO)
    assert p.end - p.start == timedelta(hours=25)
    # 23:30 local happens twice on 4 April; both belong to that day.
    assert period_at(utc(2026, 4, 5, 2, 30), "day", SANTIAGO).key == "day:2026-04-04"
    assert period_at(utc(2026, 4, 5, 3, 30), "day", SANTIAGO).key == "day:2026-04-04"
    assert period_at(utc(2026, 4, 5, 4, 0), "day", SANTIAGO).key == "day:2026-04-05"


def test_samoa_skipped_30_december_2011_so_the_next_day_after_the_29th_is_the_31st() -> None:
    apia = ZoneInfo("Pacific/Apia")
    p = period_from_key("day:2011-12-29", apia)
    following = next_period(p, apia)
    assert following.key == "day:2011-12-31"
    assert following.start == p.end
    assert previous_period(following, apia) == p


def test_period_boundaries_are_inclusive_at_the_start_and_exclusive_at_the_end() -> None:
    p = period_from_key("day:2026-11-27", BERLIN)
    assert period_at(p.start, "day", BERLIN) == p
    assert period_at(p.end, "day", BERLIN) == next_period(p, BERLIN)
    assert period_at(p.end - timedelta(microseconds=1), "day", BERLIN) == p


def test_next_and_previous_period_step_across_a_year_end() -> None:
    dec = period_from_key("month:2026-12", BERLIN)
    assert next_period(dec, BERLIN).key == "month:2027-01"
    assert previous_period(next_period(dec, BERLIN), BERLIN) == dec
    week = period_from_key("week:2026-12-28", BERLIN)
    assert next_period(week, BERLIN).key == "week:2027-01-04"
    assert previous_period(period_from_key("day:2027-01-01", BERLIN), BERLIN).key == (
        "day:2026-12-31"
    )


def test_periods_between_yields_only_periods_that_have_ended() -> None:
    first = period_from_key("week:2026-11-02", BERLIN)
    until = period_from_key("week:2026-11-30", BERLIN).start + timedelta(hours=1)
    keys = [p.key for p in periods_between(first, until, BERLIN, 0)]
    assert keys == ["week:2026-11-02", "week:2026-11-09", "week:2026-11-16", "week:2026-11-23"]


def test_periods_between_is_empty_when_the_first_period_is_still_open() -> None:
    first = period_from_key("day:2026-11-27", BERLIN)
    assert list(periods_between(first, first.end - timedelta(seconds=1), BERLIN, 0)) == []


@pytest.mark.parametrize(
    "key",
    ["", "day:", "day:2026-11-31", "day:2026-1-5", "week:2026-12-01", "month:2026-13",
     "month:2026-11-01", "year:2026", "Day:2026-11-27", " day:2026-11-27", "day:2026-11-27 ",
     "day:9999-12-31", "month:0000-01", "day:２０２６-11-27"],
)  # fmt: skip
def test_a_malformed_key_or_a_week_not_starting_on_the_week_start_raises_value_error(
    key: str,
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
        period_from_key(key, BERLIN)


def test_a_week_key_is_valid_only_for_the_calendar_whose_week_starts_that_day() -> None:
    assert period_from_key("week:2026-11-29", BERLIN, week_start=6).first_day == date(2026, 11, 29)
    with pytest.raises(ValueError, match="week start"):
        period_from_key("week:2026-11-29", BERLIN, week_start=0)


@pytest.mark.parametrize(
    ("key", "text"),
    [("day:2026-11-27", "Fri 27 Nov 2026"), ("week:2026-11-30", "week of Mon 30 Nov 2026"),
     ("month:2026-11", "November 2026")],
)  # fmt: skip
def test_describe_gives_plain_human_text(key: str, text: str) -> None:
    assert describe(period_from_key(key, BERLIN)) == text


# --- properties -----------------------------------------------------------------------------


@settings(deadline=None)
@given(instants, cadences, zone_names, week_starts)
def test_the_period_at_an_instant_contains_it(
    instant: datetime, cadence: Cadence, name: str, week_start: int
) -> None:
    tz = ZoneInfo(name)
    p = period_at(instant, cadence, tz, week_start)
    assert p.start <= instant < p.end
    assert p.start.tzinfo is UTC
    assert p.end.tzinfo is UTC


@settings(deadline=None)
@given(instants, cadences, zone_names, week_starts)
def test_a_period_survives_a_round_trip_through_its_key(
    instant: datetime, cadence: Cadence, name: str, week_start: int
) -> None:
    tz = ZoneInfo(name)
    p = period_at(instant, cadence, tz, week_start)
    assert period_from_key(p.key, tz, week_start) == p
    assert p.key.startswith(cadence + ":")


@settings(deadline=None)
@given(instants, cadences, zone_names, week_starts)
def test_consecutive_periods_tile_time_without_gaps_or_overlaps(
    instant: datetime, cadence: Cadence, name: str, week_start: int
) -> None:
    tz = ZoneInfo(name)
    p = period_at(instant, cadence, tz, week_start)
    following = next_period(p, tz, week_start)
    assert following.start == p.end
    assert following.start < following.end
    assert previous_period(following, tz, week_start) == p
    assert period_at(p.end, cadence, tz, week_start) == following


@settings(deadline=None)
@given(instants, zone_names, week_starts)
def test_week_keys_land_on_the_week_start_weekday(
    instant: datetime, name: str, week_start: int
) -> None:
    p = period_at(instant, "week", ZoneInfo(name), week_start)
    assert p.first_day.weekday() == week_start
    assert p.key == f"week:{p.first_day.isoformat()}"
    assert p.first_day <= p.first_day + timedelta(days=6)


@settings(deadline=None)
@given(instants, cadences, zone_names)
def test_period_days_match_the_cadence(instant: datetime, cadence: Cadence, name: str) -> None:
    p = period_at(instant, cadence, ZoneInfo(name))
    if cadence == "day":
        assert p.days == 1
    elif cadence == "week":
        assert p.days == 7
    else:
        assert 28 <= p.days <= 31
        assert p.first_day.day == 1
