"""Issue 10: no code path holds a database pool connection while it waits for another one or
for the engine's writer lock (hold-and-wait), so concurrent commands cannot drain the pool.

One two-process PostgreSQL Discord soak once saw a process's commands wait about a minute in
`store_reply` on `asyncpg pool.acquire()` (pool of 5). With hold-and-wait, N tasks each
holding a connection and waiting for an (N+1)th, or for the writer lock held by a task that
needs a connection, would exhaust the pool. This drives many concurrent commands of the
Discord path (claim, command under the writer lock, stored reply, answered), the Matrix path
(writer lock, then the handling transaction) and the scheduler's close, from two claim owners
sharing one PostgreSQL pool, and counts: every pool acquire and every writer-lock wait is
checked against the connections the waiting task already holds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tortoise.connection import get_connection

from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.engine import writer_lock
from bot.engine.claims import RUN, EventClaims
from bot.messages.replies import Reply
from storage import database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
COMMANDS = 40  # per owner and path: several times the pool's 5 connections


class PoolWatch:
    """Stands in for the asyncpg pool: which task holds how many connections; acquires and
    writer-lock waits made while the same task already held a connection."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pool = pool = client._pool
        self.held: Counter[int] = Counter()
        self.by_conn: dict[int, int] = {}
        self.hold_and_wait: list[str] = []
        self.acquires = 0
        self.most_in_use = 0
        self._acquire = pool.acquire
        self._release = pool.release
        client._pool = self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    def restore(self) -> None:
        self.client._pool = self.pool

    @staticmethod
    def _task() -> int:
        return id(asyncio.current_task())

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        watch = self

        class _Acquire:
            def __await__(self) -> Any:
                return self._go().__await__()

            async def _go(self) -> Any:
                task = watch._task()
                if watch.held[task]:
                    watch.hold_and_wait.append(f"pool.acquire while holding {watch.held[task]}")
                conn = await watch._acquire(*args, **kwargs)
                watch.acquires += 1
                watch.held[task] += 1
                watch.by_conn[id(conn)] = task
                watch.most_in_use = max(watch.most_in_use, len(watch.by_conn))
                return conn

            async def __aenter__(self) -> Any:
                self.conn = await self._go()
                return self.conn

            async def __aexit__(self, *exc: Any) -> None:
                await watch.release(self.conn)

        return _Acquire()

    async def release(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        task = self.by_conn.pop(id(conn), None)
        if task is not None:
            self.held[task] -= 1
        return await self._release(conn, *args, **kwargs)

    def writer_wait(self) -> None:
        if self.held[self._task()]:
            self.hold_and_wait.append("writer lock while holding a pool connection")


async def test_concurrent_commands_never_hold_a_connection_while_waiting(postgres_url: str):
    await database.migrate(postgres_url, keep_open=True)
    client = get_connection("default")
    watch = PoolWatch(client)
    original_enter = writer_lock.WriterLock.__aenter__

    async def watched_enter(self: writer_lock.WriterLock) -> None:
        if self._lock.locked() and self._owner is not asyncio.current_task():
            watch.writer_wait()
        await original_enter(self)

    writer_lock.WriterLock.__aenter__ = watched_enter  # type: ignore[method-assign]
    try:
        clock = VirtualClock(NOW)
        engine = build_engine(Config(), clock)
        owners = [EventClaims(clock, name, engine.writer) for name in ("bot0", "bot1")]
        place = Place("discord", "room", "room")
        answered: Counter[str] = Counter()

        async def discord_command(n: int) -> None:
            # Both "processes" see every interaction; one claim wins (adapters/discord/claimed).
            event_id = f"d{n}"
            for claims in owners:
                claim = await claims.claim("discord", event_id)
                if claim.state != RUN:
                    continue
                actor = Actor("discord", f"m{n % 7}", f"m{n % 7}")
                text = f'!pledge new "Walk {n}" per week' if n % 3 == 0 else "!pledge list"
                reply = await engine.handle_text(actor, place, text, event_id)
                assert await claims.store_reply("discord", event_id, reply)
                await claims.answered("discord", event_id)
                answered[event_id] += 1

        async def matrix_command(n: int) -> None:
            event_id = f"$m{n}"
            claims = owners[n % 2]
            if (await claims.claim("matrix", event_id)).state != RUN:
                return
            actor = Actor("matrix", f"@m{n % 5}:x", f"m{n % 5}")

            async def run() -> Reply | None:
                return await engine.handle_text(actor, place, "!pledge list", event_id)

            handled = await claims.handle_once(
                "matrix", event_id, run, lambda r: (r, {"room": "room"})
            )
            assert handled is not None
            await claims.answered("matrix", event_id)
            answered[event_id] += 1

        async def closes() -> None:
            for _ in range(10):
                await engine.close_due()
                await asyncio.sleep(0)

        await asyncio.wait_for(
            asyncio.gather(
                *(discord_command(n) for n in range(COMMANDS)),
                *(matrix_command(n) for n in range(COMMANDS)),
                closes(),
            ),
            timeout=120,
        )
        assert watch.hold_and_wait == []
        assert len(answered) == 2 * COMMANDS
        assert set(answered.values()) == {1}
        assert watch.acquires > 4 * COMMANDS  # the watch saw the traffic
        assert not watch.by_conn  # every connection given back
    finally:
        writer_lock.WriterLock.__aenter__ = original_enter  # type: ignore[method-assign]
        watch.restore()
        await database.close_database()


async def test_a_claim_does_not_wait_on_a_stalled_process_s_uncommitted_claim(postgres_url: str):
    """The cross-process hold-and-wait: both processes insert the claim of every event they
    see; PostgreSQL makes the second insert wait until the first one's transaction ends. A
    process whose claim transaction stays open (stalled, stopping, dying) held, one pool
    connection each, every claim of the other process on the same events: its pool ran dry
    and its commands waited on `pool.acquire()`. Now such a claim gives up the wait (the other
    process has the event) and the pool stays usable."""
    import asyncpg  # type: ignore[import-untyped]

    await database.migrate(postgres_url, keep_open=True)
    stalled = await asyncpg.connect(postgres_url)
    try:
        client = get_connection("default")
        watch = PoolWatch(client)
        # The other process inserted its claims of ten events and then stopped moving.
        events = [f"s{n}" for n in range(10)]  # twice the pool's 5 connections
        stalled_tx = stalled.transaction()
        await stalled_tx.start()
        for event_id in events:
            await stalled.execute(
                "INSERT INTO incoming_events (platform, event_id, owner, status, lease_until,"
                " claimed_at) VALUES ('discord', $1, 'other:1', 'claimed', $2, $2)",
                event_id,
                NOW,
            )
        claims = EventClaims(VirtualClock(NOW), "bot0")
        results = await asyncio.wait_for(
            asyncio.gather(*(claims.claim("discord", e) for e in events)), timeout=60
        )
        # Still uncommitted: none of ours, each said to be another process's.
        assert Counter(r.state for r in results) == Counter({"held": len(events)})
        assert not watch.by_conn  # no connection left waiting
        # The pool serves other events meanwhile.
        assert (await claims.claim("discord", "fresh")).state == RUN
        assert await claims.store_reply("discord", "fresh", Reply("hi"))
        await stalled_tx.rollback()
        watch.restore()
    finally:
        await stalled.close()
        await database.close_database()
