"""Issue 9's stories: a daily and a weekly pledge, a member abroad, weeks of sandbox time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.console.adapter import CHANNEL
from bot.messages.actions import decode
from bot.messages.instants import resolve, zone_text
from tests.support.session import ConsoleSession, open_session

BERLIN = ZoneInfo("Europe/Berlin")
# The bot's virtual clock starts here; nothing below reads the real clock.
MONDAY = datetime(2026, 10, 5, 9, 0, tzinfo=BERLIN)
STREAK = re.compile(r"Streak: (\d+)")


@pytest.fixture
async def group() -> AsyncIterator[ConsoleSession]:
    """The group of the issue: a weekly meeting (thu 18:00), a daily walk (08:30), ana, ben
    and cy, who lives in New York."""
    async with open_session("sqlite://:memory:", MONDAY, "Europe/Berlin") as s:
        await s.say('!pledge new "Attend one local meeting" per week remind "thu 18:00"')
        await s.say('!pledge new "Walk outside" per day remind "08:30"')
        await s.say("@cy !me timezone America/New_York")
        for who in ("ana", "ben", "cy"):
            await s.say(f"@{who} !pledge join 1")
            await s.say(f"@{who} !pledge join 2")
        yield s


async def wait_until(s: ConsoleSession, day: int, hour: int, minute: int = 0) -> str:
    """Move the virtual clock to `day` days after the first Monday, at hour:minute in Berlin."""
    base = MONDAY.replace(hour=0) + timedelta(days=day)
    target = datetime.combine(base.date(), datetime.min.time(), BERLIN).replace(
        hour=hour, minute=minute
    )
    return await s.wait(target - s.clock.now())


async def streak_of(s: ConsoleSession, who: str, title: str) -> int:
    out = await s.say(f"@{who} !streak")
    line = next(line for line in out.splitlines() if title in line)
    found = re.search(r"streak (\d+)", line)
    assert found is not None, out
    return int(found.group(1))


# 1. Morning check-ins count for today, or ask; the streak shown is the one !streak shows.


async def test_a_morning_check_in_counts_for_today_and_shows_the_streak_it_made(
    group: ConsoleSession,
):
    s = group
    assert "1/1 today (Mon 5 Oct 2026). Streak: 1." in await s.say("@ana !done 2")
    for day in range(1, 6):  # she walks every morning and says so at 09:00
        await wait_until(s, day, 9)
        reply = await s.say("@ana !done 2")
        assert "today (" in reply, reply
        shown = STREAK.search(reply)
        assert shown is not None
        assert int(shown.group(1)) == day + 1 == await streak_of(s, "ana", "Walk outside")


async def test_a_morning_done_after_a_day_left_open_asks_which_day_with_one_tap_each(
    group: ConsoleSession,
):
    s = group
    await s.say("@ana !done 2")
    await wait_until(s, 2, 9)  # Wednesday: Tuesday went unanswered and is still open
    asked = await s.say("@ana !done 2")
    assert "today (Wed 7 Oct 2026) or yesterday (Tue 6 Oct 2026)" in asked
    assert "it closes today at 12:00" in asked
    assert "(1) Done · today · (2) Done · yesterday" in asked
    assert "streak 1 day" in await s.say("@ana !streak")  # nothing was guessed
    reply = await s.say("@ana !tap 2")
    assert "1/1 yesterday (Tue 6 Oct 2026). Streak: 2." in reply
    # A word says it at once, and the streak grows with the open day too.
    assert "1/1 today (Wed 7 Oct 2026). Streak: 3." in await s.say("@ana !done 2 today")
    assert await streak_of(s, "ana", "Walk outside") == 3


async def test_a_member_abroad_reads_the_close_on_her_own_clock_with_its_name(
    group: ConsoleSession,
):
    s = group
    await s.say("@cy !done 2")
    await s.say("@ana !done 2")
    await wait_until(s, 2, 9)  # Wednesday 09:00 Berlin, 03:00 in New York; Tuesday still open
    asked = await s.say("@cy !done 2")
    # The group's days close at 12:00 Berlin, which is 06:00 on cy's clock.
    assert "it closes today at 06:00 (America/New_York)" in asked, asked
    # A member on the group's clock reads it as before, without a zone's name.
    assert "it closes today at 12:00. One tap" in await s.say("@ana !done 2")
    await wait_until(s, 2, 13)  # closed now
    late = await s.say("@cy !done 2 yesterday")
    assert "closed today at 06:00 (America/New_York)" in late, late


async def test_done_yesterday_and_done_last_week_name_the_period_they_answer(
    group: ConsoleSession,
):
    s = group
    await s.say("@ben !done 1")
    await wait_until(s, 7, 9)  # Monday: last week and yesterday are still in grace
    assert "1/1 last week (week of Mon 5 Oct 2026)" in await s.say("@ana !done 1 last week")
    assert "1/1 yesterday (Sun 11 Oct 2026)" in await s.say("@ana !done 2 yesterday")
    refused = await s.say("@ana !done 2 last week")
    assert "daily pledge" in refused
    assert "!done 2 yesterday" in refused
    assert "1/1 this week (week of Mon 12 Oct 2026)" in await s.say("@ben !done 1")


# 2. A daily pledge never starves the weekly one; the cap bites daily nudges, visibly.


async def test_the_weekly_reminder_reaches_its_members_every_week_beside_a_daily_pledge(
    group: ConsoleSession,
):
    s = group
    await s.say("!settings cap 4")
    out = await wait_until(s, 28, 9)  # four weeks
    reminders = re.findall(r"\[Thu (\d\d) Oct 18:00\] #console:\n  ⏰ A nudge.*\n  • Attend", out)
    assert reminders == ["08", "15", "22", "29"], out
    assert "WARNING" not in s.transcript()
    assert "logoff." not in s.transcript()
    held = await s.say("!settings")
    assert "Held back by the weekly cap this week" in held
    assert "a reminder (Walk outside)" in held
    assert "Attend one local meeting)" not in held


async def test_a_daily_nudge_asks_each_member_at_most_once_a_week_and_never_twice_a_day(
    group: ConsoleSession,
):
    s = group
    await s.say("!settings cap 20")
    out = await wait_until(s, 7, 0)
    nudges = [m for m in re.split(r"\n(?=\[)", out) if "• Walk outside" in m]
    pinged = [name for m in nudges for name in re.findall(r"@(\w+)", m)]
    assert sorted(pinged) == sorted(set(pinged)), nudges  # once each in the week
    assert "How did it go?" not in "".join(nudges)  # no evening question for the daily one


# 3. A tap on an old question says which period it was and offers the open one.


async def test_a_tap_on_an_old_question_names_its_period_and_offers_todays(group: ConsoleSession):
    s = group
    await wait_until(s, 1, 9)  # Tuesday's nudge came at 08:30, with its buttons
    tuesday = s.adapter._last_buttons["*"]
    assert decode(tuesday[0]).period_key == "day:2026-10-06"  # type: ignore[union-attr]
    await wait_until(s, 4, 18, 5)  # Friday evening, ana finds it and taps Done
    ana = s.adapter.actor("ana")
    reply = await s.engine.handle_action(ana, CHANNEL, tuesday[0], "late-tap")
    assert not reply.error
    assert "That question was about the Tue 6 Oct 2026, which closed on Wed 7 Oct at 12:00" in (
        resolve(reply.text, zone_text)  # as the group reads it (Matrix, console)
    )
    assert "closed already" not in reply.text
    assert "For today (Fri 9 Oct 2026):" in reply.text
    assert [b.label for b in reply.buttons] == ["Done · today"]
    again = await s.engine.handle_action(ana, CHANNEL, reply.buttons[0].action, "offer-tap")
    assert "1/1 today (Fri 9 Oct 2026)" in again.text


# 4. Nothing goes out for an answered or closed period, whatever delayed it.


async def test_no_last_call_after_the_answer_or_after_the_close_for_a_member_abroad(
    group: ConsoleSession,
):
    s = group
    await s.say("@cy !remind 1 thu 18:00 dm")  # her reminders by DM, in her own zone
    await s.say("@cy !done 1")
    await wait_until(s, 7, 9)  # a kept week: her streak is at stake from now on
    await s.say("@cy !offline 5d")  # away over Thursday's reminder and Sunday's question
    await wait_until(s, 14, 10)  # Monday 19 Oct 10:00 Berlin (04:00 in New York)
    reply = await s.say("@cy !done 1 last week")  # "went Thursday, forgot to tap"
    assert "1/1 last week (week of Mon 12 Oct 2026)" in reply
    after = await wait_until(s, 15, 12)
    assert "DM @cy" not in after, after
    assert "Last call" not in after, after


async def test_a_last_call_comes_once_in_grace_only_to_who_nothing_reached(group: ConsoleSession):
    s = group
    await s.say("@ben !done 1")
    await wait_until(s, 7, 9)
    await s.say("@ben !offline 6d12h")  # back on Sunday night: the reminder and question missed him
    out = await wait_until(s, 14, 12, 1)
    calls = [m for m in re.split(r"\n(?=\[)", out) if "Last call" in m]
    assert len(calls) == 1, out
    assert calls[0].startswith("[Mon 19 Oct 08:00] #console:")
    assert "@ben" in calls[0]
    assert "@ana" not in calls[0]  # the reminder asked her already
    assert "closed already" not in await s.say("@ben !tap 1")


async def test_a_channel_ping_waits_for_the_end_of_the_members_own_quiet_hours(
    group: ConsoleSession,
):
    s = group
    out = await wait_until(s, 1, 23)
    walks = [m for m in re.split(r"\n(?=\[)", out) if "• Walk outside" in m]
    # 08:30 in Berlin is 02:30 in New York: cy's nudge comes at 08:00 her time.
    assert walks[0].startswith("[Tue 06 Oct 08:30]")
    assert "@cy" not in walks[0]
    assert walks[1].startswith("[Tue 06 Oct 14:00]")
    assert "@cy" in walks[1]


# 5. The group streak weighs each participation once a week, whatever its cadence.


async def test_thirteen_kept_walks_do_not_outweigh_three_missed_meetings():
    async with open_session("sqlite://:memory:", MONDAY, "Europe/Berlin") as s:
        await s.say('@ana !pledge new "Attend one local meeting" per week')
        await s.say('@ana !pledge new "Walk outside" per day')
        await s.say("@ben !pledge join 2")
        for who in ("ben", "cy", "dee"):
            await s.say(f"@{who} !pledge join 1")
        await wait_until(s, 7, 9)  # the joining week is excused; the next one counts
        await s.say("@ana !done 1 this week")  # 1 of 4 went to the meeting
        for day in range(7, 14):  # ana walks every day, ben on 6 of 7
            await wait_until(s, day, 9, 30)
            await s.say("@ana !done 2 today")
            if day != 10:
                await s.say("@ben !done 2 today")
        out = await wait_until(s, 14, 18, 1)  # the summary after the week's close
        summary = out[out.index("The week of Mon 12 Oct 2026") :]
        # Counting walks one by one gave (13 + 1) / (14 + 4) = 78%. Each participation once,
        # with its share: (1 + 6/7 + 1 + 0 + 0 + 0) / 6 = 48%.
        assert "Kept rate: 48% (target 60%) — next week is a fresh start." in summary
        assert "Walk outside: 13 of 14 days kept" in summary
        assert "Attend one local meeting: 1 of 4 kept" in summary
        assert "🏅" not in summary


# 6. The smaller points.


async def test_an_ended_daily_pledge_lists_no_open_period():
    async with open_session("sqlite://:memory:", MONDAY, "Europe/Berlin") as s:
        await s.say('!pledge new "Walk outside" per day until 2026-10-07')
        await s.say("@ana !pledge join 1")
        await s.wait(timedelta(days=3, hours=4))  # Thu 8 Oct 13:00: the last day has closed
        board = await s.say("!pledge list")
        assert "(ended 2026-10-07)" in board
        assert "ended: nothing left to answer" in board
        assert "Oct 2026:" not in board
        refused = await s.say("@ana !done 1")
        assert "ended on 2026-10-07" in refused


async def test_a_mid_week_week_start_change_waits_for_the_week_to_close(group: ConsoleSession):
    s = group
    await wait_until(s, 1, 10)
    await s.say("@ana !done 1")
    await wait_until(s, 3, 10)  # Thursday
    said = await s.say("!settings week-start wed")
    assert "once this week (week of Mon 5 Oct 2026) has closed, on Mon 12 Oct 12:00" in said
    board = await s.say("!pledge list")
    assert "week of Mon 5 Oct 2026: you 0/1, ana ✅" in board
    assert "(changes to wed on Mon 12 Oct 12:00)" in await s.say("!settings")
    await wait_until(s, 7, 13)
    assert "week of Wed 7 Oct 2026" in await s.say("!pledge list")
    assert "streak 1 week" in await s.say("@ana !streak")


async def test_a_reminder_inside_quiet_hours_is_accepted_and_says_when_it_arrives(
    group: ConsoleSession,
):
    s = group
    reply = await group.say("@ana !remind 2 07:00")
    assert "07:00 is inside quiet hours (22:00-08:00), so it will arrive at 08:00 instead." in reply
    assert "arrive" not in await s.say("@ben !remind 2 09:15")


async def test_the_buttons_of_a_which_day_question_carry_their_periods(group: ConsoleSession):
    s = group
    await s.say("@ana !done 2")
    await wait_until(s, 2, 9)
    await s.say("@ana !done 2")
    buttons = s.adapter._last_buttons["ana"]
    assert [decode(b).period_key for b in buttons if decode(b)] == [
        "day:2026-10-07",
        "day:2026-10-06",
    ]
