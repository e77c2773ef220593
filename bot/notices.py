"""The text and one-tap buttons of reminders and prompts, and Replies stored in the job table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.actions import Action
from bot.markup import inert
from bot.periods import Period, describe
from bot.replies import Button, MentionRef, Reply, Visibility
from storage.records import MemberRec, PledgeRec

# Discord allows 25 buttons per message; 4 per pledge keeps 6 pledges answerable in one message.
MAX_PLEDGES_WITH_BUTTONS = 6
TITLE_IN_LABEL = 24

REMIND = "remind"
PROMPT = "prompt"
FOLLOWUP = "followup"
SNOOZE = "snooze"
NOTICE_KINDS = (REMIND, PROMPT, FOLLOWUP, SNOOZE)


@dataclass(frozen=True)
class Notice:
    """One member to reach about one pledge's period, and why (a reminder or a prompt)."""

    kind: str
    member: MemberRec
    pledge: PledgeRec
    period: Period
    dm: bool


def is_question(kind: str) -> bool:
    """Prompts ask "did you?"; reminders (and snoozed reminders) nudge."""
    return kind in (PROMPT, FOLLOWUP)


def _short(title: str) -> str:
    return title if len(title) <= TITLE_IN_LABEL else title[: TITLE_IN_LABEL - 1] + "…"


def _buttons(pledge: PledgeRec, period: Period, question: bool, several: bool) -> list[Button]:
    tail = f" · {_short(pledge.title)}" if several else ""
    done = Button("Done" + tail, Action("done", pledge.id, period.key).encode(), "✅", "success")
    snooze = Button("Snooze" + tail, Action("snooze", pledge.id, period.key).encode(), "💤")
    if not question:
        return [done, snooze]
    return [
        done,
        Button("Not this time" + tail, Action("not", pledge.id, period.key).encode(), "❌"),
        Button("Skip" + tail, Action("skip", pledge.id, period.key).encode(), "⏭"),
        snooze,
    ]


def _opening(kind: str, periods: Sequence[Period]) -> str:
    when = describe(periods[0]) if len({p.key for p in periods}) == 1 else "your pledges"
    if kind == FOLLOWUP:
        return f"Last call for the {when}: one tap, before it closes."
    if kind == PROMPT:
        return f"How did it go? ({when})"
    return "⏰ A nudge to log off and do it:"


def render(kind: str, notices: Sequence[Notice], dm: bool) -> Reply:
    """One message for every notice of a batch: one line per pledge, the members it concerns."""
    by_pledge: dict[int, list[Notice]] = {}
    for n in notices:
        by_pledge.setdefault(n.pledge.id, []).append(n)
    lines = [_opening(kind, [n.period for n in notices])]
    mentions: dict[int, MentionRef] = {}
    buttons: list[Button] = []
    several = len(by_pledge) > 1
    for i, group in enumerate(by_pledge.values()):
        pledge, period = group[0].pledge, group[0].period
        line = f"• **{inert(pledge.title)}**"
        if not dm:
            line += " — " + " ".join(f"{{@{n.member.id}}}" for n in group)
            for n in group:
                mentions[n.member.id] = MentionRef(
                    n.member.id, n.member.platform, n.member.external_id, n.member.display_name
                )
        lines.append(line)
        if i < MAX_PLEDGES_WITH_BUTTONS:
            buttons.extend(_buttons(pledge, period, is_question(kind), several))
    if is_question(kind):
        lines.append("One tap answers; no typing needed.")
    return Reply(
        text="\n".join(lines),
        visibility=Visibility.PUBLIC,
        buttons=tuple(buttons),
        mentions=tuple(mentions.values()),
    )


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A Reply as JSON for the job table (images are never scheduled)."""
    return {
        "text": reply.text,
        "visibility": reply.visibility.value,
        "buttons": [[b.label, b.action, b.emoji, b.style] for b in reply.buttons],
        "mentions": [
            [m.member_id, m.platform, m.external_id, m.display_name] for m in reply.mentions
        ],
        "extra": dict(reply.extra),
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    return Reply(
        text=str(data["text"]),
        visibility=Visibility(data.get("visibility", "public")),
        buttons=tuple(Button(*b) for b in data.get("buttons", [])),
        mentions=tuple(MentionRef(int(m[0]), m[1], m[2], m[3]) for m in data.get("mentions", [])),
        extra={str(k): str(v) for k, v in data.get("extra", {}).items()},
    )
