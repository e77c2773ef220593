"""Crash soaks on the real Matrix path: what reached the member, per reminder and per command.

`logoff run` runs as OS processes against the session's Synapse; a member creates rooms,
invites the bot, makes weekly pledges whose reminder slots fall on the coming minute
boundaries, and then keeps typing commands (reads and check-ins) while the bot is SIGKILLed:
within 30 ms of the member seeing a bot message, at random, during start-up, during the
catch-up after a restart, and by crash points inside the bot (`LOGOFF_CRASH_POINTS`: right
after the platform accepted a batch of reminders and before it is recorded; after a command
took effect; after its answer went out). At random the leases a killed process left are aged
as if it had been down for them. The member's client counts every message by the key the bot
puts in its content, and every answer by the command it answers.

`LOGOFF_SOAK_KILLS` sets the kills (10 by default, sized for CI; 24 or more for a full soak,
which also stretches the reminders over more minutes and the PostgreSQL outage to 20 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.matrix.harness import Member
from tests.services.postgres import PostgresServer
from tests.services.synapse import SynapseServer
from tests.soak.matrix_harness import (
    Instance,
    MatrixSoak,
    Tally,
    Verdict,
    Watcher,
    age_leases,
    commands_while,
    judge,
    open_due,
    set_up_rooms,
    wait_ready,
)

SEED = 20261202
KILLS = int(os.environ.get("LOGOFF_SOAK_KILLS", "10"))
MINUTES = max(2, KILLS // 4)  # reminder minutes: 2 in CI, 6 at 24 kills
OUTAGE = 20.0 if KILLS >= 20 else 8.0
CRASH_POINTS = "accepted:0.25,handled:0.02,replied:0.02"


@dataclass
class Run:
    soak: MatrixSoak
    member: Member
    tally: Tally
    watcher: Watcher
    rooms: list[str]
    titles: dict[str, datetime]
    rng: random.Random
    down: set[str]  # instances the chaos keeps down for now

    @property
    def window_end(self) -> datetime:
        return max(self.titles.values()) + timedelta(seconds=1)


async def keeper(run: Run) -> None:
    """Restart, after a short pause, any process that died (a crash point) unless held down."""
    while True:
        for inst in run.soak.instances:
            if inst.name not in run.down and not inst.alive():
                await asyncio.sleep(run.rng.uniform(0.3, 2.0))
                if inst.name not in run.down and not inst.alive():
                    inst.start()
        await asyncio.sleep(0.1)


async def kill_one(run: Run, inst: Instance, mode: str, life: float) -> None:
    rng = run.rng
    run.down.add(inst.name)
    try:
        if not inst.alive():
            inst.start()
        if mode == "seen":
            run.watcher.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.watcher.changed.wait(), 2 * life + 3)
            await asyncio.sleep(rng.uniform(0.0, 0.03))
            inst.kill()
        elif mode == "random":
            await asyncio.sleep(rng.uniform(0.2, life))
            inst.kill()
        elif mode == "startup":
            inst.kill()
            inst.start()
            await asyncio.sleep(rng.uniform(0.05, 1.0))
            inst.kill()
        else:  # catch-up: commands pile up while it is down, then it dies replaying them
            inst.kill()
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            inst.start()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 8
            while inst.alive() and inst.ready_count() < 1 and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            inst.kill()
        if rng.random() < 0.3:
            await age_leases(run.soak.url)
        await asyncio.sleep(rng.uniform(0.5, 3.0))
    finally:
        run.down.discard(inst.name)


async def chaos(run: Run, kills: int, outage: PostgresServer | None = None) -> dict[str, int]:
    """`kills` kills spread over the reminder window; with `outage`, PostgreSQL is
    crash-stopped once, right after a reminder reached the member at a due minute."""
    modes = ["seen", "seen", "random", "startup", "catchup"]
    stats = {m: 0 for m in modes}
    span = max(10.0, (run.window_end - datetime.now(UTC)).total_seconds() + 10)
    life = span / (kills + (2 if outage else 0))
    outage_at = kills // 2 if outage else -1
    for n in range(kills):
        if n == outage_at and outage is not None:
            await crash_database(run, outage)
            stats["outage"] = 1
        inst = run.rng.choice(run.soak.instances)
        mode = run.rng.choice(modes)
        stats[mode] += 1
        await kill_one(run, inst, mode, life)
    return stats


async def crash_database(run: Run, server: PostgresServer) -> None:
    """Stop PostgreSQL the moment a scheduled message reached the member, for OUTAGE s."""
    minutes = sorted(set(run.titles.values()))
    now = datetime.now(UTC)
    due = next((m for m in minutes if m > now), minutes[-1])
    await asyncio.sleep(max(0.0, (due - now).total_seconds()))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    before = sum(n for k, n in run.tally.keys.items() if not k.startswith("reply:"))
    while loop.time() < deadline:
        seen = sum(n for k, n in run.tally.keys.items() if not k.startswith("reply:"))
        if seen > before:
            break
        await asyncio.sleep(0.005)
    await asyncio.to_thread(server.pause)
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(server.resume)


async def drain(run: Run, within: float) -> None:
    """Everything up; wait until every command is answered and every due job is done.

    A job still under a dead process's lease is released the way the lease would release it
    5 minutes on (stop, age, start: a live scheduler sleeps until the lease it knows of)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    aged_at = loop.time()
    while loop.time() < deadline:
        try:
            left = await open_due(run.soak.url, run.window_end)
        except Exception:
            left = -1
        unanswered = [e for e in run.tally.commands if run.tally.replies[e] == 0]
        if left == 0 and not unanswered and datetime.now(UTC) > run.window_end:
            return
        if left and loop.time() - aged_at > 8.0:
            run.down.update(i.name for i in run.soak.instances)
            for inst in run.soak.instances:
                inst.kill()
            await age_leases(run.soak.url)
            for inst in run.soak.instances:
                inst.start()
            run.down.clear()
            aged_at = loop.time()
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"not drained: {left} jobs open, {len(unanswered)} commands unanswered "
        f"(e.g. {unanswered[:3]})\n{run.soak.logs()[-4000:]}"
    )


