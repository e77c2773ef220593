"""The bot's commands as an MSC4332 state event, so clients can offer them like slash commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from nio import AsyncClient, MatrixRoom, RoomPutStateError

from adapters.matrix.rooms import RoomCreation
from bot.commands.registry import Arg, Command, Registry, Role

log = logging.getLogger("logoff.matrix")

# MSC4332's unstable name (the stable one will be m.bot.commands); state key: the bot's user id.
EVENT_TYPE = "org.matrix.msc4332.commands"
POWER_LEVELS = "m.room.power_levels"


def _text(body: str) -> dict[str, Any]:
    """MSC1767's m.text block, which MSC4332 uses for descriptions."""
    return {"m.text": [{"body": body}]}


def _slot(arg: Arg) -> str:
    # MSC4332 variables cannot hold spaces unless the syntax quotes them (its "Tip").
    value = f'"{{{arg.name}}}"' if arg.kind == "text" and not arg.greedy else f"{{{arg.name}}}"
    return f"{arg.keyword} {value}" if arg.keyword else value


def _command(command: Command, prefix: str) -> dict[str, Any]:
    # The MSC has no optional variables yet: the template holds what must be typed, and the
    # description says the whole usage (what the optional words are for).
    required = [a for a in command.args if a.required]
    syntax = " ".join([command.name, *(_slot(a) for a in required)])
    description = f"{command.help}. Usage: {command.usage(prefix)}"
    if command.who is not Role.ANYONE:
        description += f" ({command.who.value}s)"
    out: dict[str, Any] = {"syntax": syntax, "description": _text(description)}
    if required:
        out["variables"] = {a.name: _text(_variable_help(a)) for a in required}
    return out


def _variable_help(arg: Arg) -> str:
    if arg.kind == "choice" and arg.choices:
        return f"{arg.help}: {' or '.join(arg.choices)}"
    return arg.help


def commands_content(registry: Registry, prefix: str) -> dict[str, Any]:
    """The event's content, generated from the registry (nothing written by hand)."""
    return {"sigil": prefix, "commands": [_command(c, prefix) for c in registry.all()]}


def _bot_may_publish(room: MatrixRoom, bot_id: str, creation: RoomCreation | None) -> bool:
    if creation is not None and creation.creators_rule and bot_id in creation.creators:
        return True  # a room the bot created (v12): creators outrank power levels
    return bool(room.power_levels.can_user_send_state(bot_id, EVENT_TYPE))


class CommandList:
    """Publishes the command list once per room, when the bot may and the room's copy differs."""

    def __init__(self, registry: Registry, prefix: str, bot_id: str) -> None:
        self.content = commands_content(registry, prefix)
        self.bot_id = bot_id
        self._current: dict[str, dict[str, Any]] = {}  # room -> the content the room holds
        self._settled: set[str] = set()  # rooms published to, or where the bot may not

    def observe(self, room_id: str, events: Iterable[Any]) -> None:
        """Learn from a sync: our event's content in the room, and power level changes."""
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict):
                continue
            kind = source.get("type")
            if kind == EVENT_TYPE and source.get("state_key") == self.bot_id:
                self._current[room_id] = dict(source.get("content") or {})
            elif kind == POWER_LEVELS:
                self._settled.discard(room_id)  # the bot may have been given the right

    def forget(self, room_id: str) -> None:
        self._current.pop(room_id, None)
        self._settled.discard(room_id)

    async def publish(
        self, client: AsyncClient, room: MatrixRoom, creation: RoomCreation | None
    ) -> bool:
        """Put the event in `room` if needed; True when this call sent it."""
        room_id = room.room_id
        if room_id in self._settled:
            return False
        self._settled.add(room_id)
        if self._current.get(room_id) == self.content:
            return False
        if not _bot_may_publish(room, self.bot_id, creation):
            return False  # `!help` is the way in there
        resp = await client.room_put_state(room_id, EVENT_TYPE, self.content, self.bot_id)
        if isinstance(resp, RoomPutStateError):
            log.info("could not publish the command list in %s: %s", room_id, resp)
            return False
        self._current[room_id] = self.content
        log.info("published the command list in %s", room_id)
        return True
