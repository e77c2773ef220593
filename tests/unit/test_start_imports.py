"""The Matrix start path imports nothing it does not use: no discord.py, Pillow, other backends."""

from __future__ import annotations

import subprocess
import sys

# What `logoff run` imports with Matrix on, Discord off and a SQLite database, in its order:
# the CLI, the serve path, nio without its crypto layer, the adapter, Tortoise's SQLite client.
START_PATH = """
import asyncio, sys
import bot.app.cli, bot.app.serve, bot.app.bootstrap
from adapters.matrix import import_nio
import_nio(False)
import adapters.matrix.adapter
from storage import database

async def connect():
    await database.open_database("sqlite://:memory:", require_migrated=False)
    await database.close_database()

asyncio.run(connect())
roots = {name.split(".")[0] for name in sys.modules}
print(" ".join(sorted(n for n in sys.modules if n.startswith("tortoise.backends."))))
print(" ".join(sorted(roots & {ROOTS})))
"""


def start_path_modules(roots: set[str]) -> tuple[set[str], set[str]]:
    code = START_PATH.replace("{ROOTS}", repr(roots))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    backends, found = [*out.stdout.splitlines(), "", ""][:2]
    return set(backends.split()), set(found.split())


def test_the_matrix_start_path_imports_neither_discord_nor_pillow():
    _, found = start_path_modules({"discord", "PIL", "aiohttp", "nio"})
    assert found == {"aiohttp", "nio"}  # the check sees what is imported; these two must be


def test_the_matrix_start_path_imports_only_tortoises_sqlite_backend():
    backends, found = start_path_modules({"asyncpg", "psycopg", "asyncmy", "aiosqlite"})
    assert found == {"aiosqlite"}
    assert "tortoise.backends.sqlite" in backends
    assert not {b for b in backends if b.split(".")[2] not in ("base", "sqlite")}


def test_no_start_path_imports_icalendar_before_an_ics_file_is_asked_for():
    _, found = start_path_modules({"icalendar", "dateutil"})
    assert found == set()


CONSOLE_PATH = """
import sys
import bot.app.cli, bot.app.serve, bot.app.bootstrap, adapters.console
print(" ".join(sorted({n.split(".")[0] for n in sys.modules} & {"aiohttp", "icalendar", "nio"})))
"""


def test_the_console_start_path_without_a_listener_imports_no_http_library():
    out = subprocess.run(
        [sys.executable, "-c", CONSOLE_PATH], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []


SOURCE_READS = """
import inspect, sys
asked = []
real = inspect.getsource
def recording(obj):
    asked.append(getattr(obj, "__qualname__", repr(obj)))
    return real(obj)
inspect.getsource = recording
import bot.app.cli
bot.app.cli._leave_out_unused_imports()
import bot.app.serve, bot.app.bootstrap
from adapters.matrix import import_nio
import_nio(False)
import adapters.matrix.adapter
import storage.models
print(" ".join(sorted({a for a in asked if not a.startswith("<module")})))
"""


def test_the_start_path_reads_no_class_source():
    # Tortoise's metaclass parses a model's whole source file for `#:` comments unless told
    # not to: 16 parses of storage/models.py and one of Tortoise's models.py at every start.
    out = subprocess.run(
        [sys.executable, "-c", SOURCE_READS], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []


PATTERN_COMPILES = """
import re
compiled = []
real = re._compile
def recording(pattern, flags):
    compiled.append(pattern)
    return real(pattern, flags)
re._compile = recording
import bot.app.cli
bot.app.cli._leave_out_unused_imports()
import bot.app.bootstrap
print(sum("\\u00a1-\\uffff" in str(p) for p in compiled))
from tortoise.exceptions import ValidationError
from tortoise.validators import validate_domain_name
validate_domain_name("bücher.example.org")
try:
    validate_domain_name("-not-a-host-")
except ValidationError:
    print("refused")
"""


def test_the_start_path_compiles_no_host_name_pattern_yet_tortoise_still_validates_hosts():
    # tortoise.validators compiles an internationalised host-name pattern at import (~65 ms);
    # Logoff validates no domain, so it is compiled on first use, and then works as before.
    out = subprocess.run(
        [sys.executable, "-c", PATTERN_COMPILES], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0", "refused"]


ANYIO_LATER = """
import sys
import bot.app.cli
bot.app.cli._leave_out_unused_imports()
import bot.app.bootstrap, storage.models
print("anyio" in sys.modules)
import tortoise

async def work():
    return None

tortoise.run_async(work())  # the one user of anyio in Tortoise: imports it now, and works
print(type(sys.modules["anyio"].from_thread).__name__)
"""


def test_the_start_path_imports_no_anyio_yet_tortoise_run_async_still_works():
    # Tortoise's __init__ names anyio's from_thread for `run_async` only, a helper Logoff does
    # not call: anyio's modules (~0.7 MiB) are imported on first use.
    out = subprocess.run(
        [sys.executable, "-c", ANYIO_LATER], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "module"]


MIGRATION_CHECK = """
import asyncio, sys, tempfile
from pathlib import Path
import bot.app.cli
bot.app.cli._leave_out_unused_imports()
from storage import database
url = "sqlite://" + str(Path(tempfile.mkdtemp()) / "logoff.db")
asyncio.run(database.migrate(url))
for name in [m for m in sys.modules if m.startswith(("tortoise.migrations", "storage.migrations"))]:
    del sys.modules[name]

async def start():
    await database.open_database(url)
    await database.close_database()

asyncio.run(start())
machinery = ("tortoise.migrations", "storage.migrations.")
print(sorted(m for m in sys.modules if m.startswith(machinery)))
"""


def test_opening_a_migrated_database_imports_no_migration_machinery():
    # Every file recorded as applied is one query; Tortoise's executor, loader and the schema
    # editors of all its backends (~0.9 MiB) are imported only when something is pending.
    out = subprocess.run(
        [sys.executable, "-c", MIGRATION_CHECK], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_the_matrix_start_path_imports_no_proxy_library_and_no_attachment_cipher():
    _, found = start_path_modules({"aiohttp_socks", "python_socks", "Crypto"})
    assert found == set()


LATER_USE = """
import asyncio, sys
from adapters.matrix import import_nio
import_nio(False)
from nio.crypto import decrypt_attachment, encrypt_attachment
from nio.client.async_client import ProxyConnector
data = bytes(range(256)) * 40
encrypted, info = encrypt_attachment(data)
print(encrypted != data, decrypt_attachment(encrypted, info["key"]["k"],
      info["hashes"]["sha256"], info["iv"]) == data)

async def proxy():
    connector = ProxyConnector.from_url("socks5://127.0.0.1:1080")
    print(type(connector).__module__)
    await connector.close()

asyncio.run(proxy())
"""


def test_the_proxy_connector_and_attachment_ciphers_work_when_first_used():
    out = subprocess.run(
        [sys.executable, "-c", LATER_USE], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True", "aiohttp_socks.connector"]
