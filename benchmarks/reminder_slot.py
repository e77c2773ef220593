"""One reminder slot due for 100,000 participations in 1,000 groups: claim, render, hand over."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta

from benchmarks.common import START, NullOutbox, load_groups, peak_rss_mib, postgres
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.scheduling.scheduler import Scheduler
from storage import database
from storage import jobs as job_queries
from storage import models as m
from storage.records import NewJob

WEDNESDAY_1800 = START + timedelta(days=2, hours=9)


async def _jobs() -> list[NewJob]:
    pledges = await m.Pledge.all().values_list("id", "group_id")
    return [
        NewJob(
            f"remind:g{gid}:p{pid}:week:2026-11-30",
            "remind",
            WEDNESDAY_1800,
            gid,
            {"pledge_id": pid, "period_key": "week:2026-11-30", "at": WEDNESDAY_1800.isoformat()},
        )
        for pid, gid in pledges
    ]


async def run(url: str, groups: int, per_group: int) -> dict[str, float]:
    await database.migrate(url, keep_open=True)
    try:
        t = time.perf_counter()
        await load_groups(groups, per_group)
        await job_queries.plan(await _jobs(), START)
        loaded = time.perf_counter() - t
        clock = VirtualClock(WEDNESDAY_1800)
        outbox = NullOutbox()
        scheduler = Scheduler(build_engine(Config(), clock), outbox, clock)
        t = time.perf_counter()
        await scheduler.run_due()
        elapsed = time.perf_counter() - t
        return {
            "participations": groups * per_group,
            "groups": groups,
            "load_s": round(loaded, 2),
            "slot_s": round(elapsed, 2),
            "messages": outbox.messages,
            "mentions": outbox.mentions,
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }
    finally:
        await database.close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--per-group", type=int, default=100)
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            figures = asyncio.run(run(f"sqlite://{tmp}/bench.db", args.groups, args.per_group))
    else:
        with postgres() as url:
            figures = asyncio.run(run(url, args.groups, args.per_group))
    print(f"reminder slot ({args.backend}): " + ", ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
