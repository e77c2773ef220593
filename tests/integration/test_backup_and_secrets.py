"""Backups of a live SQLite database restore completely; secrets never reach the logs."""

from __future__ import annotations

import logging
import os
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.redaction import MASK, RedactSecrets
from storage.backup import backup_sqlite
from tests.integration.test_cli import logoff
from tests.support.session import open_session

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


async def test_a_backup_taken_while_the_bot_writes_restores_everything(tmp_path: Path):
    live = tmp_path / "live.db"
    copy = tmp_path / "backup" / "copy.db"
    copy.parent.mkdir()
    async with open_session(f"sqlite://{live}", START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("@ana !pledge join 1")
        await s.say("@ana !done 1 called Sam")
        tables = await backup_sqlite(live, copy)  # the bot's connection is still open
        await s.say("@ben !pledge join 1")  # written after the backup: not in it
    assert tables >= 10
    async with open_session(f"sqlite://{copy}", START, "Europe/Berlin") as restored:
        board = await restored.say("!pledge list")
        assert "ana ✅" in board
        assert "ben" not in board


def test_the_backup_command_copies_and_names_the_restore_command(tmp_path: Path):
    (tmp_path / "config.toml").write_text('[bot]\ndata_dir = "d"\n')
    assert logoff("migrate", cwd=tmp_path).returncode == 0
    made = logoff("backup", str(tmp_path / "b.db"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "b.db").exists()
    assert f"logoff restore {tmp_path / 'b.db'}" in made.stdout


def test_secrets_are_masked_in_log_lines_and_tracebacks():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "login with %s failed", ("s3cr3t-token",), None
    )
    try:
        raise RuntimeError("token s3cr3t-token refused")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets(["s3cr3t-token"]).filter(record)
    assert "s3cr3t-token" not in record.getMessage()
    assert MASK in record.getMessage()
    assert record.exc_text is not None
    assert "s3cr3t-token" not in record.exc_text


def test_a_config_file_with_secrets_readable_by_others_gets_a_warning(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[discord]\nenabled = false\ntoken = "abcd-secret-token"\n')
    os.chmod(path, 0o644)
    out = logoff("--config", str(path), "check-config")
    assert "chmod 600" in out.stdout
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    quiet = logoff("--config", str(path), "check-config")
    assert "chmod 600" not in quiet.stdout
    assert "abcd-secret-token" not in quiet.stdout + quiet.stderr


def test_secret_shaped_values_are_masked_even_when_nobody_named_them():
    from bot.app.redaction import scrub

    line = (
        "response {'access_token': 'syt_abc_DEF123', 'password': \"hunter2hunter\"} "
        "Bearer xyzxyzxyz1"
    )
    out = scrub(line)
    assert "syt_abc_DEF123" not in out
    assert "hunter2hunter" not in out
    assert "xyzxyzxyz1" not in out
    assert "tok123456" not in scrub("GET /sync?access_token=tok123456&since=s1")
