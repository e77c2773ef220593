"""Renders a core Reply as Discord message parts: chunks or a card, exact user pings, buttons,
file, and each marked instant as a Discord timestamp."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.messages.instants import Instant
from bot.messages.markup import mention_lookup, to_markdown
from bot.messages.replies import Reply

from .buttons import AnswerButton
from .cards import card_view

MAX_CONTENT = 2000
MAX_BUTTONS = 25
NONCE_LENGTH = 25  # Discord's limit for a message nonce
# How each core instant style reads on Discord: the client formats `<t:UNIX:x>` in the
# reader's own zone and locale (f: date and time, F: with the weekday, t: time, D: date,
# R: "in 3 hours").
TIMESTAMPS = {
    "f": "<t:{u}:f>",
    "s": "<t:{u}:f>",
    "t": "<t:{u}:t>",
    "wt": "<t:{u}:f>",
    "d": "<t:{u}:D>",
    "on": "<t:{u}:f> (<t:{u}:R>)",
    "day": "<t:{u}:f> (<t:{u}:R>)",
    "slot": "<t:{u}:F>",  # with the weekday: the slot comes back every week
    "slotday": "<t:{u}:t>",
}
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


@dataclass
class Rendered:
    """Message chunks; the view and the file travel with the last chunk. With a `card` (a
    components v2 layout) there is one message, and the card is all of it: no content."""

    chunks: list[str]
    allowed_mentions: discord.AllowedMentions
    view: discord.ui.View | None = None
    card: discord.ui.LayoutView | None = None
    image: bytes | None = None
    image_name: str = ""
    image_alt: str = ""
    ephemeral: bool = False
    pinged: list[int] = field(default_factory=list)
    idempotency_key: str = ""

    def nonce(self, index: int) -> str | None:
        """A stable nonce per chunk: Discord then ignores a resend of a message it already took
        (a retry after a timeout), instead of posting it twice."""
        if not self.idempotency_key:
            return None
        digest = hashlib.sha256(f"{self.idempotency_key}#{index}".encode()).hexdigest()
        return digest[:NONCE_LENGTH]

    def kwargs(self, index: int) -> dict[str, Any]:
        """Keyword arguments for `send`/`send_message` of chunk `index`."""
        last = index == len(self.chunks) - 1
        if self.card is not None:
            return {"view": self.card, "allowed_mentions": self.allowed_mentions}
        kw: dict[str, Any] = {
            "content": self.chunks[index],
            "allowed_mentions": self.allowed_mentions,
        }
        if last and self.view is not None:
            kw["view"] = self.view
        if last and self.image is not None:
            kw["file"] = discord.File(
                io.BytesIO(self.image),
                filename=self.image_name,
                description=self.image_alt[:1024] or None,
            )
        return kw


def escape_member_text(text: str) -> str:
    """Member-written text as Discord shows it literally: no Markdown (masked links, spoilers,
    headings, quotes) and no `<@…>`, `<#…>`, `<t:…>` or custom emoji syntax."""
    return discord.utils.escape_markdown(text).replace("<", "\\<")


def render(reply: Reply, *, ping: tuple[int, ...] = (), cards: bool = True) -> Rendered:
    """Only the mentioned members (and `ping`) are notified; never @everyone or roles.
    `cards=False` keeps the plain form (a DM, where some clients cannot show cards)."""
    refs = mention_lookup(reply.mentions)
    pinged: list[int] = list(ping)

    def mention(member_id: int) -> str:
        ref = refs.get(member_id)
        if ref is None:
            return "someone"
        if ref.platform == "discord" and ref.external_id.isdigit():
            pinged.append(int(ref.external_id))
            return f"<@{ref.external_id}>"
        return escape_member_text(ref.display_name)

    text = to_markdown(reply.text, mention, escape_member_text, timestamp)
    if ping:
        text = " ".join(f"<@{uid}>" for uid in ping) + " " + text
    unique = list(dict.fromkeys(pinged))
    allowed = discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(uid) for uid in unique],
        replied_user=False,
    )
    card = card_view(reply, text, STYLES) if cards else None
    return Rendered(
        chunks=["\u200b"] if card is not None else split_content(text),
        allowed_mentions=allowed,
        view=None if card is not None else button_view(reply),
        card=card,
        image=reply.image,
        image_name=reply.image_name or "image.png",
        image_alt=reply.image_alt,
        ephemeral=reply.private,
        pinged=unique,
        idempotency_key=reply.extra.get("idempotency_key", ""),
    )


def timestamp(instant: Instant) -> str:
    """A marked instant as a Discord timestamp: each member reads it in their own zone."""
    return TIMESTAMPS.get(instant.style, "<t:{u}:f>").format(u=instant.unix)


def button_view(reply: Reply) -> discord.ui.View | None:
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in reply.buttons[:MAX_BUTTONS]:
        style = STYLES.get(button.style, discord.ButtonStyle.secondary)
        view.add_item(AnswerButton.make(button.label, button.action, style, button.emoji or None))
    return view


def split_content(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Split at line breaks into pieces Discord accepts (2,000 characters each)."""
    text = text.strip() or "\u200b"
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current or "\u200b")
    return pieces
