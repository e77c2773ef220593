"""Event commands: new, list, show, edit, cancel, ics, feed; RSVPs; went / missed after it."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.commands.event_mirror import mirror_event
from bot.commands.invocation import EventServices, Invocation, Tap
from bot.commands.registry import Arg, Command, Registry, Role, TapDecl
from bot.errors import NotFound, PermissionDenied, UserError
from bot.messages import event_card
from bot.messages.actions import ATTENDANCE_REACTIONS, EVENT_VERBS, RSVP_REACTIONS, event_action
from bot.messages.event_ics import event_calendar
from bot.messages.markup import clean_text, inert, typed
from bot.messages.replies import Reply, private, public
from bot.messages.syntax import CMD
from bot.progress import answering as answers
from bot.rules import event_times, streaks
from bot.rules import pledge_periods as tracking
from bot.rules.localtime import TIME_USAGE, format_hhmm, parse_timezone
from bot.rules.periods import Period, describe, period_at
from storage import checkins as checkin_queries
from storage import events as event_queries
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage import sent as sent_queries
from storage import transaction
from storage.records import EventRec, GroupRec, MemberRec, PledgeRec

log = logging.getLogger("logoff.events")

MAX_UPCOMING_EVENTS = 100
TITLE_MAX = 120
PLACE_MAX = 200
# What a "did you make it?" question is recorded as (sent_messages.kind), and its key.
ASK_KIND = "event-ask"
# Events over longer ago than this no longer take a title as their reference (the number works).
REFERENCE_DAYS = 14
ANSWER_WORDS = {"going": "going", "maybe": "maybe", "cant": "not going"}


def ask_key(event_id: int) -> str:
    """The period_key under which a scheduled question about an event is recorded."""
    return f"event:{event_id}"


def event_of_ask(period_key: str | None) -> int | None:
    if period_key and period_key.startswith("event:") and period_key[6:].isdigit():
        return int(period_key[6:])
    return None


# -- references ------------------------------------------------------------------------------


def match_events(events: list[EventRec], name: str) -> list[EventRec]:
    """Events named by number (`3`, `#3`), full title, or a unique start of the title."""
    text = clean_text(name).strip().lower()
    if text.startswith("#") and text[1:].isdigit():
        text = text[1:]
    if text.isdigit():
        return [e for e in events if e.number == int(text)]
    exact = [e for e in events if e.title.lower() == text]
    return exact or [e for e in events if e.title.lower().startswith(text)]


async def resolve_event(group: GroupRec, name: str, now: datetime) -> EventRec:
    events = await event_queries.group_events(group.id, ("scheduled", "cancelled"))
    found = match_events(events, name)
    if len(found) > 1 and not name.strip().lstrip("#").isdigit():
        recent = now - timedelta(days=REFERENCE_DAYS)
        narrowed = [e for e in found if e.status == "scheduled" and e.ends_at > recent]
        found = narrowed or found
    if not found:
        listing = (
            ", ".join(f"`{e.number}` {inert(e.title)}" for e in events if e.ends_at > now)
            or "none to come"
        )
        raise NotFound(
            f"No event here matches “{typed(name)}”.",
            f"Name it by number or title. Coming up: {listing[:400]}. "
            f"(`{CMD}event list` shows them.)",
        )
    if len(found) > 1:
        options = ", ".join(f"`{e.number}` {inert(e.title)}" for e in found[:10])
        raise UserError(
            f"“{typed(name)}” fits more than one event: {options}.",
            "Use the event's number.",
        )
    return found[0]


# Commands answered about an event that has started: autocomplete offers those events first.
AFTER_START = ("went", "missed")


def choose_events(
    events: list[EventRec], typed: str, now: datetime, after_start: bool = False
) -> list[EventRec]:
    """What autocomplete offers for an event argument: the events to come (soonest first),
    then the recent ones (latest first), or the other way round for "went" / "missed";
    typed text picks by number, the start of the title, or any word in it."""
    recent = now - timedelta(days=REFERENCE_DAYS)
    live = [e for e in events if e.status == "scheduled" and e.ends_at > recent]
    coming = [e for e in live if e.ends_at > now and e.starts_at > now]
    started = sorted((e for e in live if e not in coming), key=lambda e: e.starts_at, reverse=True)
    ordered = started + coming if after_start else coming + started
    text = clean_text(typed).strip().lower().lstrip("#")
    if not text:
        return ordered
    if text.isdigit():
        return [e for e in ordered if str(e.number).startswith(text)]
    head = [e for e in ordered if e.title.lower().startswith(text)]
    inside = [e for e in ordered if e not in head and text in e.title.lower()]
    return head + inside


def choice_label(event: EventRec) -> str:
    """`3 · Tenants' meeting · Sat 12 Dec 18:00` (Discord shows at most 100 characters)."""
    start = event.starts_at.astimezone(event_card.zone(event))
    when = f"{start:%a} {start.day} {start:%b} {start:%H:%M}"
    title = event.title if len(event.title) <= 70 else event.title[:69] + "…"
    return f"{event.number} · {title} · {when}"


# -- the card --------------------------------------------------------------------------------


async def _pledge_of(event: EventRec) -> PledgeRec | None:
    return await pledge_queries.get_pledge(event.pledge_id) if event.pledge_id else None


async def render_card(event: EventRec) -> Reply:
    rsvps = await event_queries.rsvps([event.id])
    return event_card.card(event, rsvps, await _pledge_of(event))


async def record_card(platform: str, message_id: str, reply: Reply) -> None:
    """The posted message of a public card becomes the event's card (the newest one wins)."""
    raw = reply.extra.get(event_card.CARD_KEY, "")
    if not raw.isdigit() or reply.private or not message_id:
        return
    event = await event_queries.get_event(int(raw))
    group = await group_queries.get_group(event.group_id) if event else None
    if event is not None and group is not None and group.platform == platform:
        await event_queries.set_card(event.id, message_id)


