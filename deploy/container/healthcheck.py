#!/usr/bin/env python3
"""The container's health probe: GET /health on the bot's HTTP listener, exit 0 when it is 200.

The listener's address is the setting [http] address, LOGOFF_HTTP_ADDRESS in the environment
("HOST:PORT"; a wildcard host is probed on the loopback address). With no address set there
is nothing to ask: the probe says so and succeeds, since the process it runs beside is alive.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

ADDRESS_ENV = "LOGOFF_HTTP_ADDRESS"
WILDCARDS = {"", "0.0.0.0", "*"}
IPV6_WILDCARDS = {"::", "[::]"}
TIMEOUT = 4.0
SHOWN = 2000  # characters of a body printed (the container runtime keeps the probe's output)


def health_url(address: str) -> str:
    host, _, port = address.strip().rpartition(":")
    if not port.isdigit():
        raise ValueError(f"{ADDRESS_ENV}={address!r} is not HOST:PORT, e.g. 0.0.0.0:8080")
    if host in IPV6_WILDCARDS:
        host = "[::1]"
    elif host in WILDCARDS:
        host = "127.0.0.1"
    return f"http://{host}:{port}/health"


def probe(address: str) -> tuple[bool, str]:
    """(healthy, what to print) for the listener at `address`."""
    try:
        url = health_url(address)
    except ValueError as exc:
        return False, str(exc)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            body = response.read(SHOWN).decode(errors="replace")
            return response.status == 200, f"{url}: {response.status} {body}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {exc.code} {exc.read(SHOWN).decode(errors='replace')}"
    except (OSError, ValueError) as exc:
        return False, f"{url}: {exc}"


def main() -> int:
    address = os.environ.get(ADDRESS_ENV, "")
    if not address.strip():
        print(f"No health listener configured ({ADDRESS_ENV} is not set): the bot process runs.")
        return 0
    healthy, said = probe(address)
    print(said)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
