"""Member-written text stays text on every platform: marked in the core, escaped per renderer."""

from __future__ import annotations

import pytest

from adapters.discord.render import escape_member_text, render
from adapters.matrix.render import content
from bot.messages.markup import inert, member_spans, to_html, to_markdown, to_plain, typed
from bot.messages.replies import MentionRef, Reply, Visibility

HOSTILE = "[x](http://evil) ||spoiler|| **bold** `code` <@&42> <b>hi</b> & {@1}"


def _no_mention(member_id: int) -> str:
    return "someone"


def test_a_title_is_marked_once_and_its_marks_cannot_be_forged() -> None:
    title = "Run \ue001fake\ue002 \ue000help"
    marked = inert(title)
    assert member_spans(f"**{marked}** and {inert('Bo')}") == ["Run fake help", "Bo"]


def test_mass_pings_are_defanged_in_the_core_for_every_platform() -> None:
    (span,) = member_spans(inert("Tell @everyone, @here and @room"))
    assert "@everyone" not in span
    assert "@here" not in span
    assert "@room" not in span


def test_what_a_member_typed_is_cleaned_and_cut_before_it_is_echoed() -> None:
    assert member_spans(typed("a\x00b" + "c" * 100, 10)) == ["abcccccccc"]


def test_plain_text_shows_member_text_as_written_and_drops_the_cores_markup() -> None:
    text = f"**{inert(HOSTILE)}** by _{inert('a_b*c')}_"
    assert to_plain(text, _no_mention) == f"{HOSTILE} by a_b*c"


def test_html_escapes_member_text_and_never_reads_it_as_markdown() -> None:
    out = to_html(f"**{inert(HOSTILE)}**", lambda i: "PILL")
    assert out.startswith("<strong>")
    assert out.endswith("</strong>")
    inner = out.removeprefix("<strong>").removesuffix("</strong>")
    assert inner == (
        "[x](http://evil) ||spoiler|| **bold** `code` &lt;@&amp;42&gt; &lt;b&gt;hi&lt;/b&gt; "
        "&amp; {@1}"
    )
    assert "PILL" not in out  # `{@1}` in a title is not a mention


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("[x](http://evil)", "\\[x](http://evil)"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("**bold** _it_ ~~gone~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~"),
        ("`code`", "\\`code\\`"),
        ("# heading", "\\# heading"),
        ("> quote", "\\> quote"),
        ("<@&42> <@7> <#9> <t:1:R>", "\\<@&42> \\<@7> \\<#9> \\<t:1:R>"),
        ("a\\b", "a\\\\b"),
    ],
)
def test_discord_escapes_every_markup_a_member_could_write(written: str, shown: str) -> None:
    assert escape_member_text(written) == shown


def test_discord_keeps_the_cores_markdown_and_escapes_only_member_text() -> None:
    out = to_markdown(f"**{inert('||x||')}** {{@1}}", lambda i: "<@111>", escape_member_text)
    assert out == "**\\|\\|x\\|\\|** <@111>"


def test_a_discord_reply_with_a_hostile_title_pings_only_the_mentioned_member() -> None:
    reply = Reply(
        text=f"{{@1}} joined **{inert('@everyone [x](http://evil) <@&5>')}**",
        visibility=Visibility.PUBLIC,
        mentions=(MentionRef(1, "discord", "111", "ana"),),
    )
    rendered = render(reply)
    (chunk,) = rendered.chunks
    assert chunk.startswith("<@111> joined **")
    assert "\\[x](http://evil)" in chunk
    assert "\\<@&5>" in chunk
    assert "@everyone" not in chunk
    assert rendered.allowed_mentions.to_dict() == {"parse": [], "users": [111]}


def test_a_display_name_from_another_platform_is_escaped_on_discord() -> None:
    reply = Reply(text="{@2} kept it", mentions=(MentionRef(2, "matrix", "@b:x", "||b||"),))
    assert render(reply).chunks == ["\\|\\|b\\|\\| kept it"]


def test_matrix_content_escapes_member_text_in_html_and_keeps_it_plain_in_body() -> None:
    reply = Reply(text=f"New pledge **{inert('<script>x</script> & [y](http://evil)')}**")
    out = content(reply, msgtype="m.notice")
    assert out["body"] == "New pledge <script>x</script> & [y](http://evil)"
    assert out["formatted_body"] == (
        "New pledge <strong>&lt;script&gt;x&lt;/script&gt; &amp; [y](http://evil)</strong>"
    )
