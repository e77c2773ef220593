"""Draws Matrix messages as a client shows them (run: python docs/images/matrix_samples.py).

The bot's own renderers make the event content (`adapters/matrix/render.py`: the sanitised
`formatted_body`, the seeded reactions); this script only puts it in a plain chat page and
asks headless Chromium for a screenshot. The reminder comes from the real reminder renderer
with made-up pledges; the summary's text is made up in the shape the bot writes, its picture
is summary-group.png beside this file.
"""

from __future__ import annotations

import base64
import html
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from adapters.matrix import render  # noqa: E402
from bot.messages.notices import REMIND, Notice  # noqa: E402
from bot.messages.notices import render as render_notices  # noqa: E402
from bot.messages.replies import Reply, Visibility  # noqa: E402
from bot.rules.periods import period_at  # noqa: E402
from storage.records import MemberRec, PledgeRec  # noqa: E402

HERE = Path(__file__).parent
BERLIN = ZoneInfo("Europe/Berlin")
TITLES = (
    "Attend one local meeting", "Knock on 10 doors", "Call a neighbour", "Walk without a phone",
    "Bring food to the pantry", "Fix a neighbour's bike", "Flyer the laundromat",
    "Visit the allotment", "Read to the kids downstairs", "Sweep the stairwell",
    "Swap seeds at the market", "Check on Mrs. Okafor",
)  # fmt: skip
PEOPLE = ("Ana", "Ben", "Maria", "Tomás")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #fff; font: 15px/1.45 "DejaVu Sans", sans-serif; color: #17191c; }}
.room {{ width: 620px; padding: 16px 20px; }}
.head {{ font-weight: bold; border-bottom: 1px solid #e3e8f0; padding-bottom: 8px; }}
.event {{ display: flex; gap: 10px; margin-top: 14px; }}
.avatar {{ width: 32px; height: 32px; border-radius: 50%; background: #0dbd8b; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: bold; flex: none; }}
.sender {{ color: #0dbd8b; font-weight: bold; }}
.notice .body {{ color: #5c6470; }}
.body a {{ color: #0086e6; background: #e8f3fd; border-radius: 10px; padding: 0 5px;
  text-decoration: none; }}
.reactions {{ margin-top: 6px; display: flex; flex-wrap: wrap; gap: 4px; }}
.reactions span {{ border: 1px solid #e3e8f0; border-radius: 10px; padding: 0 6px;
  font-size: 13px; }}
img.picture {{ margin-top: 6px; max-width: 360px; border-radius: 6px; }}
</style></head><body><div class="room"><div class="head"># Riverside Tenants' Union</div>
{events}</div></body></html>"""


def event_html(content: dict, reactions: tuple[str, ...] = (), picture: Path | None = None) -> str:
    """One event as a client draws it: the sanitised HTML as it is, reactions, a picture."""
    kind = "notice" if content["msgtype"] == "m.notice" else "text"
    keys = "".join(f"<span>{html.escape(k)} 1</span>" for k in reactions)
    image = ""
    if picture is not None:
        data = base64.b64encode(picture.read_bytes()).decode()
        image = f'<img class="picture" alt="" src="data:image/png;base64,{data}">'
    return (
        f'<div class="event {kind}"><div class="avatar">L</div><div>'
        f'<div class="sender">Logoff</div><div class="body">{content["formatted_body"]}</div>'
        f'{image}<div class="reactions">{keys}</div></div></div>'
    )


def reminder_events() -> str:
    week = period_at(datetime(2026, 11, 30, 9, tzinfo=BERLIN), "week", BERLIN, 0)
    members = [
        MemberRec(i, "matrix", f"@{n.lower()}:example.org", n, None, None, None)
        for i, n in enumerate(PEOPLE, 1)
    ]
    notices = []
    for n, title in enumerate(TITLES, 1):
        pledge = PledgeRec(
            n, 1, n, title, "week", 1, None, None, "thu 18:00", "active", None, None, None,
            datetime(2026, 11, 1, tzinfo=UTC),
        )  # fmt: skip
        for member in members[: 1 + n % 3]:
            notices.append(Notice(REMIND, member, pledge, week, dm=False))
    reply = render_notices(REMIND, notices, dm=False)
    parts = render.batch_parts(reply)
    assert parts is not None
    return "".join(
        event_html(
            render.safe_message(render.content(part, msgtype="m.text")),
            render.CHOICE_KEYS[: len(actions)],
        )
        for part, actions in parts
    )


def summary_events() -> str:
    text = (
        "**The week of Mon 23 Nov 2026 in Riverside Tenants' Union**\n"
        "81% of answered pledges kept (target 60%) ✅\n"
        "• **Attend one local meeting**: 7 of 8 kept\n"
        "• **Knock on 10 doors**: 9 of 13 kept\n"
        "• **Call a neighbour**: 4 of 4 kept\n"
        "Kept it: Ana, Ben, Maria, Tomás and 8 more 🎉\n"
        "Group streak: 6 weeks (best 6)."
    )
    reply = Reply(text, Visibility.PUBLIC)
    content = render.safe_message(render.content(reply, msgtype="m.notice"))
    return event_html(content, picture=HERE / "summary-group.png")


def shoot(page: str, out: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("needs Chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile", f"--screenshot={out}",
                f"--window-size=660,{height}", source.as_uri(),
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    _trim(out)


def _trim(path: Path) -> None:
    """Cut the empty page below the last event (the window is taller than needed)."""
    from PIL import Image, ImageChops

    with Image.open(path) as shot:
        page = shot.convert("RGB")
    blank = Image.new("RGB", page.size, (255, 255, 255))
    box = ImageChops.difference(page, blank).getbbox()
    if box is not None:
        page.crop((0, 0, page.width, min(page.height, box[3] + 16))).save(path, optimize=True)


if __name__ == "__main__":
    shoot(PAGE.format(events=reminder_events()), HERE / "matrix-reminder.png", 720)
    shoot(PAGE.format(events=summary_events()), HERE / "matrix-summary.png", 760)
    print("wrote matrix-reminder.png and matrix-summary.png")
