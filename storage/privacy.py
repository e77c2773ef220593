"""A member's own data: export as plain data, and deletion that keeps group aggregates intact."""

from __future__ import annotations

from typing import Any

from storage import events as event_queries
from storage import models as m
from storage.record_cache import ALL, MEMBER, PLEDGES, changed
from storage.transaction import atomic


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def export_member(member_id: int) -> dict[str, Any]:
    member = await m.Member.get(id=member_id)
    parts = await m.Participation.filter(member_id=member_id).select_related(
        "pledge", "pledge__group"
    )
    part_ids = [p.id for p in parts]
    checkins = await m.CheckIn.filter(participation_id__in=part_ids).order_by("created_at")
    outcomes = await m.Outcome.filter(participation_id__in=part_ids).order_by("period_end")
    vouches = await m.Vouch.filter(member_id=member_id).select_related("checkin")
    created = await m.Pledge.filter(creator_id=member_id).select_related("group")
    return {
        "member": {
            "platform": member.platform,
            "id": member.external_id,
            "display_name": member.display_name,
            "timezone": member.timezone,
            "muted_until": _iso(member.muted_until),
            "created_at": _iso(member.created_at),
        },
        "pledges_created": [
            {"group": p.group.name or p.group.external_id, "number": p.number, "title": p.title}
            for p in created
        ],
        "participations": [
            {
                "id": p.id,
                "group": p.pledge.group.name or p.pledge.group.external_id,
                "pledge": {
                    "number": p.pledge.number,
                    "title": p.pledge.title,
                    "cadence": p.pledge.cadence,
                    "target": p.pledge.target,
                },
                "active": p.active,
                "joined_at": _iso(p.joined_at),
                "delivery": p.delivery,
                "remind_slot": p.remind_slot,
                "current_streak": p.current_streak,
                "best_streak": p.best_streak,
                "strength": round(p.strength, 4),
                "freezes": p.freezes,
            }
            for p in parts
        ],
        "checkins": [
            {
                "participation": c.participation_id,  # type: ignore[attr-defined]
                "period": c.period_key,
                "kind": c.kind,
                "note": c.note,
                "at": _iso(c.created_at),
                "undone_at": _iso(c.undone_at),
            }
            for c in checkins
        ],
        "outcomes": [
            {
                "participation": o.participation_id,  # type: ignore[attr-defined]
                "period": o.period_key,
                "outcome": o.outcome,
                "done": o.done,
            }
            for o in outcomes
        ],
        "vouches_given": [
            {"checkin_period": v.checkin.period_key, "at": _iso(v.created_at)} for v in vouches
        ],
        **await event_queries.export_member(member_id),
    }


async def forget_member(member_id: int) -> None:
    """Delete a member and everything personal; closed group weeks keep their counts."""
    async with atomic():
        await m.Pledge.filter(creator_id=member_id).update(creator_id=None)
        await event_queries.forget_member(member_id)
        member = await m.Member.get_or_none(id=member_id)
        if member is not None:  # their DM room's record names them too
            await m.DirectRoom.filter(platform=member.platform, member=member.external_id).delete()
        await m.Member.filter(id=member_id).delete()
        await changed(PLEDGES, ALL)  # the pledges they created, in any group
        await changed(MEMBER, member_id)
