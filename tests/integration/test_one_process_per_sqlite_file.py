"""A second `logoff run` on a SQLite file another one serves is refused; PostgreSQL takes two."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WAIT = 30.0  # a timeout for a hung process, not a speed requirement
UP = "Logoff console"  # printed once the database is open and the bot serves


class Bot:
    """One console `logoff run --no-input` process with its own config and data directory."""

    def __init__(self, root: Path, name: str, url: str, cwd: Path) -> None:
        self.out = root / f"{name}.out"
        self.config = root / f"{name}.toml"
        data = root / f"data-{name}"
        self.config.write_text(
            f'[bot]\ndata_dir = "{data}"\n[database]\nurl = "{url}"\n', encoding="utf-8"
        )
        self.cwd = cwd
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        for name in ("LOGOFF_CONFIG", "LOGOFF_DATABASE_URL", "LOGOFF_CRASH_POINTS"):
            self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot.app.cli", *args, "--config", str(self.config)]

    def migrate(self) -> None:
        subprocess.run(
            self.command("migrate"), cwd=self.cwd, env=self.env, check=True, capture_output=True
        )

    def start(self) -> subprocess.Popen[bytes]:
        with self.out.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command("run", "--no-input"),
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        return self.process

    def text(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def wait_up(self) -> None:
        deadline = time.monotonic() + WAIT
        assert self.process is not None
        while UP not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"logoff run did not start:\n{self.text()}")
            time.sleep(0.05)

    def ended(self) -> int:
        assert self.process is not None
        return self.process.wait(timeout=WAIT)

    def stop(self) -> int | None:
        """SIGTERM, as systemd sends; the exit status (None: it had ended already)."""
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        return self.ended()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)


def test_a_second_process_on_the_same_sqlite_file_is_refused_until_the_first_dies(
    tmp_path: Path,
) -> None:
    """The second config names the file by a relative path and has its own data directory:
    only the lock beside the file itself can tell that both are one database."""
    shared = tmp_path / "shared" / "logoff.db"
    first = Bot(tmp_path, "first", f"sqlite://{shared}", REPO)
    second = Bot(tmp_path, "second", "sqlite://shared/logoff.db", tmp_path)
    first.migrate()
    try:
        first.start()
        first.wait_up()
        assert first.process is not None

        second.start()
        code = second.ended()
        said = second.text()
        assert code != 0, said
        assert "Another Logoff process" in said, said
        assert f"process {first.process.pid}" in said, said
        assert str(shared) in said, said
        assert "PostgreSQL" in said, said
        assert "Traceback" not in said, said
        assert first.process.poll() is None, "the first process must keep serving"

        first.kill()  # SIGKILL: nothing released the lock but the OS
        second.start()
        second.wait_up()
        assert second.stop() == 0, second.text()
    finally:
        first.kill()
        second.kill()


def test_two_processes_on_one_postgresql_database_both_serve(
    tmp_path: Path, postgres_url: str
) -> None:
    first = Bot(tmp_path, "first", postgres_url, REPO)
    second = Bot(tmp_path, "second", postgres_url, REPO)
    first.migrate()
    try:
        first.start()
        second.start()
        first.wait_up()
        second.wait_up()
        assert first.stop() == 0, first.text()
        assert second.stop() == 0, second.text()
    finally:
        first.kill()
        second.kill()


def test_a_restore_under_a_running_bot_is_refused_and_works_once_it_stopped(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path, "bot", f"sqlite://{tmp_path / 'logoff.db'}", REPO)
    bot.migrate()
    backup = tmp_path / "backup.json.gz"
    made = subprocess.run(
        bot.command("backup", str(backup)), cwd=REPO, env=bot.env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    restore = bot.command("restore", str(backup), "--force")
    try:
        bot.start()
        bot.wait_up()
        refused = subprocess.run(restore, cwd=REPO, env=bot.env, capture_output=True, text=True)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "Not restored: a running Logoff process" in refused.stderr, refused.stderr
        assert "Stop the bot" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr, refused.stderr
        assert bot.process is not None
        assert bot.process.poll() is None, "a refused restore leaves the bot serving"
        assert bot.stop() == 0, bot.text()
        done = subprocess.run(restore, cwd=REPO, env=bot.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Restored" in done.stdout, done.stdout
    finally:
        bot.kill()
