"""Which EC2 resource an id names, and whether it exists in an account.

Each resource family registers its kind once (``register``); tags, ``DescribeTags`` and
anything else that takes "any resource id" look kinds up here by id prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .errors import InvalidParameterValue, NotFound


@dataclass(frozen=True)
class ResourceKind:
    prefix: str                 # "key", "i", "vpc" …
    type_name: str              # DescribeTags ResourceType: "key-pair", "instance", "vpc" …
    not_found_code: str         # "InvalidKeyPair.NotFound" …
    exists: Callable[[Session, str, str], bool]   # (session, account_id, resource_id)


_KINDS: dict[str, ResourceKind] = {}


def register(kind: ResourceKind) -> None:
    _KINDS[kind.prefix] = kind


def kind_of(resource_id: str) -> ResourceKind:
    prefix, sep, rest = resource_id.rpartition("-")
    kind = _KINDS.get(prefix) if sep else None
    if kind is None or not rest or not all(c in "0123456789abcdef" for c in rest):
        raise InvalidParameterValue(f"Invalid id: \"{resource_id}\"", code="InvalidID")
    return kind


def require(session: Session, account_id: str, resource_id: str) -> ResourceKind:
    kind = kind_of(resource_id)
    if not kind.exists(session, account_id, resource_id):
        raise NotFound(f"The {kind.type_name} ID '{resource_id}' does not exist", code=kind.not_found_code)
    return kind


def type_names() -> list[str]:
    return sorted(k.type_name for k in _KINDS.values())
