"""An event's attendance loop: the reminder before it and "did you make it?" after, to Going and
Maybe only, planned as jobs and turned into channel messages within the attention budget."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.commands.events import ASK_KIND, ask_key
from bot.errors import UserError
from bot.messages import event_card
from bot.messages.notices import reply_to_json
from bot.rules import event_times
from bot.rules import pledge_periods as tracking
from bot.rules.reach import after_quiet
from bot.rules.slots import parse_slot
from bot.scheduling import attention
from storage import events as event_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries
from storage import scheduling as round_queries
from storage.records import EventRec, GroupRec, JobRec, MemberRec, NewJob

EV_REMIND = "ev_remind"
EV_ASK = "ev_ask"
EVENT_KINDS = (EV_REMIND, EV_ASK)
REMIND_KIND = "event-remind"
# The question waits at most this long after the end (quiet hours, a restart) before it is moot.
ASK_WINDOW = timedelta(days=2)
ANSWERS_ASKED = ("going", "maybe")


def reminder_rule(text: str) -> event_times.ReminderRule:
    try:
        return event_times.parse_reminder(text)
    except UserError:
        return event_times.parse_reminder(event_queries.DEFAULT_REMINDER)


def question_hour(group: GroupRec) -> Any:
    """The group's question hour: the time of day of its end-of-week question slot."""
    return parse_slot(group.prompt_slot).at


def _stamp(instant: datetime) -> str:
    return instant.isoformat(timespec="minutes")


def plan_for_events(
    group: GroupRec, events: Sequence[EventRec], reminder: str, now: datetime
) -> list[NewJob]:
    """Every reminder and question the group's events still need (pure). The keys carry the
    start and end, so an edit that moves the event plans new ones and drops the old."""
    rule = reminder_rule(reminder)
    tz = tracking.group_tz(group)
    jobs: list[NewJob] = []
    for e in events:
        if e.status != "scheduled" or group.archived:
            continue
        at = event_times.reminder_time(rule, e.starts_at, tz, question_hour(group))
        if at is not None:
            due = after_quiet(at, group)
            # Never in quiet hours: when they last until the start, no reminder at all.
            if now < due < e.starts_at:
                key = f"{EV_REMIND}:g{group.id}:e{e.id}:{_stamp(e.starts_at)}"
                jobs.append(NewJob(key, EV_REMIND, due, group.id, {"event_id": e.id}))
        ask = after_quiet(e.ends_at, group)
        if ask > now and ask - e.ends_at < ASK_WINDOW:
            key = f"{EV_ASK}:g{group.id}:e{e.id}:{_stamp(e.ends_at)}"
            jobs.append(NewJob(key, EV_ASK, ask, group.id, {"event_id": e.id}))
    return jobs


async def plan_events(group: GroupRec, now: datetime) -> int:
    """Bring the group's event jobs in line with its events and reminder setting."""
    events = await event_queries.group_events(group.id, ending_after=now - ASK_WINDOW)
    settings = await event_queries.settings(group.id)
    jobs = plan_for_events(group, events, settings.reminder, now)
    added = await job_queries.plan(jobs, now)
    await job_queries.cancel_unplanned(group.id, EVENT_KINDS, {j.dedupe_key for j in jobs}, now)
    return added


# -- at the due time -------------------------------------------------------------------------


def _still_planned(job: JobRec, event: EventRec) -> bool:
    stamp = _stamp(event.starts_at if job.kind == EV_REMIND else event.ends_at)
    return event.status == "scheduled" and job.dedupe_key.endswith(":" + stamp)


async def _asked(event: EventRec, job_kind: str, now: datetime) -> list[MemberRec]:
    """Who said Going or Maybe and is not muted: the only members an event message reaches;
    "did you make it?" leaves out who already said they went or missed it."""
    answered = [r for r in await event_queries.rsvps([event.id]) if r.answer in ANSWERS_ASKED]
    if job_kind == EV_ASK:
        told = {a.member_id for a in await event_queries.attendance([event.id])}
        answered = [r for r in answered if r.member_id not in told]
    members = await round_queries.members_by_id([r.member_id for r in answered])
    return [
        members[r.member_id]
        for r in answered
        if r.member_id in members
        and not (members[r.member_id].muted_until and members[r.member_id].muted_until > now)  # type: ignore[operator]
    ]


async def _reply(job_kind: str, event: EventRec, who: list[MemberRec], now: datetime) -> Any:
    if job_kind == EV_REMIND:
        return event_card.reminder(event, who, now)
    pledge = await pledge_queries.get_pledge(event.pledge_id) if event.pledge_id else None
    return event_card.question(event, who, pledge)


async def outgoing(job: JobRec, group: GroupRec, now: datetime) -> attention.Outgoing | str:
    """The channel message a due event job becomes, or the reason it becomes none."""
    event = await event_queries.get_event(int(job.payload["event_id"]))
    if event is None or not _still_planned(job, event):
        return "gone"
    who = await _asked(event, job.kind, now)
    if not who:
        return "nobody to ask"
    reply = await _reply(job.kind, event, who, now)
    kind = REMIND_KIND if job.kind == EV_REMIND else ASK_KIND
    key = f"send:g{group.id}:{job.kind}:e{event.id}:{job.dedupe_key.rsplit(':', 1)[-1]}"[:255]
    reply = reply.with_extra(idempotency_key=key)
    return attention.Outgoing(key, job.due_at, group.id, None, reply, kind, None, ask_key(event.id))


def send_job(o: attention.Outgoing, event_id: int, job_kind: str, now: datetime) -> NewJob:
    payload = attention.send_payload(o, reply_to_json(o.reply), now)
    payload["event"] = {"id": event_id, "job": job_kind}
    return NewJob(o.dedupe_key, attention.CHANNEL_SEND, o.due_at, o.group_id, payload)


async def recheck(jobs: Sequence[JobRec], now: datetime) -> tuple[list[JobRec], list[int]]:
    """Right before hand-over: an event message for an event cancelled or moved meanwhile, or
    whose Going/Maybe all changed their answer, is dropped; one whose list changed is rewritten."""
    keep: list[JobRec] = []
    drop: list[int] = []
    for job in jobs:
        info = job.payload.get("event")
        if not info or not attention._stale(job, now):
            keep.append(job)
            continue
        event = await event_queries.get_event(int(info["id"]))
        if event is None or event.status != "scheduled":
            drop.append(job.id)
            continue
        who = await _asked(event, str(info["job"]), now)
        if not who:
            drop.append(job.id)
            continue
        reply = await _reply(str(info["job"]), event, who, now)
        old = job.payload.get("reply", {}).get("extra", {})
        reply.extra.update({str(k): str(v) for k, v in old.items()})
        payload = dict(job.payload)
        payload["reply"] = reply_to_json(reply)
        payload["checked_at"] = now.isoformat()
        keep.append(dataclasses.replace(job, payload=payload))
    return keep, drop
