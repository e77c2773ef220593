"""The real engine on SQLite and PostgreSQL agrees with the reference model after every step."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import EngineModel

EXAMPLES = int(os.environ.get("LOGOFF_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("LOGOFF_MODEL_STEPS", "30"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _run(new_database: Callable[[], tuple[str, Callable[[], None]]]) -> None:
    machine = type("EngineModelRun", (EngineModel,), {"new_database": staticmethod(new_database)})
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
