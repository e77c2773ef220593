"""Crash-soak harness: a populated database, the real bot process, kills, and the final check."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.outbox_file import read_lines
from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import load_config
from bot.clock import SystemClock
from bot.messages.notices import reply_to_json
from bot.messages.replies import Reply, Visibility
from storage import database
from storage import jobs as job_queries
from storage import models as m
from storage.records import NewJob

ROOT = Path(__file__).resolve().parents[2]
SEND_KINDS = ("send", "dm")
OPEN = (job_queries.PENDING, job_queries.CLAIMED)
PLATFORM = "console"


@dataclass
class Soak:
    """One soak's files: a config for the bot process, its database, outbox and logs."""

    root: Path
    url: str

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox.jsonl"

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        # The data directory must exist first: migrate() on a SQLite file in a missing
        # directory hangs rather than failing (reported; `logoff migrate` creates data_dir).
        (self.root / "data").mkdir(exist_ok=True)
        self.config.write_text(
            "[bot]\n"
            f'data_dir = "{self.root / "data"}"\n'
            'timezone = "UTC"\n'
            'log_level = "info"\n'
            "[database]\n"
            f'url = "{self.url}"\n'
            "[schedule]\n"
            'quiet_hours = "off"\n'
            "weekly_message_cap = 50\n"
        )
        self.config.chmod(0o600)  # a database URL counts as a secret


@dataclass
class Planned:
    """What the soak expects: keys of the messages put in directly, members reminded by DM."""

    direct_keys: set[str] = field(default_factory=set)
    dm_reminded: set[int] = field(default_factory=set)  # member ids with a personal DM slot
    channel_groups: set[int] = field(default_factory=set)  # groups with channel reminders
    reminder_minutes: list[datetime] = field(default_factory=list)
    window_end: datetime = datetime(1970, 1, 1, tzinfo=UTC)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[None]:
    """The test's own short-lived connection to the soak database."""
    await database.open_database(url)
    try:
        yield
    finally:
        await database.close_database()


def reminder_minutes(now: datetime, lead: timedelta, window: timedelta) -> list[datetime]:
    """Minute boundaries at least `lead` from now and inside the window (at least one)."""
    first = (now + lead + timedelta(seconds=59)).replace(second=0, microsecond=0)
    minutes = [first]
    while minutes[-1] + timedelta(minutes=1) <= now + window:
        minutes.append(minutes[-1] + timedelta(minutes=1))
    return minutes


async def populate(
    soak: Soak,
    *,
    groups: int,
    members: int,
    channel_members: int,
    direct: int,
    clusters: int,
    window: timedelta,
) -> Planned:
    """Migrate, then build groups through the real engine and add spread-out direct messages.

    Each group gets a daily pledge that every member joins; each member sets a personal
    reminder (`!remind 1 HH:MM dm`, or `channel` for the first `channel_members`) at one of the
    minute boundaries in the window, so the bot's own planning, batching and expansion make those
    messages. `direct` more DM jobs go straight into the job table through storage.jobs.plan,
    due in `clusters` bunches spread evenly over the window, to keep the bot sending all through
    it (a bunch is claimed as one batch, so a kill can land in the middle of one).
    """
    await database.migrate(soak.url)
    config, problems = load_config(soak.config)
    assert not problems, problems
    now = datetime.now(UTC)
    minutes = reminder_minutes(now, timedelta(seconds=12), window)
    planned = Planned(reminder_minutes=minutes)
    async with connected(soak.url):
        engine = build_engine(config, SystemClock())
        for g in range(groups):
            place = Place(PLATFORM, f"soak-{g}", f"soak-{g}")
            admin = Actor(PLATFORM, f"admin{g}", f"admin{g}", is_admin=True)
            reply = await engine.handle_text(
                admin, place, '!pledge new "Walk round the block" per day', f"g{g}-new"
            )
            assert reply is not None
            assert not reply.error, reply.text
            for i in range(members):
                who = Actor(PLATFORM, f"m{g}-{i}", f"m{g}-{i}")
                at = minutes[(g * members + i) % len(minutes)]
                how = "channel" if i < channel_members else "dm"
                for n, line in enumerate(("!pledge join 1", f"!remind 1 {at:%H:%M} {how}")):
                    reply = await engine.handle_text(who, place, line, f"g{g}-m{i}-{n}")
                    assert reply is not None
                    assert not reply.error, (line, reply.text)
        rows = await m.Participation.all().values_list(
            "member_id", "remind_slot", "delivery", "pledge__group_id"
        )
        members_by_group: dict[int, list[int]] = {}
        for member_id, slot, delivery, group_id in rows:
            members_by_group.setdefault(int(group_id), []).append(int(member_id))
            if slot and delivery == "dm":
                planned.dm_reminded.add(int(member_id))
            elif slot:
                planned.channel_groups.add(int(group_id))
        targets = [(g, mid) for g, ids in sorted(members_by_group.items()) for mid in ids]
        start = datetime.now(UTC) + timedelta(seconds=2)
        span = (now + window) - start
        jobs = []
        for n in range(direct):
            group_id, member_id = targets[n % len(targets)]
            key = f"send:soak:{n:05d}"
            reply = Reply(
                text=f"Soak message {n}: a walk round the block?",
                visibility=Visibility.PUBLIC,
                extra={"idempotency_key": key},
            )
            payload = {
                "member_id": member_id,
                "reply": reply_to_json(reply),
                "record": {"kind": "remind", "pledge_id": None, "period_key": None},
            }
            bunch = n * clusters // direct
            due = start + span * (bunch / max(1, clusters - 1))
            jobs.append(NewJob(key, "dm", due, group_id, payload))
            planned.direct_keys.add(key)
        assert await job_queries.plan(jobs, datetime.now(UTC)) == direct
    planned.window_end = max(now + window, minutes[-1] + timedelta(seconds=1))
    return planned


