"""How members write a command on each platform; core texts mark the prefix, the edge fills it in.

A text written in the core that names a command writes `CMD` where the prefix goes
(f"`{CMD}pledge join 3`"). Where a reply leaves the core for one platform (the engine's
answer, the Outbox of a scheduled message) `for_platform` puts that platform's syntax in:
`!pledge join 3` typed on Matrix and the console, `/pledge join 3` as a Discord slash command.
Member-written text never holds `CMD` (a private-use character; clean_text drops those).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.messages.replies import Reply

CMD = "\ue000"


@dataclass(frozen=True)
class CommandSyntax:
    """The typed prefix (from the config) and the platforms whose commands look different."""

    typed: str = "!"
    shown: Mapping[str, str] = field(default_factory=dict)  # platform -> prefix, e.g. "/"

    def prefix(self, platform: str) -> str:
        return self.shown.get(platform, self.typed)

    def for_platform(self, reply: Reply, platform: str) -> Reply:
        if CMD not in reply.text:
            return reply
        return dataclasses.replace(reply, text=reply.text.replace(CMD, self.prefix(platform)))
