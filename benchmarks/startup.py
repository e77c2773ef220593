"""Startup with 100,000 pending jobs: open the database, plan, and be ready to serve."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta

from benchmarks.common import START, peak_rss_mib, postgres
from storage import database
from storage import jobs as job_queries
from storage.records import NewJob


async def fill(url: str, count: int) -> None:
    await database.migrate(url, keep_open=True)
    try:
        jobs = [
            NewJob(
                f"remind:bench:{i}",
                "remind",
                START + timedelta(days=1, seconds=i),
                i % 1000,
                {"pledge_id": i, "period_key": "week:2026-11-30"},
            )
            for i in range(count)
        ]
        await job_queries.plan(jobs, START)
    finally:
        await database.close_database()


async def start(url: str) -> dict[str, float]:
    """What `logoff run` does before it can answer: open, check migrations, find the next job."""
    from benchmarks.common import NullOutbox
    from bot.app.bootstrap import build_engine
    from bot.app.config import Config
    from bot.clock import VirtualClock
    from bot.scheduling.scheduler import Scheduler

    t = time.perf_counter()
    await database.open_database(url)
    try:
        clock = VirtualClock(START)
        scheduler = Scheduler(build_engine(Config(), clock), NullOutbox(), clock)
        await scheduler.run_due()  # nothing due yet: one claim query
        nxt = await job_queries.next_due_at()
        ready = time.perf_counter() - t
        pending = await job_queries.count_jobs("pending")
        return {
            "pending": pending,
            "ready_s": round(ready, 3),
            "next_due": str(nxt),
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
    finally:
        await database.close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite://{tmp}/bench.db"
            asyncio.run(fill(url, args.jobs))
            figures = asyncio.run(start(url))
    else:
        with postgres() as url:
            asyncio.run(fill(url, args.jobs))
            figures = asyncio.run(start(url))
    print(f"startup ({args.backend}): " + ", ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