class BotProcess:
    """The real `logoff run --no-input --outbox-file` process; every life logs to its own file."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.proc: subprocess.Popen[bytes] | None = None
        self.lives = 0
        self.killed = 0
        self.exits: list[int] = []  # exit codes of lives that ended on their own

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.lives += 1
        log = (self.soak.root / "logs" / f"life-{self.lives:04d}.log").open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("LOGOFF_CONFIG", None)
        env.pop("LOGOFF_DATABASE_URL", None)
        command = [sys.executable, "-m", "bot.app.cli", "--config", str(self.soak.config), "run"]
        command += ["--no-input", "--outbox-file", str(self.soak.outbox), "--user", "operator"]
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=self.soak.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

    def alive(self) -> bool:
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        if len(self.exits) + self.killed < self.lives:
            self.exits.append(code)
        return False

    def kill(self) -> None:
        """SIGKILL, and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.killed += 1

    def terminate(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait for a clean stop; SIGKILL if it does not come."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def last_log(self) -> str:
        return (self.soak.root / "logs" / f"life-{self.lives:04d}.log").read_text(errors="replace")

    def logs(self) -> str:
        parts = sorted((self.soak.root / "logs").glob("life-*.log"))
        return "\n".join(p.read_text(errors="replace") for p in parts)


async def expire_leases(url: str) -> int:
    """Age the leases a killed process left behind, as if it had been down for the lease (5 min)."""
    async with connected(url):
        return await m.Job.filter(status=job_queries.CLAIMED).update(
            lease_until=datetime.now(UTC) - timedelta(seconds=1)
        )


async def claimed(url: str) -> int:
    """Jobs held under a lease right now (after a kill: the ones it was in the middle of)."""
    async with connected(url):
        return await m.Job.filter(status=job_queries.CLAIMED).count()


async def open_due(url: str, until: datetime) -> int:
    """Jobs due by `until` that are still pending or claimed."""
    async with connected(url):
        return await m.Job.filter(status__in=list(OPEN), due_at__lte=until).count()


async def wait_until_handled(
    bot: BotProcess, url: str, until: datetime, *, within: float, age_leases: bool
) -> int:
    """Keep the bot running until every job due by `until` is handled (bounded by `within` s).

    With `age_leases`, jobs still held under a lease are released the way the lease would
    release them 5 minutes on: the bot is stopped, the leases aged, the bot started again (a
    live scheduler sleeps until the lease it knows of, so aging under it would not wake it).
    Returns how many times that was done.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    aged_at = loop.time()
    restarts = 0
    while loop.time() < deadline:
        if not bot.alive():
            bot.start()
        if datetime.now(UTC) > until:
            try:
                left = await open_due(url, until)
                held = await claimed(url) if left else 0
            except Exception:  # the database may be restarting
                left = held = -1
            if left == 0:
                return restarts
            if age_leases and held > 0 and loop.time() - aged_at > 3.0:
                bot.terminate()
                await expire_leases(url)
                bot.start()
                aged_at = loop.time()
                restarts += 1
        await asyncio.sleep(0.5)
    async with connected(url):
        stuck = await m.Job.filter(status__in=list(OPEN), due_at__lte=until).values_list(
            "dedupe_key", "status", "due_at", "lease_until", "attempts", "last_error"
        )
    raise AssertionError(
        f"{len(stuck)} jobs due by {until} still open after {within} s, e.g. {stuck[:5]}; "
        f"now {datetime.now(UTC)}; bot alive: {bot.alive()}\n{bot.logs()[-4000:]}"
    )


@dataclass
class Verdict:
    """The outcome of a soak: deliveries counted per idempotency key, and what the bot logged."""

    file_keys: Counter[str]
    job_keys: set[str]
    statuses: Counter[str]
    dm_reminded: set[int]
    channel_groups: set[int]
    duplicates_suppressed: int


async def collect(soak: Soak, bot: BotProcess) -> Verdict:
    """Read the outbox file and the send jobs."""
    rows = read_lines(soak.outbox)
    file_keys = Counter(str(r["idempotency_key"]) for r in rows)
    async with connected(soak.url):
        jobs = await job_queries.jobs_with(kinds=list(SEND_KINDS))
    statuses = Counter(j.status for j in jobs)
    job_keys = {str(j.payload["reply"]["extra"]["idempotency_key"]) for j in jobs}
    dm_reminded = {
        int(j.payload["member_id"])
        for j in jobs
        if j.kind == "dm" and not j.dedupe_key.startswith("send:soak:")
    }
    channel_groups = {int(j.group_id or 0) for j in jobs if j.kind == "send"}
    logs = bot.logs()
    return Verdict(
        file_keys,
        job_keys,
        statuses,
        dm_reminded,
        channel_groups,
        logs.count("duplicate of "),
    )


def assert_exactly_once(verdict: Verdict, planned: Planned) -> None:
    """Every send job was delivered once: one line per key, no key missing, none extra."""
    doubled = {k: n for k, n in verdict.file_keys.items() if n != 1}
    assert not doubled, f"delivered more than once: {sorted(doubled)[:10]}"
    assert set(verdict.file_keys) == verdict.job_keys, (
        f"missing from the outbox: {sorted(verdict.job_keys - set(verdict.file_keys))[:10]}; "
        f"not from a job: {sorted(set(verdict.file_keys) - verdict.job_keys)[:10]}"
    )
    assert set(verdict.statuses) == {job_queries.SENT}, verdict.statuses
    assert planned.direct_keys <= verdict.job_keys
    assert verdict.dm_reminded == planned.dm_reminded
    assert verdict.channel_groups == planned.channel_groups
