"""One live process per adapter data directory: a flock, and the instance id the claims name."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.errors import StartRefused


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
        self.path = directory / "lock"
        self.holds = holds  # what the directory keeps, for the refusal's message
        self._fd = -1
        self.instance = ""

    def acquire(self) -> str:
        """Take the lock (or raise DirectoryInUse); the instance id, made on the first start."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DirectoryInUse(
                f"Another Logoff process is using {self.path.parent} ({self.holds}). Stop it "
                "first, or give each process its own [bot] data_dir: processes can share one "
                "database and one account or token, not one data directory."
            ) from None
        raw = os.read(fd, 200).decode(errors="replace").strip()
        if not raw.isalnum():
            raw = secrets.token_hex(8)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, raw.encode())
            os.fsync(fd)
        self._fd, self.instance = fd, raw
        return raw

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1
