"""Matrix HTML without a homeserver: the sanitiser keeps to the spec's list, text reads well."""

from __future__ import annotations

from adapters.matrix import events, render
from bot.messages.actions import Action
from bot.messages.markup import inert
from bot.messages.replies import Button, MentionRef, Reply
from tests.matrix.html_rules import SPEC_ATTRIBUTES, SPEC_TAGS, html_problems, message_problems


def test_the_sanitiser_allows_exactly_the_spec_list() -> None:
    assert render.ALLOWED_TAGS == SPEC_TAGS
    assert {k: set(v) for k, v in render.ALLOWED_ATTRIBUTES.items()} == SPEC_ATTRIBUTES


def test_hostile_html_is_cut_down_to_allowed_tags_and_attributes() -> None:
    hostile = (
        '<script>alert(1)</script><font color="red">red</font>'
        '<a href="javascript:alert(1)" onclick="x()">js</a>'
        '<a href="https://matrix.to/#/@a:b" style="font-size:99px">pill</a>'
        '<img src="https://tracker.example/p.png"><img src="mxc://h/abc" alt="pic">'
        '<span data-mx-color="#ff0000" data-mx-bg-color="red">c</span>'
        "<mx-reply>old quote</mx-reply><strong><em>unclosed</strong><p>open"
    )
    out = render.sanitise(hostile)
    assert html_problems(out) == []
    assert "alert" not in out
    assert "old quote" not in out
    assert "red" in out
    assert "js" in out
    assert '<a href="https://matrix.to/#/@a:b">pill</a>' in out
    assert '<img src="mxc://h/abc" alt="pic">' in out
    assert "tracker" not in out
    assert '<span data-mx-color="#ff0000">c</span>' in out


def test_escaped_member_text_stays_escaped_and_inert() -> None:
    title = inert('<b onclick="x">Bold</b> & **stars** <script>1</script>')
    content = render.safe_message(render.content(Reply(f"Joined **{title}**"), msgtype="m.notice"))
    assert message_problems(content) == []
    assert '&lt;b onclick="x"&gt;Bold&lt;/b&gt; &amp;' in content["formatted_body"]
    assert "<b " not in content["formatted_body"]
    assert "<script>" not in content["formatted_body"]
    assert content["body"] == 'Joined <b onclick="x">Bold</b> & **stars** <script>1</script>'


def test_replies_of_every_shape_give_spec_html_and_a_plain_body_without_markup() -> None:
    done = Action("done", 3, "week:2026-11-30").encode()
    shapes = [
        Reply("**Pledges**\n• _Call a neighbour_ — `!done call`\n```\n!pledge list\n```"),
        Reply(
            "Nudge {@1}",
            mentions=(MentionRef(1, "matrix", "@ann:example.org", "Ann <3"),),
            buttons=(Button("Done", done, "✅"), Button("Later", "x", "💤")),
        ),
    ]
    for reply in shapes:
        content = render.safe_message(render.content(reply, msgtype="m.text"))
        assert message_problems(content) == [], content
        edit = render.safe_message(events.replacement("$e", content))
        assert message_problems(edit) == [], edit
    listed = render.content(shapes[0], msgtype="m.notice")
    assert listed["body"].splitlines()[:2] == ["Pledges", "• Call a neighbour — !done call"]


def test_the_check_on_received_messages_catches_what_the_spec_forbids() -> None:
    bad = {
        "msgtype": "m.notice",
        "body": "**Done** {@3}",
        "format": "org.matrix.custom.html",
        "formatted_body": '<font color="red">Done</font><a href="/relative">x</a><p>',
    }
    problems = message_problems(bad)
    assert any("<font>" in p for p in problems)
    assert any("no permitted scheme" in p for p in problems)
    assert any("left open" in p for p in problems)
    assert any("placeholder" in p for p in problems)
    assert any("does not read as the HTML's text" in p for p in problems)