def card_shown(engine: EventServices, event: EventRec) -> bool:
    return bool(event.card_message_id) and engine.card_hook is not None


async def refresh_card(engine: EventServices, event: EventRec) -> bool:
    """Update the event's message in place (Outbox.edit) once the change has committed: a
    process killed before its commit never showed a change that did not happen. A failed edit
    leaves the card stale until the next change, never loses an answer. True when the event
    has a card the edit goes to."""
    hook = engine.card_hook
    if not event.card_message_id or hook is None:
        return False
    card_id = event.card_message_id

    async def edit() -> None:
        # Drawn after the commit: the answers counted are the committed ones.
        group = await group_queries.get_group(event.group_id)
        if group is None:
            return
        try:
            await hook(group, card_id, await render_card(event))
        except Exception:
            log.exception("could not update the card of event %s", event.id)

    await transaction.after_commit(edit)
    return True


# -- new, list, show, edit, cancel -----------------------------------------------------------


@dataclass(frozen=True)
class When:
    starts_at: datetime
    ends_at: datetime
    local: event_times.EventTime


def _when(
    group: GroupRec, tzid: str, date_text: str, time_text: str, length: timedelta, now: datetime
) -> When:
    tz = tracking.group_tz(group) if tzid == group.timezone else parse_timezone(tzid)
    day = event_times.parse_event_date(date_text, now.astimezone(tz).date())
    try:
        at = event_times.parse_time(time_text)
    except UserError as exc:
        raise UserError(exc.message, TIME_USAGE) from None
    local = event_times.resolve_event_time(day, at, tz)
    event_times.check_ahead(local.starts_at, now)
    return When(local.starts_at, local.starts_at + length, local)


def _length(raw: str | None, default: timedelta) -> timedelta:
    return event_times.parse_length(raw) if raw else default


def _place(raw: str | None) -> str:
    place = clean_text(raw or "")
    if len(place) > PLACE_MAX:
        raise UserError(
            f"The place is {len(place)} characters long; the limit is {PLACE_MAX}.",
            'Write a shorter place, in quotes: at "Community hall, Main St 4".',
        )
    return place


def _linked_pledge(raw: PledgeRec | None) -> PledgeRec | None:
    if raw is not None and raw.status == "archived":
        raise UserError(f"“{inert(raw.title)}” is archived, so no event can keep it.")
    return raw


