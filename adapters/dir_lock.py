"""One live process per adapter data directory: a file lock, and the instance id the claims name."""

from __future__ import annotations

import secrets
from pathlib import Path

from bot.errors import StartRefused
from bot.file_lock import FileLock


class DirectoryInUse(StartRefused):
    """Another live process holds this adapter's data directory."""


class DirectoryLock:
    """One live process per adapter data directory (Matrix: its login, store and claims;
    Discord: its claims).

    Two processes on one nio store (or one saved login) corrupt each other's state; and the
    instance id kept in the lock file names this directory in the database's event claims,
    where the lock is what lets a restart take its dead predecessor's claims back at once.
    """

    def __init__(self, directory: Path, holds: str = "its state") -> None:
        self._lock = FileLock(directory / "lock")
        self.path = self._lock.path
        self.holds = holds  # what the directory keeps, for the refusal's message
        self.instance = ""

    def acquire(self) -> str:
        """Take the lock (or raise DirectoryInUse); the instance id, made on the first start."""
        if not self._lock.acquire():
            raise DirectoryInUse(
                f"Another Logoff process is using {self.path.parent} ({self.holds}). Stop it "
                "first, or give each process its own [bot] data_dir: processes can share one "
                "database and one account or token, not one data directory."
            )
        raw = self._lock.read()
        if not raw.isalnum():
            raw = secrets.token_hex(8)
            self._lock.write(raw)
        self.instance = raw
        return raw

    def release(self) -> None:
        self._lock.release()
