"""Request signing between the S3 front and the object nodes.

Every request carries ``X-Overcast-Date`` (unix seconds) and ``X-Overcast-Auth``, the hex
HMAC-SHA256 of ``f"{METHOD}\\n{path}\\n{date}"`` under the cluster's node secret, where ``path`` is
the raw URL path.  A node accepts a signature within :data:`MAX_SKEW` seconds of its clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from pathlib import Path

DATE_HEADER = "X-Overcast-Date"
AUTH_HEADER = "X-Overcast-Auth"
MAX_SKEW = 300


def _signature(secret: bytes, method: str, path: str, date: str) -> str:
    message = f"{method.upper()}\n{path}\n{date}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, method: str, path: str, now: float | None = None) -> dict[str, str]:
    """The two headers that authenticate ``method path`` at time ``now`` (default: the clock)."""
    date = str(int(time.time() if now is None else now))
    return {DATE_HEADER: date, AUTH_HEADER: _signature(secret, method, path, date)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def verify(secret: bytes, method: str, path: str, headers: Mapping[str, str], now: float | None = None) -> bool:
    """True when ``headers`` carry a valid, fresh signature of ``method path``."""
    date, given = _header(headers, DATE_HEADER), _header(headers, AUTH_HEADER)
    if not date or not given or not date.isascii() or not date.isdigit() or len(date) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(date)) > MAX_SKEW:
        return False
    expected = _signature(secret, method, path, date).encode()
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))


def read_secret(path: str | Path) -> bytes:
    """The node secret stored in ``path`` (surrounding whitespace ignored); never empty."""
    secret = Path(path).read_bytes().strip()
    if not secret:
        raise ValueError(f"node secret file {path} is empty")
    return secret
