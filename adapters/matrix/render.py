"""Turns a core `Reply` into Matrix event content: body + HTML, exact mentions, reply relation."""

from __future__ import annotations

import dataclasses
import html
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from adapters.matrix.threads import reply_relation
from bot.messages.actions import REACTION_ANSWERS, decode
from bot.messages.markup import to_html, to_plain
from bot.messages.notices import PLEDGE_DONE
from bot.messages.replies import Button, Reply

# The one-tap answers seeded on prompts, in the order a member reads them.
VERB_KEYS = {"done": "✅", "not": "❌", "skip": "⏭️", "snooze": "💤"}
ANSWER_VERBS = frozenset(REACTION_ANSWERS.values())
# Other choices (snooze until when, confirm forget) are offered as numbered reactions.
CHOICE_KEYS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")
BULLET = "• "
NUMBER_HINT = "React with a pledge's number when you have done it; one tap is enough."


# The HTML a Matrix client is asked to render, and nothing else: the spec's "strongly suggested
# set" for `org.matrix.custom.html` (Client-Server API, m.room.message msgtypes; matrix-spec
# content/client-server-api/modules/instant_messaging.md, v1.10 and later: `font` deprecated for
# `span`, `mx-reply` gone since v1.13). Everything the bot sends passes `sanitise`, so a client
# that applies that list shows exactly what was meant.
ALLOWED_TAGS = frozenset({
    "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
    "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead",
    "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details", "summary",
})  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "span": frozenset({"data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"}),
    "a": frozenset({"target", "href"}),
    "img": frozenset({"width", "height", "alt", "title", "src"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
    "div": frozenset({"data-mx-maths"}),
}
LINK_SCHEMES = frozenset({"https", "http", "ftp", "mailto", "magnet"})
VOID_TAGS = frozenset({"br", "hr", "img"})
MAX_DEPTH = 100  # "Tags must not be nested more than 100 levels deep."
# Dropped with what they hold, not only their tags: a script's text is not message text, and
# `mx-reply` is the old reply fallback the spec now tells clients to strip.
_DROP_WITH_CONTENT = frozenset({"script", "style", "mx-reply", "head", "title"})


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name in ("data-mx-color", "data-mx-bg-color"):
        return (
            len(value) == 7
            and value[0] == "#"
            and all(c in "0123456789abcdefABCDEF" for c in value[1:])
        )
    if tag == "a" and name == "href":
        parts = urlsplit(value)
        return parts.scheme.lower() in LINK_SCHEMES and bool(parts.netloc or parts.path)
    if tag == "img" and name == "src":
        return value.startswith("mxc://")
    if tag == "code" and name == "class":
        return value.startswith("language-") and " " not in value
    if name in ("start", "width", "height"):
        return value.isdigit()
    return True


class _Sanitiser(HTMLParser):
    """Keeps allowed tags (with allowed attributes), the text of any other, and closes what
    was left open, so the result is valid HTML within the spec's list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        if tag not in VOID_TAGS and len(self.open) >= MAX_DEPTH:
            return
        pairs = [(n, v) for n, v in attrs if v is not None and _attribute_ok(tag, n, v)]
        if tag == "img" and not any(n == "src" for n, _ in pairs):
            return  # a picture from anywhere but the homeserver is not shown at all
        kept = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in pairs)
        self.out.append(f"<{tag}{kept}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                return

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def sanitise(fragment: str) -> str:
    """`fragment` limited to the spec's tags and attributes; text stays escaped as it was."""
    parser = _Sanitiser()
    parser.feed(fragment)
    return parser.result()


def safe_message(message: dict[str, Any]) -> dict[str, Any]:
    """An `m.room.message` content (and the `m.new_content` of an edit) with sanitised HTML."""
    out = dict(message)
    if "formatted_body" in out:
        out["formatted_body"] = sanitise(str(out["formatted_body"]))
    if isinstance(out.get("m.new_content"), dict):
        out["m.new_content"] = safe_message(out["m.new_content"])
    return out


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


def batch_parts(reply: Reply) -> list[tuple[Reply, tuple[str, ...]]] | None:
    """A batched reminder or question (several pledges) as messages of at most ten pledge
    lines, each line led by its own number reaction, which means *Done* for whoever taps it.

    The core names each line's Done answer (`PLEDGE_DONE`); the buttons do not reach every
    pledge (four answers each), numbers do. Pledges beyond the tenth go into follow-up
    messages numbered from 1️⃣ again, each pinging only the members on its own lines.
    None when the reply is not such a batch (its buttons are then offered as they are).
    """
    done = tuple(reply.extra.get(PLEDGE_DONE, "").split())
    lines = reply.text.split("\n")
    bullets = [i for i, line in enumerate(lines) if line.startswith(BULLET)]
    if len(done) < 2 or len(bullets) != len(done):
        return None
    head, tail = lines[: bullets[0]], lines[bullets[-1] + 1 :]
    size = len(CHOICE_KEYS)
    chunks = [list(range(i, min(i + size, len(done)))) for i in range(0, len(done), size)]
    parts = []
    for n, chunk in enumerate(chunks):
        body = [
            CHOICE_KEYS[k] + " " + lines[bullets[i]][len(BULLET) :] for k, i in enumerate(chunk)
        ]
        if n == 0:
            top = head
        else:
            top = [f"(continued: pledges {chunk[0] + 1}–{chunk[-1] + 1} of {len(done)})"]
        bottom = [NUMBER_HINT] if tail else []
        text = "\n".join([*top, *body, *bottom])
        mentions = tuple(m for m in reply.mentions if f"{{@{m.member_id}}}" in "\n".join(body))
        part = dataclasses.replace(reply, text=text, buttons=(), mentions=mentions)
        parts.append((part, tuple(done[i] for i in chunk)))
    return parts


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
