"""A small, strict RFC 5545 reader written for the tests, independent of the `icalendar` package that writes the
feeds: CRLF line endings only, content lines of at most 75 octets, unfolding of CRLF + one space or tab, properly
nested BEGIN/END, quoted parameter values, TEXT unescaping, and the properties a calendar and an event must carry.
Anything else raises IcsError, so a feed that only `icalendar` itself could read fails the tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

NAME = re.compile(r"[A-Za-z0-9-]+\Z")
PARAM_VALUE = re.compile(r'"[^"\x00-\x08\x0a-\x1f\x7f]*"|[^";:,\x00-\x08\x0a-\x1f\x7f]*')


class IcsError(ValueError):
    pass


@dataclass
class Component:
    name: str
    properties: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[tuple[dict[str, list[str]], str]]:
        return [(params, value) for n, params, value in self.properties if n == name.upper()]

    def one(self, name: str) -> tuple[dict[str, list[str]], str]:
        found = self.all(name)
        if len(found) != 1:
            raise IcsError(f"{self.name} has {len(found)} {name} properties, wants exactly one")
        return found[0]

    def value(self, name: str) -> str:
        return self.one(name)[1]

    def text(self, name: str) -> str:
        return unescape_text(self.value(name))

    def date(self, name: str) -> dt.date:
        params, value = self.one(name)
        if params.get("VALUE") != ["DATE"] or not re.fullmatch(r"\d{8}", value):
            raise IcsError(f"{name} is not a DATE value: {params} {value!r}")
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))


def unescape_text(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\;,nN":
                raise IcsError(f"bad escape in TEXT {value!r}")
            out.append("\n" if value[i + 1] in "nN" else value[i + 1])
            i += 2
            continue
        if ch in ";,":  # RFC 5545 §3.3.11: a single TEXT value escapes its commas and semicolons
            raise IcsError(f"unescaped {ch!r} in TEXT {value!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def unfold(data: bytes) -> list[str]:
    if not data.endswith(b"\r\n"):
        raise IcsError("the stream must end with CRLF")
    physical = data[:-2].split(b"\r\n")
    for number, line in enumerate(physical, 1):
        if b"\n" in line or b"\r" in line:
            raise IcsError(f"line {number}: a bare LF or CR; RFC 5545 lines end with CRLF")
        if len(line) > 75:
            raise IcsError(f"line {number} is {len(line)} octets long, over the limit of 75")
    logical: list[bytes] = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            if not logical:
                raise IcsError("a continuation line before any content line")
            logical[-1] += line[1:]
        else:
            logical.append(line)
    try:
        return [line.decode("utf-8") for line in logical]
    except UnicodeDecodeError as exc:
        raise IcsError(f"not UTF-8: {exc}") from None


def content_line(line: str) -> tuple[str, dict[str, list[str]], str]:
    head_end = None
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head_end = i
            break
    if head_end is None:
        raise IcsError(f"no ':' in content line {line!r}")
    head, value = line[:head_end], line[head_end + 1:]
    parts, current, quoted = [], "", False
    for ch in head:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    name = parts[0]
    if not NAME.match(name):
        raise IcsError(f"bad property name {name!r}")
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        key, sep, raw = part.partition("=")
        if not sep or not NAME.match(key):
            raise IcsError(f"bad parameter {part!r} in {line!r}")
        values, rest = [], raw
        while True:
            match = PARAM_VALUE.match(rest)
            values.append(match.group(0).strip('"'))
            rest = rest[match.end():]
            if not rest:
                break
            if rest[0] != ",":
                raise IcsError(f"bad parameter value {raw!r}")
            rest = rest[1:]
        params[key.upper()] = values
    return name.upper(), params, value


def parse(data: bytes) -> Component:
    """The VCALENDAR of an iCalendar stream, checked strictly."""
    stack: list[Component] = []
    root: Component | None = None
    for line in unfold(data):
        name, params, value = content_line(line)
        if name == "BEGIN":
            component = Component(value.upper())
            if stack:
                stack[-1].children.append(component)
            elif root is not None:
                raise IcsError("content after the end of the calendar")
            else:
                root = component
            stack.append(component)
        elif name == "END":
            if not stack or stack[-1].name != value.upper():
                raise IcsError(f"END:{value} does not close {stack[-1].name if stack else 'anything'}")
            stack.pop()
        elif not stack:
            raise IcsError(f"{name} outside any component")
        else:
            stack[-1].properties.append((name, params, value))
    if stack or root is None or root.name != "VCALENDAR":
        raise IcsError("the stream is not one complete VCALENDAR")
    if root.value("VERSION") != "2.0":
        raise IcsError("VERSION must be 2.0")
    root.one("PRODID")
    for event in root.children:
        if event.name == "VEVENT":
            event.one("UID")
            event.one("DTSTAMP")
            event.one("DTSTART")
    return root


def events(data: bytes) -> list[Component]:
    return [c for c in parse(data).children if c.name == "VEVENT"]
