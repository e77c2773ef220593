"""The Outbox the scheduler calls: posts to channels and DMs, closed-DM fallback, error mapping."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

import aiohttp
import discord

from bot.errors import DeliveryError
from bot.messages.replies import Reply
from bot.ports import MirroredEvent
from storage.records import GroupRec, MemberRec

from . import reconcile
from .events import ScheduledEvents, edit_message
from .files import ClosedDms
from .gateway_state import gateway_problem
from .render import render

log = logging.getLogger("logoff.discord")

CANNOT_DM = 50007
# Keys the scheduler asked about (their jobs may have been accepted before): a bound on memory
# for a process that is asked about many and never sends them.
MAX_LOOK_FIRST = 10_000


class DiscordOutbox:
    """Sends what the scheduler hands over; returns the id of the message carrying the buttons."""

    def __init__(
        self, client: discord.Client, closed_dms: ClosedDms, calendar: ScheduledEvents | None = None
    ) -> None:
        self.client = client
        self.closed_dms = closed_dms
        self.calendar = calendar
        self._look_first: OrderedDict[str, None] = OrderedDict()

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
        """Always None, and the send of `key` that follows looks first.

        Discord does not keep nonces, so a message is found by what it shows, and that is known
        from the Reply, which the send gets: it looks among the bot's recent messages there
        (reconcile.py) and returns the message found instead of posting it again.
        """
        if key:
            self._look_first[key] = None
            self._look_first.move_to_end(key)
            while len(self._look_first) > MAX_LOOK_FIRST:
                self._look_first.popitem(last=False)
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
        key = rendered.idempotency_key
        last = len(rendered.chunks) - 1
        already: dict[int, int] = {}
        if key in self._look_first and self.client.user is not None:
            wanted = reconcile.fingerprints(rendered)
            already = await reconcile.find_chunks(channel, self.client.user.id, wanted)
            if last in already:
                # Chunks go out in order: the last one there means all of them are.
                log.info(
                    "%s is on Discord already (message %s); not posting it", key, already[last]
                )
                self._look_first.pop(key, None)
                return str(already[last])
        message_id = 0
        for i in range(len(rendered.chunks)):
            if i in already:
                continue
            kwargs = rendered.kwargs(i)
            # discord.py 2.x sends `enforce_nonce: true` with every nonce (http.py,
            # handle_message_parameters): a resend within Discord's few minutes returns the
            # message it already has instead of posting it again.
            nonce = rendered.nonce(i)
            if nonce:
                kwargs["nonce"] = nonce
            message_id = (await channel.send(**kwargs)).id
        self._look_first.pop(key, None)
        return str(message_id)

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
