"""Finding a scheduled message on Discord again: the bot's own recent messages, matched by render.

Discord keeps a message's nonce only in the answer to the create call (and the gateway event),
never in history reads, so a message that was accepted just before a crash cannot be found by
its nonce once Discord's nonce window (a few minutes) is over. What a job renders is a pure
function of its stored payload (text, mentions, the buttons' custom ids, which name the pledge
and period), so the same job renders the same message on every attempt: that is what is looked
for, among the bot's own plain messages (not interaction answers) in the last
`LOOKBACK_MESSAGES` of the channel or DM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from .render import Rendered

log = logging.getLogger("logoff.discord")

# Two history pages. Reconciling runs for a job that was handed over and never recorded, which
# is found at the next claim (a restart, a lease that ran out): minutes, rarely hours, later.
LOOKBACK_MESSAGES = 200


@dataclass(frozen=True)
class Fingerprint:
    """What a member sees of one message chunk: its text, a card's text displays and its
    buttons' custom ids."""

    content: str
    custom_ids: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()


TEXT_DISPLAY = 10


def fingerprints(rendered: Rendered) -> list[Fingerprint]:
    """The chunks a send posts, in order (the buttons travel with the last one; a card is the
    whole of its one message)."""
    if rendered.card is not None:
        return [Fingerprint("", *_walk(rendered.card.to_components()))]
    last = len(rendered.chunks) - 1
    view_ids = _walk(rendered.view.to_components())[0] if rendered.view is not None else ()
    return [
        Fingerprint(chunk.strip(), view_ids if i == last else ())
        for i, chunk in enumerate(rendered.chunks)
    ]


def fingerprint_of(message: discord.Message) -> Fingerprint:
    ids, shown = _walk([component.to_dict() for component in message.components])
    return Fingerprint(message.content.strip(), ids, shown)


def _walk(components: list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Custom ids and text displays of a component tree (action rows, containers, sections
    with their accessory), in reading order."""
    ids: list[str] = []
    shown: list[str] = []

    def visit(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("custom_id"):
            ids.append(str(node["custom_id"]))
        if node.get("type") == TEXT_DISPLAY:
            shown.append(str(node.get("content", "")).strip())
        for child in node.get("components", ()):
            visit(child)
        if "accessory" in node:
            visit(node["accessory"])

    for component in components:
        visit(component)
    return tuple(ids), tuple(shown)


def _scheduled_by_bot(message: discord.Message, bot_id: int) -> bool:
    """A message the bot posted itself (interaction answers are never scheduled messages)."""
    interaction: Any = getattr(message, "interaction_metadata", None)
    return message.author.id == bot_id and message.webhook_id is None and interaction is None


async def find_chunks(
    channel: discord.abc.Messageable, bot_id: int, wanted: list[Fingerprint]
) -> dict[int, int]:
    """Chunk index -> message id, for the chunks of `wanted` already in the channel."""
    found: dict[int, int] = {}
    try:
        async for message in channel.history(limit=LOOKBACK_MESSAGES):
            if not _scheduled_by_bot(message, bot_id):
                continue
            seen = fingerprint_of(message)
            for i, fingerprint in enumerate(wanted):
                if i not in found and fingerprint == seen:
                    found[i] = message.id
                    break
            if len(found) == len(wanted):
                break
    except discord.Forbidden as exc:
        # Without Read Message History nothing can be looked up: the nonce is all there is.
        log.warning("cannot read the history of channel %s to reconcile: %s", channel, exc.text)
    return found
