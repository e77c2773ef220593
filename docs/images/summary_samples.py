"""Draws the sample summary pictures in this folder (run: python docs/images/summary_samples.py).

The data is made up but shaped like a real group's twelve weeks (a new pledge, a week the
group fell short, a daily and a monthly pledge); the pictures come from the same renderer the
bot uses.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bot.messages.summary_picture import (
    GroupWeeks,
    MemberPledgeWeeks,
    MemberWeeks,
    PledgeWeeks,
    WeekResult,
    render_group_picture,
    render_member_grid,
)

HERE = Path(__file__).parent
WEEKS = tuple(date(2026, 9, 7) + timedelta(weeks=n) for n in range(12))
NEW = (None,) * 8

GROUP = GroupWeeks(
    name="Riverside Tenants' Union",
    weeks=WEEKS,
    overall=(0.58, 0.66, 0.71, 0.64, 0.69, 0.52, 0.63, 0.7, 0.74, 0.68, 0.77, 0.81),
    met=(False, True, True, True, True, False, True, True, True, True, True, True),
    streak=6,
    streak_weeks=6,
    threshold=0.6,
    pledges=(
        PledgeWeeks(
            "Attend one local meeting",
            "week",
            1,
            (0.62, 0.7, 0.75, 0.68, 0.72, 0.55, 0.66, 0.71, 0.8, 0.74, 0.83, 0.88),
        ),
        PledgeWeeks(
            "Knock on 10 doors in the building and talk about the rent strike",
            "week",
            2,
            (0.35, 0.48, 0.52, 0.44, 0.5, 0.31, 0.46, 0.57, 0.61, 0.55, 0.64, 0.69),
        ),
        PledgeWeeks(
            "Walk without a phone",
            "day",
            1,
            (0.71, 0.76, 0.8, 0.74, 0.79, 0.62, 0.73, 0.78, 0.77, 0.7, 0.81, 0.84),
        ),
        PledgeWeeks("Call a neighbour", "week", 1, (*NEW, 0.5, 0.75, 0.8, 1.0)),
        PledgeWeeks(
            "Bring food to the pantry",
            "month",
            1,
            (0.9, 0.9, 0.9, 0.9, 0.67, 0.67, 0.67, 0.67, 0.67, 0.8, 0.8, None),
        ),
    ),
)

K, M, X, NONE = WeekResult(kept=1), WeekResult(missed=1), WeekResult(excused=1), WeekResult()


def days(*kept: int) -> tuple[WeekResult, ...]:
    return tuple(WeekResult(kept=k, missed=7 - k) for k in kept)


MEMBER = MemberWeeks(
    weeks=WEEKS,
    pledges=(
        MemberPledgeWeeks(
            "Attend one local meeting", "week", 1, (K, K, M, K, K, X, K, K, K, M, K, K)
        ),
        MemberPledgeWeeks(
            "Walk without a phone", "day", 1, days(4, 5, 7, 6, 3, 0, 5, 6, 7, 7, 6, 7)
        ),
        MemberPledgeWeeks("Call a neighbour", "week", 1, (NONE,) * 8 + (K, K, M, K)),
        MemberPledgeWeeks(
            "Bring food to the pantry",
            "month",
            1,
            (K,) * 4 + (M,) * 5 + (K,) * 2 + (WeekResult(open=True),),
        ),
    ),
)


def main() -> None:
    for name, picture in (
        ("summary-group.png", render_group_picture(GROUP)),
        ("summary-member.png", render_member_grid(MEMBER)),
    ):
        (HERE / name).write_bytes(picture.png)
        (HERE / name).with_suffix(".txt").write_text(picture.alt + "\n")
        print(f"{name}: {picture.width}x{picture.height}, {picture.size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
