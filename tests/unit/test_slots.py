"""Tests for bot.rules.slots: parsing slots and firing them at local wall-clock times across DST."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.rules.localtime import local_date, to_local
from bot.rules.periods import CADENCES, Cadence, period_at, period_from_key
from bot.rules.slots import Slot, format_slot, next_occurrence, occurrence_in_period, parse_slot
from tests.unit._zones import instants, zone_names

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
SANTIAGO = ZoneInfo("America/Santiago")

SLOT_USAGE = 'Write a slot as "<day> <HH:MM>", e.g. "thu 18:00", or "HH:MM" for every day.'

DST_DAYS = [
    pytest.param("Europe/Berlin", date(2026, 3, 29), id="berlin-spring"),
    pytest.param("Europe/Berlin", date(2026, 10, 25), id="berlin-autumn"),
    pytest.param("America/New_York", date(2026, 3, 8), id="new-york-spring"),
    pytest.param("America/New_York", date(2026, 11, 1), id="new-york-autumn"),
    pytest.param("Australia/Sydney", date(2026, 4, 5), id="sydney-autumn"),
    pytest.param("Australia/Sydney", date(2026, 10, 4), id="sydney-spring"),
    pytest.param("America/Santiago", date(2026, 4, 5), id="santiago-autumn"),
    pytest.param("America/Santiago", date(2026, 9, 6), id="santiago-spring"),
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_noon(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=tz).astimezone(UTC)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slot"),
    [("thu 18:00", Slot(3, time(18, 0))), ("Thursday 18:00", Slot(3, time(18, 0))),
     ("18:00", Slot(None, time(18, 0))), ("  sun   6:05 ", Slot(6, time(6, 5))),
     ("MON 0:00", Slot(0, time(0, 0)))],
)  # fmt: skip
def test_a_slot_is_read_with_or_without_a_weekday(text: str, slot: Slot) -> None:
    assert parse_slot(text) == slot


@pytest.mark.parametrize(
    "text", ["", "thu", "thu 24:00", "someday 18:00", "18:00 thu", "thu 18:00 extra", "6pm"]
)
def test_a_bad_slot_raises_a_user_error_with_the_slot_usage(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_slot(text)
    assert info.value.usage == SLOT_USAGE


def test_the_slot_error_keeps_the_precise_reason() -> None:
    with pytest.raises(UserError, match="hours go from 0 to 23"):
        parse_slot("thu 24:00")
    with pytest.raises(UserError, match='"someday" is not a weekday'):
        parse_slot("someday 18:00")


def test_a_slot_is_formatted_as_it_is_written() -> None:
    assert format_slot(Slot(3, time(18, 0))) == "thu 18:00"
    assert format_slot(Slot(None, time(6, 5))) == "06:05"


@settings(deadline=None)
@given(st.one_of(st.none(), st.integers(0, 6)), st.times().map(lambda t: t.replace(second=0,
       microsecond=0)))  # fmt: skip
def test_a_formatted_slot_parses_back_to_itself(weekday: int | None, at: time) -> None:
    slot = Slot(weekday, at)
    assert parse_slot(format_slot(slot)) == slot


@settings(deadline=None)
@given(st.text(max_size=30))
def test_any_text_given_as_a_slot_parses_or_raises_a_user_error(text: str) -> None:
    with contextlib.suppress(UserError):
        parse_slot(text)


def test_a_slot_rejects_an_impossible_weekday() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Slot(7, time(18, 0))


# --- next_occurrence across DST -------------------------------------------------------------


@pytest.mark.parametrize(("zone", "transition_day"), DST_DAYS)
def test_a_daily_19_00_slot_fires_at_19_00_local_before_on_and_after_the_transition(
    zone: str, transition_day: date
) -> None:
    tz = ZoneInfo(zone)
    slot = Slot(None, time(19, 0))
    days = [transition_day + timedelta(days=k) for k in (-1, 0, 1)]
    fired = next_occurrence(slot, local_noon(days[0], tz), tz)
    for day in days:
        local = to_local(fired, tz)
        assert (local.date(), local.time()) == (day, time(19, 0))
        assert fired == datetime(day.year, day.month, day.day, 19, tzinfo=tz).astimezone(UTC)
        fired = next_occurrence(slot, fired, tz)


@pytest.mark.parametrize(("zone", "transition_day"), DST_DAYS)
def test_a_weekly_19_00_slot_on_the_transition_weekday_fires_at_19_00_local_each_week(
    zone: str, transition_day: date
) -> None:
    tz = ZoneInfo(zone)
    slot = Slot(transition_day.weekday(), time(19, 0))
    fired = next_occurrence(slot, local_noon(transition_day - timedelta(days=8), tz), tz)
    for week in (-1, 0, 1):
        local = to_local(fired, tz)
        assert local.date() == transition_day + timedelta(weeks=week)
        assert local.time() == time(19, 0)
        fired = next_occurrence(slot, fired, tz)


def test_a_19_00_slot_stays_19_00_local_across_the_berlin_spring_transition() -> None:
    slot = Slot(None, time(19, 0))
    before = next_occurrence(slot, utc(2026, 3, 28, 12), BERLIN)
    after = next_occurrence(slot, before, BERLIN)
    assert before == utc(2026, 3, 28, 18)  # 19:00 CET
    assert after == utc(2026, 3, 29, 17)  # 19:00 CEST
    assert after - before == timedelta(hours=23)


def test_a_19_00_slot_stays_19_00_local_across_the_new_york_autumn_transition() -> None:
    slot = Slot(None, time(19, 0))
    before = next_occurrence(slot, utc(2026, 10, 31, 12), NEW_YORK)
    after = next_occurrence(slot, before, NEW_YORK)
    assert before == utc(2026, 10, 31, 23)  # 19:00 EDT
    assert after == utc(2026, 11, 2, 0)  # 19:00 EST
    assert after - before == timedelta(hours=25)


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected_utc", "expected_local"),
    [
        ("Europe/Berlin", date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1), time(3, 0)),
        ("America/New_York", date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7), time(3, 0)),
        ("Australia/Sydney", date(2026, 10, 4), time(2, 30), utc(2026, 10, 3, 16), time(3, 0)),
        ("America/Santiago", date(2026, 9, 6), time(0, 30), utc(2026, 9, 6, 4), time(1, 0)),
    ],
)
def test_a_slot_inside_the_spring_forward_gap_fires_at_the_first_minute_after_it(
    zone: str, day: date, at: time, expected_utc: datetime, expected_local: time
) -> None:
    tz = ZoneInfo(zone)
    fired = next_occurrence(Slot(None, at), local_noon(day - timedelta(days=1), tz), tz)
    assert fired == expected_utc
    assert to_local(fired, tz).time() == expected_local
    # And it is back to its own wall time the next day.
    assert to_local(next_occurrence(Slot(None, at), fired, tz), tz).time() == at


@pytest.mark.parametrize(
    ("zone", "day", "at", "first_utc"),
    [
        ("America/New_York", date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        ("Europe/Berlin", date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        ("Australia/Sydney", date(2026, 4, 5), time(2, 30), utc(2026, 4, 4, 15, 30)),
        ("America/Santiago", date(2026, 4, 4), time(23, 30), utc(2026, 4, 5, 2, 30)),
    ],
)
def test_a_slot_at_a_repeated_time_on_the_fall_back_day_fires_once(
    zone: str, day: date, at: time, first_utc: datetime
) -> None:
    tz = ZoneInfo(zone)
    slot = Slot(None, at)
    fired = next_occurrence(slot, first_utc - timedelta(hours=6), tz)
    assert fired == first_utc
    assert local_date(fired, tz) == day
    following = next_occurrence(slot, fired, tz)
    assert local_date(following, tz) == day + timedelta(days=1)
    # Asking from inside the repeated hour, after the first firing, skips the second pass too.
    assert next_occurrence(slot, fired + timedelta(minutes=45), tz) == following
    assert next_occurrence(slot, fired + timedelta(minutes=75), tz) == following


def test_next_occurrence_is_strictly_after_the_given_instant() -> None:
    slot = Slot(None, time(19, 0))
    at_slot = utc(2026, 7, 1, 17)  # 19:00 in Berlin
    assert next_occurrence(slot, at_slot, BERLIN) == utc(2026, 7, 2, 17)
    assert next_occurrence(slot, at_slot - timedelta(seconds=1), BERLIN) == at_slot


def test_a_weekday_slot_waits_for_its_weekday() -> None:
    thursday_slot = Slot(3, time(18, 0))
    friday_noon = utc(2026, 11, 27, 11)
    fired = next_occurrence(thursday_slot, friday_noon, BERLIN)
    assert to_local(fired, BERLIN).replace(tzinfo=None) == datetime(2026, 12, 3, 18, 0)  # noqa: DTZ001


@settings(deadline=None)
@given(st.one_of(st.none(), st.integers(0, 6)), st.integers(0, 23), st.integers(0, 59), instants,
       zone_names)  # fmt: skip
def test_the_next_occurrence_is_later_and_shows_the_slot_unless_in_a_gap(
    weekday: int | None, hour: int, minute: int, after: datetime, name: str
) -> None:
    tz = ZoneInfo(name)
    slot = Slot(weekday, time(hour, minute))
    fired = next_occurrence(slot, after, tz)
    assert fired > after
    assert fired - after <= timedelta(days=8, hours=3)
    local = to_local(fired, tz)
    if local.time() == slot.at:
        assert weekday is None or local.weekday() == weekday
    else:
        # It fell in a gap: the wall time asked for does not exist that day, and the firing is
        # the instant the clock jumped, i.e. a moment ago the clock showed an earlier time.
        just_before = to_local(fired - timedelta(seconds=1), tz)
        assert just_before.utcoffset() != local.utcoffset()
        assert local.time() > slot.at or local.date() > just_before.date()


# --- occurrence_in_period -----------------------------------------------------------------


def test_a_weekday_slot_in_a_week_period_fires_on_that_weekday() -> None:
    week = period_from_key("week:2026-11-30", BERLIN)
    fired = occurrence_in_period(Slot(3, time(18, 0)), week, BERLIN)
    assert fired is not None
    assert to_local(fired, BERLIN).replace(tzinfo=None) == datetime(2026, 12, 3, 18, 0)  # noqa: DTZ001


def test_a_weekday_slot_in_a_day_period_of_another_weekday_does_not_fire() -> None:
    friday = period_from_key("day:2026-11-27", BERLIN)
    assert occurrence_in_period(Slot(3, time(18, 0)), friday, BERLIN) is None
    assert occurrence_in_period(Slot(4, time(18, 0)), friday, BERLIN) == utc(2026, 11, 27, 17)


def test_a_daily_slot_in_a_day_period_fires_that_day() -> None:
    day = period_from_key("day:2026-03-29", BERLIN)
    assert occurrence_in_period(Slot(None, time(19, 0)), day, BERLIN) == utc(2026, 3, 29, 17)
    assert occurrence_in_period(Slot(None, time(2, 30)), day, BERLIN) == utc(2026, 3, 29, 1)


def test_a_weekday_slot_in_a_month_period_fires_on_the_first_such_weekday() -> None:
    month = period_from_key("month:2026-12", BERLIN)
    fired = occurrence_in_period(Slot(0, time(9, 0)), month, BERLIN)
    assert fired is not None
    assert to_local(fired, BERLIN).date() == date(2026, 12, 7)


@settings(deadline=None)
@given(st.one_of(st.none(), st.integers(0, 6)), st.integers(0, 23), st.integers(0, 59), instants,
       zone_names, st.sampled_from(CADENCES))  # fmt: skip
def test_an_occurrence_in_a_period_lies_inside_it_and_is_a_real_firing_of_the_slot(
    weekday: int | None, hour: int, minute: int, instant: datetime, name: str, cadence: Cadence
) -> None:
    tz = ZoneInfo(name)
    slot = Slot(weekday, time(hour, minute))
    period = period_at(instant, cadence, tz)
    fired = occurrence_in_period(slot, period, tz)
    if fired is None:
        # Only a day of another weekday (or a day a zone skipped outright) has no firing.
        assert cadence == "day" or name == "Pacific/Apia"
    else:
        assert period.start <= fired < period.end
        assert next_occurrence(slot, fired - timedelta(seconds=1), tz) == fired
