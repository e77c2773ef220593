"""The migrations on disk, so tests of a fresh `migrate` do not hard-code how many there are."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "storage" / "migrations"


def migration_names() -> list[str]:
    """`logoff.NNNN_topic` for every migration file, in the order they apply."""
    return [f"logoff.{p.stem}" for p in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))]


def applied_line() -> str:
    """What `logoff migrate` prints on an empty database."""
    names = migration_names()
    return f"Applied {len(names)} migration(s): {', '.join(names)}"
