"""The Outbox the scheduler calls: posts to channels and DMs, closed-DM fallback, error mapping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
import discord

from bot.errors import DeliveryError
from bot.messages.replies import Reply
from bot.ports import MirroredEvent
from storage.records import GroupRec, MemberRec

from .events import ScheduledEvents, edit_message
from .files import ClosedDms
from .gateway_state import gateway_problem
from .render import render

log = logging.getLogger("logoff.discord")

CANNOT_DM = 50007


class DiscordOutbox:
    """Sends what the scheduler hands over; returns the id of the message carrying the buttons."""

    def __init__(
        self, client: discord.Client, closed_dms: ClosedDms, calendar: ScheduledEvents | None = None
    ) -> None:
        self.client = client
        self.closed_dms = closed_dms
        self.calendar = calendar

    def connection_problem(self) -> str | None:
        """For /ready (bot.app.health): None while the gateway connection (every shard) is up."""
        return gateway_problem(self.client)

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str:
        channel = self.client.get_partial_messageable(_snowflake(group.external_id))
        return await self._guarded(self._post(channel, reply))

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        """An event's counts: the same message, rewritten (adapters/discord/events.py)."""
        channel = self.client.get_partial_messageable(_snowflake(group.external_id))
        await self._guarded(_edited_id(edit_message(channel, _snowflake(message_id), reply)))

    async def mirror_event(self, group: GroupRec, event: MirroredEvent) -> str | None:
        if self.calendar is None:
            return event.mirror_id
        return await self.calendar.mirror(group, event)

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str:
        user_id = _snowflake(member.external_id)
        try:
            message_id = await self._dm(user_id, reply)
        except discord.Forbidden as exc:
            if exc.code != CANNOT_DM:
                raise DeliveryError(f"Discord refused the DM: {exc.text}", retryable=False) from exc
            if fallback is None:
                raise DeliveryError(
                    "the member's DMs are closed and there is no channel to fall back to",
                    retryable=False,
                ) from exc
            self.closed_dms.closed(user_id)
            log.info("DMs closed for user %s; mentioning them in %s", user_id, fallback.external_id)
            channel = self.client.get_partial_messageable(_snowflake(fallback.external_id))
            return await self._guarded(self._post(channel, reply, ping=(user_id,)))
        except DeliveryError:
            raise
        except Exception as exc:
            raise _delivery_error(exc) from exc
        self.closed_dms.opened(user_id)
        return message_id

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        # Placeholder until the Discord reconciliation lands (issue 10, Discord side): the
        # nonce with enforce_nonce covers a resend within Discord's nonce window.
        return None

    async def _dm(self, user_id: int, reply: Reply) -> str:
        user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
        channel = user.dm_channel or await user.create_dm()
        return await self._post(channel, reply, cards=False)

    async def _post(
        self,
        channel: discord.abc.Messageable,
        reply: Reply,
        ping: tuple[int, ...] = (),
        cards: bool = True,
    ) -> str:
        rendered = render(reply, ping=ping, cards=cards)
        sent: discord.Message | None = None
        for i in range(len(rendered.chunks)):
            kwargs = rendered.kwargs(i)
            nonce = rendered.nonce(i)
            if nonce:
                kwargs["nonce"] = nonce
            sent = await channel.send(**kwargs)
        assert sent is not None
        return str(sent.id)

    async def _guarded(self, sending: Any) -> str:
        try:
            result: str = await sending
        except Exception as exc:
            raise _delivery_error(exc) from exc
        return result


async def _edited_id(editing: Awaitable[discord.Message]) -> str:
    return str((await editing).id)


def _snowflake(external_id: str) -> int:
    if not external_id.isdigit():
        raise DeliveryError(f"{external_id!r} is not a Discord id", retryable=False)
    return int(external_id)


def _delivery_error(exc: BaseException) -> DeliveryError:
    """Map what discord.py raised to the scheduler's retry decision."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError("Discord rate limit", retryable=True, retry_after=exc.retry_after)
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return DeliveryError(f"Discord refused the message: {exc.text}", retryable=False)
    if isinstance(exc, discord.HTTPException):
        return DeliveryError(
            f"Discord answered {exc.status}: {exc.text}", retryable=exc.status >= 500
        )
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return DeliveryError(f"cannot reach Discord: {exc!r}", retryable=True)
    return DeliveryError(f"unexpected error sending to Discord: {exc!r}", retryable=True)