def assert_exactly_once(run: Run, verdict: Verdict) -> None:
    assert not verdict.duplicated_keys, (
        f"sent twice: {sorted(verdict.duplicated_keys.items())[:10]}"
    )
    assert not verdict.answered_twice, (
        f"answered twice: {list(verdict.answered_twice.items())[:10]}"
    )
    assert not verdict.unanswered, f"never answered: {verdict.unanswered[:10]}"
    assert not verdict.missing_keys, f"marked sent, never seen: {sorted(verdict.missing_keys)[:10]}"
    assert set(verdict.statuses) == {"sent"}, verdict.statuses
    wrong = {t: verdict.reminded_titles[t] for t in run.titles if verdict.reminded_titles[t] != 1}
    assert not wrong, f"reminders not exactly once: {wrong}"


async def soak_run(
    tmp_path: Path,
    server: SynapseServer,
    url: str,
    processes: int,
    kills: int,
    outage: PostgresServer | None = None,
) -> tuple[Run, Verdict, dict[str, int]]:
    soak = MatrixSoak(tmp_path / "msoak", server, url)
    soak.register_bot()
    for _ in range(processes):
        soak.add_instance()
    soak.migrate()
    member = await Member.register(server, "Counter")
    tally = Tally(soak.user_id)
    watcher = Watcher(member, tally)
    watcher.start()
    tasks: list[asyncio.Task[None]] = []
    run: Run | None = None
    try:
        for inst in soak.instances:
            inst.start()
        for inst in soak.instances:
            await wait_ready(inst)
        # No crash points while the pledges are made: set-up is not what is tested.
        rooms, titles = await set_up_rooms(
            soak, member, tally, rooms=2, per_minute=3, minutes=MINUTES, lead=timedelta(seconds=25)
        )
        for inst in soak.instances:  # from each process's next life on
            inst.env["LOGOFF_CRASH_POINTS"] = CRASH_POINTS
        run = Run(soak, member, tally, watcher, rooms, titles, random.Random(SEED), set())
        stop_typing = asyncio.Event()
        tasks.append(asyncio.create_task(keeper(run)))
        tasks.append(
            asyncio.create_task(commands_while(member, rooms, tally, run.rng, stop_typing))
        )
        stats = await chaos(run, kills, outage)
        await asyncio.sleep(max(0.0, (run.window_end - datetime.now(UTC)).total_seconds()))
        stop_typing.set()
        await drain(run, within=120)
        await asyncio.sleep(5.0)  # time for a late duplicate to show up
        verdict = await judge(soak, tally, titles)
        stats["lives"] = sum(i.lives for i in soak.instances)
        stats["self_killed"] = sum(i.self_killed for i in soak.instances)
        stats["kills"] = sum(i.kills for i in soak.instances)
        return run, verdict, stats
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for inst in soak.instances:
            inst.stop()
        await watcher.stop()
        await member.close()


def report(name: str, run: Run, verdict: Verdict, stats: dict[str, int]) -> None:
    print(
        f"\n{name}: {stats}, {len(run.tally.commands)} commands, "
        f"{sum(run.tally.replies.values())} answers, {len(run.titles)} reminders in "
        f"{len(verdict.sent_keys)} scheduled messages"
    )


async def test_sigkills_on_sqlite_send_every_reminder_and_answer_every_command_once(
    tmp_path: Path, synapse_server: SynapseServer
):
    url = f"sqlite://{tmp_path}/msoak/logoff.db"
    run, verdict, stats = await soak_run(tmp_path, synapse_server, url, processes=1, kills=KILLS)
    report("matrix sqlite soak", run, verdict, stats)
    assert stats["kills"] + stats["self_killed"] >= KILLS
    assert_exactly_once(run, verdict)


async def test_two_processes_on_postgresql_with_kills_and_a_crash_of_the_database(
    tmp_path: Path, synapse_server: SynapseServer, private_postgres: PostgresServer
):
    url = private_postgres.create_database("msoak")
    run, verdict, stats = await soak_run(
        tmp_path, synapse_server, url, processes=2, kills=KILLS, outage=private_postgres
    )
    report("matrix postgres soak (2 processes)", run, verdict, stats)
    assert stats.get("outage") == 1
    assert_exactly_once(run, verdict)
