"""Offline events on Matrix: emoji answers on event messages, `m.replace` edits, file types."""

from __future__ import annotations

import html
import json
import logging
import os
from pathlib import Path
from typing import Any

from bot.messages.replies import Reply

log = logging.getLogger("logoff.matrix")

# Messages whose buttons are answered by reacting with the buttons' own emoji (✅ 🤔 ❌ on an
# event; ✅ ❌ on "did you make it?"): the core marks them with this `extra["answers"]`.
EMOJI_ANSWERS = "emoji"
KEPT = 500  # answerable messages remembered; older ones are answered by typing the command
MIME_TYPES = {
    ".ics": "text/calendar",
    ".json": "application/json",
    ".png": "image/png",
}


def answered_by_emoji(reply: Reply) -> bool:
    """Every button has its own distinct emoji and the core asked for emoji answers."""
    keys = [b.emoji for b in reply.buttons]
    return (
        reply.extra.get("answers") == EMOJI_ANSWERS
        and bool(keys)
        and all(keys)
        and len(set(keys)) == len(keys)
    )


def emoji_line(reply: Reply) -> str:
    """The legend under the message, so a reader knows what each reaction means."""
    return " · ".join(f"{b.emoji} {b.label}" for b in reply.buttons) + " — react to answer"


def with_legend(message: dict[str, Any], reply: Reply) -> dict[str, Any]:
    line = emoji_line(reply)
    out = dict(message)
    out["body"] = f"{message['body']}\n{line}"
    if "formatted_body" in message:
        out["formatted_body"] = f"{message['formatted_body']}<br>{html.escape(line, quote=False)}"
    return out


def _bare(key: str) -> str:
    """Clients differ in sending ✅ with or without the emoji variation selector."""
    return key.strip().replace("\ufe0f", "")


def mime_type(name: str) -> str:
    return MIME_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def replacement(original_event_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """An `m.replace` edit (spec: Event replacements): a `* ` fallback for clients that do not
    know edits, the whole new content in `m.new_content`, and no new pings: the top-level
    `m.mentions` names only people this revision adds, and an update of counts adds none."""
    fallback: dict[str, Any] = {
        "msgtype": new["msgtype"],
        "body": f"* {new['body']}",
        "m.new_content": {k: v for k, v in new.items() if k != "m.relates_to"},
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
    }
    if "formatted_body" in new:
        fallback["format"] = new.get("format", "org.matrix.custom.html")
        fallback["formatted_body"] = f"* {new['formatted_body']}"
    return fallback


class EmojiAnswers:
    """Which emoji on which of our messages stands for which encoded action, kept on disk so a
    reaction after a restart still answers (a 0600 JSON file in the Matrix data directory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s (%s)", self.path, exc)
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def remember(self, event_id: str, owner: str, reply: Reply) -> None:
        actions = {_bare(b.emoji): b.action for b in reply.buttons}
        self.data[event_id] = {"owner": owner, "actions": actions}
        while len(self.data) > KEPT:
            del self.data[next(iter(self.data))]
        self._save()

    def action(self, event_id: str, key: str, sender: str) -> str | None:
        """The action a reaction stands for; None when it is not an answer or not theirs."""
        entry = self.data.get(event_id)
        if entry is None:
            return None
        owner = entry.get("owner") or ""
        if owner and owner != sender:
            return None
        actions = entry.get("actions") or {}
        found = actions.get(_bare(key))
        return found if isinstance(found, str) else None

    def knows(self, event_id: str) -> bool:
        return event_id in self.data

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.data, out)
        os.replace(tmp, self.path)
