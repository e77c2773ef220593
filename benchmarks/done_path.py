"""`!done` as a chat adapter runs it: claim, handle with its stored reply, mark answered.

Counts SQL statements and transaction round trips (BEGIN, COMMIT, SAVEPOINT, RELEASE) and
times each step, in a 30-member group on a SQLite file (WAL, as deployed) or a throwaway
PostgreSQL. Run one tree's code with that tree's venv from its root, e.g.
`cd /work/main && PYTHONPATH=. .venv/bin/python /path/to/benchmarks/done_path.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks import common
from benchmarks.common import HandoffCounter, StatementCounter, machine, percentile, postgres
from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.engine.claims import EventClaims
from storage import database

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
PLACE = Place("bench", "room-1", "Crew")
MEMBERS = 30


@contextlib.contextmanager
def transaction_calls() -> Iterator[Counter[str]]:
    """Counts the transaction round trips Tortoise makes (not seen by StatementCounter)."""
    from tortoise.backends.base.client import TransactionalDBClient

    seen: Counter[str] = Counter()
    saved: list[tuple[type, str, Any]] = []
    names = ("begin", "commit", "rollback", "savepoint", "release_savepoint")
    todo: list[type] = [TransactionalDBClient]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        for name in names:
            if name in cls.__dict__:
                fn = cls.__dict__[name]

                def wrap(fn: Any, name: str) -> Any:
                    async def counted(self: Any, *a: Any, **k: Any) -> Any:
                        seen[name] += 1
                        return await fn(self, *a, **k)

                    return counted

                saved.append((cls, name, fn))
                setattr(cls, name, wrap(fn, name))
    try:
        yield seen
    finally:
        for cls, name, fn in reversed(saved):
            setattr(cls, name, fn)


async def run(url: str, samples: int) -> None:
    await database.migrate(url, keep_open=True)
    clock = VirtualClock(MONDAY)
    engine = build_engine(Config(), clock)
    claims = EventClaims(clock, "bench", engine.writer)
    said = 0

    async def say(who: str, text: str) -> tuple[float, float]:
        """(ms to the reply being ready to send, ms of the mark after it)."""
        nonlocal said
        said += 1
        event_id = f"$e{said}"
        actor = Actor("bench", who, who, is_admin=(who == "admin"))
        t = time.perf_counter()
        claim = await claims.claim("bench", event_id)
        assert claim.ours, claim

        async def handle() -> Any:
            return await engine.handle_text(actor, PLACE, text, event_id)

        reply = await claims.handle_once("bench", event_id, handle, lambda r: (r, {}))
        ready = time.perf_counter()
        assert reply is not None
        await claims.answered("bench", event_id)
        return (ready - t) * 1000, (time.perf_counter() - ready) * 1000

    await say("admin", '!pledge new "Walk" times 21 per week remind "wed 18:00"')
    for i in range(MEMBERS):
        await say(f"m{i}", "!pledge join 1")
    for i in range(MEMBERS):
        await say(f"m{i}", "!done 1")
    with (
        StatementCounter() as sql,
        transaction_calls() as tx,
        HandoffCounter() as handoffs,
        common.RoundTripCounter() as trips,
    ):
        await say("m3", "!done 1")
    print(f"statements on one `!done` (claim + handle + answered): {sql.count}")
    for s in sql.statements:
        print("   ", s[:100])
    print("transaction calls:", dict(tx))
    print(f"aiosqlite thread hand-offs: {handoffs.count}")
    if trips.count:  # PostgreSQL only
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(trips.kinds().items()))
        print(f"round trips to PostgreSQL: {trips.count} ({kinds})")
    before, after = [], []
    for k in range(samples):
        clock.set(clock.now() + timedelta(seconds=7))  # below the per-member rate limit
        b, a = await say(f"m{k % MEMBERS}", "!done 1")
        before.append(b)
        after.append(a)
    print(
        f"to the reply: p50 {percentile(before, 50):.2f} ms, p95 {percentile(before, 95):.2f} ms; "
        f"the answered mark after it: p50 {percentile(after, 50):.2f} ms (n={samples})"
    )
    await database.close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    print(machine())
    if args.backend == "postgres":
        with postgres() as url:
            asyncio.run(run(url, args.samples))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(f"sqlite://{Path(tmp) / 'logoff.db'}", args.samples))


if __name__ == "__main__":
    main()
