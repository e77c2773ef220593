"""REST API of the fake peer under /api/v10: routing, rate limits and endpoint handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .interactions import (
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
    InteractionHandle,
    Reply,
)
from .limits import message_problems, modal_problems
from .state import EPHEMERAL, LOADING, StoredMessage

if TYPE_CHECKING:
    from .server import DiscordPeer

API_PREFIX = "/api/v10"
Handler = Callable[["Call"], Awaitable[web.StreamResponse]]


@dataclass
class RecordedRequest:
    """A request the bot made (after the /api/v10 prefix)."""

    method: str
    path: str
    route: str
    query: dict[str, str]
    json: Any
    files: list[str] = field(default_factory=list)
    status: int = 0


@dataclass
class Call:
    """A parsed request passed to a handler."""

    request: web.Request
    params: dict[str, str]
    body: Any
    files: list[tuple[str, bytes]]
    record: RecordedRequest


@dataclass
class RateLimitRule:
    """Answer the next `remaining` requests to a route with 429."""

    method: str
    route: str
    remaining: int
    retry_after: float
    is_global: bool


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON response with exactly `application/json` (discord.py rejects a charset)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


class Router:
    """Small regex router so that unknown routes can be recorded instead of 404ing silently."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append((method, template, _compile(template), handler))

    def match(self, method: str, path: str) -> tuple[str, dict[str, str], Handler] | None:
        for r_method, template, pattern, handler in self._routes:
            m = pattern.match(path)
            if m and r_method == method:
                return template, m.groupdict(), handler
        return None


async def parse_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    """JSON body, or multipart payload_json + files[n]."""
    if not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        body = json.loads(str(form.get("payload_json", "{}")))
        files = [
            (value.filename, value.file.read())
            for key, value in form.items()
            if key.startswith("files[") and isinstance(value, web.FileField)
        ]
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


