"""Plain frozen dataclasses that storage returns: the only shapes the core ever sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple


@dataclass(frozen=True)
class GroupRec:
    id: int
    platform: str
    external_id: str
    name: str
    timezone: str
    week_start: int
    summary_slot: str
    prompt_slot: str
    grace_hours: int
    quiet_hours: str | None
    weekly_message_cap: int
    threshold: float
    name_missed: bool
    group_streak: int
    best_group_streak: int
    weeks_closed_through: datetime | None
    archived: bool
    created_at: datetime


@dataclass(frozen=True)
class GroupDefaults:
    timezone: str
    week_start: int
    summary_slot: str
    prompt_slot: str
    grace_hours: int
    quiet_hours: str | None
    weekly_message_cap: int
    threshold: float


@dataclass(frozen=True)
class MemberRec:
    id: int
    platform: str
    external_id: str
    display_name: str
    timezone: str | None
    muted_until: datetime | None
    forget_requested_at: datetime | None


@dataclass(frozen=True)
class PledgeRec:
    id: int
    group_id: int
    number: int
    title: str
    cadence: str
    target: int
    start_date: date | None
    end_date: date | None
    remind_slot: str | None
    status: str
    paused_at: datetime | None
    paused_until: date | None
    creator_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class ParticipationRec:
    id: int
    pledge_id: int
    member_id: int
    active: bool
    joined_at: datetime
    first_period: str
    remind_slot: str | None
    remind_off: bool
    delivery: str
    current_streak: int
    best_streak: int
    strength: float
    freezes: int
    kept_toward_freeze: int
    closed_through: str | None
    next_close_at: datetime


@dataclass(frozen=True)
class CheckInRec:
    id: int
    participation_id: int
    period_key: str
    kind: str
    note: str
    event_key: str
    created_at: datetime
    undone_at: datetime | None


@dataclass(frozen=True)
class OutcomeRec:
    participation_id: int
    group_id: int
    period_key: str
    period_end: datetime
    outcome: str
    done: int


@dataclass(frozen=True)
class StreakUpdate:
    """New streak state of a participation after closing periods up to `closed_through`."""

    participation_id: int
    current_streak: int
    best_streak: int
    strength: float
    freezes: int
    kept_toward_freeze: int
    closed_through: str | None
    next_close_at: datetime
    active: bool


@dataclass(frozen=True)
class GroupWeekRec:
    group_id: int
    week_key: str
    kept: int
    missed: int
    excused: int
    met: bool | None
    streak: int


@dataclass(frozen=True)
class PeriodTally:
    """Check-in counts of one participation in one period (undone check-ins excluded)."""

    participation_id: int
    period_key: str
    done: int
    skipped: int
    declined: int


@dataclass(frozen=True)
class VouchRec:
    checkin_id: int
    participation_id: int
    period_key: str
    voucher_id: int
    voucher_name: str


@dataclass(frozen=True)
class SentMessageRec:
    id: int
    platform: str
    message_id: str
    group_id: int | None
    pledge_id: int | None
    period_key: str | None
    kind: str


Json = dict[str, Any]


@dataclass(frozen=True)
class NewJob:
    """A job to schedule; `dedupe_key` names it for good, so planning it twice stores it once."""

    dedupe_key: str
    kind: str
    due_at: datetime
    group_id: int | None
    payload: Json = field(default_factory=dict)


@dataclass(frozen=True)
class JobRec:
    id: int
    dedupe_key: str
    kind: str
    due_at: datetime
    group_id: int | None
    payload: Json
    status: str
    attempts: int
    last_error: str | None
    lease_until: datetime | None
    claim_token: str | None
    sent_at: datetime | None
    # Set once a hand-over to the platform began: the message may be out already (issue 10).
    handed_over_at: datetime | None = None


class ParticipantRow(NamedTuple):
    """A participation with its member's name: what boards and streak views need, nothing more.

    A named tuple, not a frozen dataclass like the records: a board makes one per participant
    (190 for a 95-member group's two pledges), and a frozen dataclass's `__init__` (a call
    of `object.__setattr__` per field) made that most of the board's Python time."""

    id: int
    pledge_id: int
    member_id: int
    platform: str
    external_id: str
    display_name: str
    current_streak: int
    best_streak: int
    strength: float
    freezes: int
    closed_through: str | None


# -- issue 14: offline events ----------------------------------------------------------------


@dataclass(frozen=True)
class EventRec:
    id: int
    group_id: int
    number: int
    title: str
    local_date: date
    local_time: str
    tzid: str
    starts_at: datetime
    ends_at: datetime
    place: str
    pledge_id: int | None
    creator_id: int | None
    status: str
    card_message_id: str | None
    mirror_id: str | None
    sequence: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RsvpRec:
    event_id: int
    member_id: int
    answer: str
    display_name: str
    platform: str
    external_id: str


@dataclass(frozen=True)
class AttendanceRec:
    event_id: int
    member_id: int
    went: bool
    checkin_id: int | None
    display_name: str


@dataclass(frozen=True)
class EventSettingsRec:
    group_id: int
    reminder: str
    feed_secret: str | None
