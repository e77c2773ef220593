"""Discord figures through the local Discord peer, Logoff beside a bare discord.py bot (prints).

One `tests/discord_peer` server in this process; Logoff's Discord adapter runs as `logoff run`
starts it (`tests/discord/harness.py`'s way: migrate a SQLite file, open the app, run_discord),
the floor is a bare `discord.Client` that answers every interaction at once with one message.
Both are the unmodified discord.py client. The peer holds one bot application, so the two run
in alternating blocks (`--rounds`, each with its own warm-up) on the same peer and the same
process, to share the machine's load; the figures are over all blocks.

Measured from the member's side of the peer: a slash command's round-trip from the interaction
being dispatched until the peer holds its first reply with content (`/done pledge:1` writes,
`/pledge list` reads), and a burst of 50 `/pledge list` sent at once (how many answered, and
when the last one was). The per-member command limit is off (`commands_per_minute = 0`).

Run: .venv/bin/python -m benchmarks.discord_roundtrip  [--commands 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import discord

from benchmarks.common import machine, percentile

Command = Callable[[], Awaitable[float]]


class BareBot(discord.Client):
    """The floor: one answer per interaction, no database, no command tree."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.none())

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("echo")


@contextlib.asynccontextmanager
async def logoff(peer: object, data_dir: Path) -> AsyncIterator[None]:
    """Logoff's Discord adapter as `logoff run` starts it, with the command limit off."""
    from adapters.discord import client as discord_client
    from bot.app.config import BotConfig, Config, DiscordConfig
    from tests.discord import harness

    discord_client.GUILD_READY_TIMEOUT = 0.05  # the peer sends every guild at once
    config = Config(
        bot=BotConfig(data_dir=data_dir, commands_per_minute=0),
        discord=DiscordConfig(enabled=True, token="peer-token"),
    )
    original = harness.make_config
    harness.make_config = lambda *a, **k: config  # type: ignore[assignment]
    try:
        async with harness.start_bot(peer, data_dir):  # type: ignore[arg-type]
            yield
    finally:
        harness.make_config = original


@contextlib.asynccontextmanager
async def bare() -> AsyncIterator[None]:
    from tests.discord_peer import run_client

    async with run_client(BareBot(), guild_ready_timeout=0.05):
        yield


async def main_async(args: argparse.Namespace) -> None:
    from tests.discord_peer import DiscordPeer

    data_dir = Path(tempfile.mkdtemp(prefix="logoff-discord-bench-")) / "data"
    samples: dict[str, dict[str, list[float]]] = {
        name: {"write": [], "read": [], "first": []} for name in ("Logoff", "bare")
    }
    bursts: dict[str, list[tuple[int, float]]] = {"Logoff": [], "bare": []}
    answers: dict[str, str] = {}  # the last answer per command, to show what was measured
    async with DiscordPeer() as peer:
        user, channel = peer.member, peer.channel

        async def roundtrip(command: str, **options: object) -> float:
            name, _, sub = command.partition(" ")
            start = time.perf_counter()
            handle = await peer.slash(user, channel, name, subcommand=sub or None, options=options)
            reply = await handle.wait_reply(timeout=30)
            answers[command] = str(reply.data.get("content") or reply.data)[:90]
            return (time.perf_counter() - start) * 1000

        async def burst(count: int) -> tuple[int, float]:
            start = time.perf_counter()
            handles = await asyncio.gather(
                *(peer.slash(user, channel, "pledge", subcommand="list") for _ in range(count))
            )
            done = await asyncio.gather(
                *(h.wait_reply(timeout=30) for h in handles), return_exceptions=True
            )
            answered = sum(1 for d in done if not isinstance(d, BaseException))
            return answered, (time.perf_counter() - start) * 1000

        first = True
        for _ in range(args.rounds):
            for name, running in (("Logoff", logoff(peer, data_dir)), ("bare", bare())):
                async with running:
                    if first and name == "Logoff":  # the pledge `/done` writes into
                        await roundtrip(
                            "pledge new", title="Attend a meeting", per="month", times=80
                        )
                        first = False
                    s = samples[name]
                    if name == "bare":
                        print("Logoff's last answers:", answers)
                    s["first"].append(await roundtrip("done", pledge="1"))
                    for _ in range(5):
                        await roundtrip("pledge list")
                    for _ in range(args.commands // args.rounds):
                        s["write"].append(await roundtrip("done", pledge="1"))
                        s["read"].append(await roundtrip("pledge list"))
                    bursts[name].append(await burst(50))
                    await asyncio.sleep(0.5)

    def p(values: list[float]) -> tuple[float, float]:
        return statistics.median(values), percentile(values, 95)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    print("| figure | bare discord.py bot | Logoff | Logoff / bare |\n|---|---|---|---|")
    for key, label in (("write", "writes"), ("read", "reads")):
        (l50, l95), (b50, b95) = p(samples["Logoff"][key]), p(samples["bare"][key])
        print(
            f"| command that {label}, p50 / p95 | {b50:.1f} / {b95:.1f} ms | "
            f"{l50:.1f} / {l95:.1f} ms | {ratio(l50, b50)} / {ratio(l95, b95)} |"
        )
    lf, bf = (statistics.median(samples[n]["first"]) for n in ("Logoff", "bare"))
    print(f"| first command after the start | {bf:.1f} ms | {lf:.1f} ms | {ratio(lf, bf)} |")

    def burst_cell(name: str) -> str:
        runs = bursts[name]
        last = statistics.median(t for _, t in runs)
        return f"{min(n for n, _ in runs)}/50 (last after {last:.0f} ms)"

    print(
        f"| burst of 50 answered (worst block) | {burst_cell('bare')} | {burst_cell('Logoff')} | |"
    )
    print(
        f"samples: {len(samples['Logoff']['write'])} writes and reads per bot in {args.rounds} "
        "alternating blocks"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    asyncio.run(main_async(args))
    print(machine())


if __name__ == "__main__":
    main()