async def new(inv: Invocation) -> Reply:
    inv.plan.events = True
    group = inv.need_group()
    a = inv.args
    title: str = a["title"]
    if len(title) > TITLE_MAX:
        raise UserError(f"The title is {len(title)} characters; at most {TITLE_MAX}.", inv.usage())
    length = _length(a.get("length"), event_times.DEFAULT_LENGTH)
    when = _when(group, group.timezone, a["date"], a["time"], length, inv.now)
    place = _place(a.get("place"))
    pledge = _linked_pledge(a.get("pledge"))
    upcoming = await event_queries.group_events(group.id, ending_after=inv.now)
    if len(upcoming) >= MAX_UPCOMING_EVENTS:
        raise UserError(
            f"This group has {len(upcoming)} events to come, the most I keep at once.",
            f"Cancel one first with `{CMD}event cancel <event>`.",
        )
    event = await event_queries.create_event(
        event_queries.NewEvent(
            group_id=group.id,
            title=title,
            local_date=when.local.local_date,
            local_time=format_hhmm(when.local.local_time),
            tzid=group.timezone,
            starts_at=when.starts_at,
            ends_at=when.ends_at,
            place=place,
            pledge_id=pledge.id if pledge else None,
            creator_id=inv.member.id,
        ),
        inv.now,
    )
    await mirror_event(inv.services, event)
    reply = await render_card(event)
    if when.local.note:
        reply = public("⚠️ " + when.local.note + "\n" + reply.text, **_card_parts(reply))
    return reply


def _card_parts(reply: Reply) -> dict[str, object]:
    return {"buttons": reply.buttons, "extra": dict(reply.extra), "mentions": reply.mentions}


async def list_(inv: Invocation) -> Reply:
    group = inv.need_group()
    events = await event_queries.group_events(group.id, ending_after=inv.now)
    if not events:
        return private(
            "No events to come. Plan one: "
            f'`{CMD}event new "Tenants\' meeting" sat 18:00 at "Community hall"`.'
        )
    rsvps = await event_queries.rsvps(e.id for e in events)
    lines = ["**Events to come**"]
    for e in events:
        n = event_card.counts([r for r in rsvps if r.event_id == e.id])
        mine = next(
            (r.answer for r in rsvps if r.event_id == e.id and r.member_id == inv.member.id), None
        )
        you = f" — you: {ANSWER_WORDS[mine]}" if mine else ""
        where = f", {inert(e.place)}" if e.place else ""
        lines.append(
            f"`{e.number}` **{inert(e.title)}** — {event_card.when_text(e)}{where} · "
            f"✅ {n['going']} 🤔 {n['maybe']} ❌ {n['cant']}{you}"
        )
    lines.append(f"Answer with `{CMD}going <event>`, or tap on the event's message.")
    return private("\n".join(lines))


async def show(inv: Invocation) -> Reply:
    event: EventRec = inv.args["event"]
    reply = await render_card(event)
    extra = ""
    if event.starts_at <= inv.now:
        went = [a for a in await event_queries.attendance([event.id]) if a.went]
        extra = f"\nMade it: {len(went)}."
    return private(reply.text + extra, buttons=reply.buttons)


def _require_creator_or_admin(inv: Invocation, event: EventRec) -> None:
    if inv.actor.is_admin or event.creator_id == inv.member.id:
        return
    raise PermissionDenied(
        f"Only the event's creator or a group admin can change “{inert(event.title)}”.",
        "Ask an admin of this channel or room.",
    )


async def cancel(inv: Invocation) -> Reply:
    inv.plan.events = True
    event: EventRec = inv.args["event"]
    _require_creator_or_admin(inv, event)
    if event.status == "cancelled":
        return private(f"“{inert(event.title)}” is cancelled already.")
    if event.ends_at <= inv.now:
        raise UserError(f"“{inert(event.title)}” is over; there is nothing to cancel.")
    event = await event_queries.update_event(event.id, inv.now, status="cancelled")
    await refresh_card(inv.services, event)
    await mirror_event(inv.services, event)
    return public(
        f"❌ **{inert(event.title)}** ({event_card.when_text(event)}) is cancelled. "
        "No reminder or question will come for it."
    )


