"""The real engine and scheduler on SQLite and PostgreSQL agree with the reference model."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import EngineModel

EXAMPLES = int(os.environ.get("LOGOFF_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("LOGOFF_MODEL_STEPS", "30"))
# A comma-separated subset of state, replies, messages, reminders (default: all of them).
CHECKS = os.environ.get("LOGOFF_MODEL_CHECKS", "")
# A comma-separated list of rules to leave out while exploring (e.g. change_week_start).
WITHOUT = os.environ.get("LOGOFF_MODEL_WITHOUT", "")
# LOGOFF_MODEL_SHRINK=0 reports the first failure as found, without shrinking it.
PHASES = (
    tuple(Phase)
    if os.environ.get("LOGOFF_MODEL_SHRINK", "1") != "0"
    else tuple(p for p in Phase if p is not Phase.shrink)
)
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _run(new_database: Callable[[], tuple[str, Callable[[], None]]]) -> None:
    attrs: dict[str, object] = {"new_database": staticmethod(new_database)}
    if CHECKS:
        attrs["checks"] = frozenset(c.strip() for c in CHECKS.split(",") if c.strip())
    for name in WITHOUT.split(","):
        if name.strip():
            attrs[name.strip()] = None
    machine = type("EngineModelRun", (EngineModel,), attrs)
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_the_engine_agrees_with_the_model_on_sqlite(tmp_path: Path) -> None:
    numbers = itertools.count()

    def new_database() -> tuple[str, Callable[[], None]]:
        path = tmp_path / f"model-{next(numbers)}.db"
        return f"sqlite://{path}", lambda: None

    _run(new_database)


def test_the_engine_agrees_with_the_model_on_postgresql(postgres_server: object) -> None:
    server = postgres_server

    def new_database() -> tuple[str, Callable[[], None]]:
        name = f"logoff_model_{uuid.uuid4().hex[:12]}"
        url: str = server.create_database(name)  # type: ignore[attr-defined]
        return url, lambda: server.drop_database(name)  # type: ignore[attr-defined]

    _run(new_database)
