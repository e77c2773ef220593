"""Tortoise imported without the work it does at import for features Logoff does not use."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from typing import Any

# The one pattern Tortoise compiles at import (tortoise.validators builds its module-level
# `validate_domain_name`): a host name with the character class \u00a1-\uffff, whose compile
# optimises a 65,000-character set (~65 ms of every start here). Logoff validates no domain.
_IDNA_CLASS = "\u00a1-\uffff"


class _CompiledOnFirstUse:
    """A pattern compiled when it is first used, not when Tortoise's import names it."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


class _ImportedOnFirstUse:
    """A module imported when one of its attributes is first used, not when it is named."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


def _anyio_stand_in() -> types.ModuleType:
    # Tortoise's `__init__` takes `from anyio import from_thread` for `run_async` alone (a
    # helper for scripts Logoff never calls): anyio's 12 modules, ~0.7 MiB at every start.
    stand_in = types.ModuleType("anyio")
    stand_in.from_thread = _ImportedOnFirstUse("anyio.from_thread")  # type: ignore[attr-defined]
    return stand_in


def import_tortoise() -> None:
    """Import Tortoise as `logoff run` needs it, without two costs of every start:

    - Tortoise's model metaclass reads each model class's source (`inspect.getsource`, a
      parse of the whole file) for `#:` field comments; Logoff's models opt out
      (`_no_comments`), Tortoise's own base class `Model`, which has no fields, cannot: a parse
      of Tortoise's 2,000-line models.py (~0.07-0.1 s, benchmarks/README.md, 2026-12-03).
      Only that class's source is refused.
    - the internationalised host-name pattern above is compiled on first use instead;
    - anyio (for `tortoise.run_async`, unused) is imported on first use instead.

    Both only while Tortoise is imported; everything else goes to the real functions."""
    if "tortoise.models" in sys.modules:
        return
    real_getsource = inspect.getsource
    real_compile = re.compile

    def getsource(obj: Any) -> str:
        if isinstance(obj, type) and obj.__module__ == "tortoise.models":
            raise OSError("not read at start")  # what Tortoise expects when there is no source
        return real_getsource(obj)

    def compile_pattern(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, str) and _IDNA_CLASS in pattern:
            return _CompiledOnFirstUse(pattern, flags)
        return real_compile(pattern, flags)

    stand_in = None if "anyio" in sys.modules else _anyio_stand_in()
    inspect.getsource = getsource  # type: ignore[assignment]
    re.compile = compile_pattern
    if stand_in is not None:
        sys.modules["anyio"] = stand_in
    try:
        import tortoise.models  # noqa: F401
    finally:
        inspect.getsource = real_getsource
        re.compile = real_compile
        if stand_in is not None and sys.modules.get("anyio") is stand_in:
            del sys.modules["anyio"]  # the real one for anything that imports it later
