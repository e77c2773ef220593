"""Client-server API calls matrix-nio has no method for (account data), through its session."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from nio import AsyncClient

API = "/_matrix/client/v3"


async def call(
    client: AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON object) of one call under /_matrix/client/v3; network errors raise."""
    headers = {
        "Authorization": f"Bearer {client.access_token}",
        "Content-Type": "application/json",
    }
    data = json.dumps(body) if body is not None else None
    resp = await client.send(method, API + path, data, headers)
    try:
        answer = await resp.json(content_type=None)
    except ValueError:
        answer = {}
    finally:
        resp.release()
    return resp.status, answer if isinstance(answer, dict) else {}


def account_data_path(user_id: str, kind: str) -> str:
    return f"/user/{quote(user_id, safe='')}/account_data/{quote(kind, safe='')}"
