"""Tortoise imported without the source parse it does for a class that has no fields."""

from __future__ import annotations

import sys
from typing import Any


def import_tortoise() -> None:
    """Tortoise's model metaclass reads each model class's source (`inspect.getsource`, a
    parse of the whole file) for `#:` field comments; Logoff's models opt out
    (`_no_comments`), Tortoise's own base class `Model`, which has no fields, cannot: a parse
    of Tortoise's 2,000-line models.py at every start (~0.07-0.1 s, benchmarks/README.md,
    2026-12-03). Only that class's source is refused, only while Tortoise is imported."""
    if "tortoise.models" in sys.modules:
        return
    import inspect

    real = inspect.getsource

    def getsource(obj: Any) -> str:
        if isinstance(obj, type) and obj.__module__ == "tortoise.models":
            raise OSError("not read at start")  # what Tortoise expects when there is no source
        return real(obj)

    inspect.getsource = getsource  # type: ignore[assignment]
    try:
        import tortoise.models  # noqa: F401
    finally:
        inspect.getsource = real
