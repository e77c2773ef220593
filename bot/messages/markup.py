"""Light Markdown for replies: rendering to HTML and plain text, mentions, and marked member text.

Text a member wrote (titles, names, places, what they typed) is wrapped by `inert` in two
private-use marks. Every renderer lifts the marked spans out before it reads any markup, and
puts them back escaped for its own platform (`to_html`: HTML-escaped; `to_plain`: as written;
`to_markdown`: escaped by the adapter's function), so member text never becomes markup.
"""

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
# Around member-written text (see the module docstring); clean_text drops both from input.
MEMBER_OPEN = "\ue001"
MEMBER_CLOSE = "\ue002"
_MEMBER = re.compile("\ue001([^\ue001\ue002]*)\ue002")
_MARKS = re.compile("[\ue000-\ue002]")  # the command mark (messages.syntax) and these two
_STRAY = re.compile("[\ue001\ue002]")
_SLOT = re.compile(r"\x01(\d+)\x01")


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
    """Member-written text marked for the renderers to escape; mass pings defanged everywhere."""
    text = _MARKS.sub("", text)
    text = _PINGS.sub(lambda m: "@" + ZWSP + m.group(1), text)
    return MEMBER_OPEN + text + MEMBER_CLOSE


def typed(text: str, limit: int = 60) -> str:
    """What a member typed, echoed back: cleaned, cut to `limit` and marked as member text."""
    return inert(clean_text(text)[:limit])


def member_spans(text: str) -> list[str]:
    """The member-written texts marked in `text`, in order (for tests and checks)."""
    return _MEMBER.findall(text)


def _lift(text: str) -> tuple[str, list[str]]:
    """Member spans out of the text (as numbered slots) before any markup is read."""
    spans: list[str] = []

    def keep(m: re.Match[str]) -> str:
        spans.append(m.group(1))
        return f"\x01{len(spans) - 1}\x01"

    return _STRAY.sub("", _MEMBER.sub(keep, text)), spans


def _put_back(text: str, spans: list[str], escape: Callable[[str], str]) -> str:
    return _SLOT.sub(lambda m: escape(spans[int(m.group(1))]), text)


def _unescape(text: str) -> str:
    # Core-written escapes (`\*`), and marks left in text stored before the renderers lifted them.
    return _MARKS.sub("", re.sub(r"\\([*_`])", r"\1", text))


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

    Marked instants read in the group's zone (bot.messages.instants). Member text is
    HTML-escaped and never read as Markdown."""
    text, spans = _lift(resolve(text, zone_text))
    out = _by_fences(
        text,
        lambda part: _inline_html(part, mention_html),
        lambda code: f"<pre><code>{html.escape(code, quote=False)}</code></pre>",
    )
    return _put_back(out, spans, lambda span: html.escape(span, quote=False))


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
    """Markup dropped; member text as the member wrote it (only mass pings defanged); marked
    instants in the group's zone."""
    text, spans = _lift(resolve(text, zone_text))
    out = _by_fences(text, lambda part: _inline_plain(part, mention_plain), lambda code: code)
    return _put_back(out, spans, lambda span: span)


def _inline_plain(text: str, mention_plain: Callable[[int], str]) -> str:
    body, escapes = _protect(text)
    body = _BOLD.sub(r"\1", body)
    body = _ITALIC.sub(r"\1", body)
    body = _CODE.sub(r"\1", body)
    body = MENTION.sub(lambda m: mention_plain(int(m.group(1))), body)
    return _restore(body, escapes)


def to_markdown(
    text: str,
    mention_md: Callable[[int], str],
    escape: Callable[[str], str],
    instant: Callable[[Instant], str] = zone_text,
) -> str:
    """For platforms that speak Markdown natively (Discord): mentions are filled in, member
    text goes through the platform's `escape`, marked instants through `instant` (Discord
    renders its own timestamps, in each reader's zone); the core's own Markdown passes as
    written."""
    text, spans = _lift(resolve(text, instant))
    out = MENTION.sub(lambda m: mention_md(int(m.group(1))), text)
    return _put_back(out, spans, escape)


def mention_lookup(mentions: tuple[MentionRef, ...]) -> dict[int, MentionRef]:
    return {m.member_id: m for m in mentions}


def unescape_plain(text: str) -> str:
    """A piece of raw reply text (not rendered) without its escapes and marks."""
    return _unescape(text)
