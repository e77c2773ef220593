"""`logoff run` on the console stops cleanly on SIGTERM and SIGINT, reading stdin or not."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0  # a timeout for a hung process, not a speed requirement


def _logoff(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot.app.cli", *args, "--config", str(config)]


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while text not in (path.read_text(errors="replace") if path.exists() else ""):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} from logoff run:\n{path.read_text()}")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("read_input", [True, False], ids=["stdin", "no-input"])
def test_a_signal_stops_the_console_bot_with_exit_zero(
    tmp_path: Path, sig: signal.Signals, read_input: bool
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    subprocess.run(_logoff(config, "migrate"), cwd=REPO, check=True, capture_output=True)
    out = tmp_path / "out.txt"
    outbox = tmp_path / "outbox.jsonl"
    args = ["run", "--outbox-file", str(outbox)] + ([] if read_input else ["--no-input"])
    with out.open("wb") as sink:
        # stdin a pipe held open: the bot must not wait for its end to stop.
        process = subprocess.Popen(
            _logoff(config, *args), cwd=REPO, stdin=subprocess.PIPE, stdout=sink, stderr=sink
        )
    try:
        _wait_for(out, "Logoff console", process)
        if read_input:
            assert process.stdin is not None
            process.stdin.write(b"!help\n")
            process.stdin.flush()
            _wait_for(out, "pledge new", process)
        process.send_signal(sig)
        code = process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = (tmp_path / "data" / "logoff.log").read_text()
    assert code == 0, out.read_text() + log
    assert "Traceback" not in out.read_text() + log
    assert "stopping" in log


def _catches(pid: int, sig: signal.Signals) -> bool:
    """The process has a handler for `sig` (Linux: the SigCgt mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (sig - 1)))


def _has_open(pid: int, name: str) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if fd.readlink().name == name:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def test_a_sigterm_while_the_bot_is_still_starting_is_a_clean_stop(tmp_path: Path) -> None:
    """systemd or a container runtime may stop `logoff run` in its first second, while it
    still imports and opens the database: that is a stop like any other, exit 0."""
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    subprocess.run(_logoff(config, "migrate"), cwd=REPO, check=True, capture_output=True)
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            _logoff(config, "run", "--no-input"), cwd=REPO, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + WAIT
        # The first moment the signal is caught: the early handler, before the serve path.
        while not _catches(process.pid, signal.SIGTERM):
            assert process.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "logoff run never caught SIGTERM"
            time.sleep(0.001)
        started = _has_open(process.pid, "logoff.db")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Without the early handler the first handler is the serve path's, after the database
    # is open: the signal must come before that to test a stop during the start.
    assert not started, "the signal came late; the test meant to stop the bot while it starts"
    assert code == 0, out.read_text()
    assert "Traceback" not in out.read_text()


def _handler_after_bot_app(argv: list[str]) -> list[str]:
    """What a fresh interpreter with `argv` has right after `import bot.app`: whether SIGTERM
    is caught yet, and whether anything heavy was imported before that."""
    probe = (
        "import signal, sys\n"
        f"sys.argv = {argv!r}\n"
        "import bot.app\n"
        "print(signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL,"
        " 'tortoise' in sys.modules, 'bot.app.cli' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True
    )
    return done.stdout.split()


def test_logoff_run_catches_sigterm_before_its_imports_begin() -> None:
    """The 200-kill console soak found a SIGTERM in the first ~0.2 s of `logoff run` (the
    CLI's and Tortoise's imports, before the early handler) ending it by the signal: the
    handler now comes from `bot.app`'s first line, for the program only."""
    assert _handler_after_bot_app(["/opt/logoff/bin/logoff", "run"]) == ["True", "False", "False"]
    assert _handler_after_bot_app(["-m", "run", "--no-input"]) == ["True", "False", "False"]
    # Anything else (a test importing bot.app, `logoff migrate`) keeps the default handler.
    assert _handler_after_bot_app(["pytest", "run"]) == ["False", "False", "False"]
    assert _handler_after_bot_app(["logoff", "migrate"]) == ["False", "False", "False"]


def test_run_as_an_option_value_is_not_logoff_run(tmp_path: Path) -> None:
    """`logoff check-config --config run`: "run" was a value; SIGTERM and SIGINT behave as by
    default again once the command line is parsed, and the command does its work."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "check-config", "--config", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr  # the config problem, told as such
    assert "run: file not found; copy config.example.toml to start" in done.stderr + done.stdout