async def edit(inv: Invocation) -> Reply:
    inv.plan.events = True
    group = inv.need_group()
    event: EventRec = inv.args["event"]
    _require_creator_or_admin(inv, event)
    if event.status == "cancelled":
        raise UserError(f"“{inert(event.title)}” is cancelled.", "Plan a new event instead.")
    if event.starts_at <= inv.now:
        raise UserError(f"“{inert(event.title)}” has started already; it can't change now.")
    a = inv.args
    changes: dict[str, object] = {}
    notes: list[str] = []
    if a.get("title"):
        changes["title"] = a["title"][:TITLE_MAX]
    if a.get("date") or a.get("time") or a.get("length"):
        length = _length(a.get("length"), event.ends_at - event.starts_at)
        date_text = a.get("date") or event.local_date.isoformat()
        time_text = a.get("time") or event.local_time
        when = _when(group, event.tzid, date_text, time_text, length, inv.now)
        changes.update(
            local_date=when.local.local_date,
            local_time=format_hhmm(when.local.local_time),
            starts_at=when.starts_at,
            ends_at=when.ends_at,
        )
        if when.local.note:
            notes.append("⚠️ " + when.local.note)
    if a.get("place") is not None:
        changes["place"] = "" if a["place"].lower() == "none" else _place(a["place"])
    if a.get("pledge") is not None:
        pledge = _linked_pledge(a["pledge"])
        changes["pledge_id"] = pledge.id if pledge else None
    if not changes:
        raise UserError("Nothing to change.", inv.usage())
    event = await event_queries.update_event(event.id, inv.now, **changes)
    await refresh_card(inv.services, event)
    await mirror_event(inv.services, event)
    lines = [*notes, f"Event `{event.number}` changed:"]
    lines.append(f"**{inert(event.title)}** — {event_card.when_text(event)}")
    if event.place:
        lines.append(f"📍 {inert(event.place)}")
    return public("\n".join(lines))


# -- answers ---------------------------------------------------------------------------------


async def answer_rsvp(
    engine: EventServices,
    event: EventRec,
    member: MemberRec,
    answer: str,
    event_key: str,
    now: datetime,
) -> Reply:
    """Going / maybe / can't, typed or tapped: stored once, the card updated in place."""
    if event.status == "cancelled":
        return private(f"“{inert(event.title)}” is cancelled.")
    if event.ends_at <= now:
        return private(
            f"“{inert(event.title)}” is over. Did you make it? "
            f"`{CMD}went {event.number}` or `{CMD}missed {event.number}`."
        )
    _, changed = await event_queries.set_rsvp(event.id, member.id, answer, event_key, now)
    shown = await refresh_card(engine, event) if changed else card_shown(engine, event)
    n = event_card.counts(await event_queries.rsvps([event.id]))
    head = {
        "going": f"✅ You're going to **{inert(event.title)}**.",
        "maybe": f"🤔 Maybe for **{inert(event.title)}** — noted.",
        "cant": f"Noted: you can't make **{inert(event.title)}**. No reminders for it.",
    }[answer]
    tail = " I'll remind you before it." if answer in ("going", "maybe") else ""
    # Where replies cannot be private (Matrix), the card replaced in place is the answer.
    return private(
        f"{head}{tail} Now: ✅ {n['going']} · 🤔 {n['maybe']} · ❌ {n['cant']}.",
        extra={event_card.CARD_UPDATED: "1"} if shown else {},
    )


def event_period(pledge: PledgeRec, group: GroupRec, event: EventRec) -> Period:
    """The pledge's period the event falls in (its start, in the group's calendar)."""
    return period_at(event.starts_at, pledge.cadence, tracking.group_tz(group), group.week_start)  # type: ignore[arg-type]


