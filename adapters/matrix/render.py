"""Turns a core `Reply` into Matrix event content: body + HTML, exact mentions, reply relation."""

from __future__ import annotations

import html
from typing import Any

from adapters.matrix.threads import reply_relation
from bot.messages.actions import REACTION_ANSWERS, decode
from bot.messages.markup import to_html, to_plain
from bot.messages.replies import Button, Reply

# The one-tap answers seeded on prompts, in the order a member reads them.
VERB_KEYS = {"done": "✅", "not": "❌", "skip": "⏭️", "snooze": "💤"}
ANSWER_VERBS = frozenset(REACTION_ANSWERS.values())
# Other choices (snooze until when, confirm forget) are offered as numbered reactions.
CHOICE_KEYS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣")


def pill(user_id: str, name: str) -> str:
    href = html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    return f'<a href="{href}">{html.escape(name, quote=False)}</a>'


def is_prompt(reply: Reply) -> bool:
    """A question about one pledge period whose buttons are all done / not / skip / snooze.

    Such a message is answered by the emoji reactions the core maps (✅ ❌ ⏭ 💤). A message
    about several pledges is not: one ✅ could not say which, so it offers numbered choices.
    """
    actions = [decode(b.action) for b in reply.buttons]
    if not actions or any(a is None or a.verb not in ANSWER_VERBS for a in actions):
        return False
    return len({(a.pledge_id, a.period_key) for a in actions if a is not None}) == 1


def prompt_target(reply: Reply) -> tuple[int, str] | None:
    """The (pledge id, period key) a prompt's answers act on, for mapping reactions back."""
    for button in reply.buttons:
        action = decode(button.action)
        if action is not None and action.pledge_id and action.period_key:
            return action.pledge_id, action.period_key
    return None


def prompt_keys(reply: Reply) -> list[str]:
    """The reactions to seed: one per answer the prompt offers, in the order of its buttons."""
    keys: list[str] = []
    for button in reply.buttons:
        action = decode(button.action)
        key = VERB_KEYS.get(action.verb) if action else None
        if key and key not in keys:
            keys.append(key)
    return keys


def _choice_line(buttons: tuple[Button, ...]) -> tuple[str, str]:
    parts = [f"{CHOICE_KEYS[i]} {b.label}" for i, b in enumerate(buttons[: len(CHOICE_KEYS)])]
    plain = " · ".join(parts) + " — react to choose"
    return plain, html.escape(plain, quote=False)


def content(
    reply: Reply,
    *,
    msgtype: str,
    in_reply_to: str | None = None,
    prompt: bool = False,
    thread: str | None = None,
) -> dict[str, Any]:
    """`m.room.message` content; `m.mentions` lists exactly the reply's members (never @room)."""
    refs = {m.member_id: m for m in reply.mentions}

    def as_html(member_id: int) -> str:
        ref = refs.get(member_id)
        return pill(ref.external_id, ref.display_name or ref.external_id) if ref else "someone"

    def as_plain(member_id: int) -> str:
        ref = refs.get(member_id)
        return (ref.display_name or ref.external_id) if ref else "someone"

    body = to_plain(reply.text, as_plain)
    formatted = to_html(reply.text, as_html)
    if reply.buttons and not prompt:
        plain_line, html_line = _choice_line(reply.buttons)
        body = f"{body}\n{plain_line}"
        formatted = f"{formatted}<br>{html_line}"
    user_ids: list[str] = []
    for ref in reply.mentions:
        if ref.external_id not in user_ids:
            user_ids.append(ref.external_id)
    out: dict[str, Any] = {
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        "m.mentions": {"user_ids": user_ids} if user_ids else {},
    }
    if in_reply_to:
        out["m.relates_to"] = reply_relation(in_reply_to, thread)
    return out


def reaction(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def command_text(source: dict[str, Any], body: str) -> str | None:
    """The typed text of an `m.text` event, or None for edits; drops a reply's quoted fallback."""
    message = source.get("content") or {}
    relates = message.get("m.relates_to") or {}
    if "m.new_content" in message or relates.get("rel_type") == "m.replace":
        return None  # an edit: the original was already handled
    if relates.get("m.in_reply_to") and body.startswith("> "):
        lines = body.split("\n")
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        body = "\n".join(lines).lstrip("\n")
    return body
