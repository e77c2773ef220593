"""The command parser: quoting, keywords anywhere, pledge names of several words, and fuzzing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import BotConfig, Config
from bot.clock import VirtualClock
from bot.commands import build_registry
from bot.commands.registry import bind, tokenize
from bot.engine.engine import Engine
from bot.errors import UserError
from storage import database

REGISTRY = build_registry()
NEW = REGISTRY.commands[("pledge", "new")]
DONE = REGISTRY.commands[("done",)]
REMIND = REGISTRY.commands[("remind",)]


def test_quotes_group_words_and_apostrophes_stay_inside_words():
    tokens = tokenize('pledge new "Call a neighbour" per week don\'t')
    assert [t.text for t in tokens] == ["pledge", "new", "Call a neighbour", "per", "week", "don't"]
    assert tokens[2].quoted


def test_curly_quotes_work_like_straight_ones():
    assert tokenize("“Knock on doors” per week")[0].text == "Knock on doors"


def test_an_unclosed_quote_is_explained():
    with pytest.raises(UserError, match="quote is not closed"):
        tokenize('"Call a neighbour')


def test_keywords_may_come_in_any_order_after_the_title():
    raw = bind(NEW, tokenize('"Run" until 2026-12-24 remind thu 18:00 times 3 per week'), "!")
    assert raw == {
        "title": "Run",
        "until": "2026-12-24",
        "remind": "thu 18:00",
        "times": "3",
        "per": "week",
    }


def test_an_unquoted_title_stops_at_the_first_keyword():
    raw = bind(NEW, tokenize("Knock on 10 doors per week"), "!")
    assert raw == {"title": "Knock on 10 doors", "per": "week"}


def test_a_pledge_name_of_several_words_is_matched_before_the_note():
    titles = {"attend one local meeting"}

    def span(words: list[str]) -> int:
        for n in range(len(words), 0, -1):
            if " ".join(words[:n]).lower() in titles:
                return n
        return 1

    raw = bind(DONE, tokenize("Attend one local meeting went with Sam"), "!", span)
    assert raw == {"pledge": "Attend one local meeting", "note": "went with Sam"}


def test_a_trailing_delivery_word_is_read_as_the_choice():
    raw = bind(REMIND, tokenize("1 thu 18:00 dm"), "!")
    assert raw == {"pledge": "1", "slot": "thu 18:00", "delivery": "dm"}


def test_usage_is_generated_from_the_declaration():
    assert NEW.usage() == (
        '!pledge new <title> [times <N>] [per day|week|month] [remind <"<day> <HH:MM>">] '
        "[until <YYYY-MM-DD>]"
    )


@pytest.fixture(scope="module")
def loop_and_engine() -> Iterator[tuple[asyncio.AbstractEventLoop, Engine]]:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(database.migrate("sqlite://:memory:", keep_open=True))
    # The rate limit would rightly silence a fuzzer; the parser is what is under test here.
    config = Config(bot=BotConfig(commands_per_minute=0))
    engine = build_engine(config, VirtualClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)))
    actor = Actor("console", "fuzz", "fuzz", is_admin=True)
    place = Place("console", "fuzzroom", "fuzz")
    loop.run_until_complete(engine.handle_text(actor, place, '!pledge new "Call a neighbour"', "s"))
    yield loop, engine
    loop.run_until_complete(database.close_database())
    loop.close()


WORDS = st.sampled_from(
    [
        "!pledge",
        "new",
        "list",
        "join",
        "done",
        "undo",
        "skip",
        "vouch",
        "streak",
        "remind",
        "offline",
        "me",
        "timezone",
        "settings",
        "per",
        "times",
        "until",
        "remind",
        "week",
        "day",
        '"',
        "'",
        "“",
        "1",
        "0",
        "-3",
        "99999999999",
        "call",
        "thu",
        "25:99",
        "18:00",
        "@fuzz",
        "<@1>",
        "2026-02-30",
        "3d",
        "2h30m",
        "Europe/Berlin",
        "\x00",
        "\u202e",
        "@everyone",
        "!help",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.lists(WORDS, max_size=8).map(" ".join), st.text(max_size=80)))
def test_any_input_gets_a_reply_and_never_an_internal_error(
    loop_and_engine: tuple[asyncio.AbstractEventLoop, Engine], text: str
):
    loop, engine = loop_and_engine
    actor = Actor("console", "fuzz", "fuzz", is_admin=True)
    place = Place("console", "fuzzroom", "fuzz")
    line = text if text.startswith("!") else "!" + text
    reply = loop.run_until_complete(engine.handle_text(actor, place, line, f"e{hash(line)}"))
    assert reply is not None
    assert reply.text.strip()
    assert "something went wrong" not in reply.text, (line, reply.text)
