"""Renders a core Reply as Discord message parts: chunks, exact user pings, buttons, file."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.messages.markup import mention_lookup, to_markdown
from bot.messages.replies import Reply

from .buttons import AnswerButton

MAX_CONTENT = 2000
MAX_BUTTONS = 25
NONCE_LENGTH = 25  # Discord's limit for a message nonce
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


@dataclass
class Rendered:
    """Message chunks; the view and the file travel with the last chunk."""

    chunks: list[str]
    allowed_mentions: discord.AllowedMentions
    view: discord.ui.View | None = None
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


def render(reply: Reply, *, ping: tuple[int, ...] = ()) -> Rendered:
    """Only the mentioned members (and `ping`) are notified; never @everyone or roles."""
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

    text = to_markdown(reply.text, mention, escape_member_text)
    if ping:
        text = " ".join(f"<@{uid}>" for uid in ping) + " " + text
    unique = list(dict.fromkeys(pinged))
    allowed = discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(uid) for uid in unique],
        replied_user=False,
    )
    return Rendered(
        chunks=split_content(text),
        allowed_mentions=allowed,
        view=button_view(reply),
        image=reply.image,
        image_name=reply.image_name or "image.png",
        image_alt=reply.image_alt,
        ephemeral=reply.private,
        pinged=unique,
        idempotency_key=reply.extra.get("idempotency_key", ""),
    )


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
