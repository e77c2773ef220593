"""Interactions the peer sends to the bot and the responses it records for them."""

# ruff: noqa: ASYNC109 -- explicit timeout= parameters are the fixture's public API

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import EPHEMERAL, Notifier, PeerChannel, PeerGuild, PeerRole, PeerUser, StoredMessage

CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

SUBCOMMAND = 1
SUBCOMMAND_GROUP = 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


@dataclass
class Reply:
    """One response of the bot to an interaction.

    kind is "callback" (the initial response; type is the callback type), "followup",
    "edit_original" or "edit" (a webhook message edit) or "delete".
    """

    kind: str
    type: int | None
    data: dict[str, Any]
    message: StoredMessage | None = None

    @property
    def content(self) -> str | None:
        """What the member reads: the content, or a card's text displays."""
        if self.message is not None:
            return self.message.text
        return self.data.get("content")

    @property
    def flags(self) -> int:
        if self.message is not None:
            return self.message.flags
        return int(self.data.get("flags", 0) or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def components(self) -> list[dict[str, Any]]:
        if self.message is not None:
            return self.message.components
        return list(self.data.get("components", []))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        if self.message is not None:
            return self.message.embeds
        return list(self.data.get("embeds", []))

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (callback type 8)."""
        return list(self.data.get("choices", []))

    @property
    def custom_id(self) -> str | None:
        """Modal custom_id (callback type 9)."""
        return self.data.get("custom_id")

    @property
    def is_deferral(self) -> bool:
        return self.kind == "callback" and self.type in (
            DEFERRED_CHANNEL_MESSAGE,
            DEFERRED_UPDATE_MESSAGE,
        )


@dataclass
class InteractionHandle:
    """An interaction dispatched to the bot; await its responses."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user: PeerUser
    channel: PeerChannel
    replies: list[Reply] = field(default_factory=list)
    original: StoredMessage | None = None
    changed: Notifier = field(default_factory=Notifier)

    @property
    def acknowledged(self) -> bool:
        return any(r.kind == "callback" for r in self.replies)

    @property
    def callback(self) -> Reply | None:
        return next((r for r in self.replies if r.kind == "callback"), None)

    def add(self, reply: Reply) -> None:
        self.replies.append(reply)
        self.changed.notify()

    async def wait_callback(self, timeout: float = 5.0) -> Reply:
        """The initial callback (any type, including deferrals)."""
        return await self.changed.wait_for(lambda: self.callback, timeout, "interaction callback")

    async def wait_reply(self, timeout: float = 5.0, index: int = 0) -> Reply:
        """The index-th response that carries content (skips deferrals)."""

        def check() -> Reply | None:
            found = [r for r in self.replies if not r.is_deferral and r.kind != "delete"]
            return found[index] if len(found) > index else None

        return await self.changed.wait_for(check, timeout, f"reply #{index}")

    async def wait_followup(self, timeout: float = 5.0, index: int = 0) -> Reply:
        """The index-th follow-up message (POST /webhooks/{app}/{token})."""

        def check() -> Reply | None:
            found = [r for r in self.replies if r.kind == "followup"]
            return found[index] if len(found) > index else None

        return await self.changed.wait_for(check, timeout, f"follow-up #{index}")

    async def wait_choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Autocomplete choices returned by the bot."""
        reply = await self.wait_callback(timeout)
        if reply.type != AUTOCOMPLETE_RESULT:
            raise AssertionError(f"expected an autocomplete result, got callback type {reply.type}")
        return reply.choices


def find_command(
    commands: list[dict[str, Any]], name: str, guild_id: int | None
) -> dict[str, Any] | None:
    """The synced chat-input command a user would invoke (guild commands shadow global ones)."""
    scoped = [c for c in commands if c["name"] == name and c.get("type", 1) == 1]
    guild = [c for c in scoped if guild_id is not None and c.get("guild_id") == str(guild_id)]
    global_ = [c for c in scoped if c.get("guild_id") is None]
    found = guild or global_
    return found[0] if found else None


def command_path(command: dict[str, Any], subcommand: str | None) -> list[dict[str, Any]]:
    """Schemas from the command down to the leaf subcommand ("group sub" or "sub")."""
    path = [command]
    for part in (subcommand or "").split():
        options = path[-1].get("options", [])
        nxt = next(
            (o for o in options if o["name"] == part and o["type"] in (1, 2)),
            None,
        )
        if nxt is None:
            raise LookupError(f"/{command['name']} has no subcommand {part!r}")
        path.append(nxt)
    return path


class OptionBuilder:
    """Converts Python values into interaction options plus the `resolved` map."""

    def __init__(self, guild: PeerGuild | None, channels: dict[int, PeerChannel]) -> None:
        self.guild = guild
        self.channels = channels
        self.resolved: dict[str, dict[str, Any]] = {}

    def build(
        self, schema: dict[str, Any], values: dict[str, Any], focused: str | None
    ) -> list[dict[str, Any]]:
        defs = {o["name"]: o for o in schema.get("options", [])}
        built = []
        for name, value in values.items():
            if name not in defs:
                raise LookupError(f"option {name!r} not in {sorted(defs)}")
            built.append(self._option(defs[name], value, focused == name))
        if focused is not None and focused not in values:
            built.append(
                {"name": focused, "type": defs[focused]["type"], "value": "", "focused": True}
            )
        return built

    def _option(self, schema: dict[str, Any], value: Any, focused: bool) -> dict[str, Any]:
        opt_type = schema["type"]
        option: dict[str, Any] = {"name": schema["name"], "type": opt_type}
        if focused:
            option.update(value=str(value), focused=True)
        else:
            option["value"] = self._convert(opt_type, value)
        return option

    def _convert(self, opt_type: int, value: Any) -> Any:
        if opt_type == USER or (opt_type == MENTIONABLE and isinstance(value, PeerUser)):
            return self._resolve_user(value)
        if opt_type == CHANNEL:
            return self._resolve_channel(value)
        if opt_type in (ROLE, MENTIONABLE):
            return self._resolve_role(value)
        if opt_type == INTEGER:
            return int(value)
        if opt_type == NUMBER:
            return float(value)
        if opt_type == BOOLEAN:
            return bool(value)
        return str(value)

    def _resolve_user(self, user: PeerUser) -> str:
        self.resolved.setdefault("users", {})[str(user.id)] = user.payload()
        if self.guild is not None and user.id in self.guild.members:
            member = self.guild.members[user.id].payload(self.guild.permissions_of(user.id))
            member.pop("user")
            self.resolved.setdefault("members", {})[str(user.id)] = member
        return str(user.id)

    def _resolve_channel(self, channel: PeerChannel) -> str:
        data = channel.payload()
        data["permissions"] = str(self.guild.permissions_of(0) if self.guild else 0)
        self.resolved.setdefault("channels", {})[str(channel.id)] = data
        return str(channel.id)

    def _resolve_role(self, role: PeerRole) -> str:
        self.resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return str(role.id)


def nest_options(
    path: list[dict[str, Any]], leaf_options: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Wrap leaf options in subcommand / subcommand-group options along the path."""
    options = leaf_options
    for schema in reversed(path[1:]):
        options = [{"name": schema["name"], "type": schema["type"], "options": options}]
    return options


def modal_submit_components(modal: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Mirror a modal's layout with submitted values (text inputs and selects)."""
    return [_submitted(c, values) for c in modal.get("components", [])]


def _submitted(comp: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    if comp["type"] == 1:
        return {"type": 1, "components": [_submitted(c, values) for c in comp["components"]]}
    if comp["type"] == 18:
        return {"type": 18, "component": _submitted(comp["component"], values)}
    custom_id = comp.get("custom_id")
    out: dict[str, Any] = {"type": comp["type"], "custom_id": custom_id}
    if comp["type"] == 4:
        out["value"] = str(values.get(custom_id, comp.get("value", "")))
    elif comp["type"] == 21:  # a radio group submits one value, or null when none was chosen
        out["value"] = values.get(custom_id)
    elif custom_id is not None:
        value = values.get(custom_id, [])
        out["values"] = value if isinstance(value, list) else [value]
    return out
