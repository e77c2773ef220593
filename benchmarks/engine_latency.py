"""In the engine, on the full deployment: command latency, and one weekly summary by group size."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import deployment as dep
from benchmarks.common import StatementCounter, machine, percentile, postgres
from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.messages import boards as reports
from bot.messages.weekly_summary import closed_week_summary
from storage import database
from storage import groups as group_queries

COMMANDS = ("!done 1", "!streak", "!pledge list", "!summary")
LAST_WEEK = "week:2026-11-23"


async def _commands(samples: int) -> dict[str, str]:
    engine = build_engine(Config(), VirtualClock(dep.NOW))
    lay = dep.layout()
    rnd = random.Random(1)
    # Ordinary groups (about 95 members each): where almost every command is typed.
    ordinary = range(len(dep.SIZED), dep.GROUPS)
    figures: dict[str, str] = {}
    event = 0
    for text in COMMANDS:
        times = []
        for n in range(samples + 10):
            g = rnd.choice(ordinary)
            member = rnd.choice(lay.members_of(g))
            actor = Actor("bench", f"u{member}", f"user{member}")
            place = Place("bench", f"room{g}", f"Group {g}")
            event += 1
            t = time.perf_counter()
            reply = await engine.handle_text(actor, place, text, f"ev{event}")
            elapsed = time.perf_counter() - t
            if reply is None:
                raise RuntimeError(f"{text!r} got no reply")
            if n >= 10:  # the first few warm Tortoise's caches and the connection
                times.append(elapsed * 1000)
        figures[text] = (
            f"p50 {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms "
            f"(n={len(times)})"
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


async def run(url: str, samples: int) -> list[str]:
    await database.open_database(url)
    try:
        summaries = await _summaries()
        commands = await _commands(samples)
    finally:
        await database.close_database()
    return [*summaries, *(f"command {k}: {v}" for k, v in commands.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--samples", type=int, default=300, help="per command")
    args = parser.parse_args()
    print(machine())
    if args.backend == "sqlite":
        _, counts = dep.sqlite_file()
        print("deployment: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        with tempfile.TemporaryDirectory() as tmp:
            url = dep.sqlite_copy(Path(tmp) / "bench.db")
            lines = asyncio.run(run(url, args.samples))
    else:
        with postgres() as url:
            print(f"loaded into PostgreSQL in {asyncio.run(dep.load_postgres(url)):.1f} s")
            lines = asyncio.run(run(url, args.samples))
    for line in lines:
        print(f"engine ({args.backend}): {line}")


if __name__ == "__main__":
    main()
