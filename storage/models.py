"""Tortoise ORM models: the tables Logoff stores (never leave this package as ORM objects)."""
# Model docstrings become SQL table comments. Tortoise splits statements on ";": use none.
# `_no_comments`: Tortoise otherwise reads each model's source at import (inspect.getsource,
# which parses this whole file again per class) to find `#:` field comments, which Logoff has
# none of: ~0.4 s of every start for nothing (benchmarks/README.md, 2026-12-03).

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Group(Model):
    """A Discord channel or Matrix room whose members make pledges together."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=255)
    name = fields.CharField(max_length=200, default="")
    timezone = fields.CharField(max_length=64)
    week_start = fields.SmallIntField(default=0)
    summary_slot = fields.CharField(max_length=16)
    prompt_slot = fields.CharField(max_length=16)
    grace_hours = fields.SmallIntField(default=12)
    quiet_hours = fields.CharField(max_length=16, null=True)
    weekly_message_cap = fields.SmallIntField(default=6)
    threshold = fields.FloatField(default=0.6)
    name_missed = fields.BooleanField(default=False)
    group_streak = fields.IntField(default=0)
    best_group_streak = fields.IntField(default=0)
    weeks_closed_through = fields.DatetimeField(null=True)
    archived = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "groups"
        unique_together = (("platform", "external_id"),)


class Member(Model):
    """A person on one platform, created the first time they use the bot."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=200, default="")
    timezone = fields.CharField(max_length=64, null=True)
    muted_until = fields.DatetimeField(null=True)
    forget_requested_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "members"
        unique_together = (("platform", "external_id"),)


class Pledge(Model):
    """A small offline commitment in a group, with a cadence and a target per period."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "logoff.Group", related_name="pledges", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    title = fields.CharField(max_length=200)
    cadence = fields.CharField(max_length=8)
    target = fields.SmallIntField(default=1)
    start_date = fields.DateField(null=True)
    end_date = fields.DateField(null=True)
    remind_slot = fields.CharField(max_length=16, null=True)
    status = fields.CharField(max_length=10, default="active")
    paused_at = fields.DatetimeField(null=True)
    paused_until = fields.DateField(null=True)
    creator: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="created_pledges", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "pledges"
        unique_together = (("group", "number"),)


class Participation(Model):
    """A member taking part in a pledge, with the streak state of its closed periods."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    pledge: fields.ForeignKeyRelation[Pledge] = fields.ForeignKeyField(
        "logoff.Pledge", related_name="participations", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="participations", on_delete=fields.CASCADE
    )
    active = fields.BooleanField(default=True)
    joined_at = fields.DatetimeField()
    first_period = fields.CharField(max_length=24)
    remind_slot = fields.CharField(max_length=16, null=True)
    remind_off = fields.BooleanField(default=False)
    delivery = fields.CharField(max_length=8, default="channel")
    current_streak = fields.IntField(default=0)
    best_streak = fields.IntField(default=0)
    strength = fields.FloatField(default=0.0)
    freezes = fields.SmallIntField(default=1)
    kept_toward_freeze = fields.SmallIntField(default=0)
    closed_through = fields.CharField(max_length=24, null=True)
    next_close_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "participations"
        unique_together = (("pledge", "member"),)


class CheckIn(Model):
    """One answer for a participation in a period: done, not this time, or skip."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    participation: fields.ForeignKeyRelation[Participation] = fields.ForeignKeyField(
        "logoff.Participation", related_name="checkins", on_delete=fields.CASCADE
    )
    period_key = fields.CharField(max_length=24)
    kind = fields.CharField(max_length=8)
    note = fields.CharField(max_length=500, default="")
    event_key = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()
    undone_at = fields.DatetimeField(null=True)

    class Meta:
        table = "checkins"
        unique_together = (("participation", "event_key"),)
        indexes = (("participation_id", "period_key"),)


class Vouch(Model):
    """A member witnessing another member's check-in."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    checkin: fields.ForeignKeyRelation[CheckIn] = fields.ForeignKeyField(
        "logoff.CheckIn", related_name="vouches", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="vouches", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "vouches"
        unique_together = (("checkin", "member"),)


class Outcome(Model):
    """The stored result of one closed period of one participation."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    participation: fields.ForeignKeyRelation[Participation] = fields.ForeignKeyField(
        "logoff.Participation", related_name="outcomes", on_delete=fields.CASCADE
    )
    group_id_ref = fields.IntField(db_index=True)
    period_key = fields.CharField(max_length=24)
    period_end = fields.DatetimeField(db_index=True)
    outcome = fields.CharField(max_length=8)
    done = fields.SmallIntField(default=0)
    closed_at = fields.DatetimeField()

    class Meta:
        table = "outcomes"
        unique_together = (("participation", "period_key"),)


class GroupWeek(Model):
    """A closed week of a group: kept and missed counts and the group streak after it."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "logoff.Group", related_name="weeks", on_delete=fields.CASCADE
    )
    week_key = fields.CharField(max_length=24)
    kept = fields.IntField(default=0)
    missed = fields.IntField(default=0)
    excused = fields.IntField(default=0)
    met = fields.BooleanField(null=True)
    streak = fields.IntField(default=0)
    closed_at = fields.DatetimeField()

    class Meta:
        table = "group_weeks"
        unique_together = (("group", "week_key"),)


