"""The .env.example that docker-compose.yml reads is a configuration the bot accepts."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.test_cli import logoff

ROOT = Path(__file__).resolve().parents[2]


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them (comments and blank lines skipped)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def test_the_example_env_file_passes_check_config_as_compose_passes_it(tmp_path: Path):
    env = env_file(ROOT / ".env.example")
    assert "POSTGRES_PASSWORD" in env
    compose = (ROOT / "docker-compose.yml").read_text()
    url = re.search(r"LOGOFF_DATABASE_URL: (\S+)", compose)
    assert url
    env["POSTGRES_PASSWORD"] = "abc123"
    env["LOGOFF_DATABASE_URL"] = url.group(1).replace("${POSTGRES_PASSWORD}", "abc123")
    env["LOGOFF_BOT_DATA_DIR"] = str(tmp_path)  # the image's ENV
    done = logoff("check-config", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "postgres://logoff:***@postgres:5432/logoff" in done.stdout
    assert "abc123" not in done.stdout
    enabled = {**env, "LOGOFF_MATRIX_ENABLED": "true"}
    refused = logoff("check-config", cwd=tmp_path, env=enabled)
    assert refused.returncode == 2
    assert "matrix.password" in refused.stderr  # a filled-in file needs its secret
