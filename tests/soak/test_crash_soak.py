"""Crash soak: the real bot process is SIGKILLed again and again; every due message goes out once.

How time is compressed: the bot runs on the system clock. Before it starts, groups are built
through the real engine on the soak's database — a daily pledge per group and a personal
reminder for every member at one of the next minute boundaries (`!remind 1 HH:MM dm`, a few
`channel`), so the bot's own planning, batching and expansion produce those messages — and a few
hundred more DM jobs go straight into the job table (storage.jobs.plan), due at instants spread
over the window, so the real claim -> hand over -> mark sent path runs all through it.

A killed process leaves its claimed jobs under a 5-minute lease. At each restart the soak
either keeps those leases (a quick restart: the jobs wait) or, seeded at random, ages them as
if the bot had been down for the lease — so restarts re-claim and re-send jobs whose messages
may already have been accepted, which the outbox file (like a platform) deduplicates by key.

`LOGOFF_SOAK_KILLS` sets the number of kills (20 by default in CI; e.g. 200 for a full soak).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.services.postgres import PostgresServer
from tests.soak.harness import (
    BotProcess,
    Planned,
    Soak,
    assert_exactly_once,
    claimed,
    collect,
    expire_leases,
    populate,
    wait_until_handled,
)

SEED = 20261127
KILLS = int(os.environ.get("LOGOFF_SOAK_KILLS", "20"))


def outbox_size(soak: Soak) -> int:
    return soak.outbox.stat().st_size if soak.outbox.exists() else 0


async def kill_repeatedly(
    bot: BotProcess, soak: Soak, planned: Planned, kills: int, rng: random.Random
) -> dict[str, int]:
    """Start the bot, SIGKILL it and start it again, `kills` times over the window.

    Half the kills (chosen at random) fall at a random moment of the life; the other half
    wait until this life has written a message and then strike within 30 ms, which lands them
    in the middle of a batch being handed over.
    """
    loop = asyncio.get_running_loop()
    span = max(1.0, (planned.window_end - datetime.now(UTC)).total_seconds())
    life = span / kills
    stats = {"kills": 0, "mid_send": 0, "left_claimed": 0, "leases_aged": 0}
    for _ in range(kills):
        size = outbox_size(soak)
        if not bot.alive():
            bot.start()
        if rng.random() < 0.5:
            stats["mid_send"] += 1
            deadline = loop.time() + 2 * life + 3.0
            while outbox_size(soak) == size and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # another process writes the file: poll it
            await asyncio.sleep(rng.uniform(0.0, 0.03))
        else:
            await asyncio.sleep(rng.uniform(0.1, 2 * life))
        bot.alive()  # note a life that ended on its own
        bot.kill()
        stats["kills"] += 1
        stats["left_claimed"] += int(await claimed(soak.url) > 0)
        if rng.random() < 0.5:
            stats["leases_aged"] += await expire_leases(soak.url)
    return stats


@pytest.fixture
def bot_of() -> Iterator[list[BotProcess]]:
    """Bot processes started by a test; killed at the end whatever happened."""
    started: list[BotProcess] = []
    try:
        yield started
    finally:
        for bot in started:
            bot.kill()


async def test_every_due_message_is_delivered_once_across_twenty_sigkills_on_sqlite(
    tmp_path: Path, bot_of: list[BotProcess]
):
    soak = Soak(tmp_path / "soak", f"sqlite://{tmp_path}/soak/data/logoff.db")
    soak.write_config()
    window = timedelta(seconds=max(35.0, KILLS * 2.0))
    planned = await populate(
        soak,
        groups=6,
        members=20,
        channel_members=3,
        direct=10 * max(20, KILLS),
        clusters=max(20, KILLS),
        window=window,
    )
    bot = BotProcess(soak)
    bot_of.append(bot)
    stats = await kill_repeatedly(bot, soak, planned, KILLS, random.Random(SEED))
    bot.start()
    await wait_until_handled(bot, soak.url, planned.window_end, within=60, age_leases=True)
    assert bot.terminate() == 0, bot.logs()[-3000:]
    verdict = await collect(soak, bot)
    print(
        f"\nsqlite soak: {stats['kills']} kills ({stats['mid_send']} mid-send, "
        f"{stats['left_claimed']} left claimed jobs), {bot.lives} lives, "
        f"{sum(verdict.file_keys.values())} messages, {stats['leases_aged']} leases aged, "
        f"{verdict.duplicates_suppressed} re-sends deduplicated by key, exits {bot.exits}"
    )
    assert stats["kills"] >= KILLS
    assert len(verdict.job_keys) >= 300
    assert_exactly_once(verdict, planned)
    assert "Traceback" not in bot.logs()


async def test_nothing_is_lost_or_doubled_when_postgres_goes_away_and_the_bot_is_killed(
    tmp_path: Path, private_postgres: PostgresServer, bot_of: list[BotProcess]
):
    url = private_postgres.create_database("soak")
    soak = Soak(tmp_path / "soak", url)
    soak.write_config()
    kills = max(8, KILLS // 2)
    window = timedelta(seconds=max(35.0, kills * 3.0))
    planned = await populate(
        soak,
        groups=4,
        members=20,
        channel_members=3,
        direct=10 * max(16, kills),
        clusters=max(16, kills),
        window=window,
    )
    bot = BotProcess(soak)
    bot_of.append(bot)
    rng = random.Random(SEED + 1)
    loop = asyncio.get_running_loop()
    # First the outage, with the bot up and sending: does it live through it?
    bot.start()
    await asyncio.sleep(4.0)
    assert bot.alive(), bot.logs()[-3000:]
    private_postgres.pause()
    down_at = loop.time()
    await asyncio.sleep(4.0)
    private_postgres.resume()
    downtime = loop.time() - down_at
    await asyncio.sleep(3.0)
    survived = bot.alive()
    if not survived:
        bot.start()
    # Then the kills, with one more outage while the bot is down (it must come back to it).
    stats = await kill_repeatedly(bot, soak, planned, kills, rng)
    bot.kill()
    private_postgres.pause()
    bot.start()  # against a stopped database: it must say so and exit, not blame the schema
    deadline = loop.time() + 30
    while bot.alive() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    refused = bot.last_log()
    private_postgres.resume()
    assert not bot.alive()
    assert "Cannot reach the database" in refused, refused[-2000:]
    assert "logoff migrate" not in refused
    final_restarts = await wait_until_handled(
        bot, soak.url, planned.window_end, within=90, age_leases=True
    )
    assert bot.terminate() == 0, bot.logs()[-3000:]
    verdict = await collect(soak, bot)
    print(
        f"\npostgres soak: database down {downtime:.1f} s with the bot running "
        f"({'it reconnected' if survived else 'it died and was restarted'}); "
        f"{stats['kills']} kills, {bot.lives} lives, exits {bot.exits}, "
        f"{sum(verdict.file_keys.values())} messages, "
        f"{verdict.duplicates_suppressed} re-sends deduplicated by key, "
        f"{final_restarts} restart(s) at the end to release leased jobs"
    )
    assert len(verdict.job_keys) >= 200
    assert_exactly_once(verdict, planned)
    assert survived, "the bot died when PostgreSQL went away:\n" + bot.logs()[-3000:]
