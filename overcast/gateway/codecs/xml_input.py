"""Read XML request bodies safely and turn them into shape-keyed dicts (rest-xml payloads).

No DTDs, no entities, no network, bounded size and depth: XML bombs and XXE are refused.  Every
failure is a :class:`MalformedXML` (400); nothing else escapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.model import Shape
from lxml import etree

from overcast.core.errors import AWSError, ParamError

from .query_params import ParamParser, QueryNaming, parse_timestamp

MAX_XML_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
_DEEP_PATH = "/".join(["*"] * MAX_DEPTH)   # an element nested MAX_DEPTH levels below the root


class MalformedXML(AWSError):
    code = "MalformedXML"
    message_default = "The XML you provided was not well-formed or did not validate against our published schema."

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.message_default)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True, recover=False)


def parse_document(body: bytes) -> etree._Element:
    """The root element of ``body``; refuses DTDs (so entities), huge and deeply nested documents."""
    if len(body) > MAX_XML_BYTES:
        raise MalformedXML("The XML document is too large.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedXML("DTDs and entities are not allowed.")
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, etree.ParserError, ValueError, TypeError):
        raise MalformedXML() from None
    if root is None:
        raise MalformedXML()
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MalformedXML("DTDs and entities are not allowed.")  # e.g. a UTF-16 body the byte check missed
    if root.find(_DEEP_PATH) is not None:
        raise MalformedXML("The XML document is nested too deeply.")
    if any(not isinstance(node.tag, str) for node in root.iter()):
        raise MalformedXML("DTDs and entities are not allowed.")  # entity references, whatever their origin
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_SCALARS = ParamParser(QueryNaming())


def element_to_value(shape: Any, elem: etree._Element, path: str = "", depth: int = 0) -> Any:
    """The value of ``elem`` read as ``shape`` (a structure's members bound to the URI, query
    string or headers are skipped: they are not in the body)."""
    try:
        return _value(shape, elem, path or _local(elem.tag), depth)
    except ParamError:
        raise MalformedXML() from None
    except RecursionError:
        raise MalformedXML("The XML document is nested too deeply.") from None


def _value(shape: Any, elem: etree._Element, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedXML("The XML document is nested too deeply.")
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, elem, path, depth)
    if kind == "list":
        item_tag = shape.member.serialization.get("name")
        return [_value(shape.member, child, f"{path}.{_local(child.tag)}", depth + 1) for child in elem
                if item_tag is None or _local(child.tag) == item_tag]
    if kind == "map":
        return _map(shape, list(elem), path, depth)
    if len(elem):
        raise MalformedXML()  # a scalar with child elements
    text = elem.text or ""
    if kind == "string":
        return _SCALARS._scalar(shape, text, path)
    if kind == "timestamp":
        return timestamp_from_text(text, path)
    return _SCALARS._scalar(shape, text.strip(), path)


def _structure(shape: Any, elem: etree._Element, path: str, depth: int) -> dict[str, Any]:
    by_name: dict[str, list[etree._Element]] = {}
    for child in elem:
        by_name.setdefault(_local(child.tag), []).append(child)
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        ser = member.serialization
        if ser.get("location") is not None:
            continue
        tag = ser.get("name", name)
        if ser.get("xmlAttribute"):
            local = tag.split(":")[-1]
            for attr, value in elem.attrib.items():
                if _local(attr) == local:
                    out[name] = _SCALARS._scalar(member, value, f"{path}@{tag}")
            continue
        if member.type_name in ("list", "map") and ser.get("flattened"):
            # botocore's client names flattened items after the member; the model may name the
            # list member: accept both (in document order)
            inner = member.member.serialization.get("name") if member.type_name == "list" else None
            items = [c for c in elem if _local(c.tag) in (tag, inner)]
            if items:
                if member.type_name == "list":
                    out[name] = [_value(member.member, i, f"{path}.{tag}", depth + 1) for i in items]
                else:
                    out[name] = _map(member, items, f"{path}.{tag}", depth)
            continue
        found = by_name.get(tag)
        if found:
            out[name] = _value(member, found[-1], f"{path}.{tag}", depth + 1)
    for name in shape.required_members:
        if name not in out and shape.members[name].serialization.get("location") is None:
            raise MalformedXML()
    return out


def _map(shape: Any, entries: list[etree._Element], path: str, depth: int) -> dict[str, Any]:
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    result: dict[str, Any] = {}
    for entry in entries:
        parts = {_local(c.tag): c for c in entry}
        if key_tag not in parts:
            raise MalformedXML()
        key = _value(shape.key, parts[key_tag], f"{path}.{key_tag}", depth + 1)
        value = parts.get(value_tag)
        result[key] = _value(shape.value, value, f"{path}.{value_tag}", depth + 1) if value is not None else None
    return result


def scalar_from_text(shape: Shape, text: str, path: str) -> Any:
    if shape.type_name == "timestamp":
        return timestamp_from_text(text, path)
    return _SCALARS._scalar(shape, text, path)


def timestamp_from_text(text: str, path: str) -> datetime:
    """A timestamp in any format the model allows (``timestampFormat`` may be set per member):
    RFC 822 (``Thu, 01 Jan 1970 00:00:05 GMT``), ISO 8601 or epoch seconds.  Raises ParamError."""
    stripped = text.strip()
    if stripped[:1].isalpha():
        try:
            value = parsedate_to_datetime(stripped)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
        else:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return parse_timestamp(stripped, path)
