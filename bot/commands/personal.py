"""Personal commands: streak, summary, remind, offline and me timezone."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.invocation import Invocation
from bot.commands.plan_change import Personal
from bot.commands.pledges import PLEDGE_ARG
from bot.commands.registry import Arg, Command, Registry, Role
from bot.errors import UserError
from bot.messages.boards import load_board, render_streaks, render_summary
from bot.messages.instants import mark
from bot.messages.markup import inert
from bot.messages.picture_data import member_picture
from bot.messages.replies import Reply, private
from bot.rules import pledge_periods as tracking
from bot.rules.durations import format_duration
from bot.rules.localtime import parse_timezone, to_local
from bot.rules.reach import member_due
from bot.rules.slots import Slot, format_slot, next_occurrence
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage.records import MemberRec, PledgeRec


async def streak(inv: Invocation) -> Reply:
    group = inv.need_group()
    who: MemberRec = inv.args.get("member") or inv.member
    board = await load_board(group, inv.now, member_id=who.id)
    name = "Your" if who.id == inv.member.id else f"{inert(who.display_name)}'s"
    text = render_streaks(board, who, f"**{name} streaks**")
    picture = await member_picture(group, who.id)
    if picture is None:
        return private(text)
    return private(
        text,
        image=picture.png,
        image_name=picture.filename,
        image_alt=picture.alt,
        image_size=(picture.width, picture.height),
    )


async def summary(inv: Invocation) -> Reply:
    group = inv.need_group()
    text, mentions = await render_summary(group, inv.now)
    return private(text, mentions=mentions)


async def remind(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    slot = inv.args["slot"]
    delivery = inv.args.get("delivery")
    part = await pledge_queries.participation_of(pledge.id, inv.member.id)
    if part is None or not part.active:
        raise UserError(
            f"You are not taking part in “{inert(pledge.title)}”.",
            f"Join it first with `{inv.prefix}pledge join {pledge.number}`.",
        )
    inv.plan.personal.append(Personal(pledge.group_id, pledge.id, inv.member.id))
    if slot == "off":
        await pledge_queries.update_participation(part.id, remind_off=True, remind_slot=None)
        return private(
            f"No more reminders for “{inert(pledge.title)}”. The end-of-period "
            "question still comes once."
        )
    assert isinstance(slot, Slot)
    if pledge.cadence == "day" and slot.weekday is not None:
        raise UserError("A daily pledge's reminder is a time of day.", "Write e.g. `18:00`.")
    if pledge.cadence != "day" and slot.weekday is None:
        raise UserError(
            f"A {pledge.cadence}ly pledge's reminder needs a day.",
            f"Write e.g. `{inv.prefix}remind {pledge.number} thu 18:00`.",
        )
    values: dict[str, object] = {"remind_slot": format_slot(slot), "remind_off": False}
    if delivery:
        values["delivery"] = delivery
    await pledge_queries.update_participation(part.id, **values)
    where = delivery or part.delivery
    place = "by direct message" if where == "dm" else "in the channel"
    tz = inv.tz
    group = inv.need_group()
    text = f"Your reminder for “{inert(pledge.title)}” is {format_slot(slot)} ({tz.key}), {place}."
    at = next_occurrence(slot, inv.now, tz)
    text += f" Next one: {mark(at, tz, 'on', ref=inv.now)}."
    due = member_due(at, group, inv.member, where == "dm")
    if due > at:
        # Accepted as asked, but nothing pings in quiet hours: say when it really comes.
        quiet = group.quiet_hours or "off"
        later = due.astimezone(tz)
        day = " the next morning" if later.date() != at.astimezone(tz).date() else ""
        text += (
            f" {at.astimezone(tz):%H:%M} is inside quiet hours ({quiet}), so it will arrive at "
            f"{mark(due, tz, 't')}{day} instead."
        )
    return private(text)


async def offline(inv: Invocation) -> Reply:
    text = inv.args["duration"]
    if text.strip().lower() in ("off", "0", "none", "stop", "end"):
        await group_queries.update_member(inv.member.id, muted_until=None)
        return private("Welcome back: pings are on again.")
    from bot.rules.durations import parse_duration

    try:
        span: timedelta = parse_duration(text, max_days=90)
    except UserError as exc:
        exc.usage = f"{exc.usage or ''} Or `{inv.prefix}offline off` to end it.".strip()
        raise
    until = inv.now + span
    await group_queries.update_member(inv.member.id, muted_until=until)
    return private(
        f"Offline for {format_duration(span)}: no pings until "
        f"{mark(until, inv.tz, 's', named=True)}. Enjoy it."
    )


async def me_timezone(inv: Invocation) -> Reply:
    zone = parse_timezone(inv.args["zone"])
    await group_queries.update_member(inv.member.id, timezone=zone.key)
    # Only personal slots are read on the member's clock; the group's jobs stay as they are.
    inv.plan.personal.extend(
        Personal(g, p, inv.member.id)
        for g, p in await pledge_queries.member_pledges(inv.member.id, with_slot=True)
    )
    local = to_local(inv.now, zone)
    return private(
        f"Your time zone is {zone.key} (it is {local:%H:%M} there). "
        "Your personal reminders and DMs follow it."
    )


def register(reg: Registry) -> None:
    reg.add(
        Command(
            ("streak",),
            "Streaks, best streaks and strength per pledge",
            "streak @sam",
            streak,
            args=(Arg("member", "member", "whose streaks (default: yours)", required=False),),
        )
    )
    reg.add(Command(("summary",), "This week so far (only you see it)", "summary", summary))
    reg.add(
        Command(
            ("remind",),
            "Your personal reminder slot and delivery for a pledge",
            "remind 1 thu 18:00 dm",
            remind,
            args=(
                PLEDGE_ARG,
                Arg(
                    "slot",
                    "slot",
                    '"<day> <HH:MM>", "HH:MM" for daily pledges, or off',
                    placeholder="day HH:MM|off",
                ),
                Arg(
                    "delivery",
                    "choice",
                    "where it reaches you",
                    required=False,
                    choices=("dm", "channel"),
                ),
            ),
            who=Role.PARTICIPANT,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("offline",),
            "Mute every ping for yourself for a while",
            "offline 3d",
            offline,
            args=(
                Arg(
                    "duration",
                    "word",
                    "how long, e.g. 3d, 2h30m, 1w, or off",
                    placeholder="duration",
                ),
            ),
            who=Role.MEMBER,
            needs_group=False,
            # No `replans`: a mute is checked right before each send (bot.scheduling.attention).
        )
    )
    reg.add(
        Command(
            ("me", "timezone"),
            "Your personal time zone",
            "me timezone Europe/Berlin",
            me_timezone,
            args=(
                Arg("zone", "word", "an IANA zone such as Europe/Berlin", placeholder="Area/City"),
            ),
            who=Role.MEMBER,
            needs_group=False,
            replans=True,
        )
    )


_ = tracking
