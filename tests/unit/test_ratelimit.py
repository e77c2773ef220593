"""The per-member rate limit: allow up to the limit, tell once, then stay quiet, then recover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.engine.ratelimit import RateLimiter

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_member_beyond_the_limit_is_told_once_then_ignored_until_the_minute_passes():
    limiter = RateLimiter(per_minute=3)
    got = [limiter.check("ana", T0 + timedelta(seconds=i)) for i in range(6)]
    assert got == ["allow", "allow", "allow", "notify", "quiet", "quiet"]
    assert limiter.check("ana", T0 + timedelta(seconds=61)) == "allow"


def test_members_are_limited_separately():
    limiter = RateLimiter(per_minute=1)
    assert limiter.check("ana", T0) == "allow"
    assert limiter.check("ben", T0) == "allow"
    assert limiter.check("ana", T0) == "notify"


def test_zero_disables_the_limit():
    limiter = RateLimiter(per_minute=0)
    assert all(limiter.check("ana", T0) == "allow" for _ in range(100))


def test_the_limiter_forgets_members_who_went_quiet_so_memory_stays_flat():
    limiter = RateLimiter(per_minute=5)
    for minute in range(60):
        now = T0 + timedelta(minutes=minute)
        for n in range(100):  # a hundred new members every minute
            assert limiter.check(f"m{minute}-{n}", now) == "allow"
    assert limiter.tracked <= 200  # the last minute or two, not 6,000
