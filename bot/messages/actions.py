"""One-tap answers as short strings that survive restarts (Discord custom ids, reactions)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "lo1"
ANSWERS = ("done", "not", "skip", "snooze", "snooze1h", "snoozetonight", "snoozetomorrow")
CONFIRMS = ("forget-yes", "forget-no")
REACTION_ANSWERS = {"✅": "done", "❌": "not", "⏭": "skip", "⏭️": "skip", "💤": "snooze"}
# Issue 14: answers about an event. The number after the verb is the event's id, not a pledge's.
RSVP_VERBS = ("going", "maybe", "cant")
ATTENDANCE_VERBS = ("went", "missed")
EVENT_VERBS = RSVP_VERBS + ATTENDANCE_VERBS
# Reactions on an event's own message (RSVP) and on its "did you make it?" question.
RSVP_REACTIONS = {"✅": "going", "🤔": "maybe", "❌": "cant"}
ATTENDANCE_REACTIONS = {"✅": "went", "❌": "missed"}


@dataclass(frozen=True)
class Action:
    """An answer to a prompt about a pledge's period (pledge_id 0 for member-level confirms)."""

    verb: str
    pledge_id: int = 0
    period_key: str = ""

    def encode(self) -> str:
        # Discord limits custom ids to 100 characters; this stays far below.
        return f"{PREFIX}:{self.verb}:{self.pledge_id}:{self.period_key}"

    @property
    def is_event(self) -> bool:
        return self.verb in EVENT_VERBS


def event_action(verb: str, event_id: int) -> Action:
    """An answer about an event: `lo1:going:12:` (12 is the event's id)."""
    if verb not in EVENT_VERBS:
        raise ValueError(f"not an event answer: {verb}")
    return Action(verb=verb, pledge_id=event_id)


def decode(text: str) -> Action | None:
    parts = text.split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    verb, pledge, period = parts[1], parts[2], parts[3]
    if verb not in ANSWERS + CONFIRMS + EVENT_VERBS or not pledge.isdigit() or len(period) > 24:
        return None
    return Action(verb=verb, pledge_id=int(pledge), period_key=period)
