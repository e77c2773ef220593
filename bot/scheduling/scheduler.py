"""The scheduler task: sleeps until the next due job, claims it with a lease, hands it over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from bot import log_context
from bot.clock import Clock, VirtualClock
from bot.errors import DeliveryError
from bot.messages.notices import NOTICE_KINDS, reply_from_json, reply_to_json
from bot.messages.weekly_summary import closed_week_summary
from bot.meter import CAP, MUTED, QUIET_HOURS
from bot.ports import Outbox, SendAhead, idempotency_key
from bot.scheduling import attention, crash_points, event_jobs, group_plans, planning
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import scheduling as round_queries
from storage.records import GroupRec, JobRec, MemberRec, NewJob

if TYPE_CHECKING:
    from bot.engine.engine import Engine

log = logging.getLogger("logoff.scheduler")

LEASE = timedelta(minutes=5)
BATCH = 500
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
IDLE_SLEEP = 300.0  # re-check now and then even without a wake-up: other processes add jobs
RETRY_SLEEP = 5.0  # after a failed round (the database away)
MAX_ROUNDS = 10_000
SEND_KINDS = (attention.CHANNEL_SEND, attention.DM_SEND)
# Accepted messages are recorded and marked sent in batches of this many: a crash before the
# batch is stored re-sends them under the same idempotency key, which the platforms dedupe
# for minutes, so the batch must stay far shorter than that (50 is ~1 s at Discord's rate).
SETTLE_EVERY = 50
# The scheduler wakes this long before a due instant and does everything but the platform
# call (claim, gather, render, the handed-over mark), then waits for the instant and sends:
# the database round trips are off the delivery's critical path. An answer recorded in this
# last moment before the due instant is not seen by the re-check (docs/decisions.md).
PREPARE_AHEAD = timedelta(milliseconds=400)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """30 s, 1 min, 2 min ... up to an hour; never sooner than the platform asked."""
    delay: timedelta = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** min(attempts, 16)))
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def _archived(group: GroupRec | None) -> bool:
    return group is None or group.archived


def _minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


class Scheduler:
    """One per process; several processes may share a PostgreSQL database safely."""

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        clock: Clock,
        *,
        catch_up: timedelta = timedelta(hours=24),
        lease: timedelta = LEASE,
        batch: int = BATCH,
        wake: asyncio.Event | None = None,
        ahead: timedelta = PREPARE_AHEAD,
        wait_until: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.meter = engine.meter
        self.outbox = outbox
        self.clock = clock
        self.catch_up = catch_up
        self.lease = lease
        self.batch = batch
        self.ahead = ahead
        # How the prepared round waits for its due instant (tests pass a virtual one).
        self.wait_until = wait_until or self._sleep_until
        # Shared with the engine's Replanner: a command that adds an earlier job sets it.
        self._wake = wake or asyncio.Event()
        self._stopping = False
        self._running = False
        # Messages the platform accepted whose recording failed (the database was away).
        self._unsettled: list[tuple[list[tuple[int, round_queries.SentRecord]], str, datetime]] = []

    # -- the task ---------------------------------------------------------------------------

    def wake(self) -> None:
        """An earlier job may exist now: recompute how long to sleep."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """True while `run` serves jobs (readiness reads it: a task alone may be backing off)."""
        return self._running

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Serve due jobs until stopped; a database that fails (even at start) is retried.

        The start-up planning sits inside the loop: if the database is down when the bot
        starts, commands may already work, and reminders must follow as soon as it is back.
        """
        self._running = True
        try:
            await self._serve()
        finally:
            self._running = False

    async def _serve(self) -> None:
        planned = False
        failing = False
        while not self._stopping:
            # Clear before looking: a wake-up that lands while we compute is not lost.
            self._wake.clear()
            try:
                if not planned:
                    await group_plans.plan_all(self.clock.now())
                    planned = True
                at = await self._due_instant()
                await self.run_due(at)
                # A prepared round that sent nothing (a lease that ends at `at`, a job
                # re-planned meanwhile) still waits for its instant: no spinning before it.
                await self.wait_until(at)
            except Exception as exc:
                self.meter.error("scheduler")
                # Logged once per outage with its traceback, not every few seconds.
                if not failing:
                    log.exception("scheduler round failed; retrying every few seconds")
                else:
                    log.debug("scheduler round failed again: %r", exc)
                failing = True
            else:
                if failing:
                    log.warning("the scheduler works again")
                failing = False
            delay = RETRY_SLEEP if failing else await self._sleep_for()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _sleep_for(self) -> float:
        try:
            nxt = await job_queries.next_due_at()
        except Exception:
            log.exception("could not read the next due time")
            return RETRY_SLEEP
        if nxt is None:
            return IDLE_SLEEP
        ahead = (nxt - self.clock.now() - self.ahead).total_seconds()
        return max(0.0, min(IDLE_SLEEP, ahead))

    async def _due_instant(self) -> datetime:
        """The instant this round serves: the next due time when it is at most `ahead`
        away (the round is prepared before it), else now."""
        now = self.clock.now()
        nxt = await job_queries.next_due_at()
        if nxt is not None and now < nxt <= now + self.ahead:
            return nxt
        return now

    async def _sleep_until(self, at: datetime) -> None:
        delay = (at - self.clock.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def run_due(self, at: datetime | None = None) -> int:
        """Claim and handle everything due by `at` (default: now), round after round;
        returns jobs handled.

        With `at` ahead of the clock the rounds are decided as of `at` (quiet hours, answers,
        closes), and the first platform call waits for it. Leases are read at the real now:
        a lease is never taken over before it has run out."""
        await self._settle_unsettled()
        handled = 0
        for _ in range(MAX_ROUNDS):
            real = self.clock.now()
            now = max(real, at) if at is not None else real
            token = uuid.uuid4().hex
            claimed = await job_queries.claim_due(
                real, now + self.lease, token, self.batch, due_by=now
            )
            if not claimed:
                break
            await self._handle(claimed, token, now)
            handled += len(claimed)
        return handled

    async def advance_to(self, clock: VirtualClock, target: datetime) -> None:
        """Virtual time: visit each due time up to `target` in order, doing what fell due."""
        while True:
            nxt = await job_queries.next_due_at()
            if nxt is None or nxt > target:
                break
            if nxt > clock.now():
                clock.set(nxt)
            if await self.run_due() == 0 and nxt <= clock.now():
                # Held by a live lease elsewhere: let virtual time pass rather than spin.
                clock.set(max(clock.now(), nxt) + timedelta(seconds=1))
        if target > clock.now():
            clock.set(target)

    # -- handling ---------------------------------------------------------------------------

    async def _handle(self, claimed: Sequence[JobRec], token: str, now: datetime) -> None:
        live = await self._drop_overdue(claimed, token, now)
        closes = [j for j in live if j.kind == planning.CLOSE]
        if closes:
            await self._guarded(closes, token, now, self._close(closes, token, now))
        notices = sorted(
            (j for j in live if j.kind in NOTICE_KINDS),
            key=lambda j: (j.group_id or 0, _minute(j.due_at)),
        )
        units = [
            (group_id, minute, list(batch))
            for (group_id, minute), batch in groupby(
                notices, key=lambda j: (j.group_id or 0, _minute(j.due_at))
            )
        ]
        if units:
            await self._guarded(notices, token, now, self._expand(units, token, now))
        for job in live:
            if job.kind == planning.SUMMARY:
                await self._guarded([job], token, now, self._summary(job, token, now))
            elif job.kind in event_jobs.EVENT_KINDS:
                await self._guarded([job], token, now, self._event(job, token, now))
        sends = [j for j in live if j.kind in SEND_KINDS]
        if sends:
            sends = await self._recheck(sends, token, now)
        if sends:
            await self._deliver(sends, token, now)

    async def _recheck(self, jobs: Sequence[JobRec], token: str, now: datetime) -> list[JobRec]:
        """Right before hand-over: nothing for who answered meanwhile or a period now closed."""
        jobs, gone = await event_jobs.recheck(jobs, now)
        if gone:
            await job_queries.settle(gone, token, job_queries.SKIPPED, now, "event changed")
        checked = await attention.recheck(jobs, now)
        for reason, ids in checked.drop.items():
            await job_queries.settle(ids, token, job_queries.SKIPPED, now, reason)
        if checked.later:
            self.meter.held_back(QUIET_HOURS, len(checked.later))
            await job_queries.release_many(checked.later, token)
        return checked.keep

    async def _guarded(self, jobs: Sequence[JobRec], token: str, now: datetime, work: Any) -> None:
        try:
            await work
        except Exception as exc:
            self.meter.error("scheduler")
            log.exception("jobs %s failed; retrying later", [j.dedupe_key for j in jobs])
            await self._retry(jobs, token, now, repr(exc), None)

    async def _retry(
        self, jobs: Sequence[JobRec], token: str, now: datetime, error: str, after: float | None
    ) -> None:
        for job in jobs:
            due = now + backoff(job.attempts, after)
            await job_queries.retry_later([job.id], token, due, error)

    async def _drop_overdue(
        self, claimed: Sequence[JobRec], token: str, now: datetime
    ) -> list[JobRec]:
        live, overdue = [], []
        for job in claimed:
            # A close is bookkeeping, never noise: it always runs, however late.
            if job.kind != planning.CLOSE and now - job.due_at > self.catch_up:
                log.warning(
                    "skipping %s: due %s, %s overdue (catch-up window %s)",
                    job.dedupe_key,
                    job.due_at.isoformat(),
                    now - job.due_at,
                    self.catch_up,
                )
                overdue.append(job.id)
            else:
                live.append(job)
        if overdue:
            await job_queries.settle(overdue, token, job_queries.SKIPPED, now, "overdue")
        return live

    async def _close(self, jobs: Sequence[JobRec], token: str, now: datetime) -> None:
        for group_id in sorted({j.group_id for j in jobs if j.group_id is not None}):
            await self.engine.close_due(group_id)
        await job_queries.settle([j.id for j in jobs], token, job_queries.SENT, now)
        for group_id in sorted({j.group_id for j in jobs if j.group_id is not None}):
            await group_plans.plan_group(group_id, now)  # the next periods' jobs

    async def _expand(
        self, units: list[tuple[int, datetime, list[JobRec]]], token: str, now: datetime
    ) -> None:
        """Turn every group's due notices of this round into messages, in a constant number
        of queries: one group per message is what the platforms' rate limits need, and one
        round trip per group is what made a slot for 1,000 groups slow."""
        groups = await round_queries.groups_by_id(g for g, _, _ in units)
        gone = [j.id for g, _, jobs in units if _archived(groups.get(g)) for j in jobs]
        if gone:
            await job_queries.settle(gone, token, job_queries.SKIPPED, now, "gone")
        units = [u for u in units if not _archived(groups.get(u[0]))]
        facts = await attention.load_facts([j for _, _, jobs in units for j in jobs], groups)
        batched: list[tuple[GroupRec, list[JobRec], list[attention.Outgoing]]] = []
        failed: list[JobRec] = []
        for group_id, minute, jobs in units:
            group = groups[group_id]
            try:
                notices = attention.gather(group, jobs, now, facts)
                batched.append((group, jobs, attention.batch(group, notices, minute, jobs)))
            except Exception as exc:
                # One group's bad data must not hold back the other groups of the round.
                log.exception("jobs %s failed; retrying later", [j.dedupe_key for j in jobs])
                await self._retry(jobs, token, now, repr(exc), None)
                failed.extend(jobs)
        capped = await attention.within_caps([(g, outs) for g, _, outs in batched], now, facts)
        held = sum(len(outs) for _, _, outs in batched) - sum(len(kept) for kept in capped)
        if held:
            self.meter.held_back(CAP, held)
        expansions = [
            ([j.id for j in jobs], [self._send_job(o, now) for o in kept])
            for (_, jobs, _), kept in zip(batched, capped, strict=True)
        ]
        for n in await job_queries.expand_many(expansions, token, now):
            log.warning(
                "lost the claim on %s; another scheduler has it", batched[n][1][0].dedupe_key
            )

    @staticmethod
    def _send_job(o: attention.Outgoing, now: datetime) -> NewJob:
        payload = attention.send_payload(o, reply_to_json(o.reply), now)
        kind = attention.DM_SEND if o.member_id is not None else attention.CHANNEL_SEND
        return NewJob(o.dedupe_key, kind, o.due_at, o.group_id, payload)

    async def _summary(self, job: JobRec, token: str, now: datetime) -> None:
        group = await group_queries.get_group(job.group_id or 0)
        if group is None or group.archived:
            await job_queries.settle([job.id], token, job_queries.SKIPPED, now, "gone")
            return
        await self.engine.close_due(group.id)  # the week it reports must be closed first
        week_key = str(job.payload["week_key"])
        reply = await closed_week_summary(group, week_key)
        if reply is None:
            await job_queries.settle([job.id], token, job_queries.SKIPPED, now, "nothing to report")
            return
        key = f"send:g{group.id}:summary:{week_key}"
        reply = reply.with_extra(idempotency_key=key)
        out = attention.Outgoing(key, job.due_at, group.id, None, reply, "summary", None, None)
        sends = [self._send_job(o, now) for o in await attention.within_cap(group, [out], now)]
        if not sends:
            self.meter.held_back(CAP)
        await job_queries.expand([job.id], token, sends, now)

    async def _event(self, job: JobRec, token: str, now: datetime) -> None:
        """An event's reminder or question: one channel message to Going and Maybe, capped."""
        group = await group_queries.get_group(job.group_id or 0)
        if group is None or group.archived:
            await job_queries.settle([job.id], token, job_queries.SKIPPED, now, "gone")
            return
        out = await event_jobs.outgoing(job, group, now)
        if isinstance(out, str):
            await job_queries.settle([job.id], token, job_queries.SKIPPED, now, out)
            return
        event_id = int(job.payload["event_id"])
        sends = [
            event_jobs.send_job(o, event_id, job.kind, now)
            for o in await attention.within_cap(group, [out], now)
        ]
        await job_queries.expand([job.id], token, sends, now)

    async def _deliver(self, jobs: Sequence[JobRec], token: str, now: datetime) -> None:
        """Hand over the round's messages one by one; store what was accepted in batches.

        Each batch is marked handed over before its first platform call: a job claimed again
        later (after a crash, a database outage or a lease takeover) may have been accepted,
        so it is looked for on the platform (`Outbox.find_sent`) before it is sent again.
        """
        groups = await round_queries.groups_by_id(j.group_id or 0 for j in jobs)
        member_ids = [int(j.payload["member_id"]) for j in jobs if j.payload.get("member_id")]
        members = await round_queries.members_by_id(member_ids)
        skipped: dict[str, list[int]] = {}
        quiet: list[tuple[int, datetime]] = []
        ready: list[tuple[JobRec, GroupRec, MemberRec | None]] = []
        for job in jobs:
            group = groups.get(job.group_id or 0)
            if group is None or group.archived:
                skipped.setdefault("gone", []).append(job.id)
                continue
            member = None
            member_id = job.payload.get("member_id")
            if member_id is not None:
                member = members.get(int(member_id))
                if member is None or (member.muted_until is not None and member.muted_until > now):
                    skipped.setdefault("muted", []).append(job.id)
                    continue
            tz = planning.member_tz(member, group) if member else None
            quiet_until = planning.after_quiet(now, group, tz)
            if quiet_until > now:
                quiet.append((job.id, quiet_until))
                continue
            ready.append((job, group, member))
        if skipped.get("muted"):
            self.meter.held_back(MUTED, len(skipped["muted"]))
        if quiet:
            self.meter.held_back(QUIET_HOURS, len(quiet))
        for reason, ids in skipped.items():
            await job_queries.settle(ids, token, job_queries.SKIPPED, now, reason)
        await job_queries.release_many(quiet, token)
        for start in range(0, len(ready), SETTLE_EVERY):
            batch = ready[start : start + SETTLE_EVERY]
            held = await job_queries.mark_handed_over([j.id for j, _, _ in batch], token, now)
            await self._prepare_sends([(j, g, m) for j, g, m in batch if j.id in held])
            # Prepared ahead: rendered, re-checked and marked; the platform call waits for
            # the due instant (the round's `now`), never earlier.
            await self.wait_until(now)
            accepted: list[tuple[int, round_queries.SentRecord]] = []
            for job, group, member in batch:
                if job.id not in held:
                    log.warning("lost the claim on %s; another scheduler has it", job.dedupe_key)
                    continue
                record = await self._hand_over(job, group, member, token, now)
                if record is not None:
                    accepted.append((job.id, record))
            await self._settle_sent(accepted, token, now)

    async def _prepare_sends(
        self, batch: Sequence[tuple[JobRec, GroupRec, MemberRec | None]]
    ) -> None:
        """The adapter's own part before the due instant (`SendAhead`), best effort: what
        fails here the send does again."""
        if not isinstance(self.outbox, SendAhead):
            return
        for job, group, member in batch:
            if job.handed_over_at is not None:
                continue  # handed over before: looked for on the platform first, not prepared
            try:
                await self.outbox.prepare_send(group, member, reply_from_json(job.payload["reply"]))
            except Exception as exc:
                log.debug("preparing %s ahead failed: %r", job.dedupe_key, exc)

    async def _settle_sent(
        self, accepted: Sequence[tuple[int, round_queries.SentRecord]], token: str, now: datetime
    ) -> None:
        if not accepted:
            return
        crash_points.reached("accepted")
        try:
            await round_queries.record_sent_many([r for _, r in accepted], now)
            await job_queries.settle([i for i, _ in accepted], token, job_queries.SENT, now)
        except Exception:
            # The platform has these messages: store them as soon as the database is back,
            # rather than leaving them for a lease takeover to find on the platform.
            self._unsettled.append((list(accepted), token, now))
            raise

    async def _settle_unsettled(self) -> None:
        """Store messages accepted while the database was away (raises while it still is)."""
        while self._unsettled:
            accepted, token, now = self._unsettled[0]
            await round_queries.record_sent_many([r for _, r in accepted], now)
            await job_queries.settle([i for i, _ in accepted], token, job_queries.SENT, now)
            self._unsettled.pop(0)

    async def _hand_over(
        self, job: JobRec, group: GroupRec, member: MemberRec | None, token: str, now: datetime
    ) -> round_queries.SentRecord | None:
        """Give one message to the platform (or find it there); the record to store."""
        reply = reply_from_json(job.payload["reply"])
        about = log_context.enter(group.platform, group.external_id)
        try:
            message_id = None
            if job.handed_over_at is not None:
                message_id = await self.outbox.find_sent(idempotency_key(reply), group, member)
                if message_id is not None:
                    log.info(
                        "%s was delivered before (%s); recording it", job.dedupe_key, message_id
                    )
            if message_id is None and member is None:
                message_id = await self.outbox.send_to_group(group, reply)
            elif message_id is None:
                assert member is not None
                message_id = await self.outbox.send_to_member(member, reply, group)
        except DeliveryError as exc:
            if not exc.retryable:
                log.error("%s refused for good: %s", job.dedupe_key, exc)
                await job_queries.settle([job.id], token, job_queries.FAILED, now, str(exc))
                return None
            await self._retry([job], token, now, str(exc), exc.retry_after)
            return None
        except Exception as exc:
            self.meter.error("scheduler")
            log.exception("handing over %s failed", job.dedupe_key)
            await self._retry([job], token, now, repr(exc), None)
            return None
        finally:
            log_context.leave(about)
        record = job.payload.get("record", {})
        pledge_id = record.get("pledge_id")
        self.meter.sent(
            member.platform if member else group.platform, str(record.get("kind", "message"))
        )
        return round_queries.SentRecord(
            platform=member.platform if member else group.platform,
            message_id=message_id,
            kind=str(record.get("kind", "message"))[:16],
            group_id=group.id,
            pledge_id=int(pledge_id) if pledge_id is not None else None,
            period_key=record.get("period_key"),
        )
