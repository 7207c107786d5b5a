"""Read XML request bodies safely and turn them into shape-keyed dicts (rest-xml payloads).

No DTDs, no entities, no network, bounded size and depth: XML bombs and XXE are refused.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape
from lxml import etree

from overcast.core.errors import AWSError, ParamError

from .query_params import ParamParser, QueryNaming

MAX_XML_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64


class MalformedXML(AWSError):
    code = "MalformedXML"
    message_default = "The XML you provided was not well-formed or did not validate against our published schema."

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.message_default)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def parse_document(body: bytes) -> etree._Element:
    if len(body) > MAX_XML_BYTES:
        raise MalformedXML("The XML document is too large.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedXML("DTDs and entities are not allowed.")
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise MalformedXML() from None
    if root is None:
        raise MalformedXML()
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_SCALARS = ParamParser(QueryNaming())


def element_to_value(shape: Any, elem: etree._Element, path: str = "", depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedXML("The XML document is nested too deeply.")
    kind = shape.type_name
    if kind == "structure":
        by_name: dict[str, list[etree._Element]] = {}
        for child in elem:
            by_name.setdefault(_local(child.tag), []).append(child)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            ser = member.serialization
            if ser.get("xmlAttribute"):
                key = ser.get("name", name)
                for attr, value in elem.attrib.items():
                    if _local(attr) == key.split(":")[-1]:
                        out[name] = value
                continue
            tag = ser.get("name", name)
            if member.type_name == "list" and ser.get("flattened"):
                tag = member.member.serialization.get("name", tag)
                items = by_name.get(tag)
                if items:
                    out[name] = [element_to_value(member.member, i, f"{path}.{tag}", depth + 1) for i in items]
                continue
            found = by_name.get(tag)
            if found:
                out[name] = element_to_value(member, found[-1], f"{path}.{tag}", depth + 1)
        for name in shape.required_members:
            if name not in out:
                raise MalformedXML()
        return out
    if kind == "list":
        return [element_to_value(shape.member, child, path, depth + 1) for child in elem
                if isinstance(child.tag, str)]
    if kind == "map":
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        for entry in elem:
            parts = {_local(c.tag): c for c in entry}
            if key_tag in parts:
                key = element_to_value(shape.key, parts[key_tag], path, depth + 1)
                value = parts.get(value_tag)
                result[key] = element_to_value(shape.value, value, path, depth + 1) if value is not None else None
        return result
    text = (elem.text or "").strip() if kind != "string" else (elem.text or "")
    try:
        return scalar_from_text(shape, text, path or _local(elem.tag))
    except ParamError:
        raise MalformedXML() from None


def scalar_from_text(shape: Shape, text: str, path: str) -> Any:
    return _SCALARS._scalar(shape, text, path)
