"""Conversions from ORM rows to the frozen records the core sees."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from storage import models as m
from storage.records import (
    CheckInRec,
    GroupRec,
    MemberRec,
    ParticipationRec,
    PledgeRec,
)

R = TypeVar("R")


# Each record's field names, read once: `fields()` walks the class's dataclass fields each call.
_NAMES: dict[type, tuple[str, ...]] = {}


def _record(kind: type[R], row: Any) -> R:
    """Copy a row into a record: each field names a column (`pledge_id` for a foreign key)."""
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
    return kind(**{name: getattr(row, name) for name in names})


def group(row: m.Group) -> GroupRec:
    return _record(GroupRec, row)


def member(row: m.Member) -> MemberRec:
    return _record(MemberRec, row)


def pledge(row: m.Pledge) -> PledgeRec:
    return _record(PledgeRec, row)


def participation(row: m.Participation) -> ParticipationRec:
    return _record(ParticipationRec, row)


def checkin(row: m.CheckIn) -> CheckInRec:
    return _record(CheckInRec, row)