async def answer_attendance(
    engine: EventServices,
    event: EventRec,
    group: GroupRec,
    member: MemberRec,
    went: bool,
    event_key: str,
    now: datetime,
) -> Reply:
    """Went / missed, after the start: a linked pledge gets (or loses) the check-in of the
    event's period. Idempotent: a second "went" adds nothing, "missed" undoes what "went" did."""
    title = inert(event.title)
    if event.status == "cancelled":
        return private(f"“{title}” was cancelled.")
    if event.starts_at > now:
        return private(
            f"“{title}” has not started yet. Answer after it; until then "
            f"`{CMD}going {event.number}` says you're coming."
        )
    before = next(
        (a for a in await event_queries.attendance([event.id]) if a.member_id == member.id), None
    )
    live = (
        before is not None
        and before.checkin_id is not None
        and (await event_queries.checkin_is_live(before.checkin_id))
    )
    pledge = await _pledge_of(event)
    checkin_id = before.checkin_id if before is not None and live else None
    note = ""
    if went and pledge is not None and not live:
        checkin_id, note = await _keep_pledge(pledge, group, member, event, event_key, now)
    # Like `undo`: only while the period is open; a closed period stays as it was closed.
    if (
        not went
        and live
        and before is not None
        and before.checkin_id is not None
        and pledge is not None
        and await _period_open(pledge, group, member, event, now)
    ):
        await checkin_queries.undo_checkin(
            before.checkin_id, now, refund_freeze=False, max_freezes=streaks.MAX_FREEZES
        )
        checkin_id = None
        note = f" I took back its check-in for **{inert(pledge.title)}**."
    await event_queries.set_attendance(event.id, member.id, went, checkin_id, event_key, now)
    if went:
        if pledge is not None and checkin_id is not None and not note:
            period = event_period(pledge, group, event)
            note = f" ✅ **{inert(pledge.title)}** is kept for the {describe(period)}."
        return private(f"🎉 Glad you made it to **{title}**!{note}")
    return private(f"Noted: you missed **{title}**. Next time!{note}")


async def _period_open(
    pledge: PledgeRec, group: GroupRec, member: MemberRec, event: EventRec, now: datetime
) -> bool:
    part = await pledge_queries.participation_of(pledge.id, member.id)
    period = event_period(pledge, group, event)
    return part is not None and answers.is_open(part, pledge, group, period, now)


async def _keep_pledge(
    pledge: PledgeRec,
    group: GroupRec,
    member: MemberRec,
    event: EventRec,
    event_key: str,
    now: datetime,
) -> tuple[int | None, str]:
    """The check-in "went" records for the event's period, or why there is none."""
    part = await pledge_queries.participation_of(pledge.id, member.id)
    ptitle = inert(pledge.title)
    if part is None or not part.active:
        return None, (
            f" You're not in **{ptitle}**, so nothing was checked in; "
            f"join it with `{CMD}pledge join {pledge.number}`."
        )
    if pledge.status != "active":
        return None, f" **{ptitle}** is {pledge.status}, so nothing was checked in."
    period = event_period(pledge, group, event)
    if not answers.counts_for(part, pledge, group, period):
        return (
            None,
            f" You joined **{ptitle}** after the {describe(period)}, so it isn't checked in.",
        )
    if not answers.is_open(part, pledge, group, period, now):
        return None, (
            f" The {describe(period)} of **{ptitle}** "
            f"{answers.close_text(period, group, now, member)}, so it takes no check-in any more."
        )
    done, _, _ = await answers.done_count(part, period)
    if done >= pledge.target and await answers.record_lookup(part, event_key) is None:
        return None, f" **{ptitle}** is already kept for the {describe(period)}."
    checkin, _ = await answers.record(part, period, "done", f"event {event.number}", event_key, now)
    return checkin.id, ""


async def _event_arg(inv: Invocation) -> EventRec:
    event: EventRec = inv.args["event"]
    return event


def _rsvp_handler(answer: str):  # type: ignore[no-untyped-def]
    async def handler(inv: Invocation) -> Reply:
        event = await _event_arg(inv)
        return await answer_rsvp(inv.services, event, inv.member, answer, inv.event_key, inv.now)

    return handler


def _attendance_handler(went: bool):  # type: ignore[no-untyped-def]
    async def handler(inv: Invocation) -> Reply:
        event = await _event_arg(inv)
        group = inv.need_group()
        return await answer_attendance(
            inv.services, event, group, inv.member, went, inv.event_key, inv.now
        )

    return handler


