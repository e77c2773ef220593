"""Pledge commands: new, list, join, leave, pause, resume, archive."""

from __future__ import annotations

from bot.commands.invocation import Invocation
from bot.commands.plan_change import Personal
from bot.commands.registry import Arg, Command, Registry, Role
from bot.errors import PermissionDenied, UserError
from bot.messages.boards import cadence_text, load_board, render_board, slot_text
from bot.messages.markup import inert
from bot.messages.replies import BOARD, LAYOUT, Reply, private, public
from bot.messages.syntax import CMD
from bot.rules import pledge_periods as tracking
from bot.rules.periods import describe
from bot.rules.slots import Slot, format_slot
from storage import pledges as pledge_queries
from storage.records import PledgeRec

MAX_PLEDGES_PER_GROUP = 50

PLEDGE_ARG = Arg("pledge", "pledge", "its number, title, or the start of its title")


def participation_for(inv: Invocation, pledge: PledgeRec) -> pledge_queries.NewParticipation:
    group = inv.need_group()
    period = tracking.current_period(pledge, group, inv.now)
    return pledge_queries.NewParticipation(
        pledge_id=pledge.id,
        member_id=inv.member.id,
        first_period=period.key,
        next_close_at=tracking.close_time(period, group),
        joined_at=inv.now,
    )


async def new(inv: Invocation) -> Reply:
    group = inv.need_group()
    a = inv.args
    title: str = a["title"]
    cadence: str = a.get("per") or "week"
    target: int = a.get("times") or 1
    slot = a.get("remind")
    until = a.get("until")
    if isinstance(slot, str):
        slot = None
    if isinstance(slot, Slot) and slot.weekday is not None and cadence == "day":
        raise UserError(
            "A daily pledge's reminder is a time of day, without a weekday.",
            'Write e.g. `remind "18:00"`.',
        )
    if isinstance(slot, Slot) and slot.weekday is None and cadence != "day":
        raise UserError(
            f"A reminder for a {cadence}ly pledge needs a day.", 'Write e.g. `remind "thu 18:00"`.'
        )
    days = {"day": 1, "week": 7, "month": 28}[cadence]
    if target > days * 3:
        raise UserError(
            f"{target} times a {cadence} is more than I can track; at most {days * 3}.",
            inv.usage(),
        )
    today = tracking.today(group, inv.now)
    if until is not None and until < today:
        raise UserError(f"The end date {until.isoformat()} is in the past.", inv.usage())
    existing = await pledge_queries.group_pledges(group.id, ("active", "paused"))
    if len(existing) >= MAX_PLEDGES_PER_GROUP:
        raise UserError(
            f"This group has {len(existing)} pledges, the most I keep at once.",
            f"Archive one first with `{CMD}pledge archive <pledge>`.",
        )
    if any(p.title.lower() == title.lower() for p in existing):
        raise UserError(f"A pledge called “{inert(title)}” exists already.", "Join it instead.")
    draft = PledgeRec(
        id=0,
        group_id=group.id,
        number=0,
        title=title,
        cadence=cadence,
        target=target,
        start_date=None,
        end_date=until,
        remind_slot=format_slot(slot) if slot else None,
        status="active",
        paused_at=None,
        paused_until=None,
        creator_id=inv.member.id,
        created_at=inv.now,
    )
    join = participation_for(inv, draft)
    pledge = await pledge_queries.create_pledge(
        pledge_queries.NewPledge(
            group_id=group.id,
            title=title,
            cadence=cadence,
            target=target,
            start_date=None,
            end_date=until,
            remind_slot=draft.remind_slot,
            creator_id=inv.member.id,
        ),
        join,
        inv.now,
    )
    inv.plan.new_pledges.append(pledge.id)
    reminder = (
        f" Reminder: {slot_text(pledge.remind_slot, group, inv.now)}." if pledge.remind_slot else ""
    )
    return public(
        f"New pledge `{pledge.number}` **{inert(pledge.title)}** — {cadence_text(pledge)}. "
        f"Started by {inert(inv.member.display_name)}.{reminder} "
        f"Join with `{inv.prefix}pledge join {pledge.number}`."
    )


async def list_(inv: Invocation) -> Reply:
    group = inv.need_group()
    board = await load_board(group, inv.now)
    text = render_board(group, board, inv.now, viewer_id=inv.member.id)
    return private(text, extra={LAYOUT: BOARD} if board.pledges else {})


