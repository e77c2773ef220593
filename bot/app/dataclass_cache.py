"""Generated dataclass methods loaded as code compiled at build time, not compiled at each start."""

from __future__ import annotations
import __future__

import dataclasses
import marshal
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

# On Python 3.11 `dataclasses._create_fn` builds every generated method (__init__, __repr__,
# __eq__, __hash__, the frozen __setattr__/__delattr__, the order methods) as source text and
# runs `exec(txt, globals, ns)` on it: one compile() per method, ~1,300 on the Matrix start
# path (Logoff's, nio's, aiohttp's, Tortoise's dataclasses), 0.2-0.3 s of it here. The cache
# maps that exact text to the code object compile() makes of it, written at build time
# (`--write`, run by `make` and the image build): a start runs that code without compiling.
# A text not in the file (another version of a dependency, a dataclass the build did not
# import) is compiled as before.

# The interpreter the file was written by and for: marshal's format and the bytecode are
# version-specific, and -O changes what compile() makes.
TAG = f"{sys.version}|{sys.implementation.cache_tag}|optimize={sys.flags.optimize}"
# What `logoff run` imports: the CLI, the serve path, Tortoise, nio (plain and with its crypto
# layer), the Matrix, Discord and console adapters. Named, not imported, so bot/ depends on none.
START_PATH = (
    "bot.app.cli",
    "bot.app.serve",
    "bot.app.bootstrap",
    "bot.app.http_listener",
    "storage.database",
    "storage.models",
    "adapters.matrix",
    "adapters.matrix.adapter",
    "adapters.discord",
    "adapters.console",
)
# The `_create_fn` these texts come from, as in CPython 3.11 and 3.12 (3.13 has none).
SIGNATURE = ("name", "args", "body", "globals", "locals", "return_type")

# The file as read, until the start is over (`forget`): each text's key (`_key`) to where its
# marshal'd (text, code) begins in the file's entries. A start decodes only the entries it asks
# for (decoding the whole file took ~7 ms, reading it ~1 ms), and holds one buffer, not ~1,000
# strings, so that forgetting it gives its ~1.4 MiB back.
_index: dict[int, int] = {}
_entries: list[memoryview] = []
_recorded: dict[str, CodeType] = {}
_recording: list[bool] = []
hits: list[int] = [0]


def cache_file() -> Path | None:
    """bot/__pycache__/dataclass-code.<tag>.bin: beside the bytecode, one per interpreter."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    return Path(__file__).resolve().parents[1] / "__pycache__" / f"dataclass-code.{tag}.bin"


def supported() -> bool:
    """This interpreter's dataclasses compiles each method from text by `exec` in `_create_fn`,
    with no `__future__` flag of its own (what `_compiled` assumes)."""
    create_fn = getattr(dataclasses, "_create_fn", None)
    code = getattr(create_fn, "__code__", None)
    if code is None or vars(dataclasses).get("exec", _exec) is not _exec:
        return False
    if any(isinstance(value, __future__._Feature) for value in vars(dataclasses).values()):
        return False
    return (
        code.co_argcount == 3
        and code.co_kwonlyargcount == 3
        and code.co_varnames[:6] == SIGNATURE
        and "exec" in code.co_names
        and create_fn.__kwdefaults__  # type: ignore[union-attr]
        == {"globals": None, "locals": None, "return_type": dataclasses.MISSING}
    )


def _compiled(txt: str) -> CodeType:
    # What `exec(txt, ...)` compiles inside dataclasses.py: file "<string>", no __future__ flag
    # (dataclasses.py has none; dont_inherit keeps this module's `annotations` out of it).
    return compile(txt, "<string>", "exec", 0, True)


def _key(txt: str) -> int:
    encoded = txt.encode("utf-8", "surrogatepass")  # never fails: any str has a key
    return len(encoded) << 32 | zlib.crc32(encoded)


def _cached(txt: str) -> CodeType | None:
    offset = _index.get(_key(txt)) if _index else None
    if offset is None:
        return None
    try:
        entry = marshal.loads(_entries[0][offset:])  # reads one object, ignores what follows
    except (ValueError, EOFError, TypeError, IndexError):
        return None
    # The text itself is stored and compared: a key two texts share can only miss.
    if type(entry) is not tuple or len(entry) != 2 or entry[0] != txt:
        return None
    code = entry[1]
    return code if type(code) is CodeType else None


def _code(txt: str) -> CodeType:
    code = _cached(txt)
    if code is not None:
        hits[0] += 1
        return code
    code = _compiled(txt)
    if _recording:
        _recorded[txt] = code
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """`exec` as `_create_fn` sees it: the text's code from the cache, or compiled now."""
    if globals is None:  # exec's own default: the caller's (dataclasses') globals
        globals = vars(dataclasses)
    if isinstance(source, str):
        source = _code(source)
    exec(source, globals, locals)


