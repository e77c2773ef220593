"""Light Markdown for replies: rendering to HTML and plain text, mentions, and inert user text."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable

from bot.messages.instants import Instant, resolve, zone_text
from bot.messages.replies import MentionRef

MENTION = re.compile(r"\{@(\d+)\}")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])_(.+?)_(?![*\w])")
_CODE = re.compile(r"`([^`]+)`")
_PINGS = re.compile(r"@(everyone|here|room)\b", re.IGNORECASE)
ZWSP = "\u200b"


def clean_text(text: str) -> str:
    """Strip control and format characters (keeping newlines and tabs as spaces)."""
    out = []
    for ch in text:
        if ch in "\n\t\r":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch != "\u200d":
            continue
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def inert(text: str) -> str:
    """User text made safe to embed: no mass pings, no fake mentions, no markup."""
    text = _PINGS.sub(lambda m: "@" + ZWSP + m.group(1), text)
    text = text.replace("{@", "{" + ZWSP + "@")
    for ch in "*_`":
        text = text.replace(ch, "\\" + ch)
    return text


def _unescape(text: str) -> str:
    return re.sub(r"\\([*_`])", r"\1", text)


def _protect(text: str) -> tuple[str, list[str]]:
    escapes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        escapes.append(m.group(1))
        return f"\x00{len(escapes) - 1}\x00"

    return re.sub(r"\\([*_`])", keep, text), escapes


def _restore(text: str, escapes: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: escapes[int(m.group(1))], text)


_FENCE = re.compile(r"```(\w*)\n(.*?)\n?```", re.DOTALL)


def _by_fences(text: str, inline: Callable[[str], str], block: Callable[[str], str]) -> str:
    """Render the text between ``` fences with `inline` and the fenced blocks with `block`."""
    parts = _FENCE.split(text)  # [text, lang, code, text, lang, code, ..., text]
    out = []
    for i in range(0, len(parts), 3):
        out.append(inline(parts[i]))
        if i + 2 < len(parts):
            out.append(block(parts[i + 2]))
    return "".join(out)


def to_html(text: str, mention_html: Callable[[int], str]) -> str:
    """Markdown subset to HTML; `mention_html(member_id)` renders a ping (e.g. a Matrix pill).
    Marked instants read in the group's zone (bot.messages.instants)."""
    return _by_fences(
        resolve(text, zone_text),
        lambda part: _inline_html(part, mention_html),
        lambda code: f"<pre><code>{html.escape(code, quote=False)}</code></pre>",
    )


def _inline_html(text: str, mention_html: Callable[[int], str]) -> str:
    body, escapes = _protect(text)
    body = html.escape(body, quote=False)
    body = _CODE.sub(r"<code>\1</code>", body)
    body = _BOLD.sub(r"<strong>\1</strong>", body)
    body = _ITALIC.sub(r"<em>\1</em>", body)
    body = MENTION.sub(lambda m: mention_html(int(m.group(1))), body)
    body = _restore(body, [html.escape(e) for e in escapes])
    return body.replace("\n", "<br>")


def to_plain(text: str, mention_plain: Callable[[int], str]) -> str:
    return _by_fences(
        resolve(text, zone_text), lambda part: _inline_plain(part, mention_plain), lambda code: code
    )


def _inline_plain(text: str, mention_plain: Callable[[int], str]) -> str:
    body, escapes = _protect(text)
    body = _BOLD.sub(r"\1", body)
    body = _ITALIC.sub(r"\1", body)
    body = _CODE.sub(r"\1", body)
    body = MENTION.sub(lambda m: mention_plain(int(m.group(1))), body)
    return _restore(body, escapes)


def to_markdown(
    text: str, mention_md: Callable[[int], str], instant: Callable[[Instant], str] = zone_text
) -> str:
    """For platforms that speak Markdown natively (Discord): only mentions and marked instants
    change (Discord renders its own timestamps, in each reader's zone)."""
    return MENTION.sub(lambda m: mention_md(int(m.group(1))), resolve(text, instant))


def mention_lookup(mentions: tuple[MentionRef, ...]) -> dict[int, MentionRef]:
    return {m.member_id: m for m in mentions}


def unescape_plain(text: str) -> str:
    return _unescape(text)
