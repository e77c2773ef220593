"""Issue 9's held-out check, scripted: five sandbox weeks with a daily and a weekly pledge.

Drives `logoff sandbox` (Europe/Berlin) through its stdin from Mon 12 Oct 2026 to Mon 16 Nov
2026, over both DST changes (Europe 25 Oct, United States 1 Nov): a weekly pledge "Attend one
local meeting" (reminder thu 18:00) and a daily "Walk outside" (08:30), four members, cy in
America/New_York. ana checks in every morning at 09:00, cy every weekday at 08:00 her time and
confirms the meeting late on Mondays (`done last week`), ben in the evenings and taps the
Thursday reminder, dan taps the morning nudge now and then. Prints the transcript's checks:

    .venv/bin/python -m benchmarks.sandbox_month [--transcript out.txt]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 10, 12, 9, 0, tzinfo=BERLIN)
DAYS = 35
SETUP = [
    '!pledge new "Attend one local meeting" per week remind "thu 18:00"',
    '!pledge new "Walk outside" per day remind "08:30"',
    "@cy !me timezone America/New_York",
    *(f"@{who} !pledge join {n}" for who in ("ben", "cy", "dan") for n in (1, 2)),
    "!pledge join 2",
    "!done 2",
]


def plan() -> list[tuple[datetime, str]]:
    """(when, line) of everything the members do after the set-up."""
    steps: list[tuple[datetime, str]] = []
    for d in range(1, DAYS + 1):
        day = (START + timedelta(days=d)).date()

        def at(hour: int, minute: int = 0, tz: ZoneInfo = BERLIN, day: object = day) -> datetime:
            return datetime.combine(day, datetime.min.time(), tz).replace(hour=hour, minute=minute)  # type: ignore[arg-type]

        weekday = day.weekday()
        if weekday in (1, 3, 5):
            steps.append((at(8, 31), "@dan !tap 1"))  # Done · today, on the morning nudge
        steps.append((at(9), "!done 2"))  # ana, every morning
        if weekday == 0:
            steps.append((at(10), "@cy !done 1 last week"))  # went Thursday, forgot to tap
        if weekday < 5:
            steps.append((at(8, tz=NEW_YORK), "@cy !done 2"))
        if weekday == 3:
            steps.append((at(18, 1), "@ben !tap 1"))  # the weekly reminder's Done
        if weekday == 6:
            steps.append((at(18, 5), "!tap 1"))  # ana, on the last question she was shown
        if d % 2:
            steps.append((at(21), "@ben !done 2"))
        if weekday == 0:
            steps.append((at(13), "!streak"))
    return sorted(steps)


def script() -> str:
    lines = list(SETUP)
    now = START
    for when, line in plan():
        gap = when.astimezone(UTC) - now.astimezone(UTC)  # wall times differ over DST
        minutes = int(gap.total_seconds() // 60)
        # Under a day at a time: `!wait` moves whole days by the calendar, hours as time.
        while minutes > 0:
            step = min(minutes, 12 * 60)
            lines.append(f"!wait {step // 60}h{step % 60}m")
            minutes -= step
        now = when
        lines.append(f"# at {when:%a %d %b %H:%M %Z}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="logoff-month-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[bot]\ndata_dir = "{tmp}/data"\n', encoding="utf-8")
        start = START.strftime("%Y-%m-%dT%H:%M")
        command = [sys.executable, "-m", "bot.app.cli", "--config", str(config), "sandbox"]
        command += ["--start", start, "--tz", "Europe/Berlin", "--user", "ana"]
        done = subprocess.run(
            command, input=script(), capture_output=True, text=True, check=True, cwd=tmp
        )
        return done.stdout + done.stderr


HEAD = re.compile(r"^\[(\w{3} \d\d \w{3} \d\d:\d\d)\] (.*?):(.*)$")


def messages(transcript: str) -> list[tuple[str, str, str]]:
    """(time, target, body) of every message in the transcript."""
    out: list[tuple[str, str, str]] = []
    for line in transcript.splitlines():
        head = HEAD.match(line)
        if head:
            out.append((head.group(1), head.group(2), head.group(3).strip()))
        elif line.startswith("  ") and out and not line.startswith("  buttons:"):
            t, target, body = out[-1]
            out[-1] = (t, target, (body + "\n" + line.strip()).strip())
    return out


def check(transcript: str) -> dict[str, object]:
    msgs = messages(transcript)
    replies = [(t, w, b) for t, w, b in msgs if w.startswith("reply to")]
    walk_ana = [
        b
        for t, w, b in replies
        if w.startswith("reply to @ana")
        and t.endswith("09:00")
        and "Walk outside" in b
        and not b.startswith(("New pledge", "You are already"))  # the set-up's replies
    ]
    morning_ok = [b for b in walk_ana if "today (" in b or "or yesterday" in b]
    reminder_weeks = sorted(
        {t[:10] for t, w, b in msgs if "⏰" in b and "Attend one local meeting" in b}
    )
    last_calls = [(t, w, b) for t, w, b in msgs if "Last call" in b]
    log_lines = [
        line
        for line in transcript.splitlines()
        if re.match(r"^(WARNING|INFO|ERROR|DEBUG|CRITICAL)[:\s]", line) or "logoff." in line
    ]
    return {
        "messages": len(msgs),
        "ana's morning walk replies": len(walk_ana),
        "of them for today or asking": len(morning_ok),
        "'Streak: 0' after a kept check-in": sum(
            1 for _, _, b in replies if "✅" in b and "Streak: 0" in b
        ),
        "weeks with the meeting reminder (Thu)": reminder_weeks,
        "last calls": last_calls,
        "log lines in the conversation": log_lines,
        "'closed already' replies": [
            (t, w, b) for t, w, b in replies if "closed already" in b or "is closed" in b
        ],
        "'for yesterday' at 09:00 without asking": [
            b for b in walk_ana if "for yesterday" in b and "or yesterday" not in b
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcript", type=Path, help="also write the transcript here")
    args = parser.parse_args()
    transcript = run()
    if args.transcript:
        args.transcript.write_text(transcript, encoding="utf-8")
    for name, value in check(transcript).items():
        if isinstance(value, list) and value and isinstance(value[0], tuple):
            print(f"{name}: {len(value)}")
            for item in value:
                print("   ", item)
        else:
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
