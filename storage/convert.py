"""Conversions from ORM rows to the frozen records the core sees."""

from __future__ import annotations

from storage import models as m
from storage.records import (
    CheckInRec,
    GroupRec,
    MemberRec,
    ParticipationRec,
    PledgeRec,
)


def group(row: m.Group) -> GroupRec:
    return GroupRec(
        id=row.id,
        platform=row.platform,
        external_id=row.external_id,
        name=row.name,
        timezone=row.timezone,
        week_start=row.week_start,
        summary_slot=row.summary_slot,
        prompt_slot=row.prompt_slot,
        grace_hours=row.grace_hours,
        quiet_hours=row.quiet_hours,
        weekly_message_cap=row.weekly_message_cap,
        threshold=row.threshold,
        name_missed=row.name_missed,
        group_streak=row.group_streak,
        best_group_streak=row.best_group_streak,
        weeks_closed_through=row.weeks_closed_through,
        archived=row.archived,
        created_at=row.created_at,
    )


def member(row: m.Member) -> MemberRec:
    return MemberRec(
        id=row.id,
        platform=row.platform,
        external_id=row.external_id,
        display_name=row.display_name,
        timezone=row.timezone,
        muted_until=row.muted_until,
        forget_requested_at=row.forget_requested_at,
    )


def pledge(row: m.Pledge) -> PledgeRec:
    return PledgeRec(
        id=row.id,
        group_id=row.group_id,  # type: ignore[attr-defined]
        number=row.number,
        title=row.title,
        cadence=row.cadence,
        target=row.target,
        start_date=row.start_date,
        end_date=row.end_date,
        remind_slot=row.remind_slot,
        status=row.status,
        paused_at=row.paused_at,
        paused_until=row.paused_until,
        creator_id=row.creator_id,  # type: ignore[attr-defined]
        created_at=row.created_at,
    )


def participation(row: m.Participation) -> ParticipationRec:
    return ParticipationRec(
        id=row.id,
        pledge_id=row.pledge_id,  # type: ignore[attr-defined]
        member_id=row.member_id,  # type: ignore[attr-defined]
        active=row.active,
        joined_at=row.joined_at,
        first_period=row.first_period,
        remind_slot=row.remind_slot,
        remind_off=row.remind_off,
        delivery=row.delivery,
        current_streak=row.current_streak,
        best_streak=row.best_streak,
        strength=row.strength,
        freezes=row.freezes,
        kept_toward_freeze=row.kept_toward_freeze,
        closed_through=row.closed_through,
        next_close_at=row.next_close_at,
    )


def checkin(row: m.CheckIn) -> CheckInRec:
    return CheckInRec(
        id=row.id,
        participation_id=row.participation_id,  # type: ignore[attr-defined]
        period_key=row.period_key,
        kind=row.kind,
        note=row.note,
        event_key=row.event_key,
        created_at=row.created_at,
        undone_at=row.undone_at,
    )
