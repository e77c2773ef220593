"""An append-only JSON-lines outbox that, like a real platform, deduplicates by idempotency key."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("logoff.console")


def message_id_for(key: str) -> str:
    """The stable message id a platform would return again for the same transaction id."""
    return "console-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of an outbox file (a torn last line is not a message)."""
    if not path.exists():
        return []
    out = []
    for raw in path.read_bytes().split(b"\n"):
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


class OutboxFile:
    """Each accepted message is one fsynced JSON line; a key already in the file is not re-sent.

    A process killed during a write leaves at most a torn last line: it is cut off on open, so
    the next message starts on a line of its own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._ids: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            log.warning("%s: dropping a torn last line (%d bytes)", self.path, len(data) - keep)
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
            data = data[:keep]
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                continue
            key = row.get("idempotency_key")
            if key:
                self._ids[str(key)] = str(row.get("message_id") or message_id_for(str(key)))

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def message_id(self, key: str) -> str | None:
        return self._ids.get(key)

    def append(self, key: str, target: str, local_time: str, text: str) -> str:
        """Write the message unless its key is in the file already; return its message id."""
        if key and key in self._ids:
            log.info("duplicate of %s suppressed (already in %s)", key, self.path.name)
            return self._ids[key]
        message_id = message_id_for(key) if key else f"console-n{os.getpid()}-{next(self._counter)}"
        row = {
            "idempotency_key": key or None,
            "message_id": message_id,
            "target": target,
            "local_time": local_time,
            "text": text,
        }
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
        # One write on an O_APPEND descriptor, then fsync: accepted means on disk.
        written = os.write(self._fd, line)
        if written != len(line):
            raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
        os.fsync(self._fd)
        if key:
            self._ids[key] = message_id
        return message_id

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
