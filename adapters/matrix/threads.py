"""Threads: which thread a member's event is in, and the relation that answers inside it."""

from __future__ import annotations

from typing import Any

THREAD = "m.thread"


def thread_root(source: dict[str, Any]) -> str | None:
    """The thread root an event (raw JSON) belongs to, or None for the main timeline."""
    content = source.get("content") or {}
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates, dict) or relates.get("rel_type") != THREAD:
        return None
    root = relates.get("event_id")
    return root if isinstance(root, str) and root else None


def reply_relation(in_reply_to: str, root: str | None) -> dict[str, Any]:
    """`m.relates_to` for a reply to `in_reply_to`; inside `root`'s thread when there is one.

    In a thread this is the spec's "reply within a thread": the thread relation plus a real
    `m.in_reply_to` with `is_falling_back: false` (the reply is to that event, not a fallback).
    """
    if root is None:
        return {"m.in_reply_to": {"event_id": in_reply_to}}
    return {
        "rel_type": THREAD,
        "event_id": root,
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": in_reply_to},
    }
