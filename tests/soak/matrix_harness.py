"""Matrix crash-soak harness: `logoff run` processes on a real Synapse, a member who counts.

The member's client is the judge: it counts what reached the room. Every message the bot
sends carries its idempotency key in the content (`org.logoff.key`): a reminder's job key, or
`reply:<command event id>` for an answer. A key seen twice is a duplicate; a command with no
answer is a loss; a send job marked sent whose key never arrived is a loss too.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.matrix.idempotency import CONTENT_KEY
from storage import incoming
from storage import jobs as job_queries
from storage import models as m
from tests.matrix.harness import Member, unique
from tests.services.synapse import SynapseServer
from tests.soak.harness import connected

ROOT = Path(__file__).resolve().parents[2]
SEND_KINDS = ("send", "dm")
OPEN = (job_queries.PENDING, job_queries.CLAIMED)
# What the member types during the soak: reads, and changes that a repeat would show.
COMMANDS = ("!pledge list", "!streak", "!summary", "!done 1", "!undo 1", "!help")


@dataclass
class Instance:
    """One `logoff run` process with a data directory of its own (its own Matrix device)."""

    name: str
    root: Path
    config: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    lives: int = 0
    kills: int = 0
    self_killed: int = 0  # lives that ended by a crash point

    def start(self) -> None:
        assert not self.alive()
        self.lives += 1
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{self.name}-life-{self.lives:04d}.log").open("wb") as out:
            command = [sys.executable, "-m", "bot.app.cli", "--config", str(self.config), "run"]
            self.proc = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        if code == -signal.SIGKILL and self.proc.pid not in _reaped:
            _reaped.add(self.proc.pid)
            self.self_killed += 1
        return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            _reaped.add(self.proc.pid)
            self.kills += 1

    def stop(self) -> None:
        """SIGINT, a few seconds for a clean stop, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        parts = sorted((self.root / "logs").glob(f"{self.name}-life-*.log"))
        return "\n".join(p.read_text(errors="replace") for p in parts)

    def ready_count(self) -> int:
        path = self.root / "logs" / f"{self.name}-life-{self.lives:04d}.log"
        return path.read_text(errors="replace").count("matrix ready") if path.exists() else 0


_reaped: set[int] = set()


@dataclass
class MatrixSoak:
    """One soak: a bot account, its database, processes, and the member who counts."""

    root: Path
    server: SynapseServer
    url: str
    crash_points: str = ""
    user_id: str = ""
    password: str = ""
    instances: list[Instance] = field(default_factory=list)

    def register_bot(self) -> None:
        name = unique("soakbot")
        self.password = "pw-" + name
        self.user_id, _, _ = self.server.register(name, self.password)

    def add_instance(self) -> Instance:
        n = len(self.instances)
        data = self.root / f"data{n}"
        data.mkdir(parents=True, exist_ok=True)
        config = self.root / f"config{n}.toml"
        config.write_text(
            "[bot]\n"
            f'data_dir = "{data}"\n'
            'timezone = "UTC"\n'
            'log_level = "info"\n'
            "commands_per_minute = 0\n"
            "[database]\n"
            f'url = "{self.url}"\n'
            "[schedule]\n"
            'quiet_hours = "off"\n'
            "weekly_message_cap = 50\n"
            "[matrix]\n"
            "enabled = true\n"
            f'homeserver = "{self.server.url}"\n'
            f'user_id = "{self.user_id}"\n'
            f'password = "{self.password}"\n',
            encoding="utf-8",
        )
        config.chmod(0o600)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in ("LOGOFF_CONFIG", "LOGOFF_DATABASE_URL", "LOGOFF_CRASH_POINTS"):
            env.pop(name, None)
        if self.crash_points:
            env["LOGOFF_CRASH_POINTS"] = self.crash_points
        instance = Instance(f"bot{n}", self.root, config, env)
        self.instances.append(instance)
        return instance

    def migrate(self) -> None:
        config = self.instances[0].config
        command = [sys.executable, "-m", "bot.app.cli", "--config", str(config), "migrate"]
        env = self.instances[0].env
        subprocess.run(command, cwd=self.root, env=env, check=True, capture_output=True)

    def logs(self) -> str:
        return "\n".join(i.log_text() for i in self.instances)


async def wait_ready(instance: Instance, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while instance.ready_count() < 1:
        if not instance.alive():
            raise RuntimeError(f"{instance.name} exited:\n{instance.log_text()[-3000:]}")
        if loop.time() > deadline:
            raise TimeoutError(f"{instance.name} not ready:\n{instance.log_text()[-3000:]}")
        await asyncio.sleep(0.05)


@dataclass
class Tally:
    """What the member saw from the bot, and what it asked."""

    bot: str
    commands: list[str] = field(default_factory=list)  # event ids of the member's commands
    keys: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)  # command event id -> answers
    bodies: dict[str, str] = field(default_factory=dict)  # key -> text of that message
    bot_messages: int = 0

    def see(self, source: dict[str, object]) -> None:
        if source.get("sender") != self.bot or source.get("type") != "m.room.message":
            return
        content = source.get("content")
        if not isinstance(content, dict):
            return
        self.bot_messages += 1
        key = content.get(CONTENT_KEY)
        if key:
            self.keys[str(key)] += 1
            self.bodies[str(key)] = str(content.get("body", ""))
        relates = content.get("m.relates_to") or {}
        target = (relates.get("m.in_reply_to") or {}).get("event_id") if relates else None
        if target:
            self.replies[str(target)] += 1