class RestApi:
    """Endpoint handlers over the peer's state."""

    def __init__(self, peer: DiscordPeer) -> None:
        self.peer = peer
        self.router = Router()
        self.rate_limits: list[RateLimitRule] = []
        self.lost_responses: list[list[Any]] = []  # [method, route, remaining]
        self._register()

    def _register(self) -> None:
        add = self.router.add
        add("GET", "/users/@me", self.get_me)
        add("GET", "/users/{user_id}", self.get_user)
        add("POST", "/users/@me/channels", self.create_dm)
        add("GET", "/oauth2/applications/@me", self.get_application)
        add("GET", "/applications/@me", self.get_application)
        for scope in ("/applications/{app_id}", "/applications/{app_id}/guilds/{guild_id}"):
            add("GET", scope + "/commands", self.list_commands)
            add("PUT", scope + "/commands", self.put_commands)
            add("POST", scope + "/commands", self.upsert_command)
            add("GET", scope + "/commands/{command_id}", self.get_command)
            add("PATCH", scope + "/commands/{command_id}", self.edit_command)
            add("DELETE", scope + "/commands/{command_id}", self.delete_command)
        add("GET", "/guilds/{guild_id}", self.get_guild)
        add("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        add("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        add("GET", "/channels/{channel_id}", self.get_channel)
        add("POST", "/channels/{channel_id}/typing", self.typing)
        add("GET", "/channels/{channel_id}/messages", self.list_messages)
        add("POST", "/channels/{channel_id}/messages", self.create_message)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        add("PUT", reaction, self.add_reaction)
        add("DELETE", reaction, self.remove_reaction)
        add("POST", "/interactions/{interaction_id}/{token}/callback", self.callback)
        add("GET", "/webhooks/{app_id}/{token}", self.get_webhook)
        add("POST", "/webhooks/{app_id}/{token}", self.followup)
        webhook_msg = "/webhooks/{app_id}/{token}/messages/{message_id}"
        add("GET", webhook_msg, self.get_webhook_message)
        add("PATCH", webhook_msg, self.edit_webhook_message)
        add("DELETE", webhook_msg, self.delete_webhook_message)

    # -- plumbing -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix(API_PREFIX)
        body, files = await parse_body(request)
        matched = self.router.match(request.method, path)
        route = matched[0] if matched else ""
        record = RecordedRequest(
            request.method, path, route, dict(request.query), body, [f[0] for f in files]
        )
        self.peer.requests.append(record)
        response = self._rate_limited(request.method, route) or await self._dispatch(
            matched, Call(request, matched[1] if matched else {}, body, files, record)
        )
        if self._response_lost(request.method, route):
            response = error(502, "Bad Gateway (the request was carried out)")
        record.status = response.status
        self.peer.changed.notify()
        return response

    async def _dispatch(
        self, matched: tuple[str, dict[str, str], Handler] | None, call: Call
    ) -> web.StreamResponse:
        if matched is None:
            self.peer.unknown_routes.append(call.record)
            return error(404, f"404: Not Found ({call.record.method} {call.record.path})")
        return await matched[2](call)

    def _response_lost(self, method: str, route: str) -> bool:
        for rule in self.lost_responses:
            if rule[0] == method and rule[1] == route and rule[2] > 0:
                rule[2] -= 1
                return True
        return False

    def _rate_limited(self, method: str, route: str) -> web.Response | None:
        rule = next(
            (
                r
                for r in self.rate_limits
                if r.method == method and r.route == route and r.remaining
            ),
            None,
        )
        if rule is None:
            return None
        rule.remaining -= 1
        self.peer.rate_limited.append(f"{method} {route}")
        headers = {
            "Retry-After": str(max(1, round(rule.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(rule.retry_after),
            "X-RateLimit-Bucket": f"peer-{abs(hash(route)) % 10**8}",
            "X-RateLimit-Scope": "shared" if not rule.is_global else "global",
            "Via": "1.1 google",
        }
        if rule.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": rule.retry_after,
            "global": rule.is_global,
        }
        return json_response(body, status=429, headers=headers)

    # -- users, application, guilds, channels -------------------------------------------

    async def get_me(self, call: Call) -> web.Response:
        return json_response(self.peer.bot.payload())

    async def get_user(self, call: Call) -> web.Response:
        user = self.peer.users.get(int(call.params["user_id"]))
        return json_response(user.payload()) if user else error(404, "Unknown User", 10013)

    async def get_application(self, call: Call) -> web.Response:
        return json_response(self.peer.application_payload())

    async def create_dm(self, call: Call) -> web.Response:
        user = self.peer.users.get(int(call.body["recipient_id"]))
        if user is None:
            return error(400, "Invalid Recipient(s)", 50033)
        return json_response(self.peer.dm_channel(user).payload())

    async def get_guild(self, call: Call) -> web.Response:
        guild = self.peer.guilds.get(int(call.params["guild_id"]))
        return json_response(guild.payload()) if guild else error(404, "Unknown Guild", 10004)

    async def get_guild_channels(self, call: Call) -> web.Response:
        guild = self.peer.guilds.get(int(call.params["guild_id"]))
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        return json_response([c.payload() for c in guild.channels])

    async def get_member(self, call: Call) -> web.Response:
        guild = self.peer.guilds.get(int(call.params["guild_id"]))
        member = guild.members.get(int(call.params["user_id"])) if guild else None
        return json_response(member.payload()) if member else error(404, "Unknown Member", 10007)

    async def get_channel(self, call: Call) -> web.Response:
        channel = self.peer.channels.get(int(call.params["channel_id"]))
        return json_response(channel.payload()) if channel else error(404, "Unknown Channel", 10003)

    async def typing(self, call: Call) -> web.Response:
        return no_content()

    # -- application commands ------------------------------------------------------------

    def _scope(self, call: Call) -> int | None:
        guild_id = call.params.get("guild_id")
        return int(guild_id) if guild_id else None

    async def list_commands(self, call: Call) -> web.Response:
        return json_response(self.peer.commands_in(self._scope(call)))

    async def put_commands(self, call: Call) -> web.Response:
        return json_response(self.peer.replace_commands(self._scope(call), call.body or []))

    async def upsert_command(self, call: Call) -> web.Response:
        return json_response(self.peer.upsert_command(self._scope(call), call.body), status=201)

    def _find_command(self, call: Call) -> dict[str, Any] | None:
        cid = call.params["command_id"]
        return next((c for c in self.peer.commands_in(self._scope(call)) if c["id"] == cid), None)

    async def get_command(self, call: Call) -> web.Response:
        cmd = self._find_command(call)
        return json_response(cmd) if cmd else error(404, "Unknown application command", 10063)

    async def edit_command(self, call: Call) -> web.Response:
        cmd = self._find_command(call)
        if cmd is None:
            return error(404, "Unknown application command", 10063)
        cmd.update(call.body or {})
        return json_response(cmd)

    async def delete_command(self, call: Call) -> web.Response:
        cmd = self._find_command(call)
        if cmd is None:
            return error(404, "Unknown application command", 10063)
        self.peer.commands.remove(cmd)
        return no_content()

    # -- channel messages ----------------------------------------------------------------

    def _message(self, call: Call) -> StoredMessage | None:
        msg = self.peer.message_by_id.get(int(call.params["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != int(call.params["channel_id"]):
            return None
        return msg

    def _refused(
        self, body: dict[str, Any], before: StoredMessage | None = None, modal: bool = False
    ) -> web.Response | None:
        """400 Invalid Form Body for what breaks Discord's limits; an edit is checked as the
        message it would make."""
        if before is not None:
            merged = {k: before.payload.get(k) for k in ("content", "embeds", "components")}
            merged["flags"] = before.flags
            body = {**merged, **{k: v for k, v in body.items() if v is not None}}
        self.peer.checked_payloads.append(body)
        problems = modal_problems(body) if modal else message_problems(body)
        if not problems:
            return None
        self.peer.refused_payloads.append((body, problems))
        return error(400, "Invalid Form Body: " + "; ".join(problems), 50035)

    async def create_message(self, call: Call) -> web.Response:
        channel = self.peer.channels.get(int(call.params["channel_id"]))
        if channel is None:
            return error(404, "Unknown Channel", 10003)
        refused = self._refused(call.body or {})
        if refused is not None:
            return refused
        if channel.is_dm and channel.recipient is not None and channel.recipient.dms_closed:
            return error(403, "Cannot send messages to this user", 50007)
        body = call.body or {}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Discord answers a repeated (author, nonce) with the message it already created.
            for earlier in self.peer.channel_messages(channel):
                if earlier.source == "channel" and earlier.request.get("nonce") == nonce:
                    return json_response(earlier.payload)
        msg = await self.peer.create_message(channel, body, call.files, "channel")
        return json_response(msg.payload)

    async def list_messages(self, call: Call) -> web.Response:
        channel_id = int(call.params["channel_id"])
        found = [m.payload for m in self.peer.messages if m.channel_id == channel_id]
        visible = [p for p in found if not int(p.get("flags", 0)) & EPHEMERAL]
        limit = int(call.request.query.get("limit", 50))
        return json_response(list(reversed(visible))[:limit])

    async def get_message(self, call: Call) -> web.Response:
        msg = self._message(call)
        return json_response(msg.payload) if msg else error(404, "Unknown Message", 10008)

    async def edit_message(self, call: Call) -> web.Response:
        msg = self._message(call)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        refused = self._refused(call.body or {}, msg)
        if refused is not None:
            return refused
        await self.peer.edit_message(msg, call.body or {}, call.files)
        return json_response(msg.payload)

    async def delete_message(self, call: Call) -> web.Response:
        msg = self._message(call)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        await self.peer.delete_message(msg)
        return no_content()

    async def add_reaction(self, call: Call) -> web.Response:
        msg = self._message(call)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        msg.reactions.append(call.params["emoji"])
        return no_content()

    async def remove_reaction(self, call: Call) -> web.Response:
        msg = self._message(call)
        if msg is not None and call.params["emoji"] in msg.reactions:
            msg.reactions.remove(call.params["emoji"])
        return no_content()

    # -- interactions and webhooks -------------------------------------------------------

    async def callback(self, call: Call) -> web.Response:
        handle = self.peer.interactions.get(int(call.params["interaction_id"]))
        if handle is None or handle.token != call.params["token"]:
            return error(404, "Unknown interaction", 10062)
        if handle.acknowledged:
            return error(400, "Interaction has already been acknowledged.", 40060)
        ctype = int(call.body["type"])
        data = call.body.get("data") or {}
        if ctype in (CHANNEL_MESSAGE, MODAL):
            refused = self._refused(data, modal=ctype == MODAL)
            if refused is not None:
                return refused
        message = await self._callback_message(handle, ctype, data, call.files)
        handle.add(Reply("callback", ctype, data, message))
        if call.request.query.get("with_response") in (None, "false", "0"):
            return no_content()
        return json_response(self._callback_body(handle, ctype, message))

    async def _callback_message(
        self,
        handle: InteractionHandle,
        ctype: int,
        data: dict[str, Any],
        files: list[tuple[str, bytes]],
    ) -> StoredMessage | None:
        if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            body = dict(data)
            if ctype == DEFERRED_CHANNEL_MESSAGE:
                body = {"content": "", "flags": int(data.get("flags", 0)) | LOADING}
            handle.original = await self.peer.create_message(
                handle.channel, body, files, "interaction", interaction=handle
            )
            return handle.original
        if ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE) and "message" in handle.payload:
            handle.original = self.peer.message_by_id.get(int(handle.payload["message"]["id"]))
            if ctype == UPDATE_MESSAGE and handle.original is not None:
                await self.peer.edit_message(handle.original, data, files)
            return handle.original
        return None

    def _callback_body(
        self, handle: InteractionHandle, ctype: int, message: StoredMessage | None
    ) -> dict[str, Any]:
        flags = message.flags if message is not None else 0
        interaction = {
            "id": str(handle.id),
            "type": handle.type,
            "activity_instance_id": None,
            "response_message_id": str(message.id) if message is not None else None,
            "response_message_loading": bool(flags & LOADING),
            "response_message_ephemeral": bool(flags & EPHEMERAL),
        }
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            resource["message"] = message.payload
        return {"interaction": interaction, "resource": resource}

    def _handle_for_token(self, call: Call) -> InteractionHandle | None:
        handle = self.peer.interactions_by_token.get(call.params["token"])
        if handle is None or call.params["app_id"] != str(self.peer.application_id):
            return None
        return handle

    async def get_webhook(self, call: Call) -> web.Response:
        if self._handle_for_token(call) is None:
            return error(404, "Unknown Webhook", 10015)
        app_id = str(self.peer.application_id)
        return json_response(
            {
                "id": app_id,
                "type": 3,
                "name": self.peer.bot.username,
                "avatar": None,
                "application_id": app_id,
                "token": call.params["token"],
            }
        )

    async def followup(self, call: Call) -> web.Response:
        handle = self._handle_for_token(call)
        if handle is None or not handle.acknowledged:
            return error(404, "Unknown Webhook", 10015)
        body = call.body or {}
        refused = self._refused(body)
        if refused is not None:
            return refused
        original = handle.original
        if original is not None and original.flags & LOADING:
            await self._finish_deferred(original, body, call.files)
            msg = original
        else:
            msg = await self.peer.create_message(
                handle.channel, body, call.files, "followup", interaction=handle
            )
        handle.add(Reply("followup", None, body, msg))
        if call.request.query.get("wait") in ("true", "1", "True"):
            return json_response(msg.payload)
        return no_content()

    async def _finish_deferred(
        self, original: StoredMessage, body: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> None:
        """The first follow-up after a deferral replaces the loading message (keeps ephemeral)."""
        flags = (original.flags & EPHEMERAL) | (int(body.get("flags", 0)) & ~(EPHEMERAL | LOADING))
        await self.peer.edit_message(original, {**body, "flags": flags}, files)

    def _webhook_message(self, call: Call) -> tuple[InteractionHandle | None, StoredMessage | None]:
        handle = self._handle_for_token(call)
        if handle is None:
            return None, None
        mid = call.params["message_id"]
        if mid == "@original":
            return handle, handle.original
        msg = self.peer.message_by_id.get(int(mid))
        return handle, (msg if msg is not None and not msg.deleted else None)

    async def get_webhook_message(self, call: Call) -> web.Response:
        _, msg = self._webhook_message(call)
        return json_response(msg.payload) if msg else error(404, "Unknown Message", 10008)

    async def edit_webhook_message(self, call: Call) -> web.Response:
        handle, msg = self._webhook_message(call)
        if handle is None or msg is None:
            return error(404, "Unknown Message", 10008)
        refused = self._refused(call.body or {}, msg)
        if refused is not None:
            return refused
        body = dict(call.body or {})
        body["flags"] = (msg.flags & ~LOADING) | (int(body.get("flags", 0)) & ~EPHEMERAL)
        await self.peer.edit_message(msg, body, call.files)
        kind = "edit_original" if call.params["message_id"] == "@original" else "edit"
        handle.add(Reply(kind, None, call.body or {}, msg))
        return json_response(msg.payload)

    async def delete_webhook_message(self, call: Call) -> web.Response:
        handle, msg = self._webhook_message(call)
        if handle is None or msg is None:
            return error(404, "Unknown Message", 10008)
        await self.peer.delete_message(msg)
        handle.add(Reply("delete", None, {}, msg))
        return no_content()
