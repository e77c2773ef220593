"""A database made by schema 0001 migrates to the current schema with every record intact."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import BotConfig, Config
from bot.clock import VirtualClock
from bot.messages.markup import unescape_plain
from storage import database
from storage import direct_rooms as dm
from tests.fixtures import make_schema_0001 as gen
from tests.integration.test_cli import logoff
from tests.soak.harness import BotProcess, Soak
from tests.upgrade.copy_fixture import copy_rows, migrate_to

EXPECTED: dict[str, Any] = json.loads(gen.EXPECTED.read_text())


async def ask(group: str, who: str, text: str) -> str:
    config = Config(bot=BotConfig(timezone="Europe/Berlin"))
    engine = build_engine(config, VirtualClock(gen.END))
    reply = await engine.handle_text(
        Actor(gen.PLATFORM, who, who), Place(gen.PLATFORM, group, group), text, f"upgrade-{text}"
    )
    assert reply is not None
    assert not reply.error, reply.text
    return unescape_plain(reply.text)


async def assert_everything_is_there(url: str, expected: dict[str, Any]) -> None:
    """Counts, outcomes, streaks, pledges as stored, and as `!pledge list` and `!streak` show."""
    await database.open_database(url)
    try:
        facts = await gen.expected_facts()
        for key in ("counts", "outcomes", "groups", "pledges", "streaks"):
            assert facts[key] == expected[key], key
        board = await ask("tenants", "ana", "!pledge list")
        assert "Attend one local meeting" in board
        assert "Call a neighbour" in board
        assert "Knock on 10 doors" in await ask("assembly", "gus", "!pledge list")
        streak = await ask("tenants", "ana", "!streak")
        assert "Attend one local meeting" in streak
        assert "3" in streak
        assert "Climb outdoors" in await ask("climbers", "dev", "!streak")
    finally:
        await database.close_database()


async def assert_direct_rooms_work(url: str, applied: list[str]) -> None:
    """Migration 0005 ran on the old database: DM rooms are claimed and recorded there."""
    assert "logoff.0005_direct_rooms" in applied
    await database.open_database(url)
    try:
        claim = await dm.claim("matrix", "@bot:x", "@ana:x", "a:1", gen.END)
        assert claim.state == dm.CREATE
        assert await dm.record("matrix", "@bot:x", "@ana:x", "a:1", "!dm")
        assert await dm.recorded("matrix", "@bot:x", "@ana:x") == "!dm"
    finally:
        await database.close_database()


async def test_the_schema_0001_fixture_migrates_and_keeps_streaks_outcomes_and_pledges(
    tmp_path: Path,
):
    db = tmp_path / "logoff.db"
    shutil.copyfile(gen.FIXTURE, db)
    url = f"sqlite://{db}"
    applied = await database.migrate(url)
    assert f"logoff.{gen.VERSION}" not in applied  # the fixture already has it
    await assert_everything_is_there(url, EXPECTED)
    await assert_direct_rooms_work(url, applied)


async def test_a_postgres_database_at_schema_0001_migrates_with_everything_in_it(
    postgres_url: str,
):
    # PostgreSQL at 0001 with the SQLite fixture's rows, then every later migration.
    await migrate_to(postgres_url, gen.VERSION)
    await copy_rows(gen.FIXTURE, postgres_url)
    applied = await database.migrate(postgres_url)
    assert f"logoff.{gen.VERSION}" not in applied
    await assert_everything_is_there(postgres_url, EXPECTED)
    await assert_direct_rooms_work(postgres_url, applied)


async def test_a_backup_of_a_running_bots_database_restores_with_everything_in_it(
    tmp_path: Path,
):
    soak = Soak(tmp_path / "live", f"sqlite://{tmp_path}/live/data/logoff.db")
    soak.write_config()
    shutil.copyfile(gen.FIXTURE, soak.root / "data" / "logoff.db")
    assert logoff("--config", str(soak.config), "migrate").returncode == 0
    bot = BotProcess(soak)
    try:
        bot.start()  # on the system clock: it closes the weeks since the fixture and writes
        for _ in range(100):
            if "scheduler running" in bot.last_log() or not bot.alive():
                break
            await asyncio.sleep(0.1)
        assert bot.alive(), bot.logs()
        copy = tmp_path / "backup" / "copy.db"
        copy.parent.mkdir()  # a backup into a missing folder is refused
        made = await asyncio.to_thread(logoff, "--config", str(soak.config), "backup", str(copy))
        assert made.returncode == 0, made.stderr
        assert bot.alive()
    finally:
        bot.kill()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    await database.open_database(f"sqlite://{copy}")
    try:
        facts = await gen.expected_facts()
    finally:
        await database.close_database()
    for table in ("groups", "members", "pledges", "participations", "checkins", "vouches"):
        assert facts["counts"][table] == EXPECTED["counts"][table], table
    assert facts["pledges"] == EXPECTED["pledges"]
    assert facts["counts"]["outcomes"] >= EXPECTED["counts"]["outcomes"]
    board = await asyncio.to_thread(
        logoff, "--config", str(soak.config), "check-config"
    )  # the live config still validates after the bot ran
    assert board.returncode == 0
