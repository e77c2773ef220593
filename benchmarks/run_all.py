"""Run every benchmark on SQLite and PostgreSQL and print the figures (`make bench`)."""

from __future__ import annotations

import subprocess
import sys

RUNS = [
    ["benchmarks.reminder_slot", "--backend", "sqlite"],
    ["benchmarks.reminder_slot", "--backend", "postgres"],
    ["benchmarks.startup", "--backend", "sqlite"],
    ["benchmarks.startup", "--backend", "postgres"],
]


def main() -> None:
    # Separate processes: peak memory is per run, and Tortoise's SQL cache stays per backend.
    for run in RUNS:
        subprocess.run([sys.executable, "-m", *run], check=True)


if __name__ == "__main__":
    main()
