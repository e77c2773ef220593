"""Crash points (bot.crash_points) under the name the scheduler and the adapters import."""

from __future__ import annotations

from bot.crash_points import ENV, reached

__all__ = ["ENV", "reached"]
