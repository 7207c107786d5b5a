"""Parse ``ec2`` and ``query`` protocol request parameters into operation params.

The input is the flat form (``Filter.1.Name=…&Filter.1.Value.1=…``); the output is the nested
dict botocore's client was given, keyed by the input shape's member names.  Everything is driven
by the botocore shape: no code per operation.  The two protocols differ only in naming
(:class:`QueryNaming` vs :class:`Ec2Naming`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape, StructureShape

from overcast.core.errors import ParamError

MAX_PARAMS = 20_000          # flat keys in one request
MAX_LIST_INDEX = 100_000     # largest N in ``X.N``
_INT_RE = re.compile(r"-?[0-9]{1,20}\Z")
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INDEX_RE = re.compile(r"[1-9][0-9]{0,5}\Z")  # ASCII digits only: str.isdigit() accepts '²'

# XML 1.0 cannot carry these; accepting them would make the data unreadable later.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _Node:
    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _build_tree(pairs: Iterable[tuple[str, str]]) -> _Node:
    root = _Node()
    count = 0
    for key, value in pairs:
        count += 1
        if count > MAX_PARAMS:
            raise ParamError("range", "", f"Too many parameters (more than {MAX_PARAMS}).")
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.value = value
    return root


class QueryNaming:
    """Names used by the AWS ``query`` protocol (STS, CloudFormation, IAM…)."""

    strict_unknown = False
    relaxed_enums: frozenset[str] = frozenset()
    default_list_member = "member"

    def member_key(self, shape: Shape, default: str) -> str:
        return shape.serialization.get("name", default)

    def list_node(self, shape: Any, node: _Node) -> _Node | None:
        if shape.serialization.get("flattened"):
            return node
        return node.children.get(shape.member.serialization.get("name", self.default_list_member))

    def struct_member_key(self, member_shape: Shape, member_name: str) -> str:
        key = self.member_key(member_shape, member_name)
        if member_shape.type_name == "list" and member_shape.serialization.get("flattened"):
            inner = member_shape.member.serialization.get("name")  # type: ignore[attr-defined]
            if inner:
                return self.member_key(member_shape.member, inner)  # type: ignore[attr-defined]
        return key


class Ec2Naming(QueryNaming):
    """EC2's variant: ``queryName``, capitalised ``locationName``, lists always flattened."""

    strict_unknown = True
    # Enums the service itself accepts more values of than the model lists (AWS answers for
    # ``max-instances`` and friends although the enum names only two attributes).
    relaxed_enums = frozenset({"AccountAttributeName"})

    def member_key(self, shape: Shape, default: str) -> str:
        ser = shape.serialization
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default

    def list_node(self, shape: Any, node: _Node) -> _Node | None:
        return node

    def struct_member_key(self, member_shape: Shape, member_name: str) -> str:
        return self.member_key(member_shape, member_name)


