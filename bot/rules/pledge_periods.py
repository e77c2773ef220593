"""Where a pledge stands in time: its current period, the period still in grace, and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from bot.rules.localtime import local_date, parse_timezone
from bot.rules.periods import (
    Cadence,
    Period,
    next_period,
    period_at,
    period_from_key,
    previous_period,
)
from storage.records import GroupRec, PledgeRec

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def group_tz(group: GroupRec) -> ZoneInfo:
    return parse_timezone(group.timezone)


def cadence(pledge: PledgeRec) -> Cadence:
    return cast(Cadence, pledge.cadence)


def current_period(pledge: PledgeRec, group: GroupRec, now: datetime) -> Period:
    return period_at(now, cadence(pledge), group_tz(group), group.week_start)


def period_by_key(pledge: PledgeRec, group: GroupRec, key: str) -> Period:
    """The period a stored key names, even a week key from before the week start changed."""
    return read_key(group, key)


def read_key(group: GroupRec, key: str) -> Period:
    """A period by its key in the group's calendar; a week key is read on its own weekday
    (it may come from before the week start moved)."""
    tz = group_tz(group)
    try:
        return period_from_key(key, tz, group.week_start)
    except ValueError:
        if not key.startswith("week:"):
            raise
        first = period_from_key(key.replace("week:", "day:", 1), tz).first_day
        return period_from_key(key, tz, first.weekday())


def aligned(period: Period, group: GroupRec, *, after: bool) -> Period:
    """The group-calendar period at a stored period's edge, if the week start has moved since.

    `after`: the period that holds the old period's last instant, which is where closing goes on
    (its overlap with the closed week is its own, so nothing is closed twice); otherwise the
    one holding its start.
    """
    if period.cadence != "week" or period.first_day.weekday() == group.week_start:
        return period
    instant = period.end - timedelta(microseconds=1) if after else period.start
    return period_at(instant, period.cadence, group_tz(group), group.week_start)


def following(period: Period, group: GroupRec) -> Period:
    return next_period(period, group_tz(group), group.week_start)


def preceding(period: Period, group: GroupRec) -> Period:
    return previous_period(period, group_tz(group), group.week_start)


def grace(group: GroupRec) -> timedelta:
    return timedelta(hours=group.grace_hours)


def close_time(period: Period, group: GroupRec) -> datetime:
    """When a period's outcome is settled: its end plus the group's grace window."""
    return period.end + grace(group)


def period_in_grace(pledge: PledgeRec, group: GroupRec, now: datetime) -> Period | None:
    """The previous period, if it has ended but its grace window is still open."""
    prev = preceding(current_period(pledge, group, now), group)
    return prev if now < close_time(prev, group) else None


def open_periods(pledge: PledgeRec, group: GroupRec, now: datetime) -> list[Period]:
    """Periods that can still take answers: the current one and one in grace (oldest first)."""
    current = current_period(pledge, group, now)
    late = period_in_grace(pledge, group, now)
    return [late, current] if late else [current]


def is_paused(pledge: PledgeRec, group: GroupRec, now: datetime) -> bool:
    if pledge.status != "paused":
        return False
    if pledge.paused_until is None:
        return True
    return local_date(now, group_tz(group)) <= pledge.paused_until


def paused_during(pledge: PledgeRec, group: GroupRec, period: Period) -> bool:
    """A period is excused by a pause that began before it ended and covered its last day."""
    if pledge.paused_at is None or pledge.paused_at >= period.end:
        return False
    if pledge.status != "paused" and pledge.paused_until is None:
        return False
    return pledge.paused_until is None or pledge.paused_until >= last_day(period)


def last_day(period: Period) -> date:
    return period.first_day + timedelta(days=period.days - 1)


def before_start(pledge: PledgeRec, period: Period) -> bool:
    if pledge.start_date is None:
        return False
    return period.first_day + timedelta(days=period.days - 1) < pledge.start_date


def after_end(pledge: PledgeRec, period: Period) -> bool:
    return pledge.end_date is not None and period.first_day > pledge.end_date


def today(group: GroupRec, now: datetime) -> date:
    return local_date(now, group_tz(group))
