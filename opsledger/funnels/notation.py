"""The one-line notation for funnel steps and exclusions on the command line.

::

    steps      := step ("," step)*
    step       := name ["[" filter ("," filter)* "]"]
    filter     := property "=" value
    exclusion  := step ":" FROM "-" TO

``pageview[$current_url=/cart],checkout`` is a ``pageview`` whose ``$current_url`` property is
``/cart``, then a ``checkout``. A name, property or value holding ``,`` ``[`` ``]`` ``=`` or
``:`` is written in double quotes (``\\"`` and ``\\\\`` inside): ``search[q="shoes, red"]``.
Values are compared as text, which is how the engine compares every property (``plan=10`` matches
the JSON number 10 and the string "10" alike).
"""

from __future__ import annotations

import re
from typing import Any

_RANGE = re.compile(r"^(?P<body>.*):\s*(?P<from>\d+)\s*-\s*(?P<to>\d+)\s*$", re.DOTALL)


class _Scanner:
    def __init__(self, text: str, what: str) -> None:
        self.text, self.what, self.at = text, what, 0

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.what} {self.text!r}: {problem} at character {self.at + 1}")

    def peek(self) -> str:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1
        return self.text[self.at] if self.at < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.at += 1

    def word(self, stops: str, label: str) -> str:
        if self.peek() == '"':
            return self._quoted()
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in stops:
            self.at += 1
        word = self.text[start : self.at].strip()
        if not word:
            raise self.fail(f"expected {label}")
        return word

    def _quoted(self) -> str:
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == '"':
                return "".join(out)
            if char == "\\" and self.at < len(self.text):
                char = self.text[self.at]
                self.at += 1
            out.append(char)
        raise self.fail("unclosed quote")

    def step(self) -> dict[str, Any]:
        event = self.word(",[]", "an event name")
        properties: dict[str, str] = {}
        if self.peek() == "[":
            self.at += 1
            while True:
                key = self.word("=,]", "a property name")
                self.expect("=")
                if key in properties:
                    raise self.fail(f"property {key!r} given twice")
                properties[key] = self.word(",]", f"a value for {key}")
                if self.peek() == "]":
                    self.at += 1
                    break
                self.expect(",")
        return {"event": event, "properties": properties}


def parse_steps(text: str) -> list[dict[str, Any]]:
    """``'a[k=v],b'`` → ``[{"event": "a", "properties": {"k": "v"}}, {"event": "b", ...}]``."""
    scanner = _Scanner(text, "steps")
    steps = [scanner.step()]
    while scanner.peek() == ",":
        scanner.at += 1
        steps.append(scanner.step())
    if scanner.peek():
        raise scanner.fail("expected ',' between steps")
    return steps


def parse_exclusion(text: str) -> dict[str, Any]:
    """``'logout[plan=free]:1-2'`` → event, properties, from_step and to_step."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(
            f"exclusion {text!r}: expected EVENT:FROM-TO (the event may carry [PROPERTY=VALUE,…]), "
            "e.g. logout:1-2 or logout[plan=free]:1-2"
        )
    scanner = _Scanner(match["body"], "exclusion")
    step = scanner.step()
    if scanner.peek():
        raise scanner.fail("expected ':' after the exclusion's event")
    return {**step, "from_step": int(match["from"]), "to_step": int(match["to"])}
