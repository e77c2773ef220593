"""What a `replans` command changed in the schedule, so that only that is planned again."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Personal:
    """One member's part of one pledge: their personal reminders there, nothing else."""

    group_id: int
    pledge_id: int
    member_id: int


@dataclass
class PlanChange:
    """Filled by a command's handler. A `replans` command that names nothing here gets its
    whole group planned again (the safe default for a change of the group's own settings)."""

    # New pledges: their jobs are added, nothing of the group's plan is dropped.
    new_pledges: list[int] = field(default_factory=list)
    # Pledges whose status or slot changed: all their jobs are planned again.
    pledges: list[int] = field(default_factory=list)
    # A member's part of a pledge (joined, left, a personal slot, a time zone, forgotten).
    personal: list[Personal] = field(default_factory=list)
    # The group's events or its event reminder setting.
    events: bool = False
    # The command changed nothing that is planned (a no-op answer, a setting planning ignores).
    nothing: bool = False

    def named(self) -> bool:
        named = self.new_pledges or self.pledges or self.personal
        return self.nothing or self.events or bool(named)
