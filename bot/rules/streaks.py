"""Pure rules for outcomes, individual streaks, freezes, habit strength and group streaks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from bot.errors import UserError

Outcome = Literal["kept", "missed", "excused"]
OUTCOMES: tuple[Outcome, ...] = ("kept", "missed", "excused")

MAX_FREEZES = 2
KEPT_PER_FREEZE = 4
MILESTONES = (4, 12, 26, 52)


@dataclass(frozen=True)
class StreakState:
    """A participation's running streak, best streak, habit strength and freeze bank."""

    current: int = 0
    best: int = 0
    strength: float = 0.0
    freezes: int = 1  # a forgiving start: one freeze banked on joining
    kept_toward_freeze: int = 0


def strength_multiplier(target: int, period_days: int) -> float:
    """Loop Habit Tracker's decay per period: 0.5 ** (sqrt(target / days) * days / 13)."""
    if target < 1 or period_days < 1:
        raise ValueError(f"target and period_days must be positive, not {target}, {period_days}")
    frequency = target / period_days
    return float(0.5 ** (math.sqrt(frequency) * period_days / 13))


def outcome_for(done: int, target: int, excused: bool) -> Outcome:
    """kept if the target was met; otherwise excused if excused; otherwise missed."""
    if done >= target:
        return "kept"
    return "excused" if excused else "missed"


def apply_outcome(
    state: StreakState, outcome: Outcome, *, done: int, target: int, period_days: int
) -> StreakState:
    """The state after one closed period with `outcome` (`done` of `target` occurrences)."""
    if outcome == "excused":
        return state
    m = strength_multiplier(target, period_days)
    value = min(1.0, max(0.0, done / target))
    strength = state.strength * m + value * (1 - m)
    if outcome == "missed":
        return replace(state, current=0, strength=strength)
    if outcome != "kept":
        raise ValueError(f"unknown outcome {outcome!r}")
    current = state.current + 1
    toward = state.kept_toward_freeze + 1
    freezes = state.freezes
    if toward >= KEPT_PER_FREEZE:
        toward = 0
        freezes = min(MAX_FREEZES, freezes + 1)
    return StreakState(
        current=current,
        best=max(state.best, current),
        strength=strength,
        freezes=freezes,
        kept_toward_freeze=toward,
    )


def spend_freeze(state: StreakState) -> StreakState:
    """Use one banked freeze for a skip; UserError if none is banked."""
    if state.freezes <= 0:
        needed = KEPT_PER_FREEZE - state.kept_toward_freeze
        raise UserError(
            "You have no freezes left to skip with. You earn one for every "
            f"{KEPT_PER_FREEZE} kept periods ({needed} more to go).",
            "Keep your pledge a few more times, then skip again.",
        )
    return replace(state, freezes=state.freezes - 1)


def refund_freeze(state: StreakState) -> StreakState:
    """Give back a freeze when a skip is undone (at most MAX_FREEZES banked)."""
    return replace(state, freezes=min(MAX_FREEZES, state.freezes + 1))


def shown_streak(state: StreakState, current_period_kept: bool) -> tuple[int, int]:
    """(streak, best) to display: the open period counts once kept and never breaks it."""
    current = state.current + 1 if current_period_kept else state.current
    return current, max(state.best, current)


# A group week's kept and missed are stored in these units of one participation, so every
# share of a week (at most 12 periods of one participation end in a week) stays a whole number.
SHARE_UNITS = 27720  # the least common multiple of 1..12


def week_units(participations: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """A closed week's (kept, missed) in SHARE_UNITS: every participation counts once, with its
    share of kept periods among those that ended in the week ((kept, missed) each; excused
    periods are left out). A daily pledge kept 5 of 7 days weighs 5/7 of one participation,
    a weekly one 1 or 0, so 13 kept walks never outweigh three missed meetings."""
    kept = total = 0
    for k, m in participations:
        if k + m:
            kept += round(Fraction(k, k + m) * SHARE_UNITS)
            total += SHARE_UNITS
    return kept, total - kept


def week_met(kept: int, missed: int, threshold: float) -> bool | None:
    """Whether the group's kept rate met `threshold`; None if nobody counted that week."""
    if kept + missed == 0:
        return None
    # The threshold is stored rounded (0.6): compared exactly, so 3 of 5 meets 60%.
    return Fraction(kept, kept + missed) >= Fraction(repr(threshold))


def percent(kept: int, missed: int) -> int:
    return round(100 * kept / (kept + missed))


def next_group_streak(streak: int, met: bool | None) -> int:
    """The group streak after a closed week: +1 if met, 0 if not, unchanged if nobody counted."""
    if met is None:
        return streak
    return streak + 1 if met else 0


def milestone(n: int) -> int | None:
    """`n` if a streak of `n` is worth celebrating (4, 12, 26, 52 and every 52 after), else None."""
    if n in MILESTONES or (n > 0 and n % 52 == 0):
        return n
    return None