async def event_tap(tap: Tap) -> Reply:
    """A tap on an event's button (or a reaction mapped to one): the action carries the
    event's id where a pledge's tap carries the pledge's."""
    event = await event_queries.get_event(tap.action.pledge_id)
    group = await group_queries.get_group(event.group_id) if event else None
    if event is None or group is None:
        raise UserError("That event no longer exists.")
    if tap.place.platform != group.platform:
        raise PermissionDenied("This one is not yours.")
    verb, member, key = tap.action.verb, tap.member, tap.event_key
    if verb in ("went", "missed"):
        return await answer_attendance(
            tap.services, event, group, member, verb == "went", key, tap.now
        )
    return await answer_rsvp(tap.services, event, member, verb, key, tap.now)


async def reaction_action(platform: str, message_id: str, key: str) -> str | None:
    """The encoded action a reaction on an event's card or question stands for, if any."""
    event = await event_queries.find_by_card(platform, message_id)
    if event is not None:
        verb = RSVP_REACTIONS.get(key)
        return event_action(verb, event.id).encode() if verb else None
    sent = await sent_queries.find_sent(platform, message_id)
    event_id = event_of_ask(sent.period_key) if sent and sent.kind == ASK_KIND else None
    if event_id is None:
        return None
    verb = ATTENDANCE_REACTIONS.get(key)
    return event_action(verb, event_id).encode() if verb else None


async def undo_reaction(engine: EventServices, member: MemberRec, event_key: str) -> bool:
    """A removed reaction on a card takes back the RSVP it made; True when it did."""
    event_id = await event_queries.clear_rsvp_by_event(member.id, event_key)
    if event_id is None:
        return False
    event = await event_queries.get_event(event_id)
    if event is not None:
        await refresh_card(engine, event)
    return True


# -- calendars -------------------------------------------------------------------------------


def feed_url(base: str, secret: str) -> str:
    """The feed's address under the HTTP listener's public base URL ("" when none is set)."""
    return f"{base.rstrip('/')}/events/{secret}.ics" if base and secret else ""


async def ics(inv: Invocation) -> Reply:
    event: EventRec = inv.args["event"]
    group = inv.need_group()
    body = event_calendar([event], group)
    return private(
        f"📅 **{inert(event.title)}** as a calendar file: open it to add the event.",
        image=body,
        image_name=f"event-{event.number}.ics",
    )


async def feed(inv: Invocation) -> Reply:
    group = inv.need_group()
    reset = inv.args.get("action") == "reset"
    current = await event_queries.settings(group.id)
    if reset or current.feed_secret is None:
        if reset and not inv.actor.is_admin:
            raise PermissionDenied(
                "Only a group admin can reset the calendar feed.",
                "Ask someone with Manage Server (Discord) or power level 50 (Matrix).",
            )
        if current.feed_secret is None and not reset and not inv.actor.is_admin:
            raise PermissionDenied(
                "This group has no calendar feed yet; an admin makes one with "
                f"`{CMD}event feed reset`."
            )
        current = await event_queries.update_settings(
            group.id, feed_secret=secrets.token_urlsafe(24)
        )
    url = feed_url(inv.services.feed_base_url, current.feed_secret or "")
    head = "A new secret address; the old one stops working. " if reset else ""
    where = (
        f"<{url}>"
        if url
        else "(this bot has no HTTP listener configured, so the feed is not served yet)"
    )
    return private(
        f"{head}This group's calendar feed: {where}\nAnyone with the address sees the events; "
        f"`{CMD}event feed reset` makes a new one."
    )


# -- declarations ----------------------------------------------------------------------------

EVENT_ARG = Arg(
    "event", "event", "its number, title, or the start of its title", greedy=True, max_len=120
)


