"""A 19:00 reminder stays at 19:00 local across DST; the simulate figures meet the budget."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.config import Config
from bot.app.simulation import simulate
from bot.rules.localtime import WEEKDAYS, resolve_local
from tests.scheduler.support import config, rig

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago")


def transitions(zone: str, year: int = 2026) -> list[date]:
    """Local days on which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        before = datetime.combine(day, time(0, 30), tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0, 30), tz).utcoffset()
        if before != after:
            days.append(day)
        day += timedelta(days=1)
    return days


CASES = [(zone, day) for zone in ZONES for day in transitions(zone)]


def test_each_zone_has_two_transitions_in_2026():
    assert all(len(transitions(zone)) == 2 for zone in ZONES)


@pytest.mark.parametrize(("zone", "day"), CASES, ids=[f"{z}-{d}" for z, d in CASES])
async def test_a_19_00_reminder_fires_at_19_00_local_before_on_and_after_a_transition(zone, day):
    tz = ZoneInfo(zone)
    start = resolve_local(day - timedelta(days=3), time(9, 0), tz)
    days = [day + timedelta(days=k) for k in range(-3, 4)]
    async with rig(start, cfg=config(zone, weekly_message_cap=50)) as r:
        for d in days:  # one weekly pledge per weekday, each reminding at 19:00 that day
            slot = f"{WEEKDAYS[d.weekday()]} 19:00"
            await r.say("admin", f'!pledge new "Walk {d.isoformat()}" per week remind "{slot}"')
        posted = await r.wait(timedelta(days=7))
        reminders = [p.at.astimezone(tz) for p in posted if "nudge" in p.text]
        assert [(r.date(), r.strftime("%H:%M")) for r in reminders] == [(d, "19:00") for d in days]


async def test_simulate_on_the_default_configuration_meets_the_attention_budget():
    figures, _ = await simulate(Config(), members=12, pledges=2, weeks=8, seed=1)
    assert figures.messages_per_member_week <= 2
    assert figures.worst_member_week <= 3
    assert figures.quiet_hour_messages == 0
    assert figures.taps_to_confirm == 1
    assert figures.outcomes["kept"] > 0
    assert figures.channel_messages_per_week <= Config().schedule.weekly_message_cap


async def test_simulate_with_daily_pledges_and_members_in_two_zones_meets_the_budget():
    figures, _ = await simulate(Config(), members=12, pledges=2, weeks=8, seed=1, daily=1)
    assert figures.second_zone == "America/New_York"
    assert figures.messages_per_member_week <= 3
    assert figures.quiet_hour_messages == 0  # in the group's zone and in each member's own
    assert figures.taps_to_confirm == 1
    assert figures.typed_checkins > 0
    assert figures.which_period_questions > 0  # asked, never guessed
    assert figures.outcomes["kept"] > 0


async def test_a_daily_pledge_asks_only_after_a_day_left_unanswered_at_most_once_a_week():
    tz = ZoneInfo("Europe/Berlin")
    start = resolve_local(date(2026, 11, 30), time(9, 0), tz)
    async with rig(start, cfg=config("Europe/Berlin", weekly_message_cap=50)) as r:
        await r.say("admin", '!pledge new "Call a neighbour" per day')
        await r.say("admin", "!done 1")
        posted = await r.wait(timedelta(days=1))
        await r.say("admin", "!done 1 today")  # a streak at stake from here on, then no answers
        posted += await r.wait(timedelta(days=13))
        asks = [p.at.astimezone(tz) for p in posted if "How did it go" in p.text]
        # Thursday 18:00 (Wednesday was left unanswered), then once in the next week: never
        # every evening, and never a last call.
        assert [a.strftime("%a %d %H:%M") for a in asks] == ["Thu 03 18:00", "Mon 07 18:00"]
        assert not [p for p in posted if "Last call" in p.text]
