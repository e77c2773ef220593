"""Discord crash-soak harness: `logoff run` processes against the local peer, which counts.

The peer runs in the test's own event loop, so it is the judge of what reached the members:
every message the bot posted (per reminder title and per send job), and every interaction's
initial responses. It also strikes: `rest.on_accepted` SIGKILLs the process that sent a
request right after the peer carried it out and before the answer leaves, the narrowest
window there is (accepted by Discord, not known to the bot, so not recorded).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.discord.reconcile import fingerprints
from adapters.discord.render import render
from bot.messages.notices import reply_from_json, reply_to_json
from bot.messages.replies import Reply, Visibility
from storage import incoming
from storage import jobs as job_queries
from storage import models as m
from storage.records import NewJob
from tests.discord_peer import DiscordPeer, InteractionHandle, PeerChannel, RecordedRequest
from tests.discord_peer.state import TEXT_DISPLAY, walk_components
from tests.soak.harness import connected

ROOT = Path(__file__).resolve().parents[2]
SEND_KINDS = ("send", "dm")
MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{token}/callback"
ACK = 3.0  # Discord's deadline for an initial interaction response
# What members run during the soak: reads, and a change that a repeat would show.
COMMANDS: tuple[tuple[str, dict[str, str]], ...] = (
    ("pledge list", {}),
    ("streak", {}),
    ("summary", {}),
    ("done", {"pledge": "1"}),
    ("undo", {"pledge": "1"}),
)


@dataclass
class PeerBot:
    """One `logoff run` process talking to the peer as `label`, with its own data directory."""

    label: str
    root: Path
    config: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    lives: int = 0
    kills: int = 0
    kill_times: list[float] = field(default_factory=list)  # monotonic
    # exit status of each SIGTERM (None: it did not stop in time) of a serving process, and
    # of one still starting
    stops: list[int | None] = field(default_factory=list)
    stops_starting: list[int | None] = field(default_factory=list)

    def start(self, port: int) -> None:
        assert not self.alive()
        self.lives += 1
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "tests.discord_peer.launch", str(port), self.label]
        command += ["--", "--config", str(self.config), "run"]
        with (logs / f"{self.label}-life-{self.lives:04d}.log").open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap (a few ms: the peer's answer must not leave before it is dead)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.kills += 1
            self.kill_times.append(time.monotonic())

    async def stop(
        self, *, connected: bool, sig: signal.Signals = signal.SIGTERM, within: float = 20.0
    ) -> int | None:
        """A clean stop (SIGTERM, as systemd sends): its exit status, or None if it was not
        running. The wait is off the loop: the peer must keep serving the bot's goodbye.
        `connected`: it was serving (a process still importing dies by the signal)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(sig)
        try:
            code = await asyncio.to_thread(self.proc.wait, within)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        (self.stops if connected else self.stops_starting).append(code)
        return code

    def instance(self) -> str:
        """The instance id in this process's claims (its data directory's lock file)."""
        lock = self.root / f"data-{self.label}" / "discord" / "lock"
        return lock.read_text().strip() if lock.exists() else ""

    def log_text(self) -> str:
        parts = sorted((self.root / "logs").glob(f"{self.label}-life-*.log"))
        return "\n".join(p.read_text(errors="replace") for p in parts)


