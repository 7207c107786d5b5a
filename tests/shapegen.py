"""Deterministic example values for botocore shapes, for the codec round-trip tests.

``ShapeGen(seed).value(shape)`` builds a value a boto3 user could pass (or a handler could
return) for ``shape``: strings with awkward characters, enum members, numbers and lengths
inside the shape's min/max, lists of 1-3 items, maps of 1-2 entries, blobs as bytes and
timestamps as aware UTC datetimes with whole seconds.  The same seed gives the same value.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.model import Shape

# Characters that break naive form or XML handling: space, & = + / % < > quotes, tab, CR/LF,
# and non-ASCII (2- and 3-byte UTF-8).
AWKWARD = "a b&c=d+e/f%g<h>\"i'\tj\r\nké✓"
_EPOCH = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
_FLOATS = (0.5, 1.25, 3.0, 0.001, 12345.678, 1e-7, 2.5e20, -0.75, -4096.0)


class ShapeGen:
    """Builds one example value per call.

    ``minimal``: only required members (a nested structure with none gets its first member, so
    that it still exists on the wire).  ``empty_lists``: optional lists are empty instead of
    holding items.
    """

    def __init__(self, seed: str, *, minimal: bool = False, empty_lists: bool = False) -> None:
        self.rng = random.Random(seed)
        self.minimal = minimal
        self.empty_lists = empty_lists
        self._counter = 0

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def value(self, shape: Shape, depth: int = 0) -> Any:
        return getattr(self, f"_gen_{shape.type_name}")(shape, depth)

    # -- containers ------------------------------------------------------------------------------------
    def _gen_structure(self, shape: Any, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(shape.required_members)
        names = [name for name, member in shape.members.items()
                 if member.serialization.get("location") not in ("header", "headers", "uri", "querystring",
                                                                  "statusCode")]
        chosen = [n for n in names if n in required] if self.minimal else names
        if not chosen and names and depth > 0:
            chosen = names[:1]
        for name in chosen:
            member = shape.members[name]
            if member.type_name == "list" and self.empty_lists and name not in required \
                    and not member.metadata.get("min"):
                out[name] = []
            else:
                out[name] = self.value(member, depth + 1)
        if depth > 0 and out and all(v == [] for v in out.values()):
            # EC2 sends nothing for an empty list: keep the structure itself on the wire.
            first = next(iter(out))
            out[first] = self.value(shape.members[first], depth + 1)
        return out

    def _count(self, shape: Shape, low_default: int, high_default: int, depth: int) -> int:
        low = max(shape.metadata.get("min", 0), 1)
        high = shape.metadata.get("max", high_default)
        if depth > 6:  # keep deeply nested output shapes small
            high = low
        return max(low, min(self.rng.randint(low_default, high_default), high))

    def _gen_list(self, shape: Any, depth: int) -> list[Any]:
        return [self.value(shape.member, depth + 1) for _ in range(self._count(shape, 1, 3, depth))]

    def _gen_map(self, shape: Any, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        enum = shape.key.metadata.get("enum")
        for i in range(self._count(shape, 1, 2, depth)):
            key = enum[i % len(enum)] if enum else self._string(shape.key, suffix=f"k{i}")
            out[key] = self.value(shape.value, depth + 1)
        return out

    # -- scalars ---------------------------------------------------------------------------------------
    def _string(self, shape: Shape, suffix: str = "") -> str:
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
        n = self._next()
        if not suffix and not low and n % 11 == 0:
            return ""
        start = self.rng.choice((0, 0, 1, 3))  # sometimes lead with a space or '&'
        text = f"{AWKWARD[start: self.rng.randint(start + 1, len(AWKWARD))]}{n}{suffix}"
        if high is not None and len(text) > high:
            text = text[len(text) - high:]  # keep the distinguishing tail
        if len(text) < low:
            text += "x" * (low - len(text))
        return text

    def _gen_string(self, shape: Shape, depth: int) -> str:
        enum = shape.metadata.get("enum")
        if enum:
            return str(self.rng.choice(enum))
        return self._string(shape)

    def _number_bounds(self, shape: Shape, default_high: float) -> tuple[float, float]:
        low = shape.metadata.get("min", -default_high)
        high = shape.metadata.get("max", default_high)
        return low, high

    def _gen_integer(self, shape: Shape, depth: int) -> int:
        low, high = self._number_bounds(shape, 2**31 - 1)
        return int(self.rng.choice([low, high, self.rng.randint(int(low), int(high))]))

    def _gen_long(self, shape: Shape, depth: int) -> int:
        low, high = self._number_bounds(shape, 2**63 - 1)
        return int(self.rng.choice([low, high, self.rng.randint(int(low), int(high))]))

    def _gen_double(self, shape: Shape, depth: int) -> float:
        low, high = self._number_bounds(shape, math.inf)
        candidates = [f for f in _FLOATS if low <= f <= high] or [float(low)]
        return self.rng.choice(candidates)

    _gen_float = _gen_double

    def _gen_boolean(self, shape: Shape, depth: int) -> bool:
        return self._next() % 2 == 0

    def _gen_timestamp(self, shape: Shape, depth: int) -> datetime:
        return _EPOCH + timedelta(seconds=self.rng.randint(-10**9, 10**8))

    def _gen_blob(self, shape: Shape, depth: int) -> bytes:
        low, high = shape.metadata.get("min", 1), shape.metadata.get("max", 40)
        size = max(low, min(self.rng.randint(1, 40), high))
        return bytes(self.rng.randrange(256) for _ in range(size))