class Watcher:
    """The member's client syncing all the time, feeding a Tally."""

    def __init__(self, member: Member, tally: Tally) -> None:
        self.member = member
        self.tally = tally
        self._seen = 0
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.member.sync(1000)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            fresh = self.member.seen[self._seen :]
            self._seen = len(self.member.seen)
            before = self.tally.bot_messages
            for item in fresh:
                self.tally.see(item.source)
            if self.tally.bot_messages != before:
                self.changed.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def ask(member: Member, room_id: str, text: str, tally: Tally) -> str:
    event_id = await member.send(room_id, text)
    tally.commands.append(event_id)
    return event_id


async def wait_answered(tally: Tally, event_id: str, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while tally.replies[event_id] < 1:
        if loop.time() > deadline:
            raise TimeoutError(f"no answer to {event_id}")
        await asyncio.sleep(0.05)


def reminder_minutes(now: datetime, lead: timedelta, count: int) -> list[datetime]:
    first = (now + lead + timedelta(seconds=59)).replace(second=0, microsecond=0)
    return [first + timedelta(minutes=n) for n in range(count)]


async def set_up_rooms(
    soak: MatrixSoak,
    member: Member,
    tally: Tally,
    rooms: int,
    per_minute: int,
    minutes: int,
    lead: timedelta,
) -> tuple[list[str], dict[str, datetime]]:
    """Rooms with the bot, a pledge without reminder (#1) and weekly pledges reminded at the
    coming minute boundaries. Returns the rooms and each reminded pledge title's minute."""
    room_ids = []
    for _ in range(rooms):
        room_id = await member.create_room(invite=(soak.user_id,))
        room_ids.append(room_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30

    def greeted(room_id: str) -> bool:
        return any(
            x.room_id == room_id and x.source.get("sender") == soak.user_id for x in member.seen
        )

    while not all(greeted(r) for r in room_ids):
        if loop.time() > deadline:
            raise TimeoutError("the bot did not join every room")
        await asyncio.sleep(0.1)
    titles: dict[str, datetime] = {}
    at = reminder_minutes(datetime.now(UTC), lead, minutes)
    for r, room_id in enumerate(room_ids):
        await wait_answered(
            tally, await ask(member, room_id, '!pledge new "Other" per week', tally)
        )
        for n, minute in enumerate(at):
            for k in range(per_minute):
                title = f"Walk r{r} m{n} k{k}"
                slot = f"{minute:%a} {minute:%H:%M}".lower()
                line = f'!pledge new "{title}" per week remind "{slot}"'
                await wait_answered(tally, await ask(member, room_id, line, tally))
                titles[title] = minute
    return room_ids, titles


async def commands_while(
    member: Member, room_ids: list[str], tally: Tally, rng: random.Random, stop: asyncio.Event
) -> None:
    """The member keeps typing commands, bot up or down, until told to stop."""
    while not stop.is_set():
        room_id = rng.choice(room_ids)
        try:
            await ask(member, room_id, rng.choice(COMMANDS), tally)
        except Exception:
            await asyncio.sleep(0.5)
        await asyncio.sleep(rng.uniform(0.2, 0.6))


async def age_leases(url: str) -> None:
    """As if the killed process had been down for its leases: jobs and event claims."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with connected(url):
        await m.Job.filter(status=job_queries.CLAIMED).update(lease_until=past)
        await m.IncomingEvent.exclude(status=incoming.ANSWERED).update(lease_until=past)


async def open_due(url: str, until: datetime) -> int:
    async with connected(url):
        return await m.Job.filter(status__in=list(OPEN), due_at__lte=until).count()


@dataclass
class Verdict:
    duplicated_keys: dict[str, int]
    unanswered: list[str]
    answered_twice: dict[str, int]
    sent_keys: set[str]
    missing_keys: set[str]
    reminded_titles: Counter[str]
    statuses: Counter[str]


async def judge(soak: MatrixSoak, tally: Tally, titles: dict[str, datetime]) -> Verdict:
    async with connected(soak.url):
        jobs = await job_queries.jobs_with(kinds=list(SEND_KINDS))
    statuses = Counter(j.status for j in jobs)
    sent_keys = {
        str(j.payload["reply"]["extra"]["idempotency_key"])
        for j in jobs
        if j.status == job_queries.SENT
    }
    reminded: Counter[str] = Counter()
    # A whole title, not a prefix of a longer one ("k1" is in "k10").
    named = {t: re.compile(rf"(?<!\w){re.escape(t)}(?!\w)") for t in titles}
    for key, body in tally.bodies.items():
        if key.startswith("reply:"):
            continue
        for title, pattern in named.items():
            if pattern.search(body):
                reminded[title] += tally.keys[key]
    return Verdict(
        duplicated_keys={k: n for k, n in tally.keys.items() if n > 1},
        unanswered=[e for e in tally.commands if tally.replies[e] == 0],
        answered_twice={e: n for e, n in tally.replies.items() if n > 1},
        sent_keys=sent_keys,
        missing_keys=sent_keys - set(tally.keys),
        reminded_titles=reminded,
        statuses=statuses,
    )
