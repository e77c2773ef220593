"""The same storage behaviour on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.progress.closing import close_due
from storage import checkins, database, groups, pledges
from storage.errors import SchemaNotMigrated
from storage.records import GroupDefaults
from tests.support.migrations import migration_names
from tests.support.session import open_session
from tests.support.snapshot import snapshot

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
DEFAULTS = GroupDefaults("Europe/Berlin", 0, "mon 18:00", "sun 18:00", 12, "22:00-08:00", 6, 0.6)


async def test_an_unmigrated_database_is_refused_with_the_command_that_fixes_it(database_url: str):
    with pytest.raises(SchemaNotMigrated, match="logoff migrate"):
        await database.open_database(database_url)
    applied = await database.migrate(database_url)
    assert applied == migration_names()
    await database.open_database(database_url)
    await database.close_database()
    assert await database.migrate(database_url) == []


async def test_a_migration_missing_from_the_record_is_named_at_start(database_url: str):
    # The start's quick check (every file recorded?) hands over to Tortoise's full plan.
    assert await database.migrate(database_url, keep_open=True) == migration_names()
    last = migration_names()[-1].split(".")[1]
    conn = database.get_connection("default")
    await conn.execute_query(f"DELETE FROM tortoise_migrations WHERE name = '{last}'")
    await database.close_database()
    with pytest.raises(SchemaNotMigrated, match=f"1 migration\\(s\\) pending: logoff.{last}"):
        await database.open_database(database_url)


async def test_a_check_in_counts_once_per_causing_event(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        now = s.clock.now()
        member = await groups.ensure_member("console", "you", "you", now)
        group = await groups.find_group("console", "console")
        assert group is not None
        pledge = (await pledges.group_pledges(group.id, ("active",)))[0]
        part = await pledges.participation_of(pledge.id, member.id)
        assert part is not None
        first = await checkins.add_checkin(
            part.id, "week:2026-11-30", "done", "", "console:ev1", now
        )
        again = await checkins.add_checkin(
            part.id, "week:2026-11-30", "done", "", "console:ev1", now
        )
        assert first[1] is True
        assert again[1] is False
        assert first[0].id == again[0].id
        tally = await checkins.tallies([part.id], ["week:2026-11-30"])
        assert tally[(part.id, "week:2026-11-30")].done == 1


async def test_a_replayed_tap_is_answered_but_counted_once(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        from bot.actors import Actor, Place
        from bot.messages.actions import Action

        action = Action("done", 1, "week:2026-11-30").encode()
        actor = Actor("console", "you", "you", True)
        place = Place("console", "console", "console")
        await s.engine.handle_action(actor, place, action, "click-1")
        await s.engine.handle_action(actor, place, action, "click-1")
        assert "you 1/2" in await s.say("!pledge list")


async def test_boards_count_live_check_ins_once_and_name_the_last_voucher(database_url: str):
    """The board's one statement (participants joined with check-ins and, for the summary,
    vouches): a check-in with two vouches counts once, an undone one not at all."""
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 3 per week')
        for line in ("@ana !pledge join 1", "@ben !pledge join 1", "!done 1", "!done 1"):
            await s.say(line)
        await s.say("@ana !vouch @you 1")
        await s.say("@ben !vouch @you 1")
        for line in ("@ana !done 1", "@ana !undo 1", "@ben !done 1"):
            await s.say(line)
        assert "you 2/3, ana 0/3, ben 1/3" in await s.say("!pledge list")
        before = await s.say("!summary")
        assert "0 of 3 kept it this week" in before
        assert "Nothing confirmed yet this week" in before
        await s.say("!done 1")
        after = await s.say("!summary")
        assert "1 of 3 kept it this week" in after
        assert "Kept so far: you (vouched by ben) 🎉" in after
        assert "streak 1 week (best 1)" in await s.say("!streak")
        assert "streak 0 weeks (best 0)" in await s.say("@ana !streak")  # hers was undone


async def test_skipping_without_a_freeze_writes_nothing(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("!skip 1 away")
        before = await snapshot()
        out = await s.say("!skip call away again")
        assert "already excused" in out
        await s.wait(timedelta(days=7, hours=13))
        before = await snapshot()
        out = await s.say("!skip 1 away again")
        assert "no freezes left" in out
        assert await snapshot() == before


async def test_closing_is_idempotent_and_stores_outcomes_once(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per day')
        await s.say("!done 1")
        s.clock.advance(timedelta(days=3))
        now = s.clock.now()
        first = await close_due(now)
        second = await close_due(now)
        assert [o.outcome for o in first.outcomes] == ["kept", "missed"]
        assert second.outcomes == []
        assert "streak 0 days (best 1)" in await s.say("!streak")


async def test_forgetting_a_member_keeps_closed_group_weeks(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("@ana !pledge join 1")
        await s.say("@ana !done 1")
        await s.wait(timedelta(days=7, hours=13))
        await s.say("@ana !forget")
        await s.say("@ana !forget confirm")
        assert await groups.find_member("console", "ana") is None
        out = await s.say("!summary")
        assert "Last closed week: 100% kept." in out


async def test_stored_instants_are_aware_utc(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        member = await groups.find_member("console", "you")
        assert member is not None
        group = await groups.find_group("console", "console")
        assert group is not None
        pledge = (await pledges.group_pledges(group.id, ("active",)))[0]
        assert pledge.created_at.utcoffset() == timedelta(0)
        assert pledge.created_at == START.astimezone(UTC)