@dataclass
class DiscordSoak:
    """One soak: the peer, the database, the bot processes, what was asked and what struck."""

    root: Path
    peer: DiscordPeer
    url: str
    bots: list[PeerBot] = field(default_factory=list)
    channels: list[PeerChannel] = field(default_factory=list)
    titles: dict[str, datetime] = field(default_factory=dict)  # reminded pledge -> its minute
    asked: list[InteractionHandle] = field(default_factory=list)
    armed: set[str] = field(default_factory=set)  # labels to kill at their next accepted post
    armed_answers: set[str] = field(default_factory=set)  # ... at their next accepted answer
    struck: Counter[str] = field(default_factory=Counter)

    def add_bot(self) -> PeerBot:
        label = f"bot{len(self.bots)}"
        data = self.root / f"data-{label}"
        data.mkdir(parents=True, exist_ok=True)
        config = self.root / f"config-{label}.toml"
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
            "[discord]\n"
            "enabled = true\n"
            'token = "peer-token"\n'
            f"guilds = [{self.peer.guild.id}]\n",
            encoding="utf-8",
        )
        config.chmod(0o600)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in ("LOGOFF_CONFIG", "LOGOFF_DATABASE_URL", "LOGOFF_CRASH_POINTS"):
            env.pop(name, None)
        bot = PeerBot(label, self.root, config, env)
        self.bots.append(bot)
        return bot

    def bot(self, label: str) -> PeerBot:
        return next(b for b in self.bots if b.label == label)

    def migrate(self) -> None:
        command = [sys.executable, "-m", "bot.app.cli", "--config", str(self.bots[0].config)]
        subprocess.run(
            [*command, "migrate"], cwd=self.root, env=self.bots[0].env, check=True, timeout=120
        )

    def watch(self) -> None:
        """Let the peer strike the processes that are armed."""

        async def on_accepted(record: RecordedRequest) -> None:
            if record.method != "POST" or not record.label:
                return
            if record.route == MESSAGES and record.label in self.armed:
                self.armed.discard(record.label)
                self.struck["after an accepted post"] += 1
                self.bot(record.label).kill()
            elif record.route == CALLBACK and record.label in self.armed_answers:
                self.armed_answers.discard(record.label)
                self.struck["after an accepted answer"] += 1
                self.bot(record.label).kill()

        self.peer.rest.on_accepted = on_accepted

    async def stop(self, bot: PeerBot) -> int | None:
        return await bot.stop(connected=self.peer.gateway_of(bot.label).live)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(b) for b in self.bots))

    def live(self) -> list[str]:
        return [b.label for b in self.bots if self.peer.gateway_of(b.label).live]

    async def wait_live(self, bot: PeerBot, within: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self.peer.gateway_of(bot.label).live:
            if loop.time() > deadline or not bot.alive():
                raise AssertionError(f"{bot.label} did not connect\n{bot.log_text()[-3000:]}")
            await asyncio.sleep(0.05)

    async def wait_commands(self, within: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.peer.command("pledge", self.peer.guild) is None:
            if loop.time() > deadline:
                raise AssertionError("the bot did not sync its commands")
            await asyncio.sleep(0.05)

    async def ask(
        self, name: str, options: dict[str, str], channel: PeerChannel
    ) -> InteractionHandle:
        command, _, sub = name.partition(" ")
        handle = await self.peer.slash(
            self.peer.member, channel, command, subcommand=sub or None, options=options
        )
        self.asked.append(handle)
        return handle

    def logs(self) -> str:
        return "\n".join(b.log_text() for b in self.bots)


def reminder_minutes(now: datetime, lead: timedelta, count: int) -> list[datetime]:
    first = (now + lead + timedelta(seconds=59)).replace(second=0, microsecond=0)
    return [first + timedelta(minutes=n) for n in range(count)]


async def set_up_pledges(soak: DiscordSoak, per_minute: int, minutes: int, lead: timedelta) -> None:
    """In each channel a pledge without reminder (#1, for check-ins) and weekly pledges
    reminded at the coming minute boundaries, made through slash commands while all is calm."""
    at = reminder_minutes(datetime.now(UTC), lead, minutes)
    for c, channel in enumerate(soak.channels):
        first = await soak.ask("pledge new", {"title": "Other", "per": "week"}, channel)
        await first.wait_reply(timeout=30)
        for n, minute in enumerate(at):
            for k in range(per_minute):
                title = f"Walk c{c} m{n} k{k}"
                slot = f"{minute:%a} {minute:%H:%M}".lower()
                options = {"title": title, "per": "week", "remind": slot}
                made = await soak.ask("pledge new", options, channel)
                reply = await made.wait_reply(timeout=30)
                assert title in (reply.content or ""), reply.content
                soak.titles[title] = minute
    soak.asked.clear()  # the set-up's commands are not the soak's


async def plan_direct(soak: DiscordSoak, count: int, until: datetime) -> set[str]:
    """`count` more DMs to the member, due spread over the window, straight into the job table
    (storage.jobs.plan): the claim -> hand over -> record path runs all through the soak."""
    start = datetime.now(UTC) + timedelta(seconds=2)
    span = until - start
    async with connected(soak.url):
        member = await m.Member.get(platform="discord", external_id=str(soak.peer.member.id))
        group = await m.Group.get(platform="discord", external_id=str(soak.channels[0].id))
        jobs = []
        for n in range(count):
            key = f"send:soak:{n:04d}"
            reply = Reply(
                text=f"Soak message {n}: a walk round the block?",
                visibility=Visibility.PUBLIC,
                extra={"idempotency_key": key},
            )
            payload = {
                "member_id": member.id,
                "reply": reply_to_json(reply),
                "record": {"kind": "remind", "pledge_id": None, "period_key": None},
            }
            due = start + span * (n / max(1, count - 1))
            jobs.append(NewJob(key, "dm", due, group.id, payload))
        assert await job_queries.plan(jobs, datetime.now(UTC)) == count
    return {j.dedupe_key for j in jobs}


def reconciled(soak: DiscordSoak) -> int:
    """Sends that found their message on Discord already (after the nonce window)."""
    return soak.logs().count("is on Discord already")


async def commands_while(soak: DiscordSoak, rng: random.Random, stop: asyncio.Event) -> None:
    """The member keeps running commands while some process is connected."""
    while not stop.is_set():
        if soak.live():
            name, options = rng.choice(COMMANDS)
            try:
                await soak.ask(name, options, rng.choice(soak.channels))
            except Exception:
                await asyncio.sleep(0.5)
        await asyncio.sleep(rng.uniform(0.2, 0.6))


async def age_leases(url: str) -> None:
    """As if a killed process had been down for its leases (5 minutes): jobs and claims.

    Only a process started after this sees it: a live scheduler sleeps until the lease it read
    (bot/scheduling/scheduler.py, `_sleep_for`), as it should when leases run out by time."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with connected(url):
        await m.Job.filter(status=job_queries.CLAIMED).update(lease_until=past)
        await m.IncomingEvent.exclude(status=incoming.ANSWERED).update(lease_until=past)


async def open_due(url: str, until: datetime) -> int:
    async with connected(url):
        return await m.Job.filter(
            status__in=[job_queries.PENDING, job_queries.CLAIMED], due_at__lte=until
        ).count()


@dataclass
class Verdict:
    """What reached the members, and what the bot recorded."""

    reminded: Counter[str]  # pledge title -> messages that reminded of it
    job_copies: dict[str, int]  # send job key -> times its message is in its channel
    statuses: Counter[str]
    answers: dict[int, int]  # interaction id -> initial responses Discord accepted
    attempts: dict[int, int]  # interaction id -> initial responses the bot tried
    undelivered: list[int]  # no live session got it (the member sees it fail)
    claimer_died: list[int]  # its claimer was killed before it answered
    lost: list[int]  # delivered, its claimer alive: never answered
    deferred_only: list[int]  # deferred ("thinking...") and never followed up, claimer alive
    claims: Counter[str]


async def judge(soak: DiscordSoak) -> Verdict:
    peer = soak.peer
    posted = [
        m
        for m in peer.messages
        if m.source == "channel" and not m.deleted and int(m.payload["author"]["id"]) == peer.bot.id
    ]
    reminded: Counter[str] = Counter()
    for title in soak.titles:
        reminded[title] = sum(1 for msg in posted if f"**{title}**" in msg.text)
    async with connected(soak.url):
        jobs = await job_queries.jobs_with(kinds=list(SEND_KINDS))
        members = {row.id: row for row in await m.Member.all()}
        groups = {row.id: row for row in await m.Group.all()}
        claims: dict[str, tuple[str, str]] = {}
        for handle in soak.asked:
            got = await incoming.get("discord", str(handle.id))
            if got is not None:
                claims[str(handle.id)] = got
    copies: dict[str, int] = {}
    # What a member sees of a message, as the bot's reconcile fingerprints it: the content and
    # a components v2 card's text displays.
    by_channel: dict[int, Counter[tuple[str, tuple[str, ...]]]] = {}
    for msg in posted:
        shown = tuple(
            str(c.get("content", "")).strip()
            for c in walk_components(msg.components)
            if c.get("type") == TEXT_DISPLAY
        )
        by_channel.setdefault(msg.channel_id, Counter())[(msg.content.strip(), shown)] += 1
    for job in jobs:
        if job.status != job_queries.SENT:
            continue
        reply = reply_from_json(job.payload["reply"])
        channel_id = _target(peer, job.payload, job.group_id, members, groups)
        contents = [(f.content, f.shown) for f in fingerprints(render(reply))]
        seen = by_channel.get(channel_id, Counter())
        copies[job.dedupe_key] = min(seen[c] for c in contents)
    attempts = {h.id: 0 for h in soak.asked}
    answers = {h.id: 0 for h in soak.asked}
    for record in peer.requests:
        if record.route == CALLBACK:
            iid = int(record.path.split("/")[2])
            if iid in attempts:
                attempts[iid] += 1
                answers[iid] += int(200 <= record.status < 300)
    instances = {b.instance(): b for b in soak.bots}
    undelivered, died, lost, deferred = [], [], [], []
    for handle in soak.asked:
        if answers[handle.id] and all(r.is_deferral for r in handle.replies):
            # "thinking..." and nothing after it: only a claimer that died since may leave that
            claim = claims.get(str(handle.id))
            owner = instances.get(claim[1].split(":", 1)[0]) if claim else None
            if owner is None or not any(t >= handle.created for t in owner.kill_times):
                deferred.append(handle.id)
            continue
        if answers[handle.id]:
            continue
        given = [b for b in soak.bots if _given(peer, b.label, handle.id)]
        claim = claims.get(str(handle.id))
        owner = instances.get(claim[1].split(":", 1)[0]) if claim else None
        if not given:
            undelivered.append(handle.id)
        elif owner is not None and _killed_within(owner, handle.created, handle.created + ACK + 1):
            died.append(handle.id)
        elif claim is None and all(
            _killed_within(b, handle.created, handle.created + ACK + 1) for b in given
        ):
            died.append(handle.id)  # every session that got it died before claiming it
        else:
            lost.append(handle.id)
    return Verdict(
        reminded=reminded,
        job_copies=copies,
        statuses=Counter(j.status for j in jobs),
        answers=answers,
        attempts=attempts,
        undelivered=undelivered,
        claimer_died=died,
        lost=lost,
        deferred_only=deferred,
        claims=Counter(state for state, _ in claims.values()),
    )


def _target(
    peer: DiscordPeer,
    payload: dict[str, Any],
    group_id: int | None,
    members: dict[int, m.Member],
    groups: dict[int, m.Group],
) -> int:
    member_id = payload.get("member_id")
    if member_id is None:
        return int(groups[int(group_id or 0)].external_id)
    user = peer.users[int(members[int(member_id)].external_id)]
    return peer.dm_channel(user).id


def _given(peer: DiscordPeer, label: str, interaction_id: int) -> bool:
    return any(
        d.event == "INTERACTION_CREATE" and d.written and int(d.data["id"]) == interaction_id
        for d in peer.gateway_of(label).backlog
    )


def _killed_within(bot: PeerBot, start: float, end: float) -> bool:
    return any(start <= t <= end for t in bot.kill_times)
