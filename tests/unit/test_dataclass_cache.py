"""Dataclasses made with the build-time code cache behave as plain ones; a bad file is ignored."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.app import dataclass_cache

# Where dataclasses does not compile its methods by `exec` of text (Python 3.12+ differ, 3.13
# has no `_create_fn`), the cache stays off: everything below must then still hold, with
# nothing served from it.
ON = dataclass_cache.supported()

METHODS = (
    "__init__",
    "__repr__",
    "__eq__",
    "__hash__",
    "__setattr__",
    "__delattr__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
)


def make_classes() -> dict[str, type]:
    """New classes at every call, one of each kind of generated method Logoff and nio use."""

    @dataclass(frozen=True)
    class Pledge:
        title: str
        per_week: int = 3
        tags: tuple[str, ...] = ()

    @dataclass(frozen=True, repr=False)
    class Quiet:
        secret: str

    @dataclass(order=True)
    class Slot:
        at: int
        name: str = field(default="walk", compare=False)

    @dataclass
    class Streak:
        days: list[int] = field(default_factory=list)
        best: int = field(init=False, default=0)
        seed: InitVar[int] = 0
        limit: ClassVar[int] = 7

        def __post_init__(self, seed: int) -> None:
            self.best = max([seed, *self.days])

    @dataclass(kw_only=True)
    class Options:
        room: str
        notice: bool = True

    @dataclass(slots=True)
    class Point:
        x: int
        y: int = 0

    @dataclass(unsafe_hash=True)
    class Key:
        group: int
        member: int = field(default=0, hash=False)

    @dataclass(eq=False)
    class Plain:
        value: Any = None

    return {cls.__name__: cls for cls in (Pledge, Quiet, Slot, Streak, Options, Point, Key, Plain)}


def cached_classes(path: Path) -> tuple[dict[str, type], int]:
    """The classes made with the cache in `path` installed, and how many methods it served."""
    before = dataclass_cache.hits[0]
    dataclass_cache.install(path)
    try:
        return make_classes(), dataclass_cache.hits[0] - before
    finally:
        dataclass_cache.uninstall()


def written_cache(tmp_path: Path) -> Path:
    path = tmp_path / "dataclass-code.bin"
    dataclass_cache.save(path, dataclass_cache.record(make_classes))
    return path


def generated(cls: type) -> dict[str, Any]:
    """The methods dataclasses wrote for `cls` (a `__hash__` set to None is not one)."""
    return {name: vars(cls)[name] for name in METHODS if callable(vars(cls).get(name))}


def test_every_generated_method_is_the_same_code_as_without_the_cache(tmp_path: Path) -> None:
    plain = make_classes()
    cached, served = cached_classes(written_cache(tmp_path))
    assert served >= 20 if ON else served == 0
    for name, cls in plain.items():
        mine, theirs = generated(cls), generated(cached[name])
        assert mine.keys() == theirs.keys(), name
        hashable = [
            ("__hash__" in vars(c), vars(c).get("__hash__") is None) for c in (cls, cached[name])
        ]
        assert hashable[0] == hashable[1], name
        for method, fn in mine.items():
            other = theirs[method]
            # repr is wrapped by dataclasses' recursion guard: compare what it wraps.
            fn, other = getattr(fn, "__wrapped__", fn), getattr(other, "__wrapped__", other)
            assert fn.__code__ == other.__code__, (name, method)
            assert fn.__code__.co_filename == other.__code__.co_filename == "<string>"
            assert fn.__code__.co_flags == other.__code__.co_flags, (name, method)
            assert fn.__qualname__ == other.__qualname__, (name, method)
            assert fn.__annotations__ == other.__annotations__, (name, method)
            assert fn.__defaults__ == other.__defaults__, (name, method)
            assert fn.__kwdefaults__ == other.__kwdefaults__, (name, method)


def test_classes_from_the_cache_behave_as_plain_dataclasses(tmp_path: Path) -> None:
    cached, _ = cached_classes(written_cache(tmp_path))
    pledge = cached["Pledge"]("Walk")
    assert repr(pledge).endswith("Pledge(title='Walk', per_week=3, tags=())")
    assert pledge == cached["Pledge"]("Walk", 3)
    assert pledge != cached["Pledge"]("Run")
    assert hash(pledge) == hash(cached["Pledge"]("Walk"))
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'title'"):
        pledge.title = "Run"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'title'"):
        del pledge.title  # type: ignore[misc]
    assert "secret" not in repr(cached["Quiet"]("hunter2"))

    slot = cached["Slot"]
    assert sorted([slot(3), slot(1, "read"), slot(2)]) == [slot(1), slot(2), slot(3)]
    assert slot(1, "a") == slot(1, "b")
    assert slot(1) <= slot(1)
    assert slot(2) > slot(1)
    with pytest.raises(TypeError):
        slot(1) < 2  # noqa: B015

    streak = cached["Streak"]
    first, second = streak([2, 5]), streak()
    assert (first.best, second.best, streak([1], seed=9).best) == (5, 0, 9)
    assert first.days is not second.days
    assert second.days == []
    with pytest.raises(TypeError):
        streak([1], 0, 3)
    assert repr(first).endswith("Streak(days=[2, 5], best=5)")

    options = cached["Options"](room="!r")
    assert options.notice is True
    with pytest.raises(TypeError):
        cached["Options"]("!r")

    point = cached["Point"](1)
    assert cached["Point"].__slots__ == ("x", "y")
    assert not hasattr(point, "__dict__")
    with pytest.raises(AttributeError):
        point.z = 3  # type: ignore[attr-defined]

    key = cached["Key"]
    assert hash(key(1, 2)) == hash(key(1, 3))
    assert key(1, 2) != key(1, 3)
    plain = cached["Plain"]
    assert plain(1) != plain(1)
    assert cached["Plain"].__hash__ is object.__hash__


def test_a_recursive_repr_is_still_guarded(tmp_path: Path) -> None:
    cached, _ = cached_classes(written_cache(tmp_path))
    plain = cached["Plain"]()
    plain.value = [plain]
    assert repr(plain).endswith("Plain(value=[...])")


def test_an_exception_in_a_generated_method_reads_as_without_the_cache(tmp_path: Path) -> None:
    cached, _ = cached_classes(written_cache(tmp_path))
    for classes in (make_classes(), cached):
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'title'"):
            classes["Pledge"]()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:4] + bytes([data[4] ^ 0xFF]) + data[5:],  # a flipped byte
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"",
        lambda data: b"\x00" * 64,
    ],
    ids=["flipped-byte", "truncated", "empty", "zeros"],
)
def test_a_damaged_cache_file_means_the_normal_path(tmp_path: Path, damage: Any) -> None:
    path = written_cache(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    cached, served = cached_classes(path)
    assert served == 0
    assert cached["Pledge"]("Walk") == cached["Pledge"]("Walk", 3)


def test_a_file_written_by_another_interpreter_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dataclass-code.bin"
    codes = dataclass_cache.record(make_classes)
    monkeypatch.setattr(dataclass_cache, "TAG", "3.11.0 (another build)|cpython-311|optimize=0")
    dataclass_cache.save(path, codes)
    monkeypatch.undo()
    assert dataclass_cache.read(path) is None
    cached, served = cached_classes(path)
    assert served == 0
    assert repr(cached["Point"](1)).endswith("Point(x=1, y=0)")


def test_a_missing_cache_file_means_the_normal_path(tmp_path: Path) -> None:
    cached, served = cached_classes(tmp_path / "nothing-here.bin")
    assert served == 0
    assert cached["Slot"](1) < cached["Slot"](2)


def test_once_forgotten_the_cache_serves_nothing_and_classes_still_work(tmp_path: Path) -> None:
    dataclass_cache.install(written_cache(tmp_path))
    try:
        dataclass_cache.forget()
        before = dataclass_cache.hits[0]
        classes = make_classes()
        assert dataclass_cache.hits[0] == before
    finally:
        dataclass_cache.uninstall()
    assert classes["Streak"]([4]).best == 4


HITS = """
import sys
from pathlib import Path
from bot.app import dataclass_cache
dataclass_cache.install(Path(sys.argv[1]))
import bot.app.cli
bot.app.cli._leave_out_unused_imports()
import bot.app.serve, bot.app.bootstrap, adapters.console
from adapters.matrix import import_nio
import_nio(False)
import adapters.matrix.adapter
import storage.models
print(dataclass_cache.hits[0])
"""


def test_the_start_path_takes_its_dataclass_methods_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "dataclass-code.bin"
    write = "import sys; from pathlib import Path; from bot.app import dataclass_cache as c; "
    write += "print(c.write(Path(sys.argv[1])))"
    written = subprocess.run(
        [sys.executable, "-c", write, str(path)], capture_output=True, text=True, check=True
    )
    assert int(written.stdout) > 300 if ON else int(written.stdout) == 0
    out = subprocess.run(
        [sys.executable, "-c", HITS, str(path)], capture_output=True, text=True, check=True
    )
    assert int(out.stdout) > 100 if ON else int(out.stdout) == 0
