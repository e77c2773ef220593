"""An event's messages: its card with RSVP counts and buttons, the reminder, "did you make it?"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages.actions import event_action
from bot.messages.markup import inert
from bot.messages.replies import NOTIFY, Button, MentionRef, Reply, Visibility
from bot.messages.syntax import CMD
from bot.rules.event_times import describe_length
from storage.records import EventRec, MemberRec, PledgeRec, RsvpRec

# Reply.extra keys adapters read: the card's event id (record the posted message id with
# `Engine.record_event_card`), and what a scheduled event message is.
CARD_KEY = "event_card"
# On an RSVP's answer: the card was updated in place and shows it (Matrix then posts nothing).
CARD_UPDATED = "card_updated"
ANSWER_LABELS = {"going": "Going", "maybe": "Maybe", "cant": "Can't"}
ANSWER_EMOJI = {"going": "✅", "maybe": "🤔", "cant": "❌"}
ATTEND_LABELS = {"went": "I went", "missed": "Missed it"}
ATTEND_EMOJI = {"went": "✅", "missed": "❌"}
# A card names at most this many people per answer; the count is always exact.
NAMES_ON_CARD = 12


def zone(event: EventRec) -> ZoneInfo:
    return ZoneInfo(event.tzid)


def when_text(event: EventRec) -> str:
    """`Sat 12 Dec 2026, 18:00–20:00 (Europe/Berlin)`, in the event's own zone."""
    tz = zone(event)
    start, end = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    head = f"{start:%a} {start.day} {start:%b %Y}, {start:%H:%M}"
    if end.date() == start.date():
        tail = f"–{end:%H:%M}"
    else:
        tail = f" – {end:%a} {end.day} {end:%b} {end:%H:%M}"
    return f"{head}{tail} ({tz.key})"


def counts(rsvps: Sequence[RsvpRec]) -> dict[str, int]:
    out = dict.fromkeys(ANSWER_LABELS, 0)
    for r in rsvps:
        out[r.answer] = out.get(r.answer, 0) + 1
    return out


def rsvp_buttons(event: EventRec) -> tuple[Button, ...]:
    styles = {"going": "success", "maybe": "primary", "cant": "secondary"}
    return tuple(
        Button(ANSWER_LABELS[v], event_action(v, event.id).encode(), ANSWER_EMOJI[v], styles[v])
        for v in ("going", "maybe", "cant")
    )


def _names(rsvps: Sequence[RsvpRec], answer: str) -> str:
    names = [inert(r.display_name) for r in rsvps if r.answer == answer]
    shown = ", ".join(names[:NAMES_ON_CARD])
    more = len(names) - NAMES_ON_CARD
    return shown + (f" and {more} more" if more > 0 else "")


def card(event: EventRec, rsvps: Sequence[RsvpRec], pledge: PledgeRec | None) -> Reply:
    """The event's one message: what, when, where, the counts; Going / Maybe / Can't."""
    n = counts(rsvps)
    lines = [f"📅 **{inert(event.title)}** (event {event.number})", when_text(event)]
    if event.place:
        lines.append(f"📍 {inert(event.place)}")
    if pledge is not None:
        lines.append(f"Going keeps **{inert(pledge.title)}** for that {pledge.cadence}.")
    if event.status == "cancelled":
        lines.insert(0, "❌ **Cancelled**")
        return Reply(
            text="\n".join(lines),
            visibility=Visibility.PUBLIC,
            extra={CARD_KEY: str(event.id)},
        )
    tally = f"✅ Going {n['going']} · 🤔 Maybe {n['maybe']} · ❌ Can't {n['cant']}"
    lines.append(tally)
    for answer in ("going", "maybe"):
        if n[answer]:
            lines.append(f"{ANSWER_LABELS[answer]}: {_names(rsvps, answer)}")
    lines.append(
        f"One tap answers (or `{CMD}going {event.number}`); "
        f"`{CMD}event ics {event.number}` adds it to your calendar."
    )
    return Reply(
        text="\n".join(lines),
        visibility=Visibility.PUBLIC,
        buttons=rsvp_buttons(event),
        extra={CARD_KEY: str(event.id)},
    )


def _mention_line(members: Sequence[MemberRec]) -> tuple[str, tuple[MentionRef, ...]]:
    refs = tuple(MentionRef(m.id, m.platform, m.external_id, m.display_name) for m in members)
    return " ".join(f"{{@{m.id}}}" for m in members), refs


def reminder(event: EventRec, members: Sequence[MemberRec], now: datetime) -> Reply:
    """Before the event, to who said Going or Maybe: one message for all of them."""
    who, refs = _mention_line(members)
    start = event.starts_at.astimezone(zone(event))
    today = now.astimezone(zone(event)).date()
    day = "today" if start.date() == today else f"{start:%A} {start.day} {start:%b}"
    where = f" at {inert(event.place)}" if event.place else ""
    text = (
        f"⏰ **{inert(event.title)}** is {day} at {start:%H:%M}{where}. {who}\n"
        "See you there — and enjoy the time offline."
    )
    return Reply(text=text, visibility=Visibility.PUBLIC, mentions=refs, extra={NOTIFY: "1"})


def question(event: EventRec, members: Sequence[MemberRec], pledge: PledgeRec | None) -> Reply:
    """After the end, to who said Going or Maybe: did you make it? One tap."""
    who, refs = _mention_line(members)
    keeps = f" “I went” keeps **{inert(pledge.title)}**." if pledge is not None else ""
    text = f"Did you make it to **{inert(event.title)}**? {who}{keeps}"
    buttons = tuple(
        Button(ATTEND_LABELS[v], event_action(v, event.id).encode(), ATTEND_EMOJI[v])
        for v in ("went", "missed")
    )
    return Reply(text=text, visibility=Visibility.PUBLIC, buttons=buttons, mentions=refs)


def length_text(event: EventRec) -> str:
    return describe_length(event.ends_at - event.starts_at)
