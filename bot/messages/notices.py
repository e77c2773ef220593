"""The text and one-tap buttons of reminders and prompts, and Replies stored in the job table."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages.actions import Action
from bot.messages.instants import mark
from bot.messages.markup import inert
from bot.messages.replies import Button, MentionRef, Reply, Visibility
from bot.rules import pledge_periods as tracking
from bot.rules.periods import Period, describe
from storage import scheduling as round_queries
from storage.records import GroupRec, MemberRec, PledgeRec

# Discord allows 25 buttons per message (5 rows of 5): pledges beyond that get no buttons.
MAX_BUTTONS = 25
TITLE_IN_LABEL = 24

# `Reply.extra[PLEDGE_DONE]`: a batched message's Done answer for each pledge line, in line
# order, space-separated; every pledge gets one even when the buttons ran out, so a platform
# that answers by reaction (Matrix) can offer each pledge its own one-tap answer.
PLEDGE_DONE = "pledge_done"

REMIND = "remind"
PROMPT = "prompt"
FOLLOWUP = "followup"
SNOOZE = "snooze"
NOTICE_KINDS = (REMIND, PROMPT, FOLLOWUP, SNOOZE)


@dataclass(frozen=True)
class Notice:
    """One member to reach about one pledge's period, and why (a reminder, a question ...).

    `late`: the period before, still in its grace window and unanswered by this member (a
    daily pledge's morning nudge offers it a one-tap answer too).
    """

    kind: str
    member: MemberRec
    pledge: PledgeRec
    period: Period
    dm: bool
    late: Period | None = None


def is_question(kind: str) -> bool:
    """Prompts ask "did you?"; reminders (and snoozed reminders) nudge."""
    return kind in (PROMPT, FOLLOWUP)


def _short(title: str) -> str:
    return title if len(title) <= TITLE_IN_LABEL else title[: TITLE_IN_LABEL - 1] + "…"


def _buttons(notice: Notice, several: bool) -> list[Button]:
    """Every reminder and question carries the same one-tap answers for its period."""
    pledge, period = notice.pledge, notice.period
    tail = f" · {_short(pledge.title)}" if several else ""
    done_label = "Done"
    extra = []
    if notice.late is not None and notice.late.cadence == "day":
        done_label = "Done · today"
        extra.append(
            Button(
                "Done · yesterday" + tail,
                Action("done", pledge.id, notice.late.key).encode(),
                "✅",
                "success",
            )
        )
    return [
        Button(done_label + tail, Action("done", pledge.id, period.key).encode(), "✅", "success"),
        *extra,
        Button("Not this time" + tail, Action("not", pledge.id, period.key).encode(), "❌"),
        Button("Skip" + tail, Action("skip", pledge.id, period.key).encode(), "⏭"),
        Button("Snooze" + tail, Action("snooze", pledge.id, period.key).encode(), "💤"),
    ]


def _opening(kind: str, periods: Sequence[Period]) -> str:
    when = describe(periods[0]) if len({p.key for p in periods}) == 1 else "your pledges"
    if kind == FOLLOWUP:
        return f"Last call for the {when}: one tap, before it closes."
    if kind == PROMPT:
        return f"How did it go? ({when})"
    if kind == SNOOZE:
        return f"💤 As you asked, again ({when}):"
    return f"⏰ A nudge to log off and do it ({when}):"


def render(kind: str, notices: Sequence[Notice], dm: bool) -> Reply:
    """One message for every notice of a batch: one line per pledge, the members it concerns."""
    by_pledge: dict[int, list[Notice]] = {}
    for n in notices:
        by_pledge.setdefault(n.pledge.id, []).append(n)
    lines = [_opening(kind, [n.period for n in notices])]
    mentions: dict[int, MentionRef] = {}
    buttons: list[Button] = []
    done: list[str] = []
    several = len(by_pledge) > 1
    for group in by_pledge.values():
        pledge = group[0].pledge
        line = f"• **{inert(pledge.title)}**"
        if not dm:
            line += " — " + " ".join(f"{{@{n.member.id}}}" for n in group)
            for n in group:
                mentions[n.member.id] = MentionRef(
                    n.member.id, n.member.platform, n.member.external_id, n.member.display_name
                )
        late = next((n.late for n in group if n.late is not None), None)
        if late is not None:
            line += f" (yesterday, {describe(late)}, is still open)"
        lines.append(line)
        # One set of buttons per pledge; a member in grace yesterday gets its button too.
        mine = _buttons(next((n for n in group if n.late is not None), group[0]), several)
        if len(buttons) + len(mine) <= MAX_BUTTONS:
            buttons.extend(mine)
        done.append(Action("done", pledge.id, group[0].period.key).encode())
    lines.append("One tap answers; no typing needed.")
    reply = Reply(
        text="\n".join(lines),
        visibility=Visibility.PUBLIC,
        buttons=tuple(buttons),
        mentions=tuple(mentions.values()),
    )
    return reply.with_extra(**{PLEDGE_DONE: " ".join(done)}) if several else reply


def notices_to_json(notices: Sequence[Notice]) -> list[list[Any]]:
    """Who a message asks about what, stored with it: the check right before it is sent, and
    the budget of later messages (each member is asked once per period), read it back."""
    return [
        [n.member.id, n.pledge.id, n.period.key, n.kind, n.late.key if n.late else ""]
        for n in notices
    ]


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A Reply as JSON for the job table. The weekly summary's picture (a few kB) goes with it:
    what was rendered when the week closed is what is delivered, after a restart too."""
    out: dict[str, Any] = {
        "text": reply.text,
        "visibility": reply.visibility.value,
        "buttons": [[b.label, b.action, b.emoji, b.style] for b in reply.buttons],
        "mentions": [
            [m.member_id, m.platform, m.external_id, m.display_name] for m in reply.mentions
        ],
        "extra": dict(reply.extra),
    }
    if reply.image is not None:
        out["image"] = {
            "data": base64.b64encode(reply.image).decode("ascii"),
            "name": reply.image_name,
            "alt": reply.image_alt,
            "size": list(reply.image_size) if reply.image_size else None,
        }
    return out


def reply_from_json(data: dict[str, Any]) -> Reply:
    image = data.get("image") or {}
    size = image.get("size")
    return Reply(
        text=str(data["text"]),
        visibility=Visibility(data.get("visibility", "public")),
        buttons=tuple(Button(*b) for b in data.get("buttons", [])),
        mentions=tuple(MentionRef(int(m[0]), m[1], m[2], m[3]) for m in data.get("mentions", [])),
        image=base64.b64decode(image["data"]) if image else None,
        image_name=str(image.get("name", "")),
        image_alt=str(image.get("alt", "")),
        image_size=(int(size[0]), int(size[1])) if size else None,
        extra={str(k): str(v) for k, v in data.get("extra", {}).items()},
    )


def describe_held(rows: Iterable[round_queries.HeldBack], group: GroupRec) -> list[str]:
    """Lines for `!settings`: what the cap held back this week, in the group's time."""
    tz = tracking.group_tz(group)
    lines = []
    for r in rows:
        what = {"summary": "the weekly summary", PROMPT: "a question", FOLLOWUP: "a last call"}
        label = what.get(r.kind, "a reminder")
        titles = ", ".join(r.titles) or "—"
        lines.append(
            f"{mark(r.due_at, tz, 's')}: {label} ({titles}) for {r.members} "
            f"member{'s' if r.members != 1 else ''}"
        )
    return lines
