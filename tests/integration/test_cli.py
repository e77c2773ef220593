"""The `logoff` command line as a newcomer uses it: sandbox scripts, migrate, run, check-config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.migrations import applied_line

LOGOFF = [sys.executable, "-m", "bot.app.cli"]
ROOT = Path(__file__).resolve().parents[2]


def logoff(
    *args: str, stdin: str = "", cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("LOGOFF_CONFIG", None)
    return subprocess.run(
        [*LOGOFF, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
        env=full_env,
        check=False,
    )


SCRIPT = """\
!pledge new "Attend one local meeting" per week
@ana !pledge join 1
@ben !pledge join 1
!done 1
@ana !done attend
@ben !vouch @ana 1
!wait 7d13h
!streak
@ana !streak
!summary
!done 42
"""


def test_a_scripted_sandbox_month_runs_to_the_end_of_input(tmp_path: Path):
    result = logoff(
        "sandbox",
        "--start",
        "2026-11-30T09:00",
        "--tz",
        "Europe/Berlin",
        "--user",
        "maria",
        stdin=SCRIPT,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "New pledge 1 Attend one local meeting" in out
    assert "(time is now Mon 07 Dec 2026 22:00 Europe/Berlin)" in out
    assert "streak 1 week (best 1)" in out
    assert "Group streak: 1 week" in out
    assert "No pledge here matches “42”" in out
    assert "Traceback" not in result.stderr


def test_run_refuses_an_unmigrated_database_and_names_the_fix(tmp_path: Path):
    (tmp_path / "config.toml").write_text('[bot]\ndata_dir = "d"\n')
    result = logoff("run", cwd=tmp_path, stdin="!help\n")
    assert result.returncode == 3
    assert "logoff migrate" in result.stderr


def test_run_after_migrate_serves_the_console_on_sqlite(tmp_path: Path):
    (tmp_path / "config.toml").write_text('[bot]\ndata_dir = "d"\n')
    migrated = logoff("migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert applied_line() in migrated.stdout
    result = logoff(
        "run",
        "--user",
        "maria",
        cwd=tmp_path,
        stdin='!pledge new "Call a neighbour"\n!pledge list\n',
    )
    assert result.returncode == 0, result.stderr
    assert "maria 0/1" in result.stdout
    again = logoff("run", "--user", "maria", cwd=tmp_path, stdin="!pledge list\n")
    assert "Call a neighbour" in again.stdout  # nothing lost across a restart
    assert (tmp_path / "d" / "logoff.db").exists()


def test_check_config_lists_every_problem(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('[bot]\ntimezone = "Nowhere/Land"\n[schedule]\nsummary = "someday"\n')
    result = logoff("--config", str(path), "check-config")
    assert result.returncode == 2
    assert "bot.timezone" in result.stderr
    assert "schedule.summary" in result.stderr
    ok = logoff("--config", str(ROOT / "config.example.toml"), "check-config")
    assert ok.returncode == 0
    assert "Configuration OK" in ok.stdout


def test_sandbox_rejects_a_bad_start_date(tmp_path: Path):
    result = logoff("sandbox", "--start", "next tuesday", cwd=tmp_path)
    assert result.returncode == 2
    assert "is not an ISO date or date-time" in result.stderr


def test_an_unreachable_database_is_named_not_mistaken_for_an_old_schema(tmp_path: Path):
    (tmp_path / "config.toml").write_text('[database]\nurl = "postgres://u:pw@127.0.0.1:1/db"\n')
    result = logoff("run", cwd=tmp_path)
    assert result.returncode == 4
    assert "Cannot reach the database" in result.stderr
    assert "logoff migrate" not in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_a_missing_directory_for_a_sqlite_file(tmp_path: Path):
    url = f"sqlite://{tmp_path}/deep/er/x.db"
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "{url}"\n')
    result = logoff("migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "deep" / "er" / "x.db").exists()


MIXED = """\
!pledge new "Attend one local meeting" per week remind "thu 18:00"
!pledge new "Walk outside" per day remind "08:30"
@ana !pledge join 1
@ana !pledge join 2
@cy !me timezone America/New_York
@cy !pledge join 1
@cy !pledge join 2
!settings cap 2
!wait 14d
!settings
"""


def test_the_sandbox_keeps_log_lines_out_of_the_conversation(tmp_path: Path):
    result = logoff(
        "sandbox", "--start", "2026-10-05T09:00", "--tz", "Europe/Berlin", stdin=MIXED, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Held back by the weekly cap this week" in result.stdout  # the admin can see it
    for stream in (result.stdout, result.stderr):
        assert "WARNING" not in stream
        assert "logoff.attention" not in stream
    assert "(Log: " in result.stdout


def test_config_is_accepted_before_and_after_the_verb(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[bot]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    before = logoff("--config", str(config), "check-config")
    after = logoff("check-config", "--config", str(config))
    assert before.returncode == after.returncode == 0
    assert "Asia/Tokyo" in before.stdout
    assert "Asia/Tokyo" in after.stdout


def test_every_verb_explains_itself_in_its_help():
    for verb in (
        "run",
        "sandbox",
        "simulate",
        "migrate",
        "check-config",
        "backup",
        "restore",
        "discord-sync",
    ):
        shown = logoff(verb, "--help")
        assert shown.returncode == 0
        description = shown.stdout.split("\n\n")[1]
        assert description[0].isupper(), (verb, description)
        assert "--config" in shown.stdout


def test_a_config_that_is_not_utf8_gets_a_message_not_a_traceback(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_bytes(b'[bot]\nname = "\xff\xfe"\n')
    for verb in ("check-config", "run", "migrate"):
        result = logoff(verb, "--config", str(config))
        assert result.returncode == 2
        assert "is not UTF-8" in result.stderr
        assert "Traceback" not in result.stderr


def test_simulate_with_a_start_that_is_not_a_date_says_how_to_write_one():
    result = logoff("simulate", "--start", "yesterday")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--start 2026-11-30" in result.stderr


def test_a_backup_to_a_folder_is_refused_and_leaves_nothing_behind(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert logoff("migrate", "--config", str(config)).returncode == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    result = logoff("backup", str(folder), "--config", str(config))
    assert result.returncode == 2
    assert "is a folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(folder.iterdir()) == []
    assert list(tmp_path.glob("*.partial")) == []


def test_the_sandbox_saves_the_pictures_it_would_attach_and_prints_where(tmp_path: Path):
    from PIL import Image

    result = logoff(
        "sandbox",
        "--start",
        "2026-11-30T09:00",
        "--tz",
        "Europe/Berlin",
        "--pictures",
        "pics",
        stdin=SCRIPT,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shown = [
        line.split("picture: ", 1)[1] for line in result.stdout.splitlines() if "picture: " in line
    ]
    # The weekly summary (Mon 7 Dec 18:00) and two `!streak` grids.
    assert len(shown) == 3, result.stdout
    for entry in shown:
        path, _, size = entry.partition(" (")
        saved = Path(path)
        assert saved.parent == tmp_path / "pics"
        assert saved.stat().st_mode & 0o777 == 0o600
        with Image.open(saved) as picture:
            assert picture.format == "PNG"
            assert size.startswith(f"{picture.width}x{picture.height}, ")
    assert any(Path(p.split(" (")[0]).name.endswith("summary.png") for p in shown)
    assert "2026-12-07-1800-summary.png" in result.stdout
