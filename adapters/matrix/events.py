"""Offline events on Matrix: emoji answers on event messages, `m.replace` edits, file types."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from bot.messages.actions import decode
from bot.messages.event_card import CARD_KEY
from bot.messages.replies import Reply

MIME_TYPES = {
    ".ics": "text/calendar",
    ".json": "application/json",
    ".png": "image/png",
}


def answered_by_emoji(reply: Reply, in_reply_to: str | None) -> bool:
    """An event's card (✅ 🤔 ❌) or its scheduled "did you make it?" (✅ ❌): every button an
    answer about an event with its own emoji. The core maps such reactions back through the
    message id it keeps (the card's, the question's); any other reply with such buttons (a
    private `event show`) keeps the numbered choices, which need no stored id."""
    keys = [b.emoji for b in reply.buttons]
    actions = [decode(b.action) for b in reply.buttons]
    mapped = (CARD_KEY in reply.extra and not reply.private) or in_reply_to is None
    return (
        mapped
        and bool(keys)
        and all(keys)
        and len(set(keys)) == len(keys)
        and all(a is not None and a.is_event for a in actions)
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


def file_content(
    reply: Reply, name: str, url: str, keys: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An uploaded picture as `m.image` (any other file as `m.file`) with `info` (mimetype,
    size, w, h); with `keys` (an encrypted upload) the URI goes in `file`, an EncryptedFile
    with key, iv, hashes and v, and there is no top-level `url` (spec: Sending encrypted
    attachments)."""
    assert reply.image is not None
    mime = mime_type(name)
    picture = mime == "image/png"
    info: dict[str, Any] = {"mimetype": mime, "size": len(reply.image)}
    if reply.image_size is not None:
        info["w"], info["h"] = reply.image_size
    out: dict[str, Any] = {
        "msgtype": "m.image" if picture else "m.file",
        "body": (reply.image_alt or name) if picture else name,
        "filename": name,
        "info": info,
        "m.mentions": {},
    }
    if keys is None:
        out["url"] = url
    else:
        out["file"] = {
            "url": url,
            "key": keys["key"],
            "iv": keys["iv"],
            "hashes": keys["hashes"],
            "v": keys.get("v", "v2"),
        }
    return out


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
