"""Crash soaks through the local Discord peer: what reached the members, per reminder and command.

`logoff run` runs as OS processes (tests/discord_peer/launch.py: only discord.py's two URLs
point at the peer) on one database and one token, each with its own gateway session. A member
makes weekly pledges through slash commands whose reminder slots fall on the coming minute
boundaries, then keeps running commands while the processes are SIGKILLed: by the peer right
after it accepted a scheduled message and before the answer left (the bot never learns the
message id), right after it accepted an interaction's answer (before it is marked answered),
at random, and during start-up. At random the job leases a killed process left are aged as if
it had been down for them, so another life or process takes its jobs over. When due jobs are
still open under a dead life's lease at the end, every process is stopped with SIGTERM, the
leases aged and the processes started again (a live scheduler sleeps until the lease it knows);
every SIGTERM stop must exit 0.

On SQLite the peer forgets nonces at once (`nonce_window = 0`): only the reconciliation keeps a
re-sent reminder from being posted twice. On PostgreSQL, with two processes, Discord's own
window holds. The peer enforces Discord's 3 s for initial interaction responses.

`LOGOFF_SOAK_KILLS` sets the kills (8 by default, for CI; 24 or more for a full soak, which also
stretches the reminders over more minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.discord_peer import DiscordPeer
from tests.soak.discord_harness import (
    ACK,
    DiscordSoak,
    PeerBot,
    Verdict,
    age_leases,
    commands_while,
    judge,
    open_due,
    plan_direct,
    reconciled,
    set_up_pledges,
)

SEED = 20261203
KILLS = int(os.environ.get("LOGOFF_SOAK_KILLS", "8"))
MINUTES = max(2, KILLS // 4)
MODES = ("accepted", "accepted", "answer", "random", "startup")


async def keeper(soak: DiscordSoak, rng: random.Random, down: set[str]) -> None:
    """Restart, after a short pause, any process that died and is not held down."""
    while True:
        for bot in soak.bots:
            if bot.label not in down and not bot.alive():
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                if bot.label not in down and not bot.alive():
                    bot.start(soak.peer.port)
        await asyncio.sleep(0.1)


async def kill_one(
    soak: DiscordSoak, bot: PeerBot, mode: str, life: float, rng: random.Random, down: set[str]
) -> None:
    down.add(bot.label)
    loop = asyncio.get_running_loop()
    try:
        if not bot.alive():
            bot.start(soak.peer.port)
        if mode in ("accepted", "answer"):
            armed = soak.armed if mode == "accepted" else soak.armed_answers
            armed.add(bot.label)
            deadline = loop.time() + 2 * life + 3
            while bot.label in armed and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            armed.discard(bot.label)
            bot.kill()  # no-op when the peer struck already
        elif mode == "random":
            await asyncio.sleep(rng.uniform(0.2, life))
            bot.kill()
        else:  # start-up: connecting, syncing commands, the first scheduler round
            bot.kill()
            bot.start(soak.peer.port)
            await asyncio.sleep(rng.uniform(0.05, 1.5))
            bot.kill()
        if rng.random() < 0.4:
            await age_leases(soak.url)
        await asyncio.sleep(rng.uniform(0.3, 2.0))
    finally:
        down.discard(bot.label)


async def drain(soak: DiscordSoak, until: datetime, within: float, down: set[str]) -> None:
    """Everything up until every due job is done.

    A job still under a dead life's lease is released the way its lease would release it 5
    minutes on: every process stopped (SIGTERM), the leases aged, every process started again.
    Aging alone is not enough: a live scheduler sleeps until the lease it read (up to 5
    minutes, longer than this wait), which is what left jobs open here before."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    aged_at = loop.time()
    left = -1
    while loop.time() < deadline:
        with contextlib.suppress(Exception):
            left = await open_due(soak.url, until)
        if left == 0 and datetime.now(UTC) > until:
            return
        if left and loop.time() - aged_at > 8.0:
            down.update(b.label for b in soak.bots)
            try:
                await soak.stop_all()
                await age_leases(soak.url)
                for bot in soak.bots:
                    bot.start(soak.peer.port)
                for bot in soak.bots:
                    await soak.wait_live(bot)
            finally:
                down.clear()
            aged_at = loop.time()
        await asyncio.sleep(0.5)
    raise AssertionError(f"not drained: {left} jobs open\n{soak.logs()[-4000:]}")


