"""An exclusive lock on a file, held while the process lives: the OS drops it at any exit."""

from __future__ import annotations

import os
from pathlib import Path


class FileLock:
    """`flock` on `path`, one process at a time; a SIGKILL frees it as a clean exit does.

    The lock file stays on disk (removing it would let a third process lock a new file while
    the second still holds the old one); what it says is up to the holder (`write`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another live process holds it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def read(self) -> str:
        """What the lock file says (readable without holding it: a refusal names the holder)."""
        try:
            return self.path.read_text(errors="replace")[:200].strip()
        except OSError:
            return ""

    def write(self, text: str) -> None:
        """Replace what the lock file says (only while holding it)."""
        assert self._fd >= 0, "write only while holding the lock"
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, text.encode())
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1
