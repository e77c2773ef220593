"""`logoff backup` and `logoff restore` on SQLite and PostgreSQL, through the command line."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from storage import database
from tests.fixtures import make_schema_0001 as gen
from tests.integration.test_cli import logoff
from tests.support.session import ConsoleSession, open_session
from tests.upgrade.test_upgrade_from_0001 import EXPECTED, assert_everything_is_there

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
QUESTIONS = ["!streak", "@ana !streak", "@ben !streak", "!summary", "@ana !summary", "!pledge list"]


def cli(root: Path, url: str, *args: str) -> tuple[int, str]:
    """Run `logoff ARGS` with a config in `root` whose data_dir is root/data; (code, output)."""
    config = root / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "data"\n\n[database]\nurl = "{url}"\n')
    config.chmod(0o600)
    done = logoff("--config", str(config), *args, cwd=root)
    return done.returncode, done.stdout + done.stderr


async def play(s: ConsoleSession) -> None:
    """Two weeks of a small group: pledges, check-ins, a vouch, a closed week with streaks."""
    await s.say('!pledge new "Call a neighbour" per week')
    await s.say('!pledge new "Knock on 10 doors" times 2 per week')
    await s.say("@ana !pledge join 1")
    await s.say("@ben !pledge join 2")
    await s.say("@ana !done 1 called Sam")
    await s.say("!done 1")
    await s.say("@ben !done 2")
    await s.say("@ben !vouch @ana 1")
    await s.wait(timedelta(days=7, hours=13))
    await s.say("@ana !done 1 called Jo")


async def answers(url: str, at: datetime) -> dict[str, str]:
    async with open_session(url, at, "Europe/Berlin") as s:
        return {q: await s.say(q) for q in QUESTIONS}


async def played(url: str) -> tuple[datetime, dict[str, str]]:
    """Play the two weeks on `url`; the virtual time at the end and the answers then."""
    async with open_session(url, START, "Europe/Berlin") as s:
        await play(s)
        now = s.clock.now()
    return now, await answers(url, now)


async def wipe(url: str) -> None:
    """Delete the SQLite file, or every table of the PostgreSQL database."""
    if url.startswith("sqlite://"):
        target = Path(url.removeprefix("sqlite://"))
        for suffix in ("", "-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob("*") if ".partial" in p.name]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_backup_wipe_restore_gives_the_same_streaks_and_summary(
    database_url: str, tmp_path: Path
):
    now, before = await played(database_url)
    assert "Call a neighbour" in before["@ana !streak"]
    assert "1" in before["@ana !streak"]

    code, out = cli(tmp_path, database_url, "backup", str(tmp_path / "week.backup"))
    assert code == 0, out
    assert "logoff restore" in out
    assert mode(tmp_path / "week.backup") == 0o600
    await wipe(database_url)

    code, out = cli(tmp_path, database_url, "restore", str(tmp_path / "week.backup"))
    assert code == 0, out
    assert "Restored" in out
    assert await answers(database_url, now) == before
    assert not leftovers(tmp_path)
    if database_url.startswith("sqlite://"):
        assert mode(Path(database_url.removeprefix("sqlite://"))) == 0o600


async def test_new_ids_after_a_restore_do_not_collide_with_restored_ones(
    database_url: str, tmp_path: Path
):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await play(s)
    assert cli(tmp_path, database_url, "backup", str(tmp_path / "b.db"))[0] == 0
    await wipe(database_url)
    assert cli(tmp_path, database_url, "restore", str(tmp_path / "b.db"))[0] == 0
    async with open_session(database_url, START, "Europe/Berlin") as s:
        made = await s.say('@cat !pledge new "Call the council" per week')
        assert "New pledge 3" in made, made
        assert "Call the council" in await s.say("!pledge list")


async def test_a_database_that_holds_data_is_replaced_only_with_force_and_saved_first(
    database_url: str, tmp_path: Path
):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await play(s)
        now = s.clock.now()
    assert cli(tmp_path, database_url, "backup", str(tmp_path / "b.db"))[0] == 0
    async with open_session(database_url, now, "Europe/Berlin") as s:
        await s.say('!pledge new "Written after the backup" per week')

    code, out = cli(tmp_path, database_url, "restore", str(tmp_path / "b.db"))
    assert code == 2
    assert "already holds" in out
    assert "--force" in out
    async with open_session(database_url, now, "Europe/Berlin") as s:
        assert "Written after the backup" in await s.say("!pledge list")

    code, out = cli(tmp_path, database_url, "restore", "--force", str(tmp_path / "b.db"))
    assert code == 0, out
    saved = sorted((tmp_path / "data").glob("logoff-before-restore-*.db"))
    assert len(saved) == 1, out
    assert str(saved[0].name) in out
    assert mode(saved[0]) == 0o600
    async with open_session(database_url, now, "Europe/Berlin") as s:
        assert "Written after the backup" not in await s.say("!pledge list")
    async with open_session(f"sqlite://{saved[0]}", now, "Europe/Berlin") as s:
        assert "Written after the backup" in await s.say("!pledge list")
    assert not leftovers(tmp_path)


async def test_a_backup_made_at_an_older_schema_is_restored_and_migrated(
    database_url: str, tmp_path: Path
):
    """The schema-0001 fixture stands for an old backup; on PostgreSQL it also crosses backends."""
    code, out = cli(tmp_path, database_url, "restore", str(gen.FIXTURE))
    assert code == 0, out
    assert f"schema {gen.VERSION}" in out
    await assert_everything_is_there(database_url, EXPECTED)


async def test_a_postgres_backup_restores_into_sqlite(postgres_url: str, tmp_path: Path):
    now, before = await played(postgres_url)
    assert cli(tmp_path, postgres_url, "backup", str(tmp_path / "pg.db"))[0] == 0
    sqlite_url = f"sqlite://{tmp_path}/data/logoff.db"
    code, out = cli(tmp_path, sqlite_url, "restore", str(tmp_path / "pg.db"))
    assert code == 0, out
    assert await answers(sqlite_url, now) == before


async def test_a_backup_from_a_newer_logoff_is_refused_and_nothing_changes(
    database_url: str, tmp_path: Path
):
    now, before = await played(database_url)
    assert cli(tmp_path, database_url, "backup", str(tmp_path / "b.db"))[0] == 0
    with sqlite3.connect(tmp_path / "b.db") as conn:
        conn.execute(
            "INSERT INTO tortoise_migrations (app, name, applied_at) "
            "VALUES ('logoff', '9999_from_the_future', '2030-01-01 00:00:00+00:00')"
        )
    code, out = cli(tmp_path, database_url, "restore", "--force", str(tmp_path / "b.db"))
    assert code == 2
    assert "newer Logoff" in out
    assert "9999_from_the_future" in out
    assert await answers(database_url, now) == before
    assert not leftovers(tmp_path)


async def test_restore_refuses_while_another_session_uses_the_postgres_database(
    postgres_url: str, tmp_path: Path
):
    await database.migrate(postgres_url)
    assert cli(tmp_path, postgres_url, "backup", str(tmp_path / "b.db"))[0] == 0
    bot = await asyncpg.connect(postgres_url)  # stands for a bot still running
    try:
        code, out = cli(tmp_path, postgres_url, "restore", str(tmp_path / "b.db"))
    finally:
        await bot.close()
    assert code == 2
    assert "other session" in out
    assert "still running" in out
    code, out = cli(tmp_path, postgres_url, "restore", str(tmp_path / "b.db"))
    assert code == 0, out


def test_bad_backup_targets_get_a_clear_message_and_leave_nothing_behind(tmp_path: Path):
    url = f"sqlite://{tmp_path}/data/logoff.db"
    code, out = cli(tmp_path, url, "backup", str(tmp_path / "b.db"))
    assert code == 2
    assert "no database" in out
    assert "logoff migrate" in out

    assert cli(tmp_path, url, "migrate")[0] == 0
    assert mode(tmp_path / "data" / "logoff.db") == 0o600
    (tmp_path / "backups").mkdir()
    code, out = cli(tmp_path, url, "backup", str(tmp_path / "backups"))
    assert code == 2
    assert "is a folder" in out
    code, out = cli(tmp_path, url, "backup", str(tmp_path / "nowhere" / "b.db"))
    assert code == 2
    assert "does not exist" in out
    assert not (tmp_path / "nowhere").exists()
    code, out = cli(tmp_path, url, "backup", str(tmp_path / "data" / "logoff.db"))
    assert code == 2
    assert "database itself" in out
    assert not leftovers(tmp_path)
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == []


def test_bad_restore_sources_get_a_clear_message_and_leave_nothing_behind(tmp_path: Path):
    url = f"sqlite://{tmp_path}/data/logoff.db"
    (tmp_path / "notes.txt").write_text("not a database\n")
    plain = tmp_path / "plain.db"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    cases = {
        str(tmp_path): "is a folder",
        str(tmp_path / "missing.db"): "no backup at",
        str(tmp_path / "notes.txt"): "not a Logoff backup",
        str(plain): "not a Logoff backup",
    }
    for source, message in cases.items():
        code, out = cli(tmp_path, url, "restore", source)
        assert code == 2, (source, out)
        assert message in out, (source, out)
    assert not (tmp_path / "data" / "logoff.db").exists()
    assert not leftovers(tmp_path)


def test_a_postgres_database_without_logoff_tables_is_not_backed_up(
    postgres_url: str, tmp_path: Path
):
    code, out = cli(tmp_path, postgres_url, "backup", str(tmp_path / "b.db"))
    assert code == 2
    assert "no Logoff database" in out
    assert not (tmp_path / "b.db").exists()
    assert not leftovers(tmp_path)


def test_an_unreachable_postgres_gets_a_clear_message(tmp_path: Path):
    from tests.services.postgres import free_port

    url = f"postgres://nobody:pw-hunter22@127.0.0.1:{free_port()}/logoff"
    for verb in ("backup", "restore"):
        code, out = cli(tmp_path, url, verb, str(gen.FIXTURE if verb == "restore" else "b.db"))
        assert code == 4, out
        assert "Cannot use the database" in out
        assert "pw-hunter22" not in out
    assert not leftovers(tmp_path)


def test_a_restored_sqlite_file_ignores_a_stale_journal_of_the_old_one(tmp_path: Path):
    url = f"sqlite://{tmp_path}/data/logoff.db"
    assert cli(tmp_path, url, "migrate")[0] == 0
    db = tmp_path / "data" / "logoff.db"
    # A write-ahead log left by a killed bot must not be replayed into the restored file.
    shutil.copyfile(gen.FIXTURE, tmp_path / "old.db")
    (tmp_path / "data" / "logoff.db-wal").write_bytes(os.urandom(4096))
    code, out = cli(tmp_path, url, "restore", str(tmp_path / "old.db"))
    assert code == 0, out
    assert not (tmp_path / "data" / "logoff.db-wal").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        groups = conn.execute("SELECT count(*) FROM groups").fetchone()[0]
    assert groups == EXPECTED["counts"]["groups"]


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_database_file_is_created_private_whatever_the_umask(tmp_path: Path, umask: int):
    old = os.umask(umask)
    try:
        url = f"sqlite://{tmp_path}/data/logoff.db"
        assert cli(tmp_path, url, "migrate")[0] == 0
        assert cli(tmp_path, url, "backup", str(tmp_path / "b.db"))[0] == 0
    finally:
        os.umask(old)
    assert mode(tmp_path / "data" / "logoff.db") == 0o600
    assert mode(tmp_path / "b.db") == 0o600
