"""Discord state kept in the data directory: the synced command hash and closed-DM notices."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JsonFile:
    """A small JSON object on disk, rewritten atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


class CommandHashes(JsonFile):
    """Hash of the last command set synced per scope, so an unchanged set is not re-synced."""

    def get(self, scope: str) -> str | None:
        value = self.data.get(scope)
        return value if isinstance(value, str) else None

    def set(self, scope: str, digest: str | None) -> None:
        if digest is None:
            self.data.pop(scope, None)
        else:
            self.data[scope] = digest
        self.save()


class ClosedDms(JsonFile):
    """Members whose DMs are closed: "pending" until they were told once, privately, then "told"."""

    def closed(self, user_id: int) -> None:
        key = str(user_id)
        if key not in self.data:
            self.data[key] = "pending"
            self.save()

    def opened(self, user_id: int) -> None:
        if self.data.pop(str(user_id), None) is not None:
            self.save()

    def needs_notice(self, user_id: int) -> bool:
        return self.data.get(str(user_id)) == "pending"

    def told(self, user_id: int) -> None:
        self.data[str(user_id)] = "told"
        self.save()


def discord_dir(data_dir: Path) -> Path:
    return data_dir / "discord"
