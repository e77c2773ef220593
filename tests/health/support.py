"""Helpers for the health tests: GET a listener's answer, and wait until it says something."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

WAIT = 30.0


async def get(port: int, path: str) -> tuple[int, Any]:
    """(status, JSON body or text) of GET http://127.0.0.1:port/path."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


async def wait_for(
    port: int, path: str, wanted: Callable[[int, Any], bool], seconds: float = WAIT
) -> tuple[int, Any]:
    """Ask again until `wanted(status, body)`; fail with the last answer after `seconds`."""
    deadline = time.monotonic() + seconds
    last: tuple[int, Any] | str = "no answer yet"
    while time.monotonic() < deadline:
        try:
            last = await get(port, path)
            if wanted(*last):
                return last
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = repr(exc)
        await asyncio.sleep(0.2)
    raise AssertionError(f"GET {path} never gave the wanted answer in {seconds} s; last: {last}")


def problems(body: Any) -> str:
    return " | ".join(body.get("problems", [])) if isinstance(body, dict) else str(body)
