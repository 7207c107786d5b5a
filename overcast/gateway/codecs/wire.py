"""Plain data passed between the HTTP edge and the codecs (no web framework in here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class WireRequest:
    method: str
    path: str                                   # decoded path
    query: list[tuple[str, str]]                # decoded query pairs, in order
    headers: dict[str, str]                     # lowercase names
    body: bytes = b""
    host: str = ""


@dataclass
class WireResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None  # used instead of ``body`` for streamed payloads
