"""Serialize operation results to XML for the ``ec2``, ``query`` and ``rest-xml`` protocols.

Driven by the botocore output shape: the result dict is keyed by member names; element names,
list wrappers (``<item>`` for EC2, ``<member>`` for Query), flattened lists and maps come from
the shape's serialization traits.  Empty lists render as empty elements, ``None`` is omitted.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

from botocore.model import Shape

XML_ESC_DECL = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
_ESCAPES: dict[int, str] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
                            ord("\r"): "&#13;"}
# Characters XML 1.0 cannot carry (and lone surrogates) become U+FFFD, so a body is always well-formed.
_ESCAPES.update({c: "\ufffd" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF,
                                        *range(0xD800, 0xE000)]})


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def format_timestamp(value: Any, fmt: str | None = None) -> str:
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if fmt == "rfc822":
            return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
        if fmt == "unixTimestamp":
            return str(int(value.timestamp()))
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return str(value)


def scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat"))
    if kind == "blob":
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode("ascii")
    if kind in ("float", "double"):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if kind in ("integer", "long"):
        return str(int(value))
    return escape(str(value))


class XmlWriter:
    """Writes one result.  ``list_member`` is the default list member element name."""

    def __init__(self, list_member: str) -> None:
        self.list_member = list_member

    def members(self, shape: Any, value: dict[str, Any], out: list[str]) -> None:
        """Append the members of a structure value (without a wrapping element)."""
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                continue
            ser = member.serialization
            if ser.get("xmlAttribute") or ser.get("location") in ("header", "headers", "statusCode"):
                continue
            self.element(member, value[name], ser.get("name", name), out)

    def element(self, shape: Any, value: Any, tag: str, out: list[str]) -> None:
        kind = shape.type_name
        if kind == "structure":
            attrs = self._attributes(shape, value)
            out.append(f"<{tag}{attrs}>")
            self.members(shape, value, out)
            out.append(f"</{tag}>")
        elif kind == "list":
            member = shape.member
            if shape.serialization.get("flattened"):
                item_tag = member.serialization.get("name", tag)
                for item in value:
                    self.element(member, item, item_tag, out)
            else:
                item_tag = member.serialization.get("name", self.list_member)
                out.append(f"<{tag}>")
                for item in value:
                    self.element(member, item, item_tag, out)
                out.append(f"</{tag}>")
        elif kind == "map":
            key_tag = shape.key.serialization.get("name", "key")
            value_tag = shape.value.serialization.get("name", "value")
            flattened = shape.serialization.get("flattened")
            if not flattened:
                out.append(f"<{tag}>")
            for key, item in value.items():
                out.append(f"<{tag}>" if flattened else "<entry>")
                self.element(shape.key, key, key_tag, out)
                self.element(shape.value, item, value_tag, out)
                out.append(f"</{tag}>" if flattened else "</entry>")
            if not flattened:
                out.append(f"</{tag}>")
        else:
            out.append(f"<{tag}>{scalar_text(shape, value)}</{tag}>")

    def _attributes(self, shape: Any, value: dict[str, Any]) -> str:
        attrs = []
        for name, member in shape.members.items():
            ser = member.serialization
            if ser.get("xmlAttribute") and value.get(name) is not None:
                attrs.append(f' {ser["name"]}="{scalar_text(member, value[name])}"')
            if ser.get("xmlNamespace") and ser.get("name") is None:
                pass
        ns = shape.serialization.get("xmlNamespace")
        if isinstance(ns, dict) and "uri" in ns:
            prefix = ns.get("prefix")
            attrs.insert(0, f' xmlns{":" + prefix if prefix else ""}="{ns["uri"]}"')
        return "".join(attrs)


EC2_WRITER = XmlWriter("item")
QUERY_WRITER = XmlWriter("member")
