"""Platform-neutral replies: text, one-tap buttons, an optional image, and who may see it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType


class Visibility(Enum):
    PRIVATE = "private"  # only the caller (Discord ephemeral; Matrix/console: a reply anyway)
    PUBLIC = "public"


# `Reply.extra[NOTIFY] = "1"`: a scheduled message without buttons whose mentions must reach
# the people named (an event's reminder); Matrix then sends m.text, not a silenced m.notice.
NOTIFY = "notify"
# `Reply.extra[LAYOUT] = BOARD`: the text is the pledge board (one block per pledge), which a
# platform may show as a card (Discord components v2); the text alone reads the same.
LAYOUT = "layout"
BOARD = "board"


@dataclass(frozen=True)
class Button:
    label: str
    action: str  # an encoded action (bot.messages.actions); adapters treat it as opaque
    emoji: str = ""
    style: str = "secondary"  # primary | secondary | danger | success


@dataclass(frozen=True)
class MentionRef:
    """A member to ping: `{@N}` in the text stands for member N."""

    member_id: int
    platform: str
    external_id: str
    display_name: str


@dataclass(frozen=True)
class Reply:
    """What a command or a scheduled job says; `text` is light Markdown (bot.messages.markup)."""

    text: str
    visibility: Visibility = Visibility.PRIVATE
    buttons: tuple[Button, ...] = ()
    mentions: tuple[MentionRef, ...] = ()
    image: bytes | None = None
    image_name: str = ""
    # A picture's words for readers who cannot see it, and its pixel size (Matrix `info`).
    image_alt: str = ""
    image_size: tuple[int, int] | None = None
    error: bool = False
    # Delivery details (idempotency key, kind); read-only: `with_extra` makes a new Reply.
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def private(self) -> bool:
        return self.visibility is Visibility.PRIVATE

    def with_extra(self, **values: str) -> Reply:
        return dataclasses.replace(self, extra={**self.extra, **values})


def private(text: str, **kw: object) -> Reply:
    return Reply(text=text, visibility=Visibility.PRIVATE, **kw)  # type: ignore[arg-type]


def public(text: str, **kw: object) -> Reply:
    return Reply(text=text, visibility=Visibility.PUBLIC, **kw)  # type: ignore[arg-type]


def error(message: str, usage: str | None = None) -> Reply:
    text = message if usage is None else f"{message}\n{usage}"
    return Reply(text=text, visibility=Visibility.PRIVATE, error=True)