async def soak_run(
    tmp_path: Path, url: str, processes: int, kills: int, nonce_window: float | None
) -> tuple[DiscordSoak, Verdict, dict[str, int]]:
    rng = random.Random(SEED + processes)
    async with DiscordPeer(patch=False) as peer:
        if nonce_window is not None:
            peer.nonce_window = nonce_window
        soak = DiscordSoak(tmp_path / "dsoak", peer, url)
        soak.channels = [peer.channel, peer.add_channel(peer.guild, "second")]
        for _ in range(processes):
            soak.add_bot()
        soak.migrate()
        soak.watch()
        down: set[str] = set()
        tasks: list[asyncio.Task[None]] = []
        try:
            for bot in soak.bots:
                bot.start(peer.port)
            for bot in soak.bots:
                await soak.wait_live(bot)
            await soak.wait_commands()
            await set_up_pledges(soak, per_minute=3, minutes=MINUTES, lead=timedelta(seconds=20))
            peer.ack_deadline = ACK
            window_end = max(soak.titles.values()) + timedelta(seconds=1)
            direct = await plan_direct(soak, 6 * kills, window_end)
            stop = asyncio.Event()
            tasks.append(asyncio.create_task(keeper(soak, rng, down)))
            tasks.append(asyncio.create_task(commands_while(soak, rng, stop)))
            span = max(10.0, (window_end - datetime.now(UTC)).total_seconds() + 10)
            life = span / kills
            stats = {mode: 0 for mode in MODES}
            for _ in range(kills):
                mode = rng.choice(MODES)
                stats[mode] += 1
                await kill_one(soak, rng.choice(soak.bots), mode, life, rng, down)
            await asyncio.sleep(max(0.0, (window_end - datetime.now(UTC)).total_seconds()))
            stop.set()
            await drain(soak, window_end, within=120, down=down)
            await asyncio.sleep(ACK + 2.0)  # the last commands' answers, a late duplicate
            down.update(b.label for b in soak.bots)  # the keeper starts nothing any more
            for bot in soak.bots:
                if not bot.alive():
                    bot.start(peer.port)
                await soak.wait_live(bot)
            await soak.stop_all()  # SIGTERM to serving processes: exit 0 expected
            verdict = await judge(soak)
            stats["SIGTERM stops"] = sum(len(b.stops) for b in soak.bots)
            stats["SIGTERM during start-up"] = sum(len(b.stops_starting) for b in soak.bots)
            stats["lives"] = sum(b.lives for b in soak.bots)
            stats["kills"] = sum(b.kills for b in soak.bots)
            stats.update(soak.struck)
            stats["found on Discord after the nonce window"] = reconciled(soak)
            assert direct <= set(verdict.job_copies), "every direct DM was sent"
            return soak, verdict, stats
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for bot in soak.bots:
                with contextlib.suppress(Exception):
                    await soak.stop(bot)


def report(name: str, soak: DiscordSoak, verdict: Verdict, stats: dict[str, int]) -> None:
    answered = sum(1 for n in verdict.answers.values() if n)
    print(
        f"\n{name}: {stats}; {len(soak.titles)} reminders in {len(verdict.job_copies)} "
        f"scheduled messages; {len(soak.asked)} commands: {answered} answered, "
        f"{len(verdict.undelivered)} reached no live session, {len(verdict.deferred_only)} only "
        f"deferred, {len(verdict.claimer_died)} "
        f"lost with their claimer, {len(verdict.lost)} lost otherwise; claims {verdict.claims}"
    )


def assert_exactly_once(soak: DiscordSoak, verdict: Verdict) -> None:
    wrong = {t: n for t, n in verdict.reminded.items() if n != 1}
    assert not wrong, f"reminders not exactly once: {wrong}\n{soak.logs()[-3000:]}"
    copies = {k: n for k, n in verdict.job_copies.items() if n != 1}
    assert not copies, f"scheduled messages not exactly once: {copies}"
    assert set(verdict.statuses) == {"sent"}, verdict.statuses
    twice = {i: n for i, n in verdict.attempts.items() if n > 1}
    assert not twice, f"answered (or tried to answer) more than once: {twice}"
    assert not verdict.lost, f"never answered although their claimer lived: {verdict.lost}"
    only = verdict.deferred_only
    assert not only, f"deferred and never answered although their claimer lived: {only}"
    answered = sum(1 for n in verdict.answers.values() if n)
    assert answered >= len(soak.asked) // 2, "most commands must be answered"
    assert "Traceback" not in soak.logs(), soak.logs()[-3000:]
    codes = {b.label: b.stops for b in soak.bots}
    assert all(code == 0 for stops in codes.values() for code in stops), f"SIGTERM: {codes}"
    assert all(b.stops for b in soak.bots), "every process was stopped with SIGTERM at the end"


async def test_sigkills_on_sqlite_post_every_reminder_and_answer_every_command_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path}/dsoak/logoff.db"
    soak, verdict, stats = await soak_run(tmp_path, url, 1, KILLS, nonce_window=0.0)
    report("discord sqlite soak (nonces forgotten at once)", soak, verdict, stats)
    assert stats["kills"] >= KILLS // 2
    assert_exactly_once(soak, verdict)


async def test_two_processes_on_postgresql_with_kills_answer_once_and_post_once(
    tmp_path: Path, postgres_url: str
) -> None:
    soak, verdict, stats = await soak_run(tmp_path, postgres_url, 2, KILLS, nonce_window=None)
    report("discord postgres soak (2 processes)", soak, verdict, stats)
    assert stats["kills"] >= KILLS // 2
    assert_exactly_once(soak, verdict)
