"""Numbered choices a message offered, kept in the database so an answer after a restart works."""

from __future__ import annotations

from bot.clock import Clock
from storage import choices as choice_queries
from storage import sent as sent_queries
from storage.choices import OfferedChoiceRec


class OfferedChoices:
    """What an adapter offered as numbered answers (reactions 1️⃣ 2️⃣ ...), by message id.

    Buttons carry their action in their custom id (Discord); a reaction carries only its key,
    so the adapter records the actions behind each key when it posts the message.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def offer(
        self,
        platform: str,
        message_id: str,
        owner: str,
        actions: tuple[str, ...],
        thread: str | None = None,
    ) -> None:
        await choice_queries.record_choices(
            platform, message_id, owner, actions, self.clock.now(), thread=thread
        )

    async def expect(
        self,
        platform: str,
        key: str,
        owner: str,
        actions: tuple[str, ...],
        thread: str | None = None,
    ) -> None:
        """Before the send of a message with idempotency key `key`: its offer, under the key
        until `posted` (or a reconcile of a send that a crash cut short) gives its id."""
        await self.offer(platform, sent_queries.pending_id(key), owner, actions, thread)

    async def expect_prompt(
        self,
        platform: str,
        key: str,
        kind: str,
        group_id: int | None,
        pledge_id: int | None,
        period_key: str | None,
    ) -> None:
        """Before the send of a prompt (answered by reactions): which period it asks about."""
        await sent_queries.record_sent(
            platform,
            sent_queries.pending_id(key),
            kind,
            self.clock.now(),
            group_id=group_id,
            pledge_id=pledge_id,
            period_key=period_key,
        )

    async def posted(self, platform: str, key: str, message_id: str) -> None:
        """The message with idempotency key `key` is on the platform as `message_id`."""
        await sent_queries.attach_posted([(platform, key, message_id)])

    async def find(self, platform: str, message_id: str) -> OfferedChoiceRec | None:
        return await choice_queries.find_choices(platform, message_id)
