"""A group tries the commands through the console, as members would, on a real SQLite database."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support.session import ConsoleSession


async def start_group(session: ConsoleSession) -> None:
    await session.say('!pledge new "Attend one local meeting" per week')
    await session.say("@ana !pledge join 1")
    await session.say("@ben !pledge join attend")


async def test_creating_a_pledge_announces_it_and_joins_the_creator(session: ConsoleSession):
    out = await session.say('!pledge new "Attend one local meeting" per week')
    assert "New pledge 1 Attend one local meeting — once a week" in out
    board = await session.say("!pledge list")
    assert "you 0/1" in board


async def test_members_join_by_number_or_title_prefix_and_see_progress(session: ConsoleSession):
    await start_group(session)
    await session.say("!done 1")
    await session.say("@ana !done attend")
    board = await session.say("!pledge list")
    assert "you ✅" in board
    assert "ana ✅" in board
    assert "ben 0/1" in board


async def test_a_kept_week_becomes_a_streak_after_the_grace_window(session: ConsoleSession):
    await start_group(session)
    for who in ("", "@ana ", "@ben "):
        await session.say(f"{who}!done 1")
    await session.wait(timedelta(days=7, hours=4))  # Mon 7 Dec 13:00: the week closed at 12:00
    out = await session.say("!streak")
    assert "streak 1 week (best 1)" in out
    # strength after one kept week: 1 - 0.8684 = 13 %
    assert "strength 13%" in out


async def test_an_unanswered_period_is_unconfirmed_not_missed_during_grace(session: ConsoleSession):
    await start_group(session)
    await session.say("!done 1")
    await session.wait(timedelta(days=7))  # Mon 7 Dec 09:00, grace until 12:00
    asked = await session.say("@ana !done 1")
    assert "this week (week of Mon 7 Dec 2026) or last week (week of Mon 30 Nov 2026)" in asked
    assert "(1) Done · this week · (2) Done · last week" in asked
    late = await session.say("@ana !tap 2")
    assert "1/1 last week (week of Mon 30 Nov 2026)" in late
    await session.wait(timedelta(hours=4))
    assert "streak 1 week" in await session.say("@ana !streak")
    assert "streak 0 weeks" in await session.say("@ben !streak")


async def test_the_group_streak_counts_weeks_that_met_the_threshold(session: ConsoleSession):
    await start_group(session)
    # week 1: 2 kept; ben joined late, so his first week is excused -> group streak 1
    await session.say("!done 1")
    await session.say("@ana !done 1")
    await session.wait(timedelta(days=7, hours=13))
    # week 2: 1 of 3 kept (33 %) -> group streak broken
    await session.say("!done 1")
    await session.wait(timedelta(days=7))
    out = await session.say("!summary")
    assert "Group streak: 0 weeks (best 1)" in out
    assert "Last closed week: 33% kept." in out


async def test_the_summary_celebrates_who_kept_and_never_names_who_did_not(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1")
    await session.say("@ben !vouch @ana 1")
    out = await session.say("!summary")
    assert "ana (vouched by ben)" in out
    assert "ben" not in out.replace("vouched by ben", "")
    assert "you" not in out.split("Kept so far")[1]


async def test_undo_takes_back_the_last_check_in(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1")
    out = await session.say("@ana !undo 1")
    assert "Took back your “done”" in out
    assert "ana 0/1" in await session.say("!pledge list")
    assert "nothing to undo" in await session.say("@ana !undo 1")


async def test_skip_spends_a_freeze_keeps_the_streak_and_undo_refunds_it(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1")
    await session.wait(timedelta(days=7, hours=13))
    out = await session.say("@ana !skip 1 down with flu")
    assert "excused this week" in out
    assert "freezes 0" in await session.say("@ana !streak")
    again = await session.say("@ana !skip 1 still ill")
    assert "already excused" in again
    await session.wait(timedelta(days=7))
    out = await session.say("@ana !streak")
    assert "streak 1 week" in out  # the excused week neither broke nor extended it


async def test_skip_without_a_freeze_is_refused_with_how_to_earn_one(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !skip 1 away")
    await session.wait(timedelta(days=7, hours=13))
    out = await session.say("@ana !skip 1 away again")
    assert "no freezes left" in out
    assert "4 kept periods" in out


async def test_a_freeze_is_earned_every_four_kept_weeks(session: ConsoleSession):
    await start_group(session)
    for _ in range(4):
        await session.say("@ana !done 1")
        await session.wait(timedelta(days=7))
    await session.wait(timedelta(hours=13))
    assert "freezes 2" in await session.say("@ana !streak")


async def test_vouching_for_yourself_or_an_unconfirmed_member_is_refused(session: ConsoleSession):
    await start_group(session)
    assert "can't vouch for yourself" in await session.say("@ana !vouch @ana 1")
    assert "no check-in" in await session.say("@ana !vouch @ben 1")


async def test_admin_commands_are_refused_for_members(session: ConsoleSession):
    await start_group(session)
    out = await session.say("@ana !settings timezone America/New_York")
    assert "Only group admins" in out
    assert "timezone = Europe/Berlin" in await session.say("!settings")
    assert "now America/New_York" in await session.say("!settings timezone america/new_york")


async def test_only_the_creator_or_an_admin_can_pause_or_archive(session: ConsoleSession):
    await session.say('@ana !pledge new "Call a neighbour"')
    assert "Only the pledge's creator" in await session.say("@ben !pledge pause 1")
    assert "paused until 2026-12-31" in await session.say("@ana !pledge pause 1 until 2026-12-31")
    assert "archived" in await session.say("!pledge archive 1")


async def test_a_paused_pledge_excuses_its_weeks(session: ConsoleSession):
    await start_group(session)
    await session.say("!done 1")
    await session.wait(timedelta(days=7, hours=13))
    await session.say("!pledge pause 1")
    await session.wait(timedelta(days=14))
    assert "streak 1 week" in await session.say("!streak")
    await session.say("!pledge resume 1")
    assert "paused" not in await session.say("!pledge list")


async def test_export_returns_the_members_data_as_json(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1 went with Sam")
    out = await session.say("@ana !export")
    body = out[out.index("{") : out.rindex("}") + 1]
    data = json.loads(body)
    assert data["member"]["id"] == "ana"
    assert data["checkins"][0]["note"] == "went with Sam"
    assert data["participations"][0]["pledge"]["title"] == "Attend one local meeting"


async def test_forget_asks_first_then_deletes_and_keeps_group_totals(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1")
    await session.say("!done 1")
    await session.wait(timedelta(days=7, hours=13))
    before = await session.say("!summary")
    asked = await session.say("@ana !forget")
    assert "Yes, delete" in asked
    done = await session.say("@ana !tap 1")
    assert "deleted your data" in done
    board = await session.say("!pledge list")
    assert "ana" not in board
    after = await session.say("!summary")
    # ben joined after the week began, so his first week is excused: 2 kept of 2 counted
    assert "Last closed week: 100% kept." in before
    assert "Last closed week: 100% kept." in after


async def test_help_lists_every_command_and_explains_one(session: ConsoleSession):
    out = await session.say("!help")
    for word in (
        "pledge new",
        "done",
        "undo",
        "skip",
        "vouch",
        "streak",
        "summary",
        "remind",
        "offline",
        "me timezone",
        "settings",
        "export",
        "forget",
    ):
        assert f"!{word}" in out
    one = await session.say("!help skip")
    words = "today|yesterday|this week|last week|this month|last month"
    assert f"Usage: !skip <pledge> [{words}] <reason>" in one
    assert "e.g. !skip 1" in one


async def test_personal_settings_reminder_mute_and_time_zone(session: ConsoleSession):
    await start_group(session)
    assert "thu 18:00" in await session.say("@ana !remind 1 thu 18:00 dm")
    assert "by direct message" in await session.say("@ana !remind 1 fri 07:30")
    assert "No more reminders" in await session.say("@ana !remind 1 off")
    assert "Offline for 3d" in await session.say("@ana !offline 3d")
    assert "pings are on again" in await session.say("@ana !offline off")
    assert "America/Santiago" in await session.say("@ana !me timezone america/santiago")


async def test_a_member_flooding_commands_is_told_once_and_nothing_changes(session: ConsoleSession):
    from tests.support.snapshot import snapshot

    await session.say('!pledge new "Call a neighbour"')
    for _ in range(60):
        await session.say("@ana !pledge list")
    before = await snapshot()
    told = await session.say("@ana !pledge join 1")
    assert "more than 60 commands a minute" in told
    assert await session.say("@ana !pledge join 1") == ""
    assert await snapshot() == before
    assert "joined" in await session.say("@ben !pledge join 1")  # others are not affected


async def test_changing_the_week_start_keeps_closing_and_undo_working(session: ConsoleSession):
    await start_group(session)
    await session.say("@ana !done 1")
    await session.wait(timedelta(days=7, hours=13))  # the week of Mon 30 Nov is closed
    changed = await session.say("!settings week-start sun")
    assert (
        "Weeks will start on Sunday once this week (week of Mon 7 Dec 2026) has closed" in changed
    )
    await session.say("@ana !done 1")
    assert "Took back" in await session.say("@ana !undo 1")
    await session.say("@ana !done 1")
    board = await session.say("!pledge list")
    assert "week of Mon 7 Dec 2026: you 0/1, ana ✅" in board  # this week stays as it was
    await session.wait(timedelta(days=14))
    out = await session.say("@ana !streak")
    assert "streak" in out
    assert "something went wrong" not in session.transcript()
    board = await session.say("!pledge list")
    assert "week of Sun" in board


async def test_the_weekly_summary_of_a_big_group_names_some_and_counts_the_rest(
    session: ConsoleSession,
):
    from bot.messages.boards import NAMES_CELEBRATED

    await session.say('!pledge new "Call a neighbour" per week')
    session.engine.limiter.per_minute = 0
    for i in range(NAMES_CELEBRATED + 15):
        await session.say(f"@m{i:02d} !pledge join 1")
    await session.wait(timedelta(days=7))  # a week in which everyone joined late (excused)
    for i in range(NAMES_CELEBRATED + 15):
        await session.say(f"@m{i:02d} !done 1 this week")
    out = await session.wait(timedelta(days=7, hours=19))  # past the next Monday's summary
    assert "Kept it:" in out
    assert "and 15 more" in out


async def test_streak_reply_carries_the_members_own_grid_with_alt_text(session: ConsoleSession):
    await start_group(session)
    await session.say("!done 1")
    await session.wait(timedelta(days=7, hours=4))
    reply = await session.adapter._dispatch(session.adapter.user, "!streak", "streak-picture")
    assert reply is not None
    assert reply.image is not None
    assert reply.image.startswith(b"\x89PNG")
    assert reply.image_name.endswith(".png")
    assert reply.image_alt
    assert reply.image_size is not None
    assert min(reply.image_size) > 0