class Job(Model):
    """A persistent scheduled send or close: due time, dedupe key, status and lease."""

    _no_comments = True  # see the note at the top

    id = fields.BigIntField(primary_key=True)
    due_at = fields.DatetimeField(db_index=True)
    dedupe_key = fields.CharField(max_length=255, unique=True)
    kind = fields.CharField(max_length=16)
    group_id_ref = fields.IntField(null=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    status = fields.CharField(max_length=10, default="pending", db_index=True)
    attempts = fields.SmallIntField(default=0)
    last_error = fields.TextField(null=True)
    lease_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    # issue 10: set right before a message is handed to the platform; a job claimed again
    # with it set may have been accepted already, so it is looked for before any resend.
    handed_over_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("status", "due_at"), ("group_id_ref", "status"))


class SentMessage(Model):
    """A message the bot posted, so reactions and clicks on it map back to what it asked."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    message_id = fields.CharField(max_length=255)
    group_id_ref = fields.IntField(null=True)
    pledge_id_ref = fields.IntField(null=True)
    period_key = fields.CharField(max_length=24, null=True)
    kind = fields.CharField(max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "sent_messages"
        unique_together = (("platform", "message_id"),)


# -- issue 14: offline events, RSVPs and attendance ------------------------------------------


class Event(Model):
    """An offline event of a group: a local date and time in a zone, optionally keeping a pledge."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "logoff.Group", related_name="events", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    title = fields.CharField(max_length=200)
    local_date = fields.DateField()
    local_time = fields.CharField(max_length=5)
    tzid = fields.CharField(max_length=64)
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    place = fields.CharField(max_length=200, default="")
    pledge: fields.ForeignKeyNullableRelation[Pledge] = fields.ForeignKeyField(
        "logoff.Pledge", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    creator: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="created_events", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharField(max_length=10, default="scheduled")
    card_message_id = fields.CharField(max_length=255, null=True)
    # The platform's own copy of the event (a Discord Guild Scheduled Event id), if mirrored.
    mirror_id = fields.CharField(max_length=64, null=True)
    sequence = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "events"
        unique_together = (("group", "number"),)


class Rsvp(Model):
    """A member's answer to an event: going, maybe or can't."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "logoff.Event", related_name="rsvps", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="rsvps", on_delete=fields.CASCADE
    )
    answer = fields.CharField(max_length=8)
    event_key = fields.CharField(max_length=255)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "rsvps"
        unique_together = (("event", "member"),)


class Attendance(Model):
    """Whether a member made it to an event, and the check-in it recorded for a linked pledge."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "logoff.Event", related_name="attendances", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "logoff.Member", related_name="attendances", on_delete=fields.CASCADE
    )
    went = fields.BooleanField()
    checkin: fields.ForeignKeyNullableRelation[CheckIn] = fields.ForeignKeyField(
        "logoff.CheckIn", related_name="attendances", null=True, on_delete=fields.SET_NULL
    )
    event_key = fields.CharField(max_length=255)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "attendances"
        unique_together = (("event", "member"),)


class EventSettings(Model):
    """A group's event settings: when the reminder comes, and the secret of its ICS feed."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "logoff.Group", related_name="event_settings", on_delete=fields.CASCADE, unique=True
    )
    reminder = fields.CharField(max_length=16, default="1d")
    feed_secret = fields.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table = "event_settings"


# -- issue 13 (Matrix): numbered choices that survive a restart ------------------------------


class OfferedChoice(Model):
    """A bot message offering numbered choices (reactions 1️⃣ 2️⃣ ...): who may answer, and what."""

    _no_comments = True  # see the note at the top

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    message_id = fields.CharField(max_length=255)
    owner = fields.CharField(max_length=255, default="")  # "" = whoever the actions concern
    actions: list[str] = fields.JSONField(default=list)  # encoded actions, in choice order
    thread = fields.CharField(max_length=255, null=True)  # the thread the message is in
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "offered_choices"
        unique_together = (("platform", "message_id"),)


# -- issue 10: exactly-once handling of incoming events ------------------------------------


class IncomingEvent(Model):
    """A platform event (command, tap, reaction) claimed by one process, so it is answered once."""

    _no_comments = True  # see the note at the top

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=255)
    owner = fields.CharField(max_length=64)
    status = fields.CharField(max_length=10, default="claimed")
    lease_until = fields.DatetimeField()
    reply: dict[str, Any] | None = fields.JSONField(null=True)
    claimed_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "incoming_events"
        unique_together = (("platform", "event_id"),)


class DirectRoom(Model):
    """The DM room of one bot account with one member, claimed by one process before it is made."""

    _no_comments = True  # see the note at the top

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    account = fields.CharField(max_length=255)
    member = fields.CharField(max_length=255)
    room_id = fields.CharField(max_length=255, null=True)
    owner = fields.CharField(max_length=64)
    claimed_at = fields.DatetimeField()
    lease_until = fields.DatetimeField()

    class Meta:
        table = "direct_rooms"
        unique_together = (("platform", "account", "member"),)
