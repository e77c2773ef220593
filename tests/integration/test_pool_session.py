"""PostgreSQL pool connections: every commit durable, and nothing left on a session when a
connection goes back to the pool (it is given back without asyncpg's reset query)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.connection import get_connection

from benchmarks.common import RoundTripCounter
from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.engine.claims import RUN, EventClaims
from storage import database
from storage.transaction import durable

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
PLACE = Place("matrix", "!room:test", "Crew")
# What asyncpg's reset query would have undone, read on the connection itself (only a cursor
# WITH HOLD outlives its transaction).
SESSION = (
    "SELECT current_setting('synchronous_commit') AS synchronous_commit,"
    " current_setting('lock_timeout') AS lock_timeout,"
    " (SELECT count(*) FROM pg_listening_channels()) AS listening,"
    " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    "  AND pid = pg_backend_pid()) AS advisory_locks,"
    " (SELECT count(*) FROM pg_cursors WHERE is_holdable) AS cursors,"
    " pg_backend_pid() AS pid"
)


async def _session() -> dict[str, Any]:
    rows = await get_connection("default").execute_query_dict(SESSION)
    return dict(rows[0])


async def test_pool_connections_commit_durably_and_keep_no_session_state(postgres_url: str):
    import asyncpg  # type: ignore[import-untyped]

    # The test cluster runs with synchronous_commit = off (tests/services/postgres.py).
    raw = await asyncpg.connect(postgres_url)
    try:
        assert await raw.fetchval("SHOW synchronous_commit") == "off"
    finally:
        await raw.close()
    await database.migrate(postgres_url, keep_open=True)
    try:
        first = await _session()
        assert first["synchronous_commit"] == "on"
        clock = VirtualClock(NOW)
        engine = build_engine(Config(), clock)
        claims = EventClaims(clock, "inst", engine.writer)
        admin = Actor("matrix", "@admin:test", "Admin", is_admin=True)
        for n, text in enumerate(('!pledge new "Walk" times 3 per week', "!done 1", "!streak")):
            event_id = f"$e{n}"
            assert (await claims.claim("matrix", event_id)).state == RUN

            async def handle(text: str = text, event_id: str = event_id) -> Any:
                return await engine.handle_text(admin, PLACE, text, event_id)

            with RoundTripCounter() as trips:
                reply = await claims.handle_once("matrix", event_id, handle, lambda r: (r, {}))
            assert reply is not None
            kinds = trips.kinds()
            assert "reset" not in kinds, trips.trips
            assert "SET" not in kinds, trips.trips
            await claims.answered("matrix", event_id)
        async with durable(lock_wait_ms=1234) as conn:
            _, rows = await conn.execute_query("SELECT current_setting('lock_timeout') AS t")
            assert rows[0]["t"] == "1234ms"
        after = await _session()
        assert after["pid"] == first["pid"], "not the same pool connection: nothing checked"
        assert after == first
        assert after["lock_timeout"] == "0"
        assert (after["listening"], after["advisory_locks"], after["cursors"]) == (0, 0, 0)
    finally:
        await database.close_database()


async def test_a_claim_is_one_round_trip_and_bounds_only_its_own_wait(postgres_url: str):
    await database.migrate(postgres_url, keep_open=True)
    try:
        claims = EventClaims(VirtualClock(NOW), "inst")
        with RoundTripCounter() as first:
            assert (await claims.claim("matrix", "$zero")).state == RUN
        # Prepared once per connection (asyncpg's statement cache), then one round trip.
        assert [kind for _, kind, _ in first.trips] == ["prepare", "execute"], first.trips
        with RoundTripCounter() as trips:
            assert (await claims.claim("matrix", "$one")).state == RUN
        assert trips.count == 1, trips.trips
        assert (await _session())["lock_timeout"] == "0"  # the claim's bound ended with it
        # The same event again (a second sync of it): no insert, the claim is read and kept.
        assert (await claims.claim("matrix", "$one")).state == RUN
    finally:
        await database.close_database()
