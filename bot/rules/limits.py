"""The ranges a group's settings may take: one definition for the config file and `!settings`."""

from __future__ import annotations

GRACE_HOURS = (0, 72)  # hours after a period ends during which it can still be answered
WEEKLY_MESSAGE_CAP = (1, 50)  # channel messages a group gets in a week, at most
GROUP_STREAK_THRESHOLD = (0.01, 1.0)  # share of kept pledges that keeps the group's week
