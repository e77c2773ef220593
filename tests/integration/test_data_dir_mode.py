"""The data directory is created readable by the bot's user only; an existing one is left be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def migrate(data_dir: Path, umask: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGOFF_")}
    env["LOGOFF_BOT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=umask,
    )


def test_logoff_migrate_creates_the_data_directory_mode_700_whatever_the_umask(tmp_path: Path):
    data_dir = tmp_path / "state" / "logoff"
    done = migrate(data_dir, 0o022)
    assert done.returncode == 0, done.stderr
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (data_dir / "logoff.db").stat().st_mode & 0o777 == 0o600


def test_an_existing_data_directory_keeps_the_mode_its_owner_gave_it(tmp_path: Path):
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    data_dir.chmod(0o750)
    done = migrate(data_dir, 0o022)
    assert done.returncode == 0, done.stderr
    assert data_dir.stat().st_mode & 0o777 == 0o750
