"""Stopping a `logoff run` subprocess the way a service manager does: SIGINT, then a kill."""

from __future__ import annotations

import signal
import subprocess


def interrupt(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGINT (a clean stop); killed if it has not ended after `timeout` s. The exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
