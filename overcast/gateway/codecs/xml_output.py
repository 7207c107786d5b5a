"""Serialize operation results to XML for the ``ec2``, ``query`` and ``rest-xml`` protocols.

Driven by the botocore output shape: the result dict is keyed by member names; element names,
list wrappers (``<item>`` for EC2, ``<member>`` for Query), flattened lists and maps come from
the shape's serialization traits.  Empty lists render as empty elements, ``None`` is omitted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
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


Write = Callable[[Any, str, list[str]], None]      # (value, element name, output parts)


class XmlWriter:
    """Writes results by shape.  ``list_member`` is the default list member element name.

    Each shape is compiled once into a small closure (element names, list/map wrappers and the
    scalar formatter resolved up front) and cached: rendering a 100-item page touches no botocore
    traits at all.
    """

    def __init__(self, list_member: str) -> None:
        self.list_member = list_member
        self._compiled: dict[int, tuple[Shape, Write]] = {}
        self._bodies: dict[int, tuple[Shape, Callable[[dict[str, Any], list[str]], None]]] = {}

    def members(self, shape: Any, value: dict[str, Any], out: list[str]) -> None:
        """Append the members of a structure value (without a wrapping element)."""
        self._body(shape)(value, out)

    def element(self, shape: Any, value: Any, tag: str, out: list[str]) -> None:
        self._writer(shape)(value, tag, out)

    # -- compilation --------------------------------------------------------------------------------
    def _writer(self, shape: Any) -> Write:
        hit = self._compiled.get(id(shape))
        if hit is not None and hit[0] is shape:
            return hit[1]
        fn = self._compile(shape)
        self._compiled[id(shape)] = (shape, fn)   # keeps ``shape`` alive, so its id stays unique
        return fn

    def _body(self, shape: Any) -> Callable[[dict[str, Any], list[str]], None]:
        hit = self._bodies.get(id(shape))
        if hit is not None and hit[0] is shape:
            return hit[1]
        plan: list[tuple[str, str, Write]] | None = None

        def body(value: dict[str, Any], out: list[str]) -> None:
            nonlocal plan
            if plan is None:   # built on first use, so recursive shapes compile
                plan = []
                for name, member in shape.members.items():
                    ser = member.serialization
                    if ser.get("xmlAttribute") or ser.get("location") in ("header", "headers", "statusCode"):
                        continue
                    plan.append((name, ser.get("name", name), self._writer(member)))
            for name, tag, write in plan:
                item = value.get(name)
                if item is not None:
                    write(item, tag, out)

        self._bodies[id(shape)] = (shape, body)
        return body

    def _compile(self, shape: Any) -> Write:
        kind = shape.type_name
        if kind == "structure":
            return self._compile_structure(shape)
        if kind == "list":
            return self._compile_list(shape)
        if kind == "map":
            return self._compile_map(shape)
        if kind == "string":
            def write_string(value: Any, tag: str, out: list[str]) -> None:
                out.append(f"<{tag}>{escape(value if isinstance(value, str) else str(value))}</{tag}>")
            return write_string
        if kind == "boolean":
            def write_bool(value: Any, tag: str, out: list[str]) -> None:
                out.append(f"<{tag}>true</{tag}>" if value else f"<{tag}>false</{tag}>")
            return write_bool
        if kind in ("integer", "long"):
            def write_int(value: Any, tag: str, out: list[str]) -> None:
                out.append(f"<{tag}>{int(value)}</{tag}>")
            return write_int

        def write_scalar(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>{scalar_text(shape, value)}</{tag}>")
        return write_scalar

    def _compile_structure(self, shape: Any) -> Write:
        body = self._body(shape)
        attr_members = [(name, m.serialization["name"], m) for name, m in shape.members.items()
                        if m.serialization.get("xmlAttribute")]
        ns = shape.serialization.get("xmlNamespace")
        static = ""
        if isinstance(ns, dict) and "uri" in ns:
            prefix = ns.get("prefix")
            static = f' xmlns{":" + prefix if prefix else ""}="{ns["uri"]}"'
        if not attr_members:
            def write_plain(value: Any, tag: str, out: list[str]) -> None:
                out.append(f"<{tag}{static}>")
                body(value, out)
                out.append(f"</{tag}>")
            return write_plain

        def write_with_attributes(value: Any, tag: str, out: list[str]) -> None:
            attrs = "".join(f' {xml_name}="{scalar_text(m, value[name])}"' for name, xml_name, m in attr_members
                            if value.get(name) is not None)
            out.append(f"<{tag}{static}{attrs}>")
            body(value, out)
            out.append(f"</{tag}>")
        return write_with_attributes

    def _compile_list(self, shape: Any) -> Write:
        member = shape.member
        item = self._writer(member)
        if shape.serialization.get("flattened"):
            fixed_tag = member.serialization.get("name")

            def write_flat(value: Any, tag: str, out: list[str]) -> None:
                for element in value:
                    item(element, fixed_tag or tag, out)
            return write_flat
        item_tag = member.serialization.get("name", self.list_member)

        def write_list(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>")
            for element in value:
                item(element, item_tag, out)
            out.append(f"</{tag}>")
        return write_list

    def _compile_map(self, shape: Any) -> Write:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        write_key, write_value = self._writer(shape.key), self._writer(shape.value)
        flattened = bool(shape.serialization.get("flattened"))

        def write_map(value: Any, tag: str, out: list[str]) -> None:
            if not flattened:
                out.append(f"<{tag}>")
            for key, item in value.items():
                out.append(f"<{tag}>" if flattened else "<entry>")
                write_key(key, key_tag, out)
                if item is not None:
                    write_value(item, value_tag, out)
                out.append(f"</{tag}>" if flattened else "</entry>")
            if not flattened:
                out.append(f"</{tag}>")
        return write_map


EC2_WRITER = XmlWriter("item")
QUERY_WRITER = XmlWriter("member")
