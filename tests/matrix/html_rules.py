"""The Matrix spec's rules for `org.matrix.custom.html`, checked on what the bot really sent.

Written from the spec (Client-Server API, "m.room.message msgtypes"; matrix-org/matrix-spec
content/client-server-api/modules/instant_messaging.md), on purpose not imported from the
adapter's sanitiser: a mistake in one is caught by the other.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

SPEC_TAGS = {
    "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
    "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead",
    "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details", "summary",
}  # fmt: skip
SPEC_ATTRIBUTES = {
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"},
    "a": {"target", "href"},
    "img": {"width", "height", "alt", "title", "src"},
    "ol": {"start"},
    "code": {"class"},
    "div": {"data-mx-maths"},
}
SPEC_SCHEMES = ("https://", "http://", "ftp://", "mailto:", "magnet:")
VOID = {"br", "hr", "img"}
_PLACEHOLDER = re.compile(r"\{@\d+\}")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SPEC_TAGS:
            self.problems.append(f"<{tag}> is not in the spec's list")
        for name, value in attrs:
            if name not in SPEC_ATTRIBUTES.get(tag, set()):
                self.problems.append(f"<{tag} {name}> is not a permitted attribute")
            elif tag == "a" and name == "href" and not (value or "").startswith(SPEC_SCHEMES):
                self.problems.append(f"<a href={value!r}> has no permitted scheme")
            elif tag == "img" and name == "src" and not (value or "").startswith("mxc://"):
                self.problems.append(f"<img src={value!r}> is not an mxc:// URI")
            elif tag == "code" and name == "class" and not (value or "").startswith("language-"):
                self.problems.append(f"<code class={value!r}> is not a language- class")
        if tag == "br":
            self.text.append("\n")
        if tag not in VOID:
            self.open.append(tag)
            if len(self.open) > 100:
                self.problems.append("tags nested more than 100 levels deep")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open {self.open[-1:]}")
            return
        self.open.pop()

    def finish(self) -> list[str]:
        self.close()
        if self.open:
            self.problems.append(f"left open: {self.open}")
        return self.problems


def _checked(formatted_body: str) -> _Checker:
    checker = _Checker()
    checker.feed(formatted_body)
    checker.finish()
    return checker


def html_problems(formatted_body: str) -> list[str]:
    return _checked(formatted_body).problems


def _words(text: str) -> str:
    return " ".join(text.split())


def message_problems(content: dict[str, Any]) -> list[str]:
    """What in an `m.room.message` content breaks the spec's HTML rules or reads badly as text."""
    problems: list[str] = []
    body = content.get("body")
    if not isinstance(body, str) or not body.strip():
        return ["no plain body"]
    if _PLACEHOLDER.search(body):
        problems.append(f"a mention placeholder in the plain body: {body!r}")
    if "formatted_body" in content:
        if content.get("format") != "org.matrix.custom.html":
            problems.append(f"formatted_body with format {content.get('format')!r}")
        checked = _checked(str(content["formatted_body"]))
        problems += checked.problems
        # A text-only client shows `body`: it must say what the HTML says, word for word,
        # with no markup of its own (no `**`, no tags, no placeholders).
        if _words(body) != _words("".join(checked.text)):
            problems.append(f"body {body!r} does not read as the HTML's text")
    new = content.get("m.new_content")
    if isinstance(new, dict):
        problems += [f"m.new_content: {p}" for p in message_problems(new)]
    return problems
