"""What the Matrix adapter keeps between runs: login, sync token, direct rooms (a 0600 file)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import StartRefused

log = logging.getLogger("logoff.matrix")

HANDLED_KEPT = 500  # recent event ids, so a batch interrupted mid-way is not answered twice


@dataclass
class MatrixState:
    """Platform state that is not the group's data (DESIGN: it lives in the data directory)."""

    homeserver: str = ""
    user_id: str = ""
    device_id: str = ""
    access_token: str = ""
    sync_token: str = ""
    direct_rooms: dict[str, str] = field(default_factory=dict)  # member user id -> room id
    direct_room_ids: list[str] = field(default_factory=list)  # every 1:1 room with the bot
    handled: list[str] = field(default_factory=list)

    def logged_in_as(self, homeserver: str, user_id: str) -> bool:
        return bool(
            self.access_token
            and self.device_id
            and self.homeserver == homeserver
            and self.user_id == user_id
        )


class StateFile:
    """Atomic JSON writes with owner-only permissions: the file holds an access token."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "session.json"

    def load(self) -> MatrixState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return MatrixState()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s (%s); logging in afresh", self.path, exc)
            return MatrixState()
        known = set(MatrixState.__dataclass_fields__)
        return MatrixState(**{k: v for k, v in raw.items() if k in known})

    def save(self, state: MatrixState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        state.handled = state.handled[-HANDLED_KEPT:]
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(state), out)
        os.replace(tmp, self.path)


class DirectoryInUse(StartRefused):
    """Another live process holds this Matrix data directory."""


class DirectoryLock:
    """One live process per Matrix data directory: its session, crypto store and claims.

    Two processes on one nio store (or one saved login) corrupt each other's state; and the
    instance id kept in the lock file names this directory in the database's event claims,
    where the lock is what lets a restart take its dead predecessor's claims back at once.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "lock"
        self._fd = -1
        self.instance = ""

    def acquire(self) -> str:
        import fcntl
        import secrets

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DirectoryInUse(
                f"Another Logoff process is using {self.path.parent} (its Matrix login and "
                "store). Stop it first, or give each process its own [bot] data_dir: processes "
                "can share one database and one Matrix account, not one data directory."
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