class ParamParser:
    def __init__(self, naming: QueryNaming) -> None:
        self.naming = naming

    def parse(self, shape: StructureShape | None, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
        tree = _build_tree((k, v) for k, v in pairs if k not in ("Action", "Version") and not k.startswith("X-Amz-"))
        if shape is None:
            if tree.children and self.naming.strict_unknown:
                name = sorted(tree.children)[0]
                raise ParamError("unknown", name, f"The parameter {name} is not recognized")
            return {}
        return self._structure(shape, tree, "")

    # -- dispatch on shape type ----------------------------------------------------------------------
    def _parse(self, shape: Shape, node: _Node, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            if node.value is not None:
                raise ParamError("type", path, f"Invalid value for parameter {path}: a structure is expected")
            return self._structure(shape, node, path)  # type: ignore[arg-type]
        if kind == "list":
            return self._list(shape, node, path)
        if kind == "map":
            return self._map(shape, node, path)
        if node.children:
            child = sorted(node.children)[0]
            raise ParamError("unknown", f"{path}.{child}", f"The parameter {path}.{child} is not recognized")
        return self._scalar(shape, node.value or "", path)

    def _structure(self, shape: StructureShape, node: _Node, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        used: set[str] = set()
        for name, member in shape.members.items():
            if member.serialization.get("location") in ("header", "uri", "querystring"):
                continue
            key = self.naming.struct_member_key(member, name)
            child = node.children.get(key)
            if child is None:
                continue
            used.add(key)
            out[name] = self._parse(member, child, f"{path}.{key}" if path else key)
        if self.naming.strict_unknown and len(used) != len(node.children):
            extra = sorted(set(node.children) - used)[0]
            full = f"{path}.{extra}" if path else extra
            raise ParamError("unknown", full, f"The parameter {full} is not recognized")
        for name in shape.required_members:
            if name not in out:
                key = self.naming.struct_member_key(shape.members[name], name)
                full = f"{path}.{key}" if path else key
                raise ParamError("missing", full, f"The request must contain the parameter {full}")
        return out

    def _indexed(self, node: _Node, path: str) -> list[tuple[str, _Node]]:
        """The ``N`` children of ``node`` in index order, as (N as sent, child)."""
        indexed = []
        for key, child in node.children.items():
            if not _INDEX_RE.match(key) or int(key) > MAX_LIST_INDEX:
                raise ParamError("unknown", f"{path}.{key}", f"The parameter {path}.{key} is not recognized")
            indexed.append((int(key), key, child))
        indexed.sort(key=lambda item: item[0])
        return [(key, child) for _, key, child in indexed]

    def _list(self, shape: Any, node: _Node, path: str) -> list[Any]:
        if node.value:  # ``X=`` (the query protocol's empty list) is the only value a list may have
            raise ParamError("type", path, f"Invalid value for parameter {path}: a list is expected")
        if not node.children:
            return []
        items_node = self.naming.list_node(shape, node)
        if items_node is None:
            extra = sorted(node.children)[0]
            raise ParamError("unknown", f"{path}.{extra}", f"The parameter {path}.{extra} is not recognized")
        items_path = path
        if items_node is not node:
            wrapper = shape.member.serialization.get("name", self.naming.default_list_member)
            items_path = f"{path}.{wrapper}"
            if len(node.children) > 1:
                extra = sorted(set(node.children) - {wrapper})[0]
                raise ParamError("unknown", f"{path}.{extra}", f"The parameter {path}.{extra} is not recognized")
        items = [self._parse(shape.member, child, f"{items_path}.{i}")
                 for i, child in self._indexed(items_node, items_path)]
        self._check_size(shape, len(items), path)
        return items

    def _map(self, shape: Any, node: _Node, path: str) -> dict[str, Any]:
        flattened = shape.serialization.get("flattened")
        entries = node if flattened else node.children.get("entry")
        if node.value:
            raise ParamError("type", path, f"Invalid value for parameter {path}: a map is expected")
        if entries is None or (not flattened and len(node.children) > 1):
            if not node.children:
                return {}
            stray = sorted(set(node.children) - {"entry"})[0]
            raise ParamError("unknown", f"{path}.{stray}", f"The parameter {path}.{stray} is not recognized")
        entries_path = path if flattened else f"{path}.entry"
        key_name = self.naming.member_key(shape.key, "key")
        value_name = self.naming.member_key(shape.value, "value")
        out: dict[str, Any] = {}
        for i, entry in self._indexed(entries, entries_path):
            key_node = entry.children.get(key_name)
            if key_node is None:
                raise ParamError("missing", f"{entries_path}.{i}.{key_name}", f"Map entry {entries_path}.{i} has no key")
            extra = set(entry.children) - {key_name, value_name}
            if extra:
                full = f"{entries_path}.{i}.{sorted(extra)[0]}"
                raise ParamError("unknown", full, f"The parameter {full} is not recognized")
            key = self._parse(shape.key, key_node, f"{entries_path}.{i}.{key_name}")
            value_node = entry.children.get(value_name)
            out[key] = self._parse(shape.value, value_node, f"{entries_path}.{i}.{value_name}") if value_node else None
        self._check_size(shape, len(out), path)
        return out

    # -- scalars ---------------------------------------------------------------------------------------
    def _scalar(self, shape: Shape, text: str, path: str) -> Any:
        kind = shape.type_name
        if kind == "string":
            if _BAD_CHARS.search(text):
                raise ParamError("type", path, f"Invalid value for parameter {path}: invalid characters")
            enum = shape.metadata.get("enum")
            if enum and text not in enum and shape.name not in self.naming.relaxed_enums:
                raise ParamError("enum", path, f"Invalid value '{_clip(text)}' for {path}. "
                                               f"Valid values are: {', '.join(enum[:20])}")
            self._check_size(shape, len(text), path)
            return text
        if kind in ("integer", "long"):
            if not _INT_RE.match(text):
                raise ParamError("type", path, f"Invalid value '{_clip(text)}' for {path}: an integer is expected")
            value = int(text)
            self._check_range(shape, value, path)
            return value
        if kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise ParamError("type", path, f"Invalid value '{_clip(text)}' for {path}: true or false is expected")
            return lowered == "true"
        if kind in ("float", "double"):
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise ParamError("type", path, f"Invalid value '{_clip(text)}' for {path}: a number is expected")
            self._check_range(shape, number, path)
            return number
        if kind == "timestamp":
            return parse_timestamp(text, path)
        if kind == "blob":
            try:
                return base64.b64decode(text.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError, ValueError):
                raise ParamError("type", path, f"Invalid value for {path}: base64 is expected") from None
        raise ParamError("type", path, f"Unsupported parameter type {kind} for {path}")

    def _check_range(self, shape: Shape, value: float, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        width = _INT_BOUNDS.get(shape.type_name)
        if width is not None:  # the model's bounds, else the type's own (32- or 64-bit)
            low = width[0] if low is None else low
            high = width[1] if high is None else high
        if (low is not None and value < low) or (high is not None and value > high):
            raise ParamError("range", path, f"Value ({value}) for parameter {path} is invalid. "
                                            f"Expecting a value between {low} and {high}.")

    def _check_size(self, shape: Shape, size: int, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and size < low) or (high is not None and size > high):
            bound = f"at least {low}" if low is not None and size < low else f"at most {high}"
            raise ParamError("range", path, f"Value for parameter {path} must have length {bound}")


def _clip(text: str, size: int = 64) -> str:
    return text if len(text) <= size else text[:size] + "…"


_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z",
               "%Y-%m-%d")


def parse_timestamp(text: str, path: str) -> datetime:
    for fmt in _TS_FORMATS:
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if _INT_RE.match(text) or re.fullmatch(r"[0-9]{1,12}\.[0-9]{1,9}", text):
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise ParamError("type", path, f"Invalid value '{_clip(text)}' for {path}: a timestamp is expected")


EC2_PARSER = ParamParser(Ec2Naming())
QUERY_PARSER = ParamParser(QueryNaming())
