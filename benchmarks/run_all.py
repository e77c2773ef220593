"""Run every benchmark on SQLite and PostgreSQL and print the figures (`make bench`)."""

from __future__ import annotations

import subprocess
import sys

RUNS = [
    ["benchmarks.reminder_slot", "--backend", "sqlite"],
    ["benchmarks.reminder_slot", "--backend", "postgres"],
    ["benchmarks.startup", "--backend", "sqlite"],
    ["benchmarks.startup", "--backend", "postgres"],
    # The full deployment (1,000 groups, 100,000 members, 2 years of history); the SQLite file
    # is generated once into .cache/bench/, PostgreSQL is loaded by COPY on each run.
    ["benchmarks.engine_latency", "--backend", "sqlite"],
    ["benchmarks.engine_latency", "--backend", "postgres"],
    ["benchmarks.idle_bot", "--backend", "sqlite"],
]


def main() -> None:
    # Separate processes: peak memory is per run, and Tortoise's SQL cache stays per backend.
    for run in RUNS:
        subprocess.run([sys.executable, "-m", *run], check=True)


if __name__ == "__main__":
    main()
