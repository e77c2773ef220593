"""DiscordPeer: a local fake Discord (REST + gateway) for the unmodified discord.py client."""

# ruff: noqa: ASYNC109 -- explicit timeout= parameters are the fixture's public API

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import discord
import yarl
from aiohttp import web

from .gateway import Gateway
from .interactions import (
    InteractionHandle,
    OptionBuilder,
    command_path,
    find_command,
    modal_submit_components,
    nest_options,
)
from .rest import API_PREFIX, RateLimitRule, RecordedRequest, RestApi
from .scheduled_events import ScheduledEventsApi
from .shards import ShardedGateway, on_shard
from .state import (
    DEFAULT_PERMISSIONS,
    DM_CHANNEL,
    EPHEMERAL,
    MANAGE_GUILD,
    Notifier,
    PeerChannel,
    PeerGuild,
    PeerMember,
    PeerRole,
    PeerUser,
    SnowflakeFactory,
    StoredMessage,
    attachment_payload,
    now_iso,
    walk_components,
)

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MESSAGE_FIELDS = ("content", "embeds", "components", "flags", "poll", "sticker_ids", "tts")


@contextlib.contextmanager
def patch_discord(port: int) -> Iterator[None]:
    """Point discord.py's REST routes (incl. the webhook adapter) and gateway at the peer."""
    route_cls = discord.http.Route
    ws_cls = discord.gateway.DiscordWebSocket
    old_base, old_gateway = route_cls.BASE, ws_cls.DEFAULT_GATEWAY
    route_cls.BASE = f"http://127.0.0.1:{port}{API_PREFIX}"
    ws_cls.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")
    try:
        yield
    finally:
        route_cls.BASE, ws_cls.DEFAULT_GATEWAY = old_base, old_gateway


@contextlib.asynccontextmanager
async def run_client(
    client: discord.Client,
    token: str = "peer-token",
    timeout: float = 5.0,
    guild_ready_timeout: float = 0.05,
) -> AsyncIterator[discord.Client]:
    """Start `client` against the (patched) peer, wait until ready, and always close it."""
    client._connection.guild_ready_timeout = guild_ready_timeout
    task = asyncio.create_task(client.start(token))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
            raise TimeoutError(f"discord client not ready within {timeout}s")
        yield client
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout)


