"""The counting interface the core reports to (sends, hold-backs, answers, commands, errors).

The core calls these methods and nothing else; bot.app.metrics implements them with
prometheus-client when the `metrics` extra is installed. Labels are kinds, platforms and
reasons only, never a member or a group: their number stays small and nobody is tracked.
"""

from __future__ import annotations

from typing import Protocol

# Why a message the bot would have started was not sent (the label of `held_back`).
QUIET_HOURS = "quiet_hours"
MUTED = "muted"
CAP = "cap"


class Meter(Protocol):
    def sent(self, platform: str, kind: str) -> None:
        """A message the bot started was accepted by the platform."""

    def held_back(self, reason: str, count: int = 1) -> None:
        """Messages not sent now: QUIET_HOURS (later), MUTED or CAP (not at all)."""

    def answered(self, kind: str) -> None:
        """A member answered a period: done, not, skip, snooze."""

    def command(self, name: str, seconds: float, outcome: str) -> None:
        """A command, tap or reaction handled: ok, refused (a user error) or error."""

    def error(self, where: str) -> None:
        """An unexpected error was logged (engine, scheduler)."""


class NoMeter:
    """Counts nothing: the default, and what runs without the `metrics` extra."""

    def sent(self, platform: str, kind: str) -> None:
        pass

    def held_back(self, reason: str, count: int = 1) -> None:
        pass

    def answered(self, kind: str) -> None:
        pass

    def command(self, name: str, seconds: float, outcome: str) -> None:
        pass

    def error(self, where: str) -> None:
        pass
