"""From a job's due instant to the platform call, in one process (prints only).

The real scheduler on a SQLite file with the system clock, a group with one pledge and 20
snooze reminders (DMs) due 0.5 s apart; the Outbox notes the wall time of each call. No
network: what is left is the scheduler's own work between the due instant and the send.

Run: .venv/bin/python -m benchmarks.delivery_lag  [--count 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import machine, percentile
from bot.actors import Actor, Place
from bot.app.bootstrap import build_app
from bot.app.config import BotConfig, Config
from bot.clock import SystemClock
from bot.messages.replies import Reply
from bot.rules import pledge_periods as tracking
from bot.scheduling import planning
from storage import database
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries
from storage.records import GroupRec, MemberRec

PLACE = Place("bench", "room", "Bench")


class TimingOutbox:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def _note(self, reply: Reply) -> str:
        self.calls.append((time.time(), reply.extra.get("idempotency_key", "")))
        return f"m{len(self.calls)}"

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        return self._note(reply)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        return self._note(reply)

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        return None


async def run(count: int) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="logoff-lag-"))
    url = f"sqlite://{work / 'lag.db'}"
    await database.migrate(url)
    await database.close_database()
    await database.open_database(url)
    cfg = Config(bot=BotConfig(timezone="UTC", commands_per_minute=0))
    from dataclasses import replace

    cfg = replace(cfg, schedule=replace(cfg.schedule, quiet_hours="off"))
    app = build_app(cfg, SystemClock())
    box = TimingOutbox()
    app.attach_outbox("bench", box)
    try:
        admin = Actor("bench", "admin", "admin", is_admin=True)
        await app.engine.handle_text(admin, PLACE, '!pledge new "Walk" per week', "e1")
        group = await group_queries.find_group("bench", "room")
        member = await group_queries.find_member("bench", "admin")
        assert group is not None
        assert member is not None
        (pledge,) = await pledge_queries.group_pledges(group.id, ("active",))
        key = tracking.current_period(pledge, group, datetime.now(UTC)).key
        start = int(time.time()) + 3
        dues = [start + 0.5 * n for n in range(count)]
        jobs = [
            planning.snooze_job(member, pledge, group, key, datetime.fromtimestamp(d, UTC))
            for d in dues
        ]
        await job_queries.plan(jobs, datetime.now(UTC))
        task = asyncio.create_task(app.scheduler.run())
        await asyncio.sleep(dues[-1] - time.time() + 2)
        app.scheduler.stop()
        await asyncio.wait_for(task, 10)
    finally:
        await database.close_database()
    return [(at - due) * 1000 for (at, _), due in zip(box.calls, dues, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    lags = asyncio.run(run(args.count))
    print(
        f"{len(lags)} of {args.count} sent; due -> platform call "
        f"p50 {statistics.median(lags):.1f} ms, p95 {percentile(lags, 95):.1f} ms, "
        f"max {max(lags):.1f} ms"
    )


if __name__ == "__main__":
    main()
