"""How the weekly summary and a reminder slot grow with members (50-5,000) and groups (10-1,000).

Each point is a fresh database (a SQLite file, or a database of its own on a throwaway
PostgreSQL) holding only that point's groups: one weekly pledge per group that every member
keeps, last week closed (outcomes, half of them kept, a group week, ten vouches) and this week's
check-ins of half the members. Measured through the real paths: `closed_week_summary` (text and
the 12-week picture) and the scheduler's `run_due` at the summary slot (close, summary, cap,
hand-over to a null Outbox), and `run_due` at the pledge's reminder slot. Time is wall time
(median of the repeats), statements are counted in a separate run of the same call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from benchmarks.common import NullOutbox, StatementCounter, machine
from bot.app.bootstrap import build_engine
from bot.app.config import Config
from bot.clock import VirtualClock
from bot.messages.weekly_summary import closed_week_summary
from bot.scheduling.scheduler import Scheduler
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import models as m
from storage.records import NewJob

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
LAST_WEEK, THIS_WEEK = "week:2026-11-23", "week:2026-11-30"
SUMMARY_AT = MONDAY + timedelta(hours=18)  # mon 18:00, the default summary slot
REMIND_AT = MONDAY + timedelta(days=2, hours=18)  # wed 18:00, the pledge's reminder
MEMBER_POINTS = (50, 500, 5000)  # one group
GROUP_POINTS = (10, 100, 1000)  # groups of PER_GROUP members
PER_GROUP = 20


async def load(groups: int, per_group: int) -> list[int]:
    """The point's groups (see the module docstring); returns their ids."""
    created = MONDAY - timedelta(weeks=4)
    await m.Group.bulk_create(
        [
            m.Group(platform="bench", external_id=f"g{g}", name=f"Group {g}", timezone="UTC",
                    summary_slot="mon 18:00", prompt_slot="sun 18:00", quiet_hours=None,
                    weeks_closed_through=MONDAY, created_at=created)
            for g in range(groups)
        ],
        batch_size=1000,
    )  # fmt: skip
    group_ids = [g.id for g in await m.Group.all().order_by("id")]
    await m.Pledge.bulk_create(
        [
            m.Pledge(group_id=gid, number=1, title="Call a neighbour", cadence="week",
                     remind_slot="wed 18:00", created_at=created)
            for gid in group_ids
        ],
        batch_size=1000,
    )  # fmt: skip
    pledge_ids = [p.id for p in await m.Pledge.all().order_by("id")]
    await m.Member.bulk_create(
        [
            m.Member(platform="bench", external_id=f"u{i}", display_name=f"user{i}",
                     created_at=created)
            for i in range(groups * per_group)
        ],
        batch_size=5000,
    )  # fmt: skip
    member_ids = [x.id for x in await m.Member.all().order_by("id")]
    await m.Participation.bulk_create(
        [
            m.Participation(pledge_id=pledge_ids[i // per_group], member_id=mid,
                            joined_at=created, first_period="week:2026-11-02",
                            closed_through=LAST_WEEK, current_streak=i % 5,
                            next_close_at=MONDAY + timedelta(days=7, hours=12))
            for i, mid in enumerate(member_ids)
        ],
        batch_size=5000,
    )  # fmt: skip
    parts = await m.Participation.all().order_by("id").values_list("id", "pledge_id")
    group_of = dict(zip(pledge_ids, group_ids, strict=True))
    await m.Outcome.bulk_create(
        [
            m.Outcome(participation_id=pid, group_id_ref=group_of[plid], period_key=LAST_WEEK,
                      period_end=MONDAY, outcome="kept" if i % 2 else "missed", done=i % 2,
                      closed_at=MONDAY)
            for i, (pid, plid) in enumerate(parts)
        ],
        batch_size=5000,
    )  # fmt: skip
    await m.CheckIn.bulk_create(
        [
            m.CheckIn(participation_id=pid, period_key=key, kind="done",
                      event_key=f"{key}-{pid}", created_at=MONDAY - timedelta(days=3))
            for i, (pid, _) in enumerate(parts)
            for key in (LAST_WEEK, THIS_WEEK)
            if i % 2
        ],
        batch_size=5000,
    )  # fmt: skip
    first = await m.CheckIn.filter(period_key=LAST_WEEK).order_by("id").limit(10)
    await m.Vouch.bulk_create(
        [m.Vouch(checkin_id=c.id, member_id=member_ids[0], created_at=MONDAY) for c in first]
    )
    await m.GroupWeek.bulk_create(
        [
            m.GroupWeek(group_id=gid, week_key=LAST_WEEK, kept=per_group // 2,
                        missed=per_group - per_group // 2, met=False, closed_at=MONDAY)
            for gid in group_ids
        ],
        batch_size=1000,
    )  # fmt: skip
    return group_ids


async def _slot(kind: str, at: datetime, group_ids: list[int], tag: str) -> tuple[float, int]:
    """Plan one job of `kind` per group due `at`, run the scheduler there: (seconds, messages)."""
    pledges = dict(await m.Pledge.all().values_list("group_id", "id"))
    jobs = []
    for gid in group_ids:
        if kind == "summary":
            payload: dict[str, object] = {"week_key": LAST_WEEK}
        else:
            payload = {"pledge_id": pledges[gid], "period_key": THIS_WEEK, "at": at.isoformat()}
        jobs.append(NewJob(f"bench:{tag}:{kind}:g{gid}", kind, at, gid, payload))
    await job_queries.plan(jobs, at - timedelta(hours=1))
    clock = VirtualClock(at)
    outbox = NullOutbox()
    scheduler = Scheduler(build_engine(Config(), clock), outbox, clock)
    t = time.perf_counter()
    await scheduler.run_due()
    return time.perf_counter() - t, outbox.messages


async def _timed(call: Callable[[], Awaitable[object]], repeats: int) -> tuple[float, int]:
    with StatementCounter() as sql:
        await call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        await call()
        times.append(time.perf_counter() - t)
    return statistics.median(times), sql.count


async def point(url: str, groups: int, per_group: int, repeats: int) -> list[str]:
    await database.migrate(url, keep_open=True)
    try:
        t = time.perf_counter()
        group_ids = await load(groups, per_group)
        loaded = time.perf_counter() - t
        size = f"{groups:,} group(s) x {per_group:,} members"
        out = [f"{size}: loaded in {loaded:.1f} s"]
        if groups == 1:
            group = await group_queries.get_group(group_ids[0])
            assert group is not None
            spent, sql = await _timed(lambda: closed_week_summary(group, LAST_WEEK), repeats)
            out.append(
                f"{size}: weekly summary (text + picture) {spent * 1000:.1f} ms "
                f"(median of {repeats}), {sql} SQL statements"
            )
        # The slots: each run once (a slot cannot be replayed), statements counted in a copy
        # of the same run on the next week's keys would differ; count this run itself.
        with StatementCounter() as sql:
            spent, messages = await _slot("summary", SUMMARY_AT, group_ids, "s")
        out.append(
            f"{size}: summary slot (scheduler) {spent:.2f} s, {messages} messages, "
            f"{sql.count} SQL statements (counted in the run)"
        )
        with StatementCounter() as sql:
            spent, messages = await _slot("remind", REMIND_AT, group_ids, "r")
        out.append(
            f"{size}: reminder slot (scheduler) {spent:.2f} s, {messages} messages, "
            f"{sql.count} SQL statements (counted in the run)"
        )
        return out
    finally:
        await database.close_database()


@contextmanager
def databases(backend: str) -> Iterator[Callable[[], str]]:
    """Fresh empty databases, one per call."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield lambda: f"sqlite://{tmp}/{uuid.uuid4().hex}.db"
        return
    from tests.services.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield lambda: server.create_database(f"logoff_scale_{uuid.uuid4().hex[:12]}")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-groups", type=int, default=GROUP_POINTS[-1], help="skip above")
    args = parser.parse_args()
    print(machine())
    points = [(1, n) for n in MEMBER_POINTS]
    points += [(g, PER_GROUP) for g in GROUP_POINTS if g <= args.max_groups]
    with databases(args.backend) as fresh:
        for groups, per_group in points:
            for line in asyncio.run(point(fresh(), groups, per_group, args.repeats)):
                print(f"scale ({args.backend}): {line}")
    print(machine())


if __name__ == "__main__":
    main()
