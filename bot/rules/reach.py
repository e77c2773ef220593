"""When a ping may reach a member: their own zone, and quiet hours in theirs and the group's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.rules import pledge_periods as tracking
from bot.rules.localtime import parse_timezone
from bot.rules.quiet import parse_quiet_hours, quiet_end
from storage.records import GroupRec, MemberRec

# Quiet hours read in two zones can push each other on; a few rounds settle any real pair.
_QUIET_ROUNDS = 4


def member_tz(member: MemberRec, group: GroupRec) -> ZoneInfo:
    """A member's own zone for personal reminders and DMs, else the group's."""
    if member.timezone:
        try:
            return parse_timezone(member.timezone)
        except Exception:
            return tracking.group_tz(group)
    return tracking.group_tz(group)


def after_quiet(instant: datetime, group: GroupRec, tz: ZoneInfo | None = None) -> datetime:
    """`instant`, or the end of the quiet window it falls in (the group's window, local to tz)."""
    window = parse_quiet_hours(group.quiet_hours) if group.quiet_hours else None
    end = quiet_end(instant, window, tz or tracking.group_tz(group))
    return end or instant


def member_due(minute: datetime, group: GroupRec, member: MemberRec, dm: bool) -> datetime:
    """When a ping may reach a member: never in quiet hours read in their own zone, and a
    channel message never in the group's either."""
    if dm:
        return after_quiet(minute, group, member_tz(member, group))
    due = after_quiet(minute, group)
    if not member.timezone:
        return due
    own = member_tz(member, group)
    for _ in range(_QUIET_ROUNDS):
        later = after_quiet(after_quiet(due, group, own), group)
        if later == due:
            return due
        due = later
    return after_quiet(due, group, own)
