"""Engine commands with asyncpg's reset query on giving a pool connection back, and without it.

One process on the 100,000-member deployment in PostgreSQL, blocks of 20 commands taking turns
(A: asyncpg's default reset, `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
ALL;`, as before pg17; B: none, as storage.database configures the pool), the same members for
both, so a shared machine's load falls on both alike. `--url` reuses a loaded database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time

from tortoise.connection import get_connection

from benchmarks import deployment as dep
from benchmarks.common import machine, percentile, postgres
from benchmarks.engine_latency import caller, seen_before, typists
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from storage import database

COMMANDS = ("!done 1", "!streak", "!pledge list", "!summary")
BLOCK = 20
WITH, WITHOUT = "A reset query", "B none"


async def run(url: str, blocks: int, active: int) -> list[str]:
    await database.open_database(url)
    pool = get_connection("default")._pool  # type: ignore[attr-defined]
    ours = pool._reset
    rnd = random.Random(11)
    _, regulars = typists(rnd, active)
    # Event ids unique across runs on one database (a repeated id is a replayed event).
    call = caller(build_engine(Config(), VirtualClock(dep.NOW)), f"reset-ab-{time.time()}-")
    await seen_before(call, regulars)
    lines = []
    try:
        for text in COMMANDS:
            times: dict[str, list[float]] = {WITH: [], WITHOUT: []}
            for block in range(blocks):
                for label in (WITH, WITHOUT) if block % 2 == 0 else (WITHOUT, WITH):
                    pool._reset = None if label == WITH else ours
                    for _ in range(BLOCK):
                        times[label].append(await call(rnd.choice(regulars), text))
            lines.append(
                f"{text} (seen before): "
                + " | ".join(
                    f"{label}: p50 {percentile(t, 50):.2f} p90 {percentile(t, 90):.2f} "
                    f"p99 {percentile(t, 99):.2f} mean {statistics.mean(t):.2f} ms (n={len(t)})"
                    for label, t in times.items()
                )
            )
    finally:
        pool._reset = ours
        await database.close_database()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=20, help="blocks of 20 commands per side")
    parser.add_argument("--active", type=int, default=1000, help="members seen before")
    parser.add_argument("--url", help="a database the deployment is loaded into already")
    args = parser.parse_args()
    print(machine())
    with contextlib.ExitStack() as stack:
        url = args.url
        if not url:  # a throwaway cluster, loaded here
            url = stack.enter_context(postgres())
            print(f"loaded into PostgreSQL in {asyncio.run(dep.load_postgres(url)):.1f} s")
        for line in asyncio.run(run(url, args.blocks, args.active)):
            print(f"pool reset (postgres): {line}")


if __name__ == "__main__":
    main()
