"""The scheduler on a virtual clock: order, wake-up, backoff, catch-up, quiet hours, mutes, caps."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from bot.messages.actions import Action
from bot.messages.instants import resolve, zone_text
from bot.messages.notices import reply_to_json
from bot.messages.replies import public
from storage import jobs as job_queries
from storage.records import NewJob
from tests.scheduler.support import RecordingOutbox, retryable, rig

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


def message_job(key: str, due: datetime, group_id: int, text: str) -> NewJob:
    reply = public(text).with_extra(idempotency_key=key)
    payload = {"member_id": None, "reply": reply_to_json(reply), "record": {"kind": "test"}}
    return NewJob(key, "send", due, group_id, payload)


async def crew(r, members=("ana", "ben", "cy"), slot="wed 18:00", pledges=1):  # type: ignore[no-untyped-def]
    titles = ["Call a neighbour", "Knock on doors", "Attend a meeting"]
    for title in titles[:pledges]:
        await r.say("admin", f'!pledge new "{title}" per week remind "{slot}"')
    for who in members:
        for n in range(1, pledges + 1):
            await r.say(who, f"!pledge join {n}")
    await r.say("admin", "!pledge leave 1")
    if pledges > 1:
        await r.say("admin", "!pledge leave 2")


async def test_jobs_are_handed_over_in_due_order_whatever_the_insertion_order():
    async with rig(MONDAY) as r:
        await crew(r)
        group = await r.group()
        base = MONDAY + timedelta(hours=2)
        jobs = [
            message_job(f"t{i}", base + timedelta(minutes=m), group.id, f"n{m}")
            for i, m in enumerate([30, 5, 20, 10])
        ]
        await job_queries.plan(jobs, r.clock.now())
        posted = await r.wait(timedelta(hours=3))
        assert [p.text for p in posted] == ["n5", "n10", "n20", "n30"]
        assert [p.at.minute for p in posted] == [5, 10, 20, 30]


async def test_a_sleeping_scheduler_wakes_up_for_a_job_added_earlier_than_anything_else():
    async with rig(MONDAY) as r:
        await crew(r)
        group = await r.group()
        await job_queries.plan(
            [message_job("late", MONDAY + timedelta(days=30), group.id, "late")], MONDAY
        )
        task = asyncio.create_task(r.scheduler.run())
        try:
            await asyncio.sleep(0.05)  # it is asleep now, until the late job (or 5 minutes)
            await job_queries.plan([message_job("now", MONDAY, group.id, "now")], MONDAY)
            r.scheduler.wake()
            for _ in range(200):
                if r.outbox.posted:
                    break
                await asyncio.sleep(0.01)
            assert [p.text for p in r.outbox.posted] == ["now"]
        finally:
            r.scheduler.stop()
            task.cancel()


async def test_a_refused_send_is_retried_with_backoff_and_then_delivered_once():
    async with rig(MONDAY) as r:
        await crew(r)
        group = await r.group()
        r.outbox.failures = [retryable(), retryable(after=600)]
        await job_queries.plan([message_job("x", MONDAY, group.id, "hello")], MONDAY)
        await r.scheduler.run_due()
        job = await job_queries.get_job("x")
        assert job is not None
        assert job.status == "pending"
        assert job.attempts == 1
        assert job.due_at == MONDAY + timedelta(seconds=30)
        await r.wait(timedelta(seconds=30))
        job = await job_queries.get_job("x")
        assert job is not None
        assert job.due_at == MONDAY + timedelta(seconds=30 + 600)  # the platform's Retry-After
        posted = await r.wait(timedelta(hours=1))
        assert [p.text for p in posted] == ["hello"]
        job = await job_queries.get_job("x")
        assert job is not None
        assert job.status == "sent"
        assert job.attempts == 2


async def test_a_send_refused_for_good_is_marked_failed_and_not_retried():
    from bot.errors import DeliveryError

    async with rig(MONDAY) as r:
        await crew(r)
        group = await r.group()
        r.outbox.failures = [DeliveryError("no such room", retryable=False)]
        await job_queries.plan([message_job("x", MONDAY, group.id, "hello")], MONDAY)
        await r.wait(timedelta(days=1))
        job = await job_queries.get_job("x")
        assert job is not None
        assert job.status == "failed"
        assert r.outbox.posted == []


async def test_jobs_overdue_beyond_catch_up_hours_are_skipped_and_recent_ones_caught_up():
    async with rig(MONDAY) as r:
        await crew(r)
        group = await r.group()
        await job_queries.plan(
            [
                message_job("old", MONDAY - timedelta(hours=30), group.id, "old"),
                message_job("recent", MONDAY - timedelta(hours=2), group.id, "recent"),
            ],
            MONDAY,
        )
        await r.scheduler.run_due()
        assert [p.text for p in r.outbox.posted] == ["recent"]
        old = await job_queries.get_job("old")
        assert old is not None
        assert old.status == "skipped"


async def test_reminders_for_the_same_slot_go_out_as_one_message_and_one_dm_per_dm_chooser():
    async with rig(MONDAY) as r:
        await crew(r, members=("ana", "ben", "cy", "dee"), pledges=2)
        await r.say("dee", "!remind 1 wed 18:00 dm")
        await r.say("dee", "!remind 2 wed 18:00 dm")
        posted = await r.wait(timedelta(days=3))
        assert [(p.to, p.at.astimezone(BERLIN).strftime("%a %H:%M")) for p in posted] == [
            ("#room-1", "Wed 18:00"),
            ("@dee", "Wed 18:00"),
        ]
        channel, dm = posted
        assert sorted(set(channel.mentions)) == ["ana", "ben", "cy"]
        assert "Call a neighbour" in channel.text
        assert "Knock on doors" in channel.text
        assert "Call a neighbour" in dm.text
        assert "Knock on doors" in dm.text


async def test_a_reminder_skips_members_who_kept_it_already_and_carries_four_answers():
    async with rig(MONDAY) as r:
        await crew(r)
        await r.say("ana", "!done 1")
        posted = await r.wait(timedelta(days=3))
        assert len(posted) == 1
        assert sorted(posted[0].mentions) == ["ben", "cy"]
        assert posted[0].buttons == 4  # Done, Not this time, Skip, Snooze
        await r.say("ben", "!done 1")
        posted = await r.wait(timedelta(days=4))  # to Sunday 18:00 and beyond
        # cy was asked once, by the reminder, whose buttons still answer: no second question.
        assert [p for p in posted if "How did it go" in p.text] == []


async def test_the_end_of_week_question_goes_only_to_who_the_reminder_did_not_reach():
    async with rig(MONDAY) as r:
        await crew(r)
        await r.say("ben", "!offline 3d")  # away over Wednesday's reminder
        reminder = await r.wait(timedelta(days=3))
        assert [sorted(p.mentions) for p in reminder] == [["ana", "cy"]]
        posted = await r.wait(timedelta(days=4))
        prompts = [p for p in posted if "How did it go" in p.text]
        assert [(p.mentions, p.buttons) for p in prompts] == [(["ben"], 4)]
        assert prompts[0].at.astimezone(BERLIN).strftime("%a %H:%M") == "Sun 18:00"


async def test_nothing_is_sent_in_quiet_hours_it_waits_for_their_end():
    async with rig(MONDAY) as r:
        await crew(r, slot="wed 23:30")
        posted = await r.wait(timedelta(days=3))
        assert [p.at.astimezone(BERLIN).strftime("%a %H:%M") for p in posted] == ["Thu 08:00"]


async def test_a_member_who_went_offline_gets_no_ping_and_others_still_do():
    async with rig(MONDAY) as r:
        await crew(r)
        await r.say("ben", "!offline 3d")
        posted = await r.wait(timedelta(days=3))
        assert len(posted) == 1
        assert sorted(posted[0].mentions) == ["ana", "cy"]


async def test_when_everyone_is_offline_no_message_goes_out_at_all():
    async with rig(MONDAY) as r:
        await crew(r, members=("ana",))
        await r.say("ana", "!offline 3d")
        assert await r.wait(timedelta(days=3)) == []


async def test_the_weekly_cap_limits_channel_messages_and_keeps_room_for_the_summary():
    async with rig(MONDAY) as r:
        await crew(r)
        for slot in ("tue 18:00", "wed 18:00", "thu 18:00"):
            await r.say("ana", f"!remind 1 {slot}")
        await r.settings(weekly_message_cap=3)
        posted = await r.wait(timedelta(days=8, hours=12))
        week = [p for p in posted if p.at < MONDAY + timedelta(days=7, hours=15)]
        assert len([p for p in week if p.to == "#room-1"]) <= 3
        assert any("The week of" in p.text for p in posted)  # the summary still came


async def test_snoozing_moves_one_members_reminder_and_never_the_groups():
    async with rig(MONDAY) as r:
        await crew(r)
        posted = await r.wait(timedelta(days=2, hours=9))  # Wed 18:00
        assert len(posted) == 1
        group = await r.group()
        reminder_period = "week:2026-11-30"
        from storage import pledges as pledge_queries

        pledge = (await pledge_queries.group_pledges(group.id, ("active",)))[0]
        reply = await r.tap("ben", Action("snooze1h", pledge.id, reminder_period).encode())
        assert "19:00" in resolve(reply.text, zone_text)  # as the group reads it
        later = await r.wait(timedelta(hours=2))
        assert [(p.to, p.at.astimezone(BERLIN).strftime("%H:%M")) for p in later] == [
            ("@ben", "19:00")
        ]
        sunday = await r.wait(timedelta(days=4))
        # The reminder and the snooze asked already: no question on Sunday for anyone.
        assert [p for p in sunday if "How did it go" in p.text] == []


async def test_the_summary_comes_after_the_close_and_celebrates_without_naming_who_missed(
    database_url: str,
):
    # Its counts come from dialect-specific SQL (storage/scheduling.week_totals): both backends.
    async with rig(MONDAY - timedelta(days=7), url=database_url) as r:
        await crew(r)
        await r.say("admin", '!pledge new "Walk outside" per day')
        await r.say("ana", "!pledge join 2")
        await r.say("ben", "!pledge join 2")
        await r.wait(timedelta(days=7, hours=10))  # the joining week closes, excused
        await r.say("ana", "!done 1")
        await r.say("cy", "!vouch ana 1")
        for _ in range(3):
            await r.say("ana", "!done 2")
            await r.wait(timedelta(days=1))
        posted = await r.wait(timedelta(days=4))
        summaries = [p for p in posted if "The week of" in p.text]
        assert len(summaries) == 1
        summary = summaries[0]
        assert summary.at.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 18:00"
        assert summary.text.splitlines() == [
            "**The week of Mon 30 Nov 2026 in Crew**",
            # In weeks: 1 of 3 weekly periods plus 3 of 21 days (admin, ana, ben) at 1/7 each,
            # (1 + 3/7) of (3 + 21/7) = 24%.
            "Kept rate: 24% (target 60%) — next week is a fresh start.",
            "• **Walk outside**: 3 of 21 days kept",
            "• **Call a neighbour**: 1 of 3 kept",
            "Kept it: ana (vouched by cy) 🎉",
            "Group streak: 0 weeks (best 0).",
        ]
        assert "ben" not in summary.text
        assert summary.mentions == []


async def test_a_virtual_clock_rig_starts_where_it_is_told():
    clock = VirtualClock(MONDAY)
    box = RecordingOutbox(clock)
    assert box.posted == []


async def test_a_reminder_cancelled_by_a_pause_comes_back_when_the_pledge_resumes():
    async with rig(MONDAY) as r:
        await crew(r)
        await r.say("admin", "!pledge pause 1")
        await r.wait(timedelta(days=1))
        await r.say("admin", "!pledge resume 1")
        posted = await r.wait(timedelta(days=1, hours=10))  # to Wednesday 19:00
        assert [p.at.astimezone(BERLIN).strftime("%a %H:%M") for p in posted] == ["Wed 18:00"]


async def test_a_reminder_is_prepared_before_its_due_instant_and_handed_over_at_it():
    async with rig(MONDAY) as r:
        await crew(r)
        due = datetime(2026, 12, 2, 18, 0, tzinfo=BERLIN)  # the crew's Wednesday reminder
        await r.wait(due - timedelta(milliseconds=300) - r.clock.now())
        assert r.outbox.posted == []
        waited = []

        async def virtual_wait(at: datetime) -> None:
            if at > r.clock.now():
                (send,) = await job_queries.jobs_with(kinds=["send"])
                waited.append((at, send.status, send.handed_over_at is not None, send.payload))
                r.clock.set(at)

        r.scheduler.wait_until = virtual_wait
        await r.scheduler.run_due(due)
        # Rendered, claimed and marked handed over before the instant; sent at it.
        ((at, status, marked, payload),) = waited
        assert (at, status, marked) == (due, "claimed", True)
        assert "Call a neighbour" in payload["reply"]["text"]
        assert [(p.at, p.mentions) for p in r.outbox.posted] == [(due, ["ana", "ben", "cy"])]


class PreparingOutbox(RecordingOutbox):
    """An Outbox with the optional `prepare_send` (bot.ports.SendAhead): notes when and what."""

    prepared: list[tuple[datetime, str]]

    async def prepare_send(self, group, member, reply):  # type: ignore[no-untyped-def]
        self.prepared.append((self.clock.now(), reply.extra.get("idempotency_key", "")))


async def test_the_adapters_part_of_a_send_is_prepared_before_the_due_instant():
    box = PreparingOutbox(VirtualClock(MONDAY))
    box.prepared = []
    async with rig(MONDAY, outbox=box) as r:
        await crew(r)
        due = datetime(2026, 12, 2, 18, 0, tzinfo=BERLIN)  # the crew's Wednesday reminder
        await r.wait(due - timedelta(milliseconds=300) - r.clock.now())
        waited = []

        async def virtual_wait(at: datetime) -> None:
            waited.append((at, list(box.prepared), list(box.posted)))
            r.clock.set(max(at, r.clock.now()))

        r.scheduler.wait_until = virtual_wait
        await r.scheduler.run_due(due)
        # Prepared (with the key the send carries) while waiting for the instant, sent at it.
        ((at, prepared, posted_then),) = waited
        assert at == due
        assert posted_then == []
        assert [(p.at, p.key) for p in box.posted] == [(due, prepared[0][1])]
        assert [when for when, _ in prepared] == [due - timedelta(milliseconds=300)]
        assert prepared[0][1].startswith("send:")


async def test_a_new_pledge_plans_its_own_jobs_and_leaves_the_groups_plan_complete():
    from benchmarks.common import StatementCounter
    from bot.scheduling import group_plans

    async with rig(MONDAY) as r:
        await r.say("admin", '!pledge new "Call a neighbour" per week remind "wed 18:00"')
        group = await r.group()
        # A full re-plan right after finds nothing to add or drop: the pledge's plan was whole.
        assert await group_plans.plan_group(group.id, r.clock.now()) == 0
        counts = []
        for n in range(2, 10):
            with StatementCounter() as counter:
                reply = await r.say("admin", f'!pledge new "Walk {n}" per day remind "08:30"')
            assert reply is not None
            assert f"New pledge `{n}`" in reply.text
            counts.append(counter.count)
            assert await group_plans.plan_group(group.id, r.clock.now()) == 0
        # What `pledge new` costs does not grow with the pledges the group has already.
        assert max(counts) - min(counts) <= 1, counts
        before = {j.dedupe_key for j in await job_queries.jobs_with(statuses=["pending"])}
        await r.app.engine.hooks.replan(group.id)  # type: ignore[union-attr]
        after = {j.dedupe_key for j in await job_queries.jobs_with(statuses=["pending"])}
        assert after == before
        assert any(k.startswith(f"remind:g{group.id}:p9:") for k in after)
