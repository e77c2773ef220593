"""Plain records for pure-rule tests: a group, pledge, member or participation with defaults."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from storage.records import GroupRec, JobRec, MemberRec, ParticipationRec, PledgeRec

CREATED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def group(**changes: Any) -> GroupRec:
    base = GroupRec(
        id=1,
        platform="console",
        external_id="room",
        name="Neighbours",
        timezone="Europe/Berlin",
        week_start=0,
        summary_slot="mon 09:00",
        prompt_slot="sun 19:00",
        grace_hours=12,
        quiet_hours="22:00-08:00",
        weekly_message_cap=3,
        threshold=0.6,
        name_missed=False,
        group_streak=0,
        best_group_streak=0,
        weeks_closed_through=None,
        archived=False,
        created_at=CREATED,
    )
    return dataclasses.replace(base, **changes)


def pledge(**changes: Any) -> PledgeRec:
    base = PledgeRec(
        id=1,
        group_id=1,
        number=1,
        title="Call a neighbour",
        cadence="week",
        target=1,
        start_date=None,
        end_date=None,
        remind_slot=None,
        status="active",
        paused_at=None,
        paused_until=None,
        creator_id=1,
        created_at=CREATED,
    )
    return dataclasses.replace(base, **changes)


def member(**changes: Any) -> MemberRec:
    base = MemberRec(
        id=1,
        platform="console",
        external_id="ana",
        display_name="Ana",
        timezone=None,
        muted_until=None,
        forget_requested_at=None,
    )
    return dataclasses.replace(base, **changes)


def participation(**changes: Any) -> ParticipationRec:
    base = ParticipationRec(
        id=1,
        pledge_id=1,
        member_id=1,
        active=True,
        joined_at=CREATED,
        first_period="week:2026-01-05",
        remind_slot=None,
        remind_off=False,
        delivery="channel",
        current_streak=0,
        best_streak=0,
        strength=0.0,
        freezes=0,
        kept_toward_freeze=0,
        closed_through=None,
        next_close_at=CREATED,
    )
    return dataclasses.replace(base, **changes)


def job(dedupe_key: str, kind: str, due_at: datetime, **payload: Any) -> JobRec:
    return JobRec(
        id=abs(hash(dedupe_key)) % 1_000_000,
        dedupe_key=dedupe_key,
        kind=kind,
        due_at=due_at,
        group_id=1,
        payload=payload,
        status="pending",
        attempts=0,
        last_error=None,
        lease_until=None,
        claim_token=None,
        sent_at=None,
    )
