"""Each interaction and reaction handled and answered once, whichever process got it.

The gateway gives every event to every session on the token, so with two processes on one
database both see each slash command, tap and reaction. The event's id is claimed in the
database (bot.engine.claims) before anything is done; the process that does not get the claim
does nothing, and in particular does not respond.

A claimer that dies before it responds leaves that interaction unanswered: Discord wants the
initial response within 3 s, and the other sessions cannot tell a dead claimer from a slow one
in that time (taking over after a shorter lease would run a slow, live claimer's command twice).
The member sees "This interaction failed" and taps again, which is a new interaction: a command
keeps its effects only together with its stored reply (`EventClaims.handle_once`, one commit),
so a claimer killed before that commit kept nothing and the second tap runs it once. A
reaction's effects commit with its claim the same way (without a reply): a kill leaves none
of them half-done, and a reaction seen again afterwards (by the restarted process or another
one) never runs twice. Discord
itself refuses a second initial response (40060), and a late one (10062): either means there
is nothing left to send.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord

from bot import crash_points
from bot.engine import claims as states
from bot.engine.claims import EventClaims
from bot.messages.replies import Reply

from .identity import PLATFORM
from .respond import Posted, answer_with

log = logging.getLogger("logoff.discord")

ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_INTERACTION = 10062  # the 3 s (or the token's 15 min) are over
T = TypeVar("T")


class LostClaim(Exception):
    """Another process took the event over while this one handled it."""


class Once:
    """The claims of one client: answer or handle an event only when this process has it."""

    def __init__(self, claims: EventClaims) -> None:
        self.claims = claims
        self._in_flight: set[str] = set()  # a RESUME may replay an event still being handled

    async def answer(
        self,
        interaction: discord.Interaction,
        handle: Callable[[], Awaitable[Reply]],
        posted: Posted | None = None,
    ) -> bool:
        """Handle and answer `interaction` if it is ours; True when this process answered it.
        `posted` hears the id of a public answer's last message (respond.answer_with)."""
        event_id = str(interaction.id)
        if event_id in self._in_flight:
            return False
        claim = await self.claims.claim(PLATFORM, event_id)
        if claim.state in (states.DONE, states.HELD):
            log.debug("interaction %s is another process's (%s)", event_id, claim.state)
            return False
        self._in_flight.add(event_id)
        try:
            if claim.state == states.REPLY:
                # Handled by this instance before a restart, not answered: only the answer is
                # left (Discord refuses it if the 3 s are over).
                stored = self.claims.stored_reply(claim)
                if stored is None:
                    await self.claims.answered(PLATFORM, event_id)
                    return False
                work: Awaitable[Reply] = _ready(stored)
            else:
                work = self._handled(event_id, handle)
            try:
                await answer_with(interaction, work, posted)
            except LostClaim:
                log.warning("lost the claim on interaction %s; another process answers", event_id)
                return False
            except discord.HTTPException as exc:
                if exc.code not in (ALREADY_ACKNOWLEDGED, UNKNOWN_INTERACTION):
                    raise
                log.info("interaction %s cannot be answered any more: %s", event_id, exc.text)
                await self.claims.answered(PLATFORM, event_id)
                return False
            await self.claims.answered(PLATFORM, event_id)
            return True
        finally:
            self._in_flight.discard(event_id)

    async def handle_silently(self, event_id: str, handle: Callable[[], Awaitable[T]]) -> T | None:
        """An event without an answer to send (a reaction): handled once, or None.

        Its effects commit together with its claim (`EventClaims.handle_once`), as a command's
        do with its reply: a process killed before that commit kept nothing of it, and one
        killed after it left only the answered mark to write, never the effects to redo."""
        if event_id in self._in_flight:
            return None
        claim = await self.claims.claim(PLATFORM, event_id)
        if claim.state == states.REPLY:  # its effects committed before a restart
            await self.claims.answered(PLATFORM, event_id)
            return None
        if claim.state != states.RUN:
            return None  # answered, or another process's
        self._in_flight.add(event_id)
        try:
            done = await self.claims.handle_once(PLATFORM, event_id, _at_handled(handle), _silent)
            if done is None:
                return None  # another process took it over: its effects are not ours
            crash_points.reached("reacted")  # committed with its claim, not marked answered
            await self.claims.answered(PLATFORM, event_id)
            return done[0]
        finally:
            self._in_flight.discard(event_id)

    async def undo(self, event_id: str, undo: Callable[[], Awaitable[T]]) -> T:
        """A reaction taken back: what it recorded undone and its claim forgotten in one
        commit (`EventClaims.undo_once`); adding it again later is a new event, same id."""
        return await self.claims.undo_once(PLATFORM, event_id, undo)

    async def _handled(self, event_id: str, handle: Callable[[], Awaitable[Reply]]) -> Reply:
        # The command's effects and its reply commit together, before the reply is sent:
        # whoever takes the claim over later finds the answer, not the command, left to do, and
        # a process killed before that commit kept nothing of it (a second tap runs it once).
        done = await self.claims.handle_once(PLATFORM, event_id, _at_handled(handle), _as_stored)
        if done is None:
            raise LostClaim(event_id)
        return done[0]


def _at_handled(handle: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[tuple[T]]]:
    """`handle`, then the crash point `handled` (written, not committed: handled again);
    its result boxed, so that a result of None is told apart from a lost claim."""

    async def run() -> tuple[T]:
        result = await handle()
        crash_points.reached("handled")
        return (result,)

    return run


async def _ready(reply: Reply) -> Reply:
    return reply


def _as_stored(done: tuple[Reply]) -> tuple[Reply | None, dict[str, str]]:
    """An interaction's answer goes back through the interaction: no target to keep."""
    return done[0], {}


def _silent(done: tuple[object]) -> tuple[Reply | None, dict[str, str]]:
    """A reaction is answered by nothing: its claim is stored without a reply."""
    return None, {}
