"""On a real Synapse a title written as HTML or Markdown arrives as text in the event content."""

from __future__ import annotations

from pathlib import Path

from tests.matrix.harness import Member, new_bot_account, running_bot
from tests.services.synapse import SynapseServer

HOSTILE = "<img src=x> & <b>big</b> **bold** [x](http://evil)"


async def test_a_title_written_as_markup_is_escaped_in_the_html_and_kept_in_the_body(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account):
            room = await alice.room_with_bot(account.user_id)
            created = await alice.reply_to(await alice.send(room, f'!pledge new "{HOSTILE}"'))
            listed = await alice.reply_to(await alice.send(room, "!pledge list"))
    finally:
        await alice.close()
    for seen in (created, listed):
        assert HOSTILE in seen.content["body"]
        html = seen.content["formatted_body"]
        assert "&lt;img src=x&gt; &amp; &lt;b&gt;big&lt;/b&gt; **bold** [x](http://evil)" in html
        assert "<img" not in html
        assert "<b>" not in html
        assert "<strong>bold</strong>" not in html
