"""`!done` as an adapter runs it: one read of the tallies, the check-in and the stored reply in
one transaction, a replayed event counted once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import StatementCounter
from bot.actors import Actor, Place
from bot.engine.claims import EventClaims
from bot.messages.replies import Reply
from storage import incoming
from tests.scheduler.support import Rig, rig

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
PLACE = Place("test", "room-1", "Crew")


async def answer(r: Rig, claims: EventClaims, who: str, text: str, event_id: str) -> Reply:
    """Claim, handle with the stored reply in one transaction, mark answered (as Matrix does)."""
    actor = Actor("test", who, who, is_admin=(who == "admin"))
    claim = await claims.claim("test", event_id)
    assert claim.ours

    async def handle() -> Any:
        return await r.app.engine.handle_text(actor, PLACE, text, event_id)

    reply = await claims.handle_once("test", event_id, handle, lambda rep: (rep, {}))
    assert reply is not None
    await claims.answered("test", event_id)
    return reply


async def test_a_done_costs_the_same_few_statements_whatever_the_group_size(database_url: str):
    async with rig(START, url=database_url) as r:
        claims = EventClaims(r.clock, "test", r.app.engine.writer)
        await r.say("admin", '!pledge new "Walk" times 3 per week')
        counts = []
        for size in (5, 40):
            for i in range(size):
                await r.say(f"m{size}-{i}", "!pledge join 1")
            who = f"m{size}-0"
            await answer(r, claims, who, "!done 1", f"$warm{size}")  # the member is seen
            r.clock.set(r.clock.now() + timedelta(minutes=1))
            with StatementCounter() as sql:
                reply = await answer(r, claims, who, "!done 1", f"$done{size}")
            assert "2/3 this week" in reply.text
            assert "1 to go" in reply.text
            counts.append(sql.count)
        # Claim, participation, tallies (one read for the count and the streak), the
        # check-in, the stored reply, the answered mark.
        assert counts == [6, 6], counts


async def test_a_replayed_done_is_counted_once_and_answered_alike(database_url: str):
    async with rig(START, url=database_url) as r:
        await r.say("admin", '!pledge new "Walk" times 3 per week')
        await r.say("ana", "!pledge join 1")
        actor = Actor("test", "ana", "ana")
        first = await r.app.engine.handle_text(actor, PLACE, "!done 1 felt good", "$ev1")
        # The platform shows the event again (a sync replayed): no second check-in, even
        # inside the transaction that stores the reply (no savepoint guards the insert).
        claims = EventClaims(r.clock, "test", r.app.engine.writer)
        await incoming.forget("test", "$ev1")
        again = await answer(r, claims, "ana", "!done 1 felt good", "$ev1")
        assert first is not None
        assert "1/3 this week" in first.text
        assert "1/3 this week" in again.text
        r.clock.set(r.clock.now() + timedelta(minutes=1))
        later = await r.say("ana", "!done 1")
        assert later is not None
        assert "2/3 this week" in later.text
