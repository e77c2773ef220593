"""What the Matrix adapter keeps between runs: login, sync token, direct rooms (a 0600 file)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
