"""Where the console puts the pictures a platform would attach: one PNG file each, kept private."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from bot.messages.replies import Reply


def save_picture(folder: Path, reply: Reply, local: datetime) -> Path:
    """Write the reply's image as `<local time>-<name>`; a second one that minute gets `-2`.

    Mode 600 in a 700 folder: a group's weekly grid is the group's data, like its database.
    """
    assert reply.image is not None
    folder = folder.resolve()  # the printed path works from any directory
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = reply.image_name or "picture.png"
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot else (name, "")
    base = f"{local:%Y-%m-%d-%H%M}-{stem}"
    for n in range(1, 1000):
        path = folder / (f"{base}{suffix}" if n == 1 else f"{base}-{n}{suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(reply.image)
        return path
    raise FileExistsError(f"no free name for {base}{suffix} in {folder}")
