"""Prometheus metrics (the `metrics` extra): the core's counts and, at each scrape, the gauges.

Without prometheus-client installed, `build_meter` returns None, the core counts into
bot.meter.NoMeter and /metrics says how to turn it on: the bot runs the same either way.
Each PrometheusMeter has its own registry (no process-wide state); label values are kinds,
platforms, reasons and outcomes, never a member or a group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app.health import Health

EXTRA_HINT = "install the metrics extra: pip install 'logoff[metrics]'"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; a command is mostly database work: most end in milliseconds, a summary in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def available() -> bool:
    """Whether the `metrics` extra (prometheus-client) is installed and importable."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class PrometheusMeter:
    """bot.meter.Meter counted in prometheus-client metrics, rendered by `render`."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self._sent = Counter(
            "logoff_messages_sent",
            "Messages the bot started, accepted by the platform",
            ["platform", "kind"],
            registry=r,
        )
        self._held = Counter(
            "logoff_messages_held_back",
            "Messages not sent when due: quiet_hours (sent later), muted or cap (not at all)",
            ["reason"],
            registry=r,
        )
        self._answers = Counter(
            "logoff_answers", "Answers to a period (typed or tapped)", ["kind"], registry=r
        )
        self._commands = Histogram(
            "logoff_command_seconds",
            "Time to handle a command, tap or reaction",
            ["via", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._errors = Counter("logoff_errors", "Unexpected errors logged", ["where"], registry=r)
        self._lag = Gauge(
            "logoff_scheduler_lag_seconds", "How long the oldest due job has waited", registry=r
        )
        self._due = Gauge("logoff_scheduler_due_jobs", "Jobs due and not yet handled", registry=r)
        self._queued = Gauge(
            "logoff_scheduler_queued_jobs", "Jobs still to do, due or not", registry=r
        )
        self._connected = Gauge(
            "logoff_platform_connected",
            "1 when the platform is connected",
            ["platform"],
            registry=r,
        )
        self._database = Gauge(
            "logoff_database_up", "1 when the database answered the last check", registry=r
        )
        self._ready = Gauge("logoff_ready", "1 when /ready would answer 200", registry=r)

    # -- bot.meter.Meter --------------------------------------------------------------------

    def sent(self, platform: str, kind: str) -> None:
        self._sent.labels(platform, kind).inc()

    def held_back(self, reason: str, count: int = 1) -> None:
        self._held.labels(reason).inc(count)

    def answered(self, kind: str) -> None:
        self._answers.labels(kind).inc()

    def command(self, name: str, seconds: float, outcome: str) -> None:
        self._commands.labels(name, outcome).observe(seconds)

    def error(self, where: str) -> None:
        self._errors.labels(where).inc()

    # -- a scrape ---------------------------------------------------------------------------

    async def render(self, health: Health) -> bytes:
        """The exposition text, with the gauges read now from the same checks as /ready."""
        from prometheus_client import generate_latest

        verdict = await health.readiness()
        checks: dict[str, dict[str, Any]] = verdict.body["checks"]
        self._ready.set(1 if verdict.ok else 0)
        self._database.set(1 if checks["database"]["ok"] else 0)
        for name, check in checks.items():
            if name.startswith("platform:"):
                self._connected.labels(name.removeprefix("platform:")).set(int(check["ok"]))
        scheduler = checks["scheduler"]
        if "lag_seconds" in scheduler:
            self._lag.set(scheduler["lag_seconds"])
            self._due.set(scheduler["due_jobs"])
            self._queued.set(scheduler["queued_jobs"])
        return generate_latest(self.registry)


def build_meter() -> PrometheusMeter | None:
    """A meter when prometheus-client is installed; None otherwise (the core counts nothing)."""
    return PrometheusMeter() if available() else None
