"""Which platform and group the current work is about, for log lines (set by engine, scheduler)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token

# A context variable, not a global: each task (a command, a scheduler round) sees its own.
_ABOUT: ContextVar[Mapping[str, str] | None] = ContextVar("logoff_log_about", default=None)


def enter(platform: str, group: str | None = None) -> Token[Mapping[str, str] | None]:
    """From now on in this task, log lines are about this platform (and group: its channel or
    room id); hand the token to `leave` when done."""
    fields = {"platform": platform}
    if group:
        fields["group"] = group
    return _ABOUT.set(fields)


def leave(token: Token[Mapping[str, str] | None]) -> None:
    _ABOUT.reset(token)


@contextmanager
def about(platform: str, group: str | None = None) -> Iterator[None]:
    token = enter(platform, group)
    try:
        yield
    finally:
        leave(token)


def current() -> Mapping[str, str]:
    return _ABOUT.get() or {}
