"""Exactly-once handling of incoming events for adapters: claim, store the reply, mark answered.

Adapters never touch storage; this is their door to `storage.incoming` (which explains the
states). One `EventClaims` per adapter instance: `instance` names its data directory (locked
by the adapter, so one live process per instance), and every start gets a fresh run id.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from bot import crash_points
from bot.clock import Clock
from bot.engine.writer_lock import WriterLock
from bot.messages.notices import reply_from_json, reply_to_json
from bot.messages.replies import Reply
from storage import incoming
from storage.incoming import DONE, HELD, REPLY, RUN, Claim

__all__ = ["DONE", "HELD", "REPLY", "RUN", "Claim", "EventClaims", "reply_key"]

T = TypeVar("T")


class _ClaimLost(Exception):
    """Raised inside the handling transaction to roll it back: another process has the event."""


class _Undo(Exception):
    """Raised inside the handling transaction to roll it back: the command in it failed."""


def reply_key(event_id: str) -> str:
    """The idempotency key of the bot's answer to one incoming event."""
    return f"reply:{event_id}"[:255]


class EventClaims:
    """Claims of one adapter instance's incoming events."""

    def __init__(self, clock: Clock, instance: str, writer: WriterLock | None = None) -> None:
        self.clock = clock
        self.owner = f"{instance}:{secrets.token_hex(4)}"
        # The engine's writer lock (`Engine.writer`), taken before the handling transaction.
        self.writer = writer or WriterLock()

    async def claim(self, platform: str, event_id: str) -> Claim:
        """Whose the event is (storage.incoming.take: on SQLite the claim is written with the
        event's first write, `store_reply` in the handling transaction or `answered`)."""
        claim = await incoming.take(platform, event_id, self.owner, self.clock.now())
        if claim.state == RUN:
            crash_points.reached("claimed")  # taken, nothing of the event committed yet
        return claim

    async def store_reply(
        self,
        platform: str,
        event_id: str,
        reply: Reply | None,
        target: dict[str, str] | None = None,
    ) -> bool:
        """Before the reply is sent: the event's effects are done. False: the claim was lost.

        `target` is what the adapter needs to send it later (what it answers, to whom)."""
        stored = {
            "reply": reply_to_json(reply) if reply is not None else None,
            "target": dict(target or {}),
        }
        return await incoming.store_reply(platform, event_id, self.owner, stored, self.clock.now())

    async def handle_once(
        self,
        platform: str,
        event_id: str,
        handle: Callable[[], Awaitable[T]],
        reply_of: Callable[[T], tuple[Reply | None, dict[str, str]]],
    ) -> T | None:
        """Handle a claimed event (`RUN`): what `handle` changes and the reply `reply_of` picks
        from its result (with its `target`, see `store_reply`) commit in one transaction.

        A process killed before that commit left nothing behind: the event is handled again
        by whoever takes it over. After it, the claim is `handled`: a takeover finds the reply
        and only sends it; the handler never runs twice (a second `pledge new` would be a
        second pledge). None: the claim was lost meanwhile, and nothing of this run is kept.

        A command that failed or was refused (the engine's `undone_on_error`) keeps nothing
        of what it wrote: the transaction is rolled back and its reply (the error) stored in
        a new one. A process killed in between committed nothing: the event is handled again.
        """
        try:
            async with self.writer:
                try:
                    async with incoming.handling() as failures:
                        result = await handle()
                        reply, target = reply_of(result)
                        if failures.failed:
                            raise _Undo(event_id)
                        if not await self.store_reply(platform, event_id, reply, target):
                            raise _ClaimLost(event_id)
                except _Undo:
                    crash_points.reached("undone")  # rolled back, the reply not stored yet
                    async with incoming.handling():
                        if not await self.store_reply(platform, event_id, reply, target):
                            raise _ClaimLost(event_id) from None
        except _ClaimLost:
            return None
        return result

    async def undo_once(self, platform: str, event_id: str, undo: Callable[[], Awaitable[T]]) -> T:
        """A taken-back event (a Discord reaction removed): what it recorded undone and its
        claim forgotten in one commit, so that the same id, shown again, is a new event.

        Done in two commits, a process killed between them kept the claim of an answer it had
        undone: the reaction added again was taken for a replay and ignored. A failed undo
        keeps both (its transaction is rolled back)."""
        async with self.writer:
            try:
                async with incoming.handling() as failures:
                    result = await undo()
                    crash_points.reached("unreacted")  # undone, not committed: both kept
                    if failures.failed:
                        raise _Undo(event_id)
                    await incoming.forget(platform, event_id)
            except _Undo:
                pass
        return result

    @staticmethod
    def stored_reply(claim: Claim) -> Reply | None:
        raw = (claim.reply or {}).get("reply")
        return reply_from_json(raw) if raw else None

    async def answered(self, platform: str, event_id: str) -> None:
        await incoming.answered(platform, event_id, self.owner, self.clock.now())

    async def prune(self, keep: timedelta = incoming.KEEP) -> int:
        return await incoming.prune(self.clock.now() - keep)
