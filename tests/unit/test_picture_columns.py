"""The summary picture's twelve weeks in a group's calendar: DST, months, the streak's span."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages.picture_data import streak_columns, week_columns
from storage.records import GroupWeekRec

BERLIN = ZoneInfo("Europe/Berlin")


def closed(
    *mondays: date, met: tuple[bool | None, ...] = (), streak: int = 0
) -> list[GroupWeekRec]:
    flags = met or (True,) * len(mondays)
    return [
        GroupWeekRec(1, f"week:{d.isoformat()}", 1, 0, 0, m, streak)
        for d, m in zip(mondays, flags, strict=True)
    ]


def local(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=BERLIN)


MARCH = [date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5)]


def test_weeks_across_the_spring_dst_change_follow_the_local_calendar():
    cols = week_columns(closed(*MARCH), BERLIN)
    assert cols.before == 8
    assert [c.first_day for c in cols.columns[8:]] == MARCH
    assert cols.columns[0].first_day == MARCH[0] - timedelta(weeks=8)
    for a, b in zip(cols.columns, cols.columns[1:], strict=False):
        assert a.end == b.start
    # The week of 22 March 2027 has 167 hours: clocks went forward on Sunday the 28th.
    assert cols.columns[9].end - cols.columns[9].start == timedelta(hours=167)
    assert cols.after == local(MARCH[0]).astimezone(UTC)


def test_a_day_counts_in_the_week_its_end_falls_in():
    cols = week_columns(closed(*MARCH), BERLIN)
    assert cols.spans("day", "day:2027-03-28", local(date(2027, 3, 29))) == [9]
    assert cols.spans("day", "day:2027-03-29", local(date(2027, 3, 30))) == [10]
    assert cols.spans("week", "week:2027-04-05", local(date(2027, 4, 12))) == [11]
    # Periods outside the closed weeks count nowhere (the open week, or before the first).
    assert cols.spans("day", "day:2027-04-12", local(date(2027, 4, 13))) == []
    assert cols.spans("day", "day:2027-03-14", local(date(2027, 3, 15))) == []


def test_a_month_is_shown_on_every_closed_week_whose_middle_lies_in_it():
    cols = week_columns(closed(*MARCH), BERLIN)
    # The week of 29 March has its middle on 1 April: it belongs to April.
    assert cols.spans("month", "month:2027-03", local(date(2027, 4, 1))) == [8, 9]
    assert cols.spans("month", "month:2027-04", local(date(2027, 5, 1))) == [10, 11]
    # April has not ended when the week of 5 April closed: it may still be open.
    assert cols.unclosed_month_columns() == [10, 11]
    assert cols.through == local(date(2027, 5, 1)).astimezone(UTC)


def test_a_week_written_under_another_week_start_is_read_on_its_own_weekday():
    sundays = [date(2027, 3, 14), date(2027, 3, 21)]
    cols = week_columns(closed(*sundays), BERLIN)
    assert [c.first_day for c in cols.columns[10:]] == sundays
    assert cols.columns[9].first_day == date(2027, 3, 7)


def test_the_streak_spans_back_to_its_first_met_week_across_weeks_with_nothing_counted():
    mondays = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(6)]
    weeks = closed(*mondays, met=(True, False, True, None, True, None))
    cols = week_columns(weeks, BERLIN)
    by_key = {w.week_key: w for w in weeks}
    assert streak_columns(cols.columns, by_key, 2) == 4  # met, nothing, met, nothing
    assert streak_columns(cols.columns, by_key, 0) == 0
    # A streak older than the picture's weeks spans every closed week shown.
    assert streak_columns(cols.columns, by_key, 40) == 4
