"""Every command Logoff understands, declared once; `build_registry` collects them."""

from __future__ import annotations

from bot.commands import answers, help, personal, pledges, privacy, settings
from bot.registry import Registry


def build_registry() -> Registry:
    registry = Registry()
    for module in (help, pledges, answers, personal, settings, privacy):
        module.register(registry)
    return registry