async def join(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    if pledge.status == "archived":
        raise UserError(f"“{inert(pledge.title)}” is archived.", "Start a new pledge instead.")
    _, changed = await pledge_queries.join(participation_for(inv, pledge))
    if not changed:
        inv.plan.nothing = True
        return private(f"You are already in “{inert(pledge.title)}”.")
    # A rejoin keeps a personal slot; a first participant brings the weekly summary.
    inv.plan.personal.append(Personal(pledge.group_id, pledge.id, inv.member.id))
    return public(
        f"{inert(inv.member.display_name)} joined **{inert(pledge.title)}** "
        f"({cadence_text(pledge)}). Welcome!"
    )


async def leave(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    part = await pledge_queries.participation_of(pledge.id, inv.member.id)
    if part is None or not part.active:
        inv.plan.nothing = True
        return private(f"You are not in “{inert(pledge.title)}”, so there is nothing to leave.")
    await pledge_queries.leave(part.id)
    inv.plan.personal.append(Personal(pledge.group_id, pledge.id, inv.member.id))
    return private(
        f"You left “{inert(pledge.title)}”. Your history stays; rejoin any time with "
        f"`{inv.prefix}pledge join {pledge.number}`."
    )


def _require_creator_or_admin(inv: Invocation, pledge: PledgeRec) -> None:
    if inv.actor.is_admin or pledge.creator_id == inv.member.id:
        return
    raise PermissionDenied(
        f"Only the pledge's creator or a group admin can change “{inert(pledge.title)}”.",
        "Ask an admin of this channel or room.",
    )


async def pause(inv: Invocation) -> Reply:
    group = inv.need_group()
    pledge: PledgeRec = inv.args["pledge"]
    _require_creator_or_admin(inv, pledge)
    until = inv.args.get("until")
    if until is not None and until < tracking.today(group, inv.now):
        raise UserError(f"{until.isoformat()} is in the past.", inv.usage())
    if pledge.status == "archived":
        raise UserError(f"“{inert(pledge.title)}” is archived.")
    # A pause that still covers the period in grace (ongoing, or resumed during the current
    # period) keeps its start, so pausing again never takes back an excuse already earned.
    current = tracking.current_period(pledge, group, inv.now)
    previous = tracking.preceding(current, group)
    ongoing = pledge.status == "paused" and pledge.paused_until is None
    recent = pledge.paused_until is not None and pledge.paused_until >= tracking.last_day(previous)
    keeps_start = pledge.paused_at is not None and (ongoing or recent)
    await pledge_queries.update_pledge(
        pledge.id,
        status="paused",
        paused_at=pledge.paused_at if keeps_start else inv.now,
        paused_until=until,
    )
    inv.plan.pledges.append(pledge.id)
    when = f" until {until.isoformat()}" if until else f" until `{inv.prefix}pledge resume`"
    return public(
        f"**{inert(pledge.title)}** is paused{when}: no reminders, and its periods are excused."
    )


async def resume(inv: Invocation) -> Reply:
    group = inv.need_group()
    pledge: PledgeRec = inv.args["pledge"]
    _require_creator_or_admin(inv, pledge)
    if not tracking.is_paused(pledge, group, inv.now):
        inv.plan.nothing = True
        return private(f"“{inert(pledge.title)}” is not paused.")
    period = tracking.current_period(pledge, group, inv.now)
    # The pause ends with the previous period: the current one counts again.
    await pledge_queries.update_pledge(
        pledge.id,
        status="active",
        paused_until=tracking.last_day(tracking.preceding(period, group)),
    )
    inv.plan.pledges.append(pledge.id)
    return public(f"**{inert(pledge.title)}** is back on, from the {describe(period)}.")


async def archive(inv: Invocation) -> Reply:
    pledge: PledgeRec = inv.args["pledge"]
    _require_creator_or_admin(inv, pledge)
    if pledge.status == "archived":
        inv.plan.nothing = True
        return private(f"“{inert(pledge.title)}” is archived already.")
    await pledge_queries.update_pledge(pledge.id, status="archived")
    inv.plan.pledges.append(pledge.id)
    return public(
        f"**{inert(pledge.title)}** is archived. Its streaks stay in everyone's export. Thank you!"
    )


def register(reg: Registry) -> None:
    reg.add(
        Command(
            ("pledge", "new"),
            "Create a pledge in this group and join it",
            'pledge new "Attend one local meeting" per week remind "thu 18:00"',
            new,
            args=(
                Arg("title", "text", "what you pledge to do offline, in quotes", max_len=120),
                Arg(
                    "times",
                    "int",
                    "how many times per period",
                    required=False,
                    keyword="times",
                    minimum=1,
                    maximum=93,
                    placeholder="N",
                ),
                Arg(
                    "per",
                    "choice",
                    "the period",
                    required=False,
                    keyword="per",
                    choices=("day", "week", "month"),
                ),
                Arg(
                    "remind",
                    "slot",
                    "a reminder slot",
                    required=False,
                    keyword="remind",
                    placeholder='"<day> <HH:MM>"',
                ),
                Arg(
                    "until",
                    "date",
                    "the last day of the pledge",
                    required=False,
                    keyword="until",
                    placeholder="YYYY-MM-DD",
                ),
            ),
            who=Role.MEMBER,
            details="The default is once per week. Everyone in the channel can join it.",
            replans=True,
            form="New pledge",
        )
    )
    reg.add(
        Command(
            ("pledge", "list"),
            "The group's pledges, who is in, and this period's progress",
            "pledge list",
            list_,
        )
    )
    reg.add(
        Command(
            ("pledge", "join"),
            "Take part in a pledge",
            "pledge join 1",
            join,
            args=(PLEDGE_ARG,),
            who=Role.MEMBER,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("pledge", "leave"),
            "Stop taking part in a pledge",
            "pledge leave 1",
            leave,
            args=(PLEDGE_ARG,),
            who=Role.MEMBER,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("pledge", "pause"),
            "Pause a pledge: no reminders, periods excused",
            "pledge pause 1 until 2026-12-31",
            pause,
            args=(
                PLEDGE_ARG,
                Arg(
                    "until",
                    "date",
                    "the last paused day",
                    required=False,
                    keyword="until",
                    placeholder="YYYY-MM-DD",
                ),
            ),
            who=Role.CREATOR_OR_ADMIN,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("pledge", "resume"),
            "End a pause",
            "pledge resume 1",
            resume,
            args=(PLEDGE_ARG,),
            who=Role.CREATOR_OR_ADMIN,
            replans=True,
        )
    )
    reg.add(
        Command(
            ("pledge", "archive"),
            "Retire a pledge for good",
            "pledge archive 1",
            archive,
            args=(PLEDGE_ARG,),
            who=Role.CREATOR_OR_ADMIN,
            replans=True,
        )
    )
