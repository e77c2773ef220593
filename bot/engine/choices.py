"""Numbered choices a message offered, kept in the database so an answer after a restart works."""

from __future__ import annotations

from bot.clock import Clock
from storage import choices as choice_queries
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

    async def find(self, platform: str, message_id: str) -> OfferedChoiceRec | None:
        return await choice_queries.find_choices(platform, message_id)
