"""In the engine, on the full deployment: command latency, and one weekly summary by group size."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks import deployment as dep
from benchmarks.common import (
    HandoffCounter,
    RoundTripCounter,
    StatementCounter,
    machine,
    percentile,
    postgres,
)
from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.engine.engine import Engine
from bot.messages import boards as reports
from bot.messages.weekly_summary import closed_week_summary
from storage import closing as close_queries
from storage import database
from storage import groups as group_queries
from storage.record_cache import cache

COMMANDS = ("!done 1", "!streak", "!pledge list", "!summary")
LAST_WEEK = "week:2026-11-23"
STATEMENT_SAMPLES = 20
# Beside each command's statements, the CPU time this process spent on it (Python and the SQLite
# thread; not PostgreSQL's server): on a loaded shared machine it moves far less than latency.


Who = tuple[int, int]  # (group index, member index) in the deployment


def typists(rnd: random.Random, active: int) -> tuple[list[Who], list[Who]]:
    """Everyone in the ordinary groups (about 95 members each: where almost every command is
    typed), and `active` of them picked as the regulars a running bot has seen."""
    lay = dep.layout()
    ordinary = range(len(dep.SIZED), dep.GROUPS)
    everyone = [(g, m) for g in ordinary for m in lay.members_of(g)]
    return everyone, rnd.sample(everyone, active)


def caller(engine: Engine, prefix: str) -> Callable[[Who, str], Awaitable[float]]:
    """A function that types `text` as that member in their group; returns milliseconds."""
    said = 0

    async def call(who: Who, text: str) -> float:
        nonlocal said
        g, member = who
        said += 1
        t = time.perf_counter()
        reply = await engine.handle_text(
            Actor("bench", f"u{member}", f"user{member}"),
            Place("bench", f"room{g}", f"Group {g}"),
            text,
            f"{prefix}{said}",
        )
        elapsed = (time.perf_counter() - t) * 1000
        if reply is None:
            raise RuntimeError(f"{text!r} got no reply")
        return elapsed

    return call


async def seen_before(call: Callable[[Who, str], Awaitable[float]], regulars: list[Who]) -> None:
    """Each regular once (what a running bot has seen), and what the group's weekly summary
    read (every group gets one each week): its closed weeks, which the record cache keeps with
    the group until the next week closes."""
    for who in regulars:
        await call(who, "!pledge list")
        group = await group_queries.find_group("bench", f"room{who[0]}")
        assert group is not None
        await close_queries.recent_group_weeks(group.id, limit=8)


async def _commands(samples: int, active: int, show: bool = False) -> dict[str, str]:
    """Each command twice: typed by members seen before (the record cache holds their group,
    member and pledges, and their group's closed weeks: a community's steady state) and by
    random members of all 100,000 (most of them the first time this process sees them)."""
    rnd = random.Random(1)
    everyone, regulars = typists(rnd, active)
    call = caller(build_engine(Config(), VirtualClock(dep.NOW)), "ev")
    await seen_before(call, regulars)
    figures: dict[str, str] = {}
    for text in COMMANDS:
        for label, pick in (
            ("seen before", lambda: rnd.choice(regulars)),
            ("first seen", lambda: rnd.choice(everyone)),
        ):
            for _ in range(10):  # warm Tortoise's compiled-SQL cache and the connection
                await call(pick(), text)
            hits, misses = cache.hits, cache.misses
            times = [await call(pick(), text) for _ in range(samples)]
            hit = cache.hits - hits
            looked = hit + cache.misses - misses
            counts, cpu, handoffs, trips = [], [], [], []
            kinds: dict[str, int] = {}
            for _ in range(STATEMENT_SAMPLES):  # counted apart: the counter's wrapper costs time
                with (
                    StatementCounter() as sql,
                    HandoffCounter() as thread,
                    RoundTripCounter() as rt,
                ):
                    started = time.process_time()
                    await call(pick(), text)
                    cpu.append((time.process_time() - started) * 1000)
                counts.append(sql.count)
                handoffs.append(thread.count)
                trips.append(rt.count)
                kinds = rt.kinds()
            if show:
                print(f"{text} ({label}), the last counted call:")
                for statement in sql.statements:
                    print("   ", statement[:110])
            # aiosqlite's thread exists only on SQLite: none to count on PostgreSQL.
            thread_line = (
                f", {statistics.median(handoffs):.0f} aiosqlite hand-offs" if any(handoffs) else ""
            )
            # Round trips to PostgreSQL (none on SQLite), the LISTEN connection's `SELECT 1`
            # among them; what the last counted call sent, by kind.
            if any(trips):
                last = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
                thread_line += (
                    f", {statistics.median(trips):.0f} round trips (max {max(trips)}; "
                    f"last call: {last})"
                )
            figures[f"{text} ({label})"] = (
                f"p50 {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms "
                f"(n={len(times)}); {statistics.median(counts):.0f} SQL statements "
                f"(min {min(counts)}, max {max(counts)} of {STATEMENT_SAMPLES} calls)"
                f"{thread_line}; "
                f"record cache {100 * hit / max(1, looked):.0f}% hits; "
                f"CPU {statistics.median(cpu):.1f} ms median of those calls"
            )
    return figures


async def _summaries() -> list[str]:
    lines = []
    lay = dep.layout()
    for g in sorted(dep.SIZED, key=lambda g: dep.SIZED[g]):
        group = await group_queries.get_group(g + 1)
        assert group is not None
        with StatementCounter() as summary_sql:
            reply = await closed_week_summary(group, LAST_WEEK)
        assert reply is not None
        with StatementCounter() as board_sql:
            await reports.load_board(group, dep.NOW)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            await closed_week_summary(group, LAST_WEEK)
            times.append((time.perf_counter() - t) * 1000)
        lines.append(
            f"weekly summary, {lay.size[g]} members ({lay.size[g] * dep.PLEDGES_PER_GROUP} "
            f"participations): {statistics.median(times):.1f} ms median of 5 "
            f"(max {max(times):.1f}), {summary_sql.count} SQL statements; "
            f"pledge board: {board_sql.count} SQL statements"
        )
    return lines


async def run(url: str, samples: int, active: int, show: bool = False) -> list[str]:
    await database.open_database(url)
    try:
        summaries = await _summaries()
        commands = await _commands(samples, active, show)
    finally:
        await database.close_database()
    return [*summaries, *(f"command {k}: {v}" for k, v in commands.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--samples", type=int, default=300, help="per command and kind")
    parser.add_argument(
        "--active", type=int, default=2000, help="members seen before (in ordinary groups)"
    )
    parser.add_argument(
        "--statements", action="store_true", help="print the statements of one call of each"
    )
    args = parser.parse_args()
    print(machine())
    if args.backend == "sqlite":
        _, counts = dep.sqlite_file()
        print("deployment: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        with tempfile.TemporaryDirectory() as tmp:
            url = dep.sqlite_copy(Path(tmp) / "bench.db")
            lines = asyncio.run(run(url, args.samples, args.active, args.statements))
    else:
        with postgres() as url:
            print(f"loaded into PostgreSQL in {asyncio.run(dep.load_postgres(url)):.1f} s")
            lines = asyncio.run(run(url, args.samples, args.active, args.statements))
    for line in lines:
        print(f"engine ({args.backend}): {line}")
    if args.backend == "postgres":
        print(
            "engine (postgres): round trips count every request sent to PostgreSQL, the "
            "record cache's `SELECT 1` on its LISTEN connection among them (listen 1)."
        )


if __name__ == "__main__":
    main()
