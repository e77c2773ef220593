"""Timezones with awkward rules, shared by the property tests of the time modules."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

TRICKY_ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",  # negative DST in the tz database: winter is the "summer" offset
    "America/New_York",
    "America/Santiago",  # midnight does not exist on the spring-forward day
    "America/Havana",  # DST changes at midnight
    "America/Asuncion",
    "America/St_Johns",  # -03:30
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Pacific/Kiritimati",  # +14
    "Asia/Kathmandu",  # +05:45
    "Asia/Tehran",  # DST at midnight until 2022
    "Africa/Casablanca",  # DST suspended for Ramadan
    "Asia/Gaza",
    "Antarctica/Troll",  # two-hour DST
)

zone_names = st.sampled_from(TRICKY_ZONES)
week_starts = st.integers(min_value=0, max_value=6)
instants = st.integers(
    min_value=int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2040, 12, 31, tzinfo=UTC).timestamp()),
).map(lambda seconds: datetime.fromtimestamp(seconds, UTC))
