"""One-tap answers as short strings that survive restarts (Discord custom ids, reactions)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "lo1"
ANSWERS = ("done", "not", "skip", "snooze", "snooze1h", "snoozetonight", "snoozetomorrow")
CONFIRMS = ("forget-yes", "forget-no")
REACTION_ANSWERS = {"✅": "done", "❌": "not", "⏭": "skip", "⏭️": "skip", "💤": "snooze"}


@dataclass(frozen=True)
class Action:
    """An answer to a prompt about a pledge's period (pledge_id 0 for member-level confirms)."""

    verb: str
    pledge_id: int = 0
    period_key: str = ""

    def encode(self) -> str:
        # Discord limits custom ids to 100 characters; this stays far below.
        return f"{PREFIX}:{self.verb}:{self.pledge_id}:{self.period_key}"


def decode(text: str) -> Action | None:
    parts = text.split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    verb, pledge, period = parts[1], parts[2], parts[3]
    if verb not in ANSWERS + CONFIRMS or not pledge.isdigit() or len(period) > 24:
        return None
    return Action(verb=verb, pledge_id=int(pledge), period_key=period)
