"""Tests for bot.rules.streaks: outcomes, streaks, freezes, habit strength and group streaks."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.rules.streaks import (
    Outcome,
    StreakState,
    apply_outcome,
    milestone,
    next_group_streak,
    outcome_for,
    refund_freeze,
    shown_streak,
    spend_freeze,
    strength_multiplier,
    week_met,
    week_units,
)


def run(outcomes: list[Outcome], *, target: int = 1, period_days: int = 7) -> StreakState:
    state = StreakState()
    for outcome in outcomes:
        done = target if outcome == "kept" else 0
        state = apply_outcome(state, outcome, done=done, target=target, period_days=period_days)
    return state


# --- outcomes -------------------------------------------------------------------------------


def test_an_outcome_is_kept_when_the_target_is_met_even_if_excused() -> None:
    assert outcome_for(3, 3, excused=False) == "kept"
    assert outcome_for(4, 3, excused=True) == "kept"


def test_an_outcome_short_of_the_target_is_excused_only_with_an_excuse() -> None:
    assert outcome_for(2, 3, excused=True) == "excused"
    assert outcome_for(2, 3, excused=False) == "missed"
    assert outcome_for(0, 1, excused=False) == "missed"


# --- streaks --------------------------------------------------------------------------------


def test_a_new_participation_starts_at_zero_with_one_freeze_banked() -> None:
    assert StreakState() == StreakState(
        current=0, best=0, strength=0.0, freezes=1, kept_toward_freeze=0
    )


def test_kept_periods_extend_the_streak_and_the_best() -> None:
    state = run(["kept", "kept", "kept"])
    assert (state.current, state.best) == (3, 3)


def test_a_missed_period_breaks_the_streak_but_keeps_the_best() -> None:
    state = run(["kept", "kept", "missed", "kept"])
    assert (state.current, state.best) == (1, 2)


def test_an_excused_period_neither_breaks_nor_extends_a_streak() -> None:
    state = run(["kept", "kept", "excused", "kept"])
    assert (state.current, state.best) == (3, 3)
    assert run(["kept", "excused"]) == run(["kept"])


def test_an_excused_period_leaves_strength_and_freezes_unchanged() -> None:
    before = run(["kept", "kept", "kept"])
    after = apply_outcome(before, "excused", done=0, target=1, period_days=7)
    assert after == before


def test_the_open_period_counts_once_kept_and_never_breaks_the_streak() -> None:
    state = run(["kept", "kept"])
    assert shown_streak(state, current_period_kept=False) == (2, 2)
    assert shown_streak(state, current_period_kept=True) == (3, 3)
    broken = run(["kept", "kept", "kept", "missed"])
    assert shown_streak(broken, current_period_kept=True) == (1, 3)


# --- strength -------------------------------------------------------------------------------


def test_a_daily_pledge_has_a_13_day_half_life() -> None:
    m = strength_multiplier(1, 1)
    assert round(m, 4) == 0.9481
    assert m**13 == pytest.approx(0.5)


def test_a_weekly_pledge_decays_by_0_8684_per_week() -> None:
    assert round(strength_multiplier(1, 7), 4) == 0.8684


def test_a_more_frequent_pledge_decays_faster_per_period() -> None:
    assert strength_multiplier(3, 7) < strength_multiplier(1, 7)
    assert strength_multiplier(1, 30) < strength_multiplier(1, 7)


def test_strength_moves_toward_the_fraction_done() -> None:
    m = strength_multiplier(4, 7)
    state = apply_outcome(StreakState(strength=0.5), "missed", done=2, target=4, period_days=7)
    assert state.strength == pytest.approx(0.5 * m + 0.5 * (1 - m))
    over = apply_outcome(StreakState(), "kept", done=9, target=4, period_days=7)
    assert over.strength == pytest.approx(1 - m)  # v is capped at 1


def test_a_missed_week_after_months_does_not_erase_the_score() -> None:
    state = run(["kept"] * 26)
    assert state.strength > 0.97
    after = apply_outcome(state, "missed", done=0, target=1, period_days=7)
    assert after.current == 0
    assert after.strength == pytest.approx(state.strength * 0.8684, abs=1e-3)
    assert after.strength > 0.84


@settings(deadline=None)
@given(st.lists(st.sampled_from(["kept", "missed", "excused"]), max_size=60),
       st.integers(1, 7), st.sampled_from([1, 7, 28, 30, 31]))  # fmt: skip
def test_strength_stays_between_0_and_1_and_streaks_stay_consistent(
    outcomes: list[Outcome], target: int, period_days: int
) -> None:
    state = run(outcomes, target=target, period_days=period_days)
    assert 0.0 <= state.strength <= 1.0
    assert 0 <= state.current <= state.best
    assert 0 <= state.freezes <= 2
    assert 0 <= state.kept_toward_freeze < 4


def test_strength_multiplier_refuses_a_target_below_one() -> None:
    with pytest.raises(ValueError, match="positive"):
        strength_multiplier(0, 7)


# --- freezes --------------------------------------------------------------------------------


def test_a_freeze_is_earned_for_every_4_kept_periods() -> None:
    assert run(["kept"] * 3).freezes == 1
    state = run(["kept"] * 4)
    assert (state.freezes, state.kept_toward_freeze) == (2, 0)


def test_banked_freezes_are_capped_at_2() -> None:
    state = run(["kept"] * 8)
    assert state.freezes == 2
    assert state.kept_toward_freeze == 0


def test_only_kept_periods_count_toward_a_freeze() -> None:
    state = run(["kept", "kept", "missed", "excused", "kept"])
    assert (state.freezes, state.kept_toward_freeze) == (1, 3)


def test_a_skip_spends_a_freeze_and_an_undo_refunds_it() -> None:
    state = StreakState()
    spent = spend_freeze(state)
    assert spent.freezes == 0
    assert refund_freeze(spent) == state


def test_a_refund_never_banks_more_than_2() -> None:
    assert refund_freeze(StreakState(freezes=2)).freezes == 2


def test_skipping_with_no_freeze_left_raises_a_user_error_explaining_how_to_earn_one() -> None:
    with pytest.raises(UserError) as info:
        spend_freeze(StreakState(freezes=0, kept_toward_freeze=1))
    assert "every 4 kept periods" in info.value.message
    assert "3 more" in info.value.message


# --- group streak and milestones ----------------------------------------------------------


def test_a_week_is_met_when_the_kept_rate_reaches_the_threshold() -> None:
    assert week_met(3, 2, 0.6) is True
    assert week_met(2, 2, 0.6) is False
    assert week_met(1, 0, 0.6) is True
    assert week_met(0, 3, 0.6) is False


def test_every_participation_counts_once_a_week_whatever_its_cadence():
    # 13 kept walks of 14 (daily) beside a meeting kept by 1 of 4 (weekly): each walker weighs
    # one participation with their share of days, not 7 occurrences.
    walkers = [(7, 0), (6, 1)]
    meeting = [(1, 0), (0, 1), (0, 1), (0, 1)]
    kept, missed = week_units(walkers + meeting)
    assert Fraction(kept, kept + missed) == Fraction(1 + Fraction(6, 7) + 1, 6)
    assert week_met(kept, missed, 0.6) is False
    assert week_units([(0, 0)]) == (0, 0)
    assert week_met(*week_units([(3, 2)]), 0.6) is True  # exactly 60% meets 60%


def test_a_week_nobody_counted_in_neither_meets_nor_fails() -> None:
    assert week_met(0, 0, 0.6) is None


def test_the_group_streak_grows_on_met_weeks_resets_on_missed_and_holds_on_empty() -> None:
    assert next_group_streak(4, True) == 5
    assert next_group_streak(4, False) == 0
    assert next_group_streak(4, None) == 4


@pytest.mark.parametrize(
    ("n", "expected"),
    [(4, 4), (12, 12), (26, 26), (52, 52), (104, 104), (156, 156), (0, None), (1, None),
     (5, None), (13, None), (53, None), (78, None)],
)  # fmt: skip
def test_milestones_are_4_12_26_52_and_every_52_weeks_after(n: int, expected: int | None) -> None:
    assert milestone(n) == expected
