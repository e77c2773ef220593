"""Restarts and scale-out: every message delivered exactly once, whatever dies and when."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import SystemClock, VirtualClock
from bot.scheduling.scheduler import LEASE, Scheduler
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage.records import GroupDefaults
from tests.scheduler.support import Crash, RecordingOutbox, rig
from tests.scheduler.test_scheduler import crew, message_job

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
WEDNESDAY_1800 = MONDAY + timedelta(days=2, hours=9)


async def _crash_once(
    path: Path, crash_after_post: bool, platform_dedupes: bool = True
) -> RecordingOutbox:
    """Run until Wednesday's reminder, die at the chosen point, restart, run on."""
    url = f"sqlite://{path / 'logoff.db'}"
    log = path / "posted.json"
    async with rig(MONDAY, url=url, outbox=RecordingOutbox(VirtualClock(MONDAY), log)) as r:
        await crew(r)
        await r.wait(timedelta(days=2, hours=8))
        if crash_after_post:
            r.outbox.crash_after_post = True
        else:
            r.outbox.failures = [Crash("died between claim and send")]
        with pytest.raises(Crash):
            await r.wait(timedelta(hours=2))
    # A new process on the same database file, time moving on past the lease.
    restart = WEDNESDAY_1800 + timedelta(minutes=1)
    box = RecordingOutbox(VirtualClock(restart), log, dedupes=platform_dedupes)
    async with rig(restart, url=url, outbox=box, migrate=False) as r2:
        await r2.scheduler.advance_to(r2.clock, restart + LEASE + timedelta(days=1))
        return r2.outbox


async def test_a_crash_between_claim_and_send_delivers_the_reminder_once_after_restart(tmp_path):
    outbox = await _crash_once(tmp_path, crash_after_post=False)
    reminders = [p for p in outbox.posted if "nudge" in p.text]
    assert len(reminders) == 1
    assert reminders[0].at >= WEDNESDAY_1800 + LEASE  # picked up once the lease ran out


async def test_a_crash_after_the_platform_accepted_does_not_post_twice(tmp_path):
    outbox = await _crash_once(tmp_path, crash_after_post=True)
    reminders = [p for p in outbox.posted if "nudge" in p.text]
    assert len(reminders) == 1
    assert reminders[0].at == WEDNESDAY_1800
    job = (await _settled_sends(tmp_path))[0]
    assert job == "sent"


async def test_a_message_accepted_before_a_crash_is_found_not_sent_again_when_the_platform_forgot(
    tmp_path,
):
    # The platform's own dedupe no longer covers it (new login, a window that ran out): the
    # job was marked handed over, so the next claimer looks for the message and records it.
    outbox = await _crash_once(tmp_path, crash_after_post=True, platform_dedupes=False)
    reminders = [p for p in outbox.posted if "nudge" in p.text]
    assert len(reminders) == 1
    assert (await _settled_sends(tmp_path))[0] == "sent"


async def _settled_sends(path: Path) -> list[str]:
    await database.open_database(f"sqlite://{path / 'logoff.db'}")
    try:
        return [j.status for j in await job_queries.jobs_with(kinds=["send"])]
    finally:
        await database.close_database()


class CountingOutbox:
    """Counts hand-overs per idempotency key, with a yield so the two schedulers interleave."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def send_to_group(self, group, reply):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        self.keys.append(reply.extra["idempotency_key"])
        return str(len(self.keys))

    async def send_to_member(self, member, reply, fallback):  # type: ignore[no-untyped-def]
        return await self.send_to_group(fallback, reply)

    async def find_sent(self, key, group, member):  # type: ignore[no-untyped-def]
        return str(self.keys.index(key) + 1) if key in self.keys else None


async def test_two_schedulers_on_one_postgresql_database_send_every_job_exactly_once(
    postgres_url,
):
    await database.migrate(postgres_url, keep_open=True)
    try:
        now = datetime.now(UTC)
        defaults = GroupDefaults("UTC", 0, "mon 18:00", "sun 18:00", 12, None, 30_000, 0.6)
        group = await group_queries.ensure_group("test", "room", "Crew", defaults, now)
        jobs = [
            message_job(f"job-{i}", now - timedelta(seconds=i % 600), group.id, f"m{i}")
            for i in range(3000)
        ]
        await job_queries.plan(jobs, now)
        from bot.app.bootstrap import build_engine
        from bot.app.config import Config

        outbox = CountingOutbox()
        clock = SystemClock()
        engine = build_engine(Config(), clock)
        a = Scheduler(engine, outbox, clock, batch=100)
        b = Scheduler(engine, outbox, clock, batch=100)
        await asyncio.gather(a.run_due(), b.run_due(), a.run_due())
        assert len(outbox.keys) == 3000
        assert len(set(outbox.keys)) == 3000
        assert await job_queries.count_jobs("sent") == 3000
    finally:
        await database.close_database()