def register(reg: Registry) -> None:
    reg.add_tap(TapDecl(EVENT_VERBS, event_tap, on_pledge=False))
    reg.add(
        Command(
            ("event", "new"),
            "Plan an offline event; members answer Going / Maybe / Can't in one tap",
            'event new "Tenants\' meeting" 2026-12-12 18:00 for 2h at "Community hall" pledge 1',
            new,
            args=(
                Arg("title", "text", "what it is, in quotes", max_len=TITLE_MAX),
                Arg(
                    "date",
                    "word",
                    "the day: YYYY-MM-DD, today, tomorrow or a weekday",
                    placeholder="date",
                ),
                Arg(
                    "time", "word", "the start, HH:MM in the group's time zone", placeholder="HH:MM"
                ),
                Arg(
                    "length",
                    "word",
                    "how long it lasts (default 2h)",
                    required=False,
                    keyword="for",
                    placeholder="duration",
                ),
                Arg(
                    "place",
                    "text",
                    "where, in quotes",
                    required=False,
                    keyword="at",
                    placeholder='"<place>"',
                    max_len=PLACE_MAX,
                ),
                Arg(
                    "pledge",
                    "pledge",
                    "a pledge that going keeps",
                    required=False,
                    keyword="pledge",
                ),
            ),
            who=Role.MEMBER,
            details=(
                "Dates and times are in the group's time zone. Linked to a pledge, "
                "answering “went” after it checks the pledge in for that period."
            ),
            replans=True,
        )
    )
    reg.add(
        Command(
            ("event", "list"),
            "The group's events to come and their answers",
            "event list",
            list_,
        )
    )
    reg.add(
        Command(
            ("event", "show"),
            "One event, with its answers and one-tap buttons",
            "event show 1",
            show,
            args=(EVENT_ARG,),
        )
    )
    reg.add(
        Command(
            ("event", "edit"),
            "Change an event's title, date, time, length, place or pledge",
            'event edit 1 time 19:00 at "Library"',
            edit,
            args=(
                EVENT_ARG,
                Arg(
                    "title",
                    "text",
                    "a new title, in quotes",
                    required=False,
                    keyword="title",
                    max_len=TITLE_MAX,
                ),
                Arg(
                    "date", "word", "a new day", required=False, keyword="date", placeholder="date"
                ),
                Arg(
                    "time",
                    "word",
                    "a new start",
                    required=False,
                    keyword="time",
                    placeholder="HH:MM",
                ),
                Arg(
                    "length",
                    "word",
                    "a new length",
                    required=False,
                    keyword="for",
                    placeholder="duration",
                ),
                Arg(
                    "place",
                    "text",
                    "a new place (none to clear)",
                    required=False,
                    keyword="at",
                    placeholder='"<place>"',
                    max_len=PLACE_MAX,
                ),
                Arg("pledge", "pledge", "the pledge it keeps", required=False, keyword="pledge"),
            ),
            who=Role.CREATOR_OR_ADMIN,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("event", "cancel"),
            "Cancel an event: no reminder, no question",
            "event cancel 1",
            cancel,
            args=(EVENT_ARG,),
            who=Role.CREATOR_OR_ADMIN,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("event", "ics"),
            "An event as a calendar file (.ics)",
            "event ics 1",
            ics,
            args=(EVENT_ARG,),
        )
    )
    reg.add(
        Command(
            ("event", "feed"),
            "The group's calendar feed address (reset: a new secret, admins)",
            "event feed",
            feed,
            args=(
                Arg(
                    "action",
                    "choice",
                    "reset makes a new secret address",
                    required=False,
                    choices=("reset",),
                ),
            ),
            who=Role.MEMBER,
        )
    )
    for verb, answer, text in (
        ("going", "going", "Say you're going to an event"),
        ("maybe", "maybe", "Say you might come to an event"),
        ("not-going", "cant", "Say you can't make an event"),
    ):
        reg.add(
            Command(
                (verb,),
                text,
                f"{verb} 1",
                _rsvp_handler(answer),
                args=(EVENT_ARG,),
                who=Role.MEMBER,
            )
        )
    reg.add(
        Command(
            ("went",),
            "After an event: you made it (keeps a linked pledge)",
            "went 1",
            _attendance_handler(True),
            args=(EVENT_ARG,),
            who=Role.MEMBER,
        )
    )
    reg.add(
        Command(
            ("missed",),
            "After an event: you didn't make it",
            "missed 1",
            _attendance_handler(False),
            args=(EVENT_ARG,),
            who=Role.MEMBER,
        )
    )