def read(path: Path | None) -> tuple[dict[int, int], memoryview] | None:
    """The file's index and entries; None when it is missing, of another interpreter or damaged."""
    if path is None:
        return None
    try:
        data = memoryview(path.read_bytes())
        if len(data) < 8 or zlib.crc32(data[4:]) != int.from_bytes(data[:4], "little"):
            return None
        size = int.from_bytes(data[4:8], "little")
        tag, index = marshal.loads(data[8 : 8 + size])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if tag != TAG or type(index) is not dict:
        return None
    return index, data[8 + size :]


def install(path: Path | None = None) -> None:
    """From here on dataclasses runs cached code for the texts in the file (read once)."""
    if not supported() or vars(dataclasses).get("exec") is _exec:
        return
    found = read(cache_file() if path is None else path)
    if found is not None:
        _index.update(found[0])
        _entries[:] = [found[1]]
    _shadow()


def _shadow() -> None:
    # `_create_fn` calls `exec` by its global name: a module global of that name comes first.
    shadow: Callable[..., None] = _exec
    vars(dataclasses)["exec"] = shadow


def uninstall() -> None:
    """dataclasses back to the builtin `exec`; the cache forgotten."""
    vars(dataclasses).pop("exec", None)
    forget()


def forget() -> None:
    """The file's memory back (the start's dataclasses are made): what follows compiles."""
    _index.clear()
    _entries.clear()


def record(work: Callable[[], object]) -> dict[str, CodeType]:
    """Run `work` with every generated method compiled from source; their texts and codes."""
    saved, shadowed = (dict(_index), list(_entries)), vars(dataclasses).get("exec")
    forget()
    _recorded.clear()
    _shadow()
    _recording.append(True)
    try:
        work()
    finally:
        _recording.clear()
        _index.update(saved[0])
        _entries[:] = saved[1]
        if shadowed is None:
            vars(dataclasses).pop("exec", None)
    return dict(_recorded)


def save(path: Path, codes: dict[str, CodeType]) -> None:
    """The file `read` reads: a CRC-32 of the rest; the length of the header, the header (this
    interpreter's tag, each text's key and offset); then each (text, code), marshal'd."""
    index: dict[int, int] = {}
    entries = bytearray()
    for txt, code in sorted(codes.items()):
        key = _key(txt)
        if key not in index:  # else the later text is compiled at each start, as without a file
            index[key] = len(entries)
            entries += marshal.dumps((txt, code))
    header = marshal.dumps((TAG, index))
    body = len(header).to_bytes(4, "little") + header + entries
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")  # two builds at once: no clash
    partial.write_bytes(zlib.crc32(body).to_bytes(4, "little") + body)
    partial.replace(path)  # a start reading meanwhile sees the old file or the new, whole


def _import_start_paths(modules: tuple[str, ...]) -> None:
    import importlib

    # Tortoise as `logoff run` imports it (without pydantic, lean), then the rest.
    importlib.import_module("bot.app.cli")._leave_out_unused_imports()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:  # an extra not installed (discord.py, prometheus): nothing to cache
            continue
        if name == "adapters.matrix":
            # Both nio's: without its crypto layer (encryption off) and, if installed, with it.
            module.import_nio(False)
            for loaded in [m for m in sys.modules if m == "nio" or m.startswith("nio.")]:
                del sys.modules[loaded]
            module.import_nio(True)


def write(path: Path, modules: tuple[str, ...] = START_PATH) -> int:
    """Import `modules` in this (fresh) process and write the code of every method generated."""
    if not supported():
        return 0
    codes = record(lambda: _import_start_paths(modules))
    save(path, codes)
    return len(codes)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = cache_file()
    if args != ["--write"] or path is None:
        print("usage: python -m bot.app.dataclass_cache --write", file=sys.stderr)
        return 2
    count = write(path)
    print(f"{path}: {count} generated methods" if count else "nothing to cache here")
    return 0


if __name__ == "__main__":
    # The module as imported (`bot.app.dataclass_cache`), not this `__main__` copy of it: one
    # recorder, whichever of the two the imports below reach.
    from bot.app import dataclass_cache

    raise SystemExit(dataclass_cache.main())
