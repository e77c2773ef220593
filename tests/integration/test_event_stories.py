"""Offline events through the console, as a group would live them (issue 14), on real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from ical.calendar_stream import IcsCalendarStream

from storage import events as event_queries
from storage import models as m
from tests.support.session import ConsoleSession, open_session

BERLIN = ZoneInfo("Europe/Berlin")
# Mon 22 Mar 2027 09:00: the clocks go forward in the early hours of Sun 28 Mar.
BEFORE_SPRING = datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN)


@pytest.fixture
async def spring() -> AsyncIterator[ConsoleSession]:
    async with open_session("sqlite://:memory:", BEFORE_SPRING, "Europe/Berlin") as s:
        yield s


async def meeting_group(s: ConsoleSession) -> None:
    await s.say('!pledge new "Attend one local meeting" per week')
    for who in ("ana", "ben", "cat", "dan"):
        await s.say(f"@{who} !pledge join 1")


def messages_after(text: str, marker: str) -> str:
    return text.split(marker, 1)[1] if marker in text else ""


async def test_an_event_next_week_keeps_the_meeting_pledge_of_who_went(session: ConsoleSession):
    await meeting_group(session)
    card = await session.say(
        '!event new "Tenants meeting" 2026-12-10 18:30 for 2h at "Community hall" pledge 1'
    )
    assert "Tenants meeting (event 1)" in card
    assert "Thu 10 Dec 2026, 18:30–20:30 (Europe/Berlin)" in card
    assert "(1) Going · (2) Maybe · (3) Can't" in card
    # Four members answer differently: a tap, a tap, a typed answer, and silence.
    going = await session.say("@ana !tap 1")
    assert "Going 1 · 🤔 Maybe 0 · ❌ Can't 0" in going
    assert "edited console-" in going  # the card is updated in place, not posted again
    assert "You're going to Tenants meeting" in going
    await session.say("@ben !tap 2")
    cant = await session.say("@cat !not-going tenants")
    assert "Going 1 · 🤔 Maybe 1 · ❌ Can't 1" in cant
    # dan says nothing.

    week = await session.wait(timedelta(days=10, hours=12))  # Thu 10 Dec 21:00
    reminder = next(line for line in week.splitlines() if "⏰ Tenants meeting" in line)
    assert "[Wed 09 Dec 18:00] #console:\n  ⏰ Tenants meeting is Thursday 10 Dec at 18:30" in week
    assert "@ana" in reminder
    assert "@ben" in reminder
    assert "@cat" not in reminder
    assert "@dan" not in reminder
    ask = next(line for line in week.splitlines() if "Did you make it" in line)
    assert "[Thu 10 Dec 20:30]" in ask
    assert "@ana @ben" in ask
    assert "@cat" not in ask
    assert "@dan" not in ask
    assert week.count("Did you make it") == 1
    assert week.count("⏰ Tenants meeting") == 1

    went = await session.say("@ana !tap 1")
    assert "kept for the week of Mon 7 Dec 2026" in went
    again = await session.say("@ana !went 1")  # idempotent: one check-in, not two
    assert "Glad you made it" in again
    assert "ana ✅" in await session.say("!pledge list")
    assert "missed Tenants meeting" in await session.say("@ben !tap 2")
    board = await session.say("!pledge list")
    assert "ana ✅" in board
    assert "ben 0/1" in board
    # Like any check-in it can be undone.
    assert "Took back" in await session.say("@ana !undo 1")
    assert "ana 0/1" in await session.say("!pledge list")
    assert "kept for the week" in await session.say("@ana !went 1")
    # "missed" after "went" takes the check-in back.
    assert "took back its check-in" in await session.say("@ana !missed 1")
    assert "ana 0/1" in await session.say("!pledge list")
    await session.say("@ana !went 1")

    summary = await session.wait(timedelta(days=4))  # Mon 14 Dec 18:00: the summary
    line = next(line for line in summary.splitlines() if "📅 Tenants meeting" in line)
    assert "1 went — ana" in line
    assert "ben" not in summary.split("📅 Tenants meeting")[1].split("\n")[0]


async def test_nobody_going_means_no_reminder_and_no_question(session: ConsoleSession):
    await session.say('!event new "Picnic" 2026-12-05 12:00')
    await session.say("@ana !not-going picnic")
    later = await session.wait(timedelta(days=6))
    assert "Picnic" not in later


async def test_a_cancelled_event_sends_nothing_and_its_card_says_so(session: ConsoleSession):
    await session.say('!event new "Picnic" 2026-12-05 12:00')
    await session.say("@ana !going 1")
    refused = await session.say("@ana !event cancel 1")
    assert "Only the event's creator or a group admin" in refused
    out = await session.say("!event cancel picnic")
    assert "Cancelled" in out
    assert "is cancelled" in out
    assert "Picnic" not in await session.wait(timedelta(days=6))


async def test_an_edit_moves_the_reminder_and_the_question(session: ConsoleSession):
    await session.say('!event new "Picnic" 2026-12-05 12:00')
    await session.say("@ana !going 1")
    out = await session.say('!event edit 1 date 2026-12-06 time 14:00 at "Park"')
    assert "Sun 6 Dec 2026, 14:00–16:00" in out
    assert "Park" in out
    later = await session.wait(timedelta(days=7))
    assert "[Sat 05 Dec 18:00] #console:\n  ⏰ Picnic is Sunday 6 Dec at 14:00 at Park" in later
    assert "[Sun 06 Dec 16:00] #console: Did you make it to Picnic?" in later
    assert later.count("⏰ Picnic") == 1


async def test_quiet_hours_hold_the_question_until_morning(session: ConsoleSession):
    await session.say('!event new "Late talk" 2026-12-03 21:00 for 2h')
    await session.say("@ana !going 1")
    later = await session.wait(timedelta(days=4))
    assert "[Fri 04 Dec 08:00] #console: Did you make it to Late talk?" in later


async def test_dst_inside_the_window_is_exact_and_said(spring: ConsoleSession):
    await meeting_group(spring)
    # 02:30 does not exist on Sun 28 Mar 2027 in Berlin: the event starts when clocks jump.
    out = await spring.say('!event new "Dawn walk" 2027-03-28 02:30 for 2h pledge 1')
    assert "02:30 does not exist on 2027-03-28 in Europe/Berlin" in out
    assert "Sun 28 Mar 2027, 03:00–05:00 (Europe/Berlin)" in out
    row = await m.Event.get(number=1)
    assert row.starts_at == datetime(2027, 3, 28, 1, 0, tzinfo=ZoneInfo("UTC"))
    await spring.say("@ana !going 1")
    await spring.say("@ben !maybe 1")
    # A second event at 19:00 the day after the change stays at 19:00 local.
    await spring.say('!event new "Assembly" 2027-03-29 19:00')
    await spring.say("@cat !going 2")
    later = await spring.wait(timedelta(days=6, hours=10))  # Sun 28 Mar 19:00 (CEST)
    assert "[Sat 27 Mar 18:00] #console:\n  ⏰ Dawn walk is Sunday 28 Mar at 03:00" in later
    # The walk ends at 05:00, in quiet hours: the question waits for 08:00.
    assert "[Sun 28 Mar 08:00] #console: Did you make it to Dawn walk? @ana @ben" in later
    assert "[Sun 28 Mar 18:00] #console:\n  ⏰ Assembly is Monday 29 Mar at 19:00" in later
    went = await spring.say("@ben !went 1")
    assert "kept for the week of Mon 22 Mar 2027" in went
    assert "ben ✅" in await spring.say("!pledge list")
    # 02:30 on the autumn change happens twice: the first one, said so.
    fall = await spring.say('!event new "Night" 2027-10-31 02:30')
    assert "happens twice on 2027-10-31" in fall
    assert "02:30 CEST" in fall


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('!event new "X" 2026-13-01 18:00', '"2026-13-01" is not a real calendar date.'),
        ('!event new "X" 2026-02-30 18:00', '"2026-02-30" is not a real calendar date.'),
        ('!event new "X" next-week 18:00', '"next-week" is not a date.'),
        ('!event new "X" 2026-12-12 25:00', "hours go from 0 to 23"),
        ('!event new "X" 2026-12-12 18:75', "minutes go from 00 to 59"),
        ('!event new "X" 2026-12-12 7pm', '"7pm" is not a time of day.'),
        ('!event new "X" 2026-11-29 18:00', "That time has passed already."),
        ('!event new "X" 2026-12-12 18:00 for 9d', "longer than 7 days"),
        ('!event new "X" 2026-12-12 18:00 for soon', '"soon" is not a duration.'),
        ('!event new "X" 2026-12-12', "Missing HH:MM"),
        ('!event new "X" 2026-12-12 18:00 pledge 9', "No pledge here matches “9”."),
        ("!going 7", "No event here matches “7”."),
        ("!settings event-reminder sometimes", "is not an event reminder rule"),
    ],
)
async def test_bad_dates_and_times_say_what_was_wrong_and_change_nothing(
    session: ConsoleSession, line: str, says: str
):
    out = await session.say(line)
    assert says in out
    assert "(private)" in out
    assert await m.Event.all().count() == 0


async def test_a_bad_date_says_how_to_write_one(session: ConsoleSession):
    out = await session.say('!event new "X" 2026-13-01 18:00')
    assert "Write a date as YYYY-MM-DD" in out
    assert "tomorrow" in out


async def test_dates_may_be_words_in_the_groups_calendar(session: ConsoleSession):
    out = await session.say('!event new "Assembly" sat 10:00')  # Mon 30 Nov: Sat 5 Dec
    assert "Sat 5 Dec 2026, 10:00–12:00" in out
    out = await session.say('!event new "Call" tomorrow 19:00 for 30m')
    assert "Tue 1 Dec 2026, 19:00–19:30" in out


async def test_the_ics_file_opens_in_an_independent_parser(session: ConsoleSession):
    await session.say(
        '!event new "Tenants meeting" 2026-12-10 18:30 for 2h at "Community hall, Main St 4"'
    )
    out = await session.say("!event ics 1")
    assert "attached: event-1.ics" in out
    event = (await event_queries.group_events(1))[0]
    from bot.messages.event_ics import event_calendar
    from storage import groups as group_queries

    group = await group_queries.get_group(event.group_id)
    assert group is not None
    text = event_calendar([event], group).decode()
    assert "BEGIN:VTIMEZONE" in text
    assert "TZID:Europe/Berlin" in text
    calendar = IcsCalendarStream.calendar_from_ics(text)
    (parsed,) = calendar.events
    assert parsed.summary == "Tenants meeting"
    assert parsed.location == "Community hall, Main St 4"
    assert parsed.dtstart == datetime(2026, 12, 10, 18, 30, tzinfo=BERLIN)
    assert parsed.dtend == datetime(2026, 12, 10, 20, 30, tzinfo=BERLIN)
    assert str(getattr(parsed.dtstart.tzinfo, "key", parsed.dtstart.tzinfo)) == "Europe/Berlin"


async def test_the_group_feed_is_served_only_for_its_secret(session: ConsoleSession):
    from bot.app.event_feed import render_feed

    await session.say('!event new "Assembly" 2026-12-05 10:00')
    await session.say('!event new "Picnic" 2026-12-06 12:00')
    shown = await session.say("!event feed")
    assert "no HTTP listener configured" in shown
    secret = (await event_queries.settings(1)).feed_secret
    assert secret
    ok = await render_feed(secret, session.clock.now())
    assert ok.status == 200
    assert ok.content_type.startswith("text/calendar")
    parsed = IcsCalendarStream.calendar_from_ics(ok.body.decode())
    assert sorted(e.summary for e in parsed.events) == ["Assembly", "Picnic"]
    refused = await session.say("@ana !event feed reset")
    assert "Only a group admin" in refused
    assert "old one stops working" in await session.say("!event feed reset")
    assert (await render_feed(secret, session.clock.now())).status == 404
    assert (await render_feed("../../etc/passwd", session.clock.now())).status == 404


async def test_export_and_forget_include_rsvps_and_attendance(session: ConsoleSession):
    import json

    await session.say('!event new "Picnic" 2026-12-01 12:00')
    await session.say("@ana !going 1")
    await session.wait(timedelta(days=1, hours=6))
    await session.say("@ana !went 1")
    out = await session.say("@ana !export")
    body = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert body["rsvps"][0]["answer"] == "going"
    assert body["attendance"][0]["went"] is True
    await session.say("@ana !forget")
    await session.say("@ana !forget confirm")
    assert await m.Rsvp.all().count() == 0
    assert await m.Attendance.all().count() == 0
    assert await m.Event.all().count() == 1


async def test_the_event_reminder_setting_moves_the_reminder(session: ConsoleSession):
    assert "event-reminder" in await session.say("!settings")
    assert "is now 2h" in await session.say("!settings event-reminder 2h")
    await session.say('!event new "Picnic" 2026-12-05 12:00')
    await session.say("@ana !going 1")
    later = await session.wait(timedelta(days=6))
    assert "[Sat 05 Dec 10:00] #console:\n  ⏰ Picnic is today at 12:00" in later
