"""Discord's published limits for a message or a modal, checked on every payload the peer takes.

From Discord's OpenAPI spec (github.com/discord/discord-api-spec, specs/openapi.json:
MessageCreateRequest, ContainerComponentForMessageRequest, SectionComponentForMessageRequest,
TextDisplayComponentForMessageRequest, ButtonComponentForMessageRequest,
ActionRowComponentForMessageRequest, LabelComponentForModalRequest,
TextInputComponentForModalRequest, RadioGroupComponentForModalRequest) and the components
reference: with IS_COMPONENTS_V2 (1 << 15) a message has no content or embeds, at most 40
components in all (nested ones counted) and at most 4,000 characters of text display; a
custom_id is 1-100 characters and unique within the message.
"""

from __future__ import annotations

from typing import Any

from .state import IS_COMPONENTS_V2, TEXT_DISPLAY

MAX_COMPONENTS = 40
MAX_TEXT_DISPLAY = 4000
MAX_CONTENT = 2000
MAX_CUSTOM_ID = 100
MAX_LABEL = 80

ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
SECTION, THUMBNAIL, MEDIA_GALLERY, FILE, SEPARATOR = 9, 11, 12, 13, 14
CONTAINER, LABEL, RADIO_GROUP = 17, 18, 21
V2_ONLY = {SECTION, TEXT_DISPLAY, THUMBNAIL, MEDIA_GALLERY, FILE, SEPARATOR, CONTAINER}
TOP_V2 = {ACTION_ROW, SECTION, TEXT_DISPLAY, MEDIA_GALLERY, FILE, SEPARATOR, CONTAINER}
IN_CONTAINER = {ACTION_ROW, SECTION, TEXT_DISPLAY, MEDIA_GALLERY, FILE, SEPARATOR}
IN_ROW = {BUTTON, STRING_SELECT, 5, 6, 7, 8}


def _children(comp: dict[str, Any]) -> list[dict[str, Any]]:
    kids = list(comp.get("components") or [])
    for key in ("accessory", "component"):
        if isinstance(comp.get(key), dict):
            kids.append(comp[key])
    return kids


def _walk(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for comp in components:
        out.append(comp)
        out.extend(_walk(_children(comp)))
    return out


def message_problems(body: dict[str, Any]) -> list[str]:
    """What Discord would refuse in a message create/edit body (empty when it is fine)."""
    problems: list[str] = []
    flags = int(body.get("flags") or 0)
    components = list(body.get("components") or [])
    every = _walk(components)
    if flags & IS_COMPONENTS_V2:
        if body.get("content"):
            problems.append("IS_COMPONENTS_V2 message with content")
        if body.get("embeds"):
            problems.append("IS_COMPONENTS_V2 message with embeds")
        if len(every) > MAX_COMPONENTS:
            problems.append(f"{len(every)} components, more than {MAX_COMPONENTS}")
        text = sum(len(c.get("content") or "") for c in every if c.get("type") == TEXT_DISPLAY)
        if text > MAX_TEXT_DISPLAY:
            problems.append(f"{text} characters of text display, more than {MAX_TEXT_DISPLAY}")
        problems += [f"type {c['type']} at the top" for c in components if c["type"] not in TOP_V2]
    else:
        if len(body.get("content") or "") > MAX_CONTENT:
            problems.append(f"content longer than {MAX_CONTENT}")
        if len(components) > 5:
            problems.append("more than 5 action rows")
        problems += [
            f"components v2 type {c['type']} without IS_COMPONENTS_V2"
            for c in every
            if c.get("type") in V2_ONLY
        ]
        problems += [f"type {c['type']} at the top" for c in components if c["type"] != ACTION_ROW]
    problems += _shape_problems(every)
    return problems


def _shape_problems(every: list[dict[str, Any]], modal: bool = False) -> list[str]:
    in_row = IN_ROW | {TEXT_INPUT} if modal else IN_ROW
    problems: list[str] = []
    seen: set[str] = set()
    for comp in every:
        kind = comp.get("type")
        custom_id = comp.get("custom_id")
        if custom_id is not None:
            if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
                problems.append(f"custom_id of {len(custom_id)} characters: {custom_id[:40]}")
            if custom_id in seen:
                problems.append(f"custom_id used twice: {custom_id}")
            seen.add(custom_id)
        if kind == BUTTON and len(comp.get("label") or "") > MAX_LABEL:
            problems.append(f"button label longer than {MAX_LABEL}")
        if kind == ACTION_ROW:
            kids = comp.get("components") or []
            if not 1 <= len(kids) <= 5:
                problems.append(f"action row with {len(kids)} components")
            problems += [
                f"type {k['type']} in an action row" for k in kids if k["type"] not in in_row
            ]
        if kind == SECTION:
            texts = comp.get("components") or []
            if not 1 <= len(texts) <= 3 or any(t.get("type") != TEXT_DISPLAY for t in texts):
                problems.append("a section holds 1-3 text displays")
            if (comp.get("accessory") or {}).get("type") not in (BUTTON, THUMBNAIL):
                problems.append("a section needs a button or thumbnail accessory")
        if kind == CONTAINER:
            kids = comp.get("components") or []
            if not kids:
                problems.append("an empty container")
            problems += [
                f"type {k['type']} in a container" for k in kids if k["type"] not in IN_CONTAINER
            ]
        if kind == TEXT_DISPLAY and not comp.get("content"):
            problems.append("an empty text display")
    return problems


def modal_problems(data: dict[str, Any]) -> list[str]:
    """What Discord would refuse in a MODAL (type 9) callback's data."""
    problems: list[str] = []
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("a modal title is 1-45 characters")
    if not 1 <= len(data.get("custom_id") or "") <= MAX_CUSTOM_ID:
        problems.append("a modal custom_id is 1-100 characters")
    top = list(data.get("components") or [])
    if not 1 <= len(top) <= 5:
        problems.append(f"a modal holds 1-5 components, not {len(top)}")
    for comp in top:
        if comp["type"] == LABEL:
            if not 1 <= len(comp.get("label") or "") <= 45:
                problems.append("a label is 1-45 characters")
            if len(comp.get("description") or "") > 100:
                problems.append("a label's description is at most 100 characters")
            inner = comp.get("component") or {}
            if inner.get("type") not in (
                TEXT_INPUT,
                STRING_SELECT,
                RADIO_GROUP,
                5,
                6,
                7,
                8,
                19,
                22,
                23,
            ):
                problems.append(f"type {inner.get('type')} in a label")
            if len(inner.get("label") or "") > 45:
                problems.append("a text input's label is at most 45 characters")
            if inner.get("type") == RADIO_GROUP and not 2 <= len(inner.get("options") or []) <= 10:
                problems.append("a radio group has 2-10 options")
        elif comp["type"] not in (ACTION_ROW, TEXT_DISPLAY):
            problems.append(f"type {comp['type']} at the top of a modal")
    problems += _shape_problems(_walk(top), modal=True)
    return problems
