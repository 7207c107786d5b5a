"""``MaxResults`` / ``NextToken`` paging over an ordered result list.

Tokens are opaque to clients: an offset bound to the operation that issued it, signed so that a
forged or foreign token is refused with ``InvalidPaginationToken``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import TypeVar

from .errors import InvalidParameterValue

T = TypeVar("T")
_KEY = secrets.token_bytes(32)   # replaced by a key derived from the host key (tokens survive restarts)


def set_key(key: bytes) -> None:
    global _KEY
    _KEY = key


def _sign(payload: bytes) -> str:
    return hmac.new(_KEY, payload, hashlib.sha256).hexdigest()[:16]


def make_token(scope: str, offset: int) -> str:
    payload = json.dumps({"s": scope, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + b"." + _sign(payload).encode()).decode().rstrip("=")


def read_token(scope: str, token: str) -> int:
    bad = InvalidParameterValue("The specified pagination token is not valid or is expired.",
                                code="InvalidPaginationToken")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, _, sig = raw.rpartition(b".")
        if not hmac.compare_digest(sig.decode(), _sign(payload)):
            raise bad
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("o"), int) or data["o"] < 0:
        raise bad
    return data["o"]


def paginate(items: Sequence[T], max_results: int | None, next_token: str | None, scope: str,
             default_page: int | None = None) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token for the next page (``None`` when this is the last)."""
    start = read_token(scope, next_token) if next_token else 0
    size = max_results or default_page
    if size is None:
        return list(items[start:]), None
    page = list(items[start:start + size])
    following = start + size
    return page, make_token(scope, following) if following < len(items) else None
