"""Every command and tap Logoff understands, declared once; `build_registry` collects them."""

from __future__ import annotations

from bot.commands import checkins as answers
from bot.commands import events, help, personal, pledges, privacy, settings, snoozing
from bot.commands.registry import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (help, pledges, answers, events, personal, settings, privacy, snoozing):
        module.register(registry)
    return registry
