"""The settings command: a group's time zone, week start, slots, quiet hours, threshold and caps."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.commands.invocation import Invocation
from bot.commands.registry import Arg, Command, Registry, Role
from bot.errors import PermissionDenied, UserError
from bot.messages.instants import mark
from bot.messages.markup import inert, typed
from bot.messages.notices import describe_held
from bot.messages.replies import Reply, private, public
from bot.messages.syntax import CMD
from bot.progress import closing
from bot.rules import event_times, limits
from bot.rules import pledge_periods as tracking
from bot.rules.localtime import WEEKDAY_NAMES, WEEKDAYS, parse_timezone, parse_weekday
from bot.rules.periods import describe, period_at
from bot.rules.quiet import format_quiet_hours, parse_quiet_hours
from bot.rules.slots import format_slot, parse_slot
from storage import closing as close_queries
from storage import deferred as deferred_queries
from storage import events as event_queries
from storage import groups as group_queries
from storage import pledges as pledge_queries
from storage import scheduling as round_queries
from storage.records import GroupRec


@dataclass(frozen=True)
class Setting:
    key: str
    field: str
    help: str
    example: str
    parse: Callable[[str], Any]
    show: Callable[[GroupRec], str]


def _weekly_slot(text: str) -> str:
    slot = parse_slot(text)
    if slot.weekday is None:
        raise UserError("This slot needs a day.", 'Write e.g. "mon 18:00".')
    return format_slot(slot)


def _threshold(text: str) -> float:
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"“{typed(text, 20)}” is not a number.", "Write e.g. 0.6 or 60%.") from None
    if value > 1:
        value /= 100
    low, high = limits.GROUP_STREAK_THRESHOLD
    if not low <= value <= high:
        raise UserError(
            f"The threshold must be between {low:.0%} and {high:.0%}.", "Write e.g. 0.6 or 60%."
        )
    return round(value, 4)


def _int_range(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise UserError(f"{what} must be a whole number from {low} to {high}.")
        return int(text)

    return parse


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise UserError(f"“{typed(text, 20)}” is neither on nor off.", "Write on or off.")


def _quiet(text: str) -> str | None:
    return format_quiet_hours(parse_quiet_hours(text)) if parse_quiet_hours(text) else None


SETTINGS = (
    Setting(
        "timezone",
        "timezone",
        "the group's time zone",
        "Europe/Berlin",
        lambda t: parse_timezone(t).key,
        lambda g: g.timezone,
    ),
    Setting(
        "week-start",
        "week_start",
        "the first day of the week",
        "mon",
        parse_weekday,
        lambda g: WEEKDAYS[g.week_start],
    ),
    Setting(
        "summary",
        "summary_slot",
        "when the weekly summary comes",
        "mon 18:00",
        _weekly_slot,
        lambda g: g.summary_slot,
    ),
    Setting(
        "prompt",
        "prompt_slot",
        "when the end-of-week question comes",
        "sun 18:00",
        _weekly_slot,
        lambda g: g.prompt_slot,
    ),
    Setting(
        "grace-hours",
        "grace_hours",
        "hours after a period ends in which it can be answered",
        "12",
        _int_range(*limits.GRACE_HOURS, "grace-hours"),
        lambda g: str(g.grace_hours),
    ),
    Setting(
        "quiet-hours",
        "quiet_hours",
        "when the bot never posts",
        "22:00-08:00",
        _quiet,
        lambda g: g.quiet_hours or "off",
    ),
    Setting(
        "threshold",
        "threshold",
        "the kept rate a week needs for the group streak",
        "60%",
        _threshold,
        lambda g: f"{round(g.threshold * 100)}%",
    ),
    Setting(
        "cap",
        "weekly_message_cap",
        "the most messages the bot starts per week",
        "6",
        _int_range(*limits.WEEKLY_MESSAGE_CAP, "cap"),
        lambda g: str(g.weekly_message_cap),
    ),
    Setting(
        "name-missed",
        "name_missed",
        "whether summaries name who has not kept a pledge (off: only celebrate)",
        "off",
        _bool,
        lambda g: "on" if g.name_missed else "off",
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}
# Read when a message is about to go out or a week closes, never by planning: a change of
# these moves no job.
UNPLANNED_FIELDS = ("threshold", "weekly_message_cap", "name_missed")
# Issue 14: kept in its own table (storage/events.py), so it is handled apart from SETTINGS.
EVENT_REMINDER = "event-reminder"
EVENT_REMINDER_HELP = (
    "when an event's reminder reaches who said Going or Maybe "
    "(1d = the day before at the question hour)"
)


def _when(group: GroupRec, at: datetime) -> str:
    return mark(at, tracking.group_tz(group), "s")


async def _listing(group: GroupRec, now: datetime) -> str:
    waiting = {d.field: d for d in await deferred_queries.waiting(group.id)}
    lines = ["**Settings of this group**"]
    for s in SETTINGS:
        line = f"`{s.key}` = {s.show(group)} — {s.help}"
        if s.field in waiting:
            change = waiting[s.field]
            later = dataclasses.replace(group, **{s.field: change.value})
            line += f" (changes to {s.show(later)} on {_when(group, change.at)})"
        lines.append(line)
    reminder = (await event_queries.settings(group.id)).reminder
    lines.append(f"`{EVENT_REMINDER}` = {reminder} — {EVENT_REMINDER_HELP}")
    week = period_at(now, "week", tracking.group_tz(group), group.week_start)
    held = await round_queries.held_between(group.id, week.start, week.end)
    if held:
        lines.append(
            f"**Held back by the weekly cap this week** ({len(held)}; raise it with "
            f"`{CMD}settings cap {group.weekly_message_cap + 2}`):"
        )
        lines.extend("• " + line for line in describe_held(held, group))
    lines.append(
        f"Change one with `{CMD}settings <key> <value>`, "
        f"e.g. `{CMD}settings timezone Europe/Berlin`."
    )
    return "\n".join(lines)


async def _change_week_start(inv: Invocation, group: GroupRec, day: int) -> Reply:
    """A new week start waits for the current week to close, so this week's answers stay
    where they are; a group without pledges switches at once."""
    name = WEEKDAY_NAMES[day].capitalize()
    if day == group.week_start:
        if await deferred_queries.cancel(group.id, "week_start"):
            return public(f"Weeks keep starting on {name}: the change that was waiting is off.")
        return private(f"Weeks already start on {name}.")
    if not await pledge_queries.group_pledges(group.id, ("active", "paused")):
        updated = await group_queries.update_group(group.id, week_start=day)
        return public(f"Setting `week-start` is now {WEEKDAYS[updated.week_start]}.")
    tz = tracking.group_tz(group)
    week = period_at(inv.now, "week", tz, group.week_start)
    at = tracking.close_time(week, group)
    await deferred_queries.defer(group.id, "week_start", day, at, inv.now, week=week.key)
    bridge = period_at(week.end, "week", tz, day)
    last = bridge.first_day + timedelta(days=bridge.days - 1)
    return public(
        f"Weeks will start on {name} once this week ({describe(week)}) has closed, on "
        f"{_when(group, at)}: its answers count as they are. The days from "
        f"{week.end.astimezone(tz):%a} {week.end.astimezone(tz).day} "
        f"{week.end.astimezone(tz):%b} to {last:%a} {last.day} {last:%b} make one short "
        f"first week; from then on weeks run from {name}."
    )


async def settings(inv: Invocation) -> Reply:
    group = inv.need_group()
    key = (inv.args.get("key") or "").strip().lower().replace("_", "-")
    value = inv.args.get("value")
    if not key:
        inv.plan.nothing = True
        return private(await _listing(group, inv.now))
    if key == EVENT_REMINDER:
        inv.plan.events = True
        return await _event_reminder(inv, group, value)
    if key not in BY_KEY:
        raise UserError(
            f"There is no setting “{inert(key[:30])}”.",
            "Settings: " + ", ".join(f"`{k}`" for k in BY_KEY) + ".",
        )
    setting = BY_KEY[key]
    if value is None:
        inv.plan.nothing = True
        return private(
            f"`{key}` = {setting.show(group)} — {setting.help}. "
            f"Change it with `{inv.prefix}settings {key} {setting.example}`."
        )
    if not inv.actor.is_admin:
        raise PermissionDenied(
            "Only a group admin can change settings.",
            "Ask someone with Manage Server (Discord) or power level 50 (Matrix).",
        )
    try:
        parsed = setting.parse(value)
    except UserError as exc:
        exc.usage = f"Write e.g. `{inv.prefix}settings {key} {setting.example}`."
        raise
    if setting.field == "week_start":
        return await _change_week_start(inv, group, parsed)
    updated = await group_queries.update_group(group.id, **{setting.field: parsed})
    # Any other setting moves the group's jobs: its whole plan is made again.
    inv.plan.nothing = setting.field in UNPLANNED_FIELDS
    if setting.field in ("timezone", "grace_hours"):
        # A new week start waits for its week's close, which has moved with the zone.
        await closing.retime_week_start(updated)
        # Open periods are read again in the new calendar: close what has now ended.
        await close_queries.close_again_now(group.id, inv.now, tracking.FAR_FUTURE)
        await closing.close_due(inv.now, group.id)
    return public(f"Setting `{key}` is now {setting.show(updated)}.")


async def _event_reminder(inv: Invocation, group: GroupRec, value: str | None) -> Reply:
    current = (await event_queries.settings(group.id)).reminder
    if value is None:
        return private(
            f"`{EVENT_REMINDER}` = {current} — {EVENT_REMINDER_HELP}. "
            f"Change it with `{inv.prefix}settings {EVENT_REMINDER} 1d 19:00`."
        )
    if not inv.actor.is_admin:
        raise PermissionDenied(
            "Only a group admin can change settings.",
            "Ask someone with Manage Server (Discord) or power level 50 (Matrix).",
        )
    rule = event_times.parse_reminder(value)
    updated = await event_queries.update_settings(
        group.id, reminder=event_times.format_reminder(rule)
    )
    return public(f"Setting `{EVENT_REMINDER}` is now {updated.reminder}.")


def register(reg: Registry) -> None:
    reg.add(
        Command(
            ("settings",),
            "Show or change the group's settings (changing: admins)",
            "settings timezone Europe/Berlin",
            settings,
            args=(
                Arg(
                    "key",
                    "choice",
                    "which setting",
                    required=False,
                    choices=(*(s.key for s in SETTINGS), EVENT_REMINDER),
                ),
                Arg("value", "text", "its new value", required=False, max_len=40),
            ),
            who=Role.ADMIN,
            details="Anyone may look; only admins may change.",
            replans=True,
        )
    )