class DiscordPeer:
    """A fake Discord server on 127.0.0.1; use `async with DiscordPeer() as peer:`.

    Default world: bot user `peer.bot`, guild `peer.guild` (owner `peer.owner`) with text channel
    `peer.channel`, role "Manager" (MANAGE_GUILD) held by `peer.admin`, plain member
    `peer.member`, and `peer.closed_dm_user` whose DMs are closed (sends answer 403/50007).
    """

    def __init__(
        self, *, patch: bool = True, bot_name: str = "LogoffBot", shard_count: int = 0
    ) -> None:
        self.snowflake = SnowflakeFactory()
        self.patch = patch
        self.port = 0
        self.users: dict[int, PeerUser] = {}
        self.guilds: dict[int, PeerGuild] = {}
        self.channels: dict[int, PeerChannel] = {}
        self.messages: list[StoredMessage] = []
        self.message_by_id: dict[int, StoredMessage] = {}
        self.commands: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.rate_limited: list[str] = []
        # Every message or modal body checked against Discord's limits (limits.py), and the
        # ones refused with 400, each with what was wrong.
        self.checked_payloads: list[dict[str, Any]] = []
        self.refused_payloads: list[tuple[dict[str, Any], list[str]]] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self.changed = Notifier()
        self.bot = self.add_user(bot_name, bot=True)
        self.application_id = self.bot.id
        # shard_count > 0: a sharded bot (one session per shard, guilds routed by their id).
        self.shard_count = shard_count
        self.gateway: Gateway | ShardedGateway = (
            ShardedGateway(shard_count, self._ready_payload, self._guild_payloads)
            if shard_count
            else Gateway(self._ready_payload, self._guild_payloads)
        )
        self.rest = RestApi(self)
        self.scheduled_events = ScheduledEventsApi(self)
        self.scheduled_events.register(self.rest.router.add)
        self._runner: web.AppRunner | None = None
        self._patch_cm: contextlib.AbstractContextManager[None] | None = None
        self._default_world()

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> DiscordPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        assert server.sockets
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self.patch:
            self._patch_cm = patch_discord(self.port)
            self._patch_cm.__enter__()

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._patch_cm is not None:
            self._patch_cm.__exit__(None, None, None)
            self._patch_cm = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- world building ------------------------------------------------------------------

    def _default_world(self) -> None:
        self.owner = self.add_user("owner")
        self.admin = self.add_user("admin")
        self.member = self.add_user("member")
        self.closed_dm_user = self.add_user("closed", dms_closed=True)
        self.guild = self.add_guild("Test Guild", owner=self.owner)
        self.manager_role = self.add_role(self.guild, "Manager", DEFAULT_PERMISSIONS | MANAGE_GUILD)
        self.channel = self.add_channel(self.guild, "general")
        self.add_member(self.guild, self.admin, [self.manager_role])
        self.add_member(self.guild, self.member)
        self.add_member(self.guild, self.closed_dm_user)

    def add_user(self, name: str, *, bot: bool = False, dms_closed: bool = False) -> PeerUser:
        user = PeerUser(self.snowflake(), name, bot=bot, dms_closed=dms_closed)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: PeerUser, shard: int | None = None) -> PeerGuild:
        """A guild; with `shard`, one whose events go to that shard of a sharded bot."""
        guild_id = self.snowflake()
        if shard is not None:
            guild_id = on_shard(guild_id, shard, self.shard_count)
        guild = PeerGuild(guild_id, name, owner.id)
        guild.roles.append(PeerRole(guild.id, "@everyone", DEFAULT_PERMISSIONS))
        self.guilds[guild.id] = guild
        self.add_member(guild, owner)
        self.add_member(guild, self.bot)
        return guild

    def add_role(self, guild: PeerGuild, name: str, permissions: int) -> PeerRole:
        role = PeerRole(self.snowflake(), name, permissions, position=len(guild.roles))
        guild.roles.append(role)
        return role

    def add_channel(self, guild: PeerGuild, name: str) -> PeerChannel:
        channel = PeerChannel(
            self.snowflake(), name, guild_id=guild.id, position=len(guild.channels)
        )
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        if self.gateway.session_id is not None:
            self._spawn(self.gateway.dispatch("CHANNEL_CREATE", channel.payload()))
        return channel

    def add_member(
        self, guild: PeerGuild, user: PeerUser, roles: list[PeerRole] | None = None
    ) -> PeerMember:
        member = PeerMember(user, [r.id for r in roles or []])
        guild.members[user.id] = member
        return member

    def dm_channel(self, user: PeerUser) -> PeerChannel:
        """The DM channel between the bot and `user` (created on first use)."""
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient is not None and channel.recipient.id == user.id:
                return channel
        channel = PeerChannel(self.snowflake(), "", type=DM_CHANNEL, recipient=user)
        self.channels[channel.id] = channel
        return channel

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(lambda t: t.exception())

    # -- gateway payloads ----------------------------------------------------------------

    def _ready_payload(self, session_id: str) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot.payload(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
        }

    def _guild_payloads(self) -> list[dict[str, Any]]:
        events = self.scheduled_events.guild_payloads
        return [{**g.payload(), "guild_scheduled_events": events(g)} for g in self.guilds.values()]

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self.owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "bot": self.bot.payload(),
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
        }

    @property
    def intents(self) -> int | None:
        """Intents the client identified with (latest IDENTIFY)."""
        return self.gateway.intents

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send any raw dispatch to the bot (queued while disconnected)."""
        return await self.gateway.dispatch(event, data)

    async def drop_connection(self, code: int = 4000, abrupt: bool = False) -> None:
        """Drop the bot's websocket; it reconnects and RESUMEs, receiving missed dispatches."""
        await self.gateway.drop(code=code, abrupt=abrupt)

    async def wait_connected(self, timeout: float = 5.0, resumes: int = 0) -> None:
        """Wait until the bot is live on the gateway (and has resumed `resumes` times)."""
        gw = self.gateway
        await gw.changed.wait_for(
            lambda: True if gw.live and len(gw.resumes) >= resumes else None,
            timeout,
            "gateway connection",
        )

    # -- commands ------------------------------------------------------------------------

    def commands_in(self, guild_id: int | None) -> list[dict[str, Any]]:
        gid = str(guild_id) if guild_id is not None else None
        return [c for c in self.commands if c.get("guild_id") == gid]

    def command(self, name: str, guild: PeerGuild | None = None) -> dict[str, Any] | None:
        """A stored command by name (guild-scoped if `guild` is given, else global)."""
        gid = str(guild.id) if guild is not None else None
        return next(
            (c for c in self.commands if c["name"] == name and c.get("guild_id") == gid), None
        )

    def _store_command(self, guild_id: int | None, body: dict[str, Any]) -> dict[str, Any]:
        old = next(
            (
                c
                for c in self.commands_in(guild_id)
                if c["name"] == body["name"] and c.get("type", 1) == body.get("type", 1)
            ),
            None,
        )
        cmd: dict[str, Any] = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **body,
            "id": old["id"] if old else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        if old is not None:
            self.commands.remove(old)
        self.commands.append(cmd)
        return cmd

    def replace_commands(
        self, guild_id: int | None, bodies: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        keep = {(b["name"], b.get("type", 1)) for b in bodies}
        for cmd in self.commands_in(guild_id):
            if (cmd["name"], cmd.get("type", 1)) not in keep:
                self.commands.remove(cmd)
        return [self._store_command(guild_id, b) for b in bodies]

    def upsert_command(self, guild_id: int | None, body: dict[str, Any]) -> dict[str, Any]:
        return self._store_command(guild_id, body)

    # -- messages ------------------------------------------------------------------------

    async def create_message(
        self,
        channel: PeerChannel,
        body: dict[str, Any],
        files: list[tuple[str, bytes]],
        source: str,
        *,
        author: PeerUser | None = None,
        interaction: InteractionHandle | None = None,
    ) -> StoredMessage:
        """Store a message (source: "channel", "interaction", "followup" or "user")."""
        author = author or self.bot
        msg_id = self.snowflake()
        payload = self._message_payload(msg_id, channel, author, body, files, interaction)
        msg = StoredMessage(payload, source, dict(body), list(files))
        msg.interaction_id = interaction.id if interaction else None
        self.messages.append(msg)
        self.message_by_id[msg.id] = msg
        self.changed.notify()
        if not msg.ephemeral:
            await self._dispatch_message_event("MESSAGE_CREATE", channel, msg)
        return msg

    def _message_payload(
        self,
        msg_id: int,
        channel: PeerChannel,
        author: PeerUser,
        body: dict[str, Any],
        files: list[tuple[str, bytes]],
        interaction: InteractionHandle | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(msg_id),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": body.get("content") or "",
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(body, files, []),
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags", 0) or 0),
        }
        payload["mentions"] = self._mentions(payload["content"], payload["components"])
        if channel.guild_id is not None:
            payload["guild_id"] = str(channel.guild_id)
        if "message_reference" in body:
            payload["message_reference"] = body["message_reference"]
            payload["type"] = 19
        if interaction is not None:
            self._add_interaction_fields(payload, interaction)
        return payload

    def _mentions(
        self, content: str, components: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        msg = StoredMessage(
            {"id": "0", "channel_id": "0", "content": content, "components": components or []}, ""
        )
        users = [self.users.get(uid) for uid in msg.mentioned_user_ids]
        return [u.payload() for u in users if u is not None]

    def _add_interaction_fields(self, payload: dict[str, Any], handle: InteractionHandle) -> None:
        payload["webhook_id"] = str(self.application_id)
        payload["application_id"] = str(self.application_id)
        payload["type"] = 20 if handle.type == APPLICATION_COMMAND else 0
        payload["interaction_metadata"] = {
            "id": str(handle.id),
            "type": handle.type,
            "user": handle.user.payload(),
            "authorizing_integration_owners": handle.payload["authorizing_integration_owners"],
        }

    def _attachments(
        self,
        body: dict[str, Any],
        files: list[tuple[str, bytes]],
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        keep_ids = {str(a.get("id")) for a in body.get("attachments", [])}
        kept = [a for a in existing if a["id"] in keep_ids] if "attachments" in body else existing
        # discord.py names each upload in `attachments` by its index, with its description.
        meta = {str(a.get("id")): a for a in body.get("attachments", [])}
        new = []
        for i, (name, data) in enumerate(files):
            att = attachment_payload(self.snowflake(), name, data, self.port)
            if meta.get(str(i), {}).get("description"):
                att["description"] = meta[str(i)]["description"]
            new.append(att)
        return kept + new

    async def edit_message(
        self, msg: StoredMessage, body: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> None:
        """Apply an edit (content/embeds/components/flags/attachments) to a stored message."""
        for key in MESSAGE_FIELDS:
            if key in body and body[key] is not None:
                msg.payload[key] = int(body[key]) if key == "flags" else body[key]
        if "content" in body or "components" in body:
            msg.payload["mentions"] = self._mentions(msg.content, msg.components)
        if "allowed_mentions" in body:
            msg.request["allowed_mentions"] = body["allowed_mentions"]
        msg.payload["attachments"] = self._attachments(body, files, msg.payload["attachments"])
        msg.files.extend(files)
        msg.payload["edited_timestamp"] = now_iso()
        msg.edits.append(dict(body))
        self.changed.notify()
        if not msg.ephemeral:
            channel = self.channels[msg.channel_id]
            await self._dispatch_message_event("MESSAGE_UPDATE", channel, msg)

    async def delete_message(self, msg: StoredMessage) -> None:
        msg.deleted = True
        self.changed.notify()
        if msg.ephemeral or not self._wants_messages(self.channels[msg.channel_id]):
            return
        data = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if "guild_id" in msg.payload:
            data["guild_id"] = msg.payload["guild_id"]
        await self.gateway.dispatch("MESSAGE_DELETE", data)

    def _wants_messages(self, channel: PeerChannel) -> bool:
        intents = self.gateway.intents or 0
        return bool(intents & (DIRECT_MESSAGES if channel.is_dm else GUILD_MESSAGES))

    async def _dispatch_message_event(
        self, event: str, channel: PeerChannel, msg: StoredMessage
    ) -> None:
        if not self._wants_messages(channel):
            return
        data = dict(msg.payload)
        mentioned = self.bot.id in msg.mentioned_user_ids
        if (
            not (self.gateway.intents or 0) & MESSAGE_CONTENT
            and not channel.is_dm
            and not mentioned
        ) and int(data["author"]["id"]) != self.bot.id:
            data.update(content="", embeds=[], attachments=[], components=[])
        if (
            channel.guild_id is not None
            and int(data["author"]["id"]) in self.guilds[channel.guild_id].members
        ):
            member = self.guilds[channel.guild_id].members[int(data["author"]["id"])].payload()
            member.pop("user")
            data["member"] = member
        await self.gateway.dispatch(event, data)

    def channel_messages(self, channel: PeerChannel | int) -> list[StoredMessage]:
        cid = channel if isinstance(channel, int) else channel.id
        return [m for m in self.messages if m.channel_id == cid and not m.deleted]

    async def wait_for_message(
        self,
        channel: PeerChannel | int,
        predicate: Callable[[StoredMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        source: str | None = "channel",
        after: int = 0,
    ) -> StoredMessage:
        """Wait for a stored message in `channel` (by default one the bot POSTed itself).

        `after` is a message id; only newer messages count (use `peer.last_message_id()`).
        """
        cid = channel if isinstance(channel, int) else channel.id

        def check() -> StoredMessage | None:
            for msg in self.channel_messages(cid):
                if msg.id <= after or (source is not None and msg.source != source):
                    continue
                if predicate is None or predicate(msg):
                    return msg
            return None

        return await self.changed.wait_for(check, timeout, f"message in channel {cid}")

    def last_message_id(self) -> int:
        return self.messages[-1].id if self.messages else 0

    async def user_message(
        self, user: PeerUser, channel: PeerChannel, content: str
    ) -> StoredMessage:
        """A human posts a message (dispatched as MESSAGE_CREATE if the bot's intents allow)."""
        return await self.create_message(channel, {"content": content}, [], "user", author=user)

    # -- rate limits ---------------------------------------------------------------------

    def rate_limit(
        self,
        route: str = "/channels/{channel_id}/messages",
        *,
        method: str = "POST",
        count: int = 1,
        retry_after: float = 0.3,
        is_global: bool = False,
    ) -> None:
        """Answer the next `count` requests to the route template with 429."""
        self.rest.rate_limits.append(RateLimitRule(method, route, count, retry_after, is_global))

    async def react(self, user: PeerUser, message: StoredMessage, emoji: str) -> None:
        """A human adds a unicode emoji reaction (dispatched as MESSAGE_REACTION_ADD)."""
        message.reactions.append(emoji)
        data = self._reaction_payload(user, message, emoji)
        data["message_author_id"] = str(message.payload["author"]["id"])
        guild_id = self.channels[message.channel_id].guild_id
        if guild_id is not None and user.id in self.guilds[guild_id].members:
            data["member"] = self.guilds[guild_id].members[user.id].payload()
        await self.gateway.dispatch("MESSAGE_REACTION_ADD", data)

    async def unreact(self, user: PeerUser, message: StoredMessage, emoji: str) -> None:
        """A human removes their reaction (dispatched as MESSAGE_REACTION_REMOVE, no member)."""
        if emoji in message.reactions:
            message.reactions.remove(emoji)
        data = self._reaction_payload(user, message, emoji)
        await self.gateway.dispatch("MESSAGE_REACTION_REMOVE", data)

    def _reaction_payload(
        self, user: PeerUser, message: StoredMessage, emoji: str
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        guild_id = self.channels[message.channel_id].guild_id
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    def lose_responses(
        self,
        route: str = "/channels/{channel_id}/messages",
        *,
        method: str = "POST",
        count: int = 1,
    ) -> None:
        """Carry out the next `count` requests to the route but answer 502, as if the answer
        was lost on the way back (discord.py retries 5xx)."""
        self.rest.lost_responses.append([method, route, count])

    # -- driving interactions ------------------------------------------------------------

    async def slash(
        self,
        user: PeerUser,
        channel: PeerChannel | None,
        command: str,
        *,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """Invoke a synced slash command (`subcommand`: "sub" or "group sub"); channel None = DM."""
        data = self._command_data(user, channel, command, subcommand, options or {}, None)
        return await self._interact(APPLICATION_COMMAND, user, channel, data)

    async def autocomplete(
        self,
        user: PeerUser,
        channel: PeerChannel | None,
        command: str,
        *,
        focused: str,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """Autocomplete request; `options[focused]` is the partially typed text."""
        data = self._command_data(user, channel, command, subcommand, options or {}, focused)
        return await self._interact(AUTOCOMPLETE, user, channel, data)

    async def click(
        self,
        user: PeerUser,
        message: StoredMessage | int,
        custom_id: str,
        *,
        values: list[str] | None = None,
    ) -> InteractionHandle:
        """Click a button (or choose `values` in a select) on a stored message."""
        msg = message if isinstance(message, StoredMessage) else self.message_by_id[message]
        comp = next(
            (c for c in walk_components(msg.components) if c.get("custom_id") == custom_id), None
        )
        if comp is None:
            raise LookupError(f"no component {custom_id!r} on message {msg.id}: {msg.custom_ids}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp["type"] != 2:
            data["values"] = values or []
        channel = self.channels[msg.channel_id]
        extra = {"message": msg.payload}
        return await self._interact(MESSAGE_COMPONENT, user, channel, data, extra)

    async def submit_modal(
        self, user: PeerUser, shown_by: InteractionHandle, values: dict[str, Any]
    ) -> InteractionHandle:
        """Submit the modal the bot showed in reply to `shown_by` (values by custom_id)."""
        reply = await shown_by.wait_callback()
        modal = reply.data
        data = {
            "custom_id": modal["custom_id"],
            "components": modal_submit_components(modal, values),
        }
        extra = {"message": shown_by.payload["message"]} if "message" in shown_by.payload else {}
        return await self._interact(MODAL_SUBMIT, user, shown_by.channel, data, extra)

    def _command_data(
        self,
        user: PeerUser,
        channel: PeerChannel | None,
        name: str,
        subcommand: str | None,
        options: dict[str, Any],
        focused: str | None,
    ) -> dict[str, Any]:
        guild = self.guilds.get(channel.guild_id) if channel and channel.guild_id else None
        cmd = find_command(self.commands, name, guild.id if guild else None)
        if cmd is None:
            known = sorted({c["name"] for c in self.commands})
            raise LookupError(f"command /{name} is not synced (known: {known})")
        path = command_path(cmd, subcommand)
        builder = OptionBuilder(guild, self.channels)
        leaf = builder.build(path[-1], options, focused)
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": 1,
            "options": nest_options(path, leaf),
        }
        if builder.resolved:
            data["resolved"] = builder.resolved
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        return data

    async def _interact(
        self,
        itype: int,
        user: PeerUser,
        channel: PeerChannel | None,
        data: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        channel = channel or self.dm_channel(user)
        iid = self.snowflake()
        token = f"peer-{iid}-{secrets.token_urlsafe(24)}"
        payload = self._interaction_payload(iid, token, itype, user, channel, data)
        payload.update(extra or {})
        handle = InteractionHandle(iid, token, itype, payload, user, channel)
        self.interactions[iid] = handle
        self.interactions_by_token[token] = handle
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return handle

    def _interaction_payload(
        self,
        iid: int,
        token: str,
        itype: int,
        user: PeerUser,
        channel: PeerChannel,
        data: dict[str, Any],
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "locale": "en-US",
            "entitlements": [],
            "channel_id": str(channel.id),
            "channel": channel.payload(),
        }
        if channel.guild_id is None:
            payload.update(
                user=user.payload(),
                context=1,
                app_permissions=str(DEFAULT_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
            )
            return payload
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user.id) or PeerMember(user)
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member.payload(guild.permissions_of(user.id)),
            context=0,
            app_permissions=str(guild.permissions_of(self.bot.id)),
            authorizing_integration_owners={"0": str(guild.id)},
        )
        return payload

    def ephemeral_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.flags & EPHEMERAL]
