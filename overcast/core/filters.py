"""EC2-style ``Filter.N.Name`` / ``Filter.N.Value.M`` matching, shared by every Describe call.

Values match exactly or with ``*`` (any run) and ``?`` (one character) wildcards; ``\\*`` and
``\\?`` are literal.  Values of one filter are OR-ed, filters are AND-ed.  ``tag:<key>``,
``tag-key`` and ``tag-value`` work for every resource that has tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from .errors import InvalidParameterValue

T = TypeVar("T")
Getter = Callable[[Any], object]


@lru_cache(maxsize=4096)
def _pattern(value: str) -> re.Pattern[str] | str:
    if "*" not in value and "?" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def value_matches(actual: str, wanted: str) -> bool:
    pattern = _pattern(wanted)
    if isinstance(pattern, str):
        return actual == pattern
    return pattern.match(actual) is not None


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [s for v in value for s in _as_strings(v)]


def apply_filters(items: Sequence[T], filters: Sequence[Mapping[str, Any]] | None,
                  getters: Mapping[str, Getter], tags_of: Callable[[T], Mapping[str, str]] | None = None) -> list[T]:
    """The items that match every filter.  Unknown filter names raise ``InvalidParameterValue``."""
    if not filters:
        return list(items)
    checks: list[Callable[[T], bool]] = []
    for flt in filters:
        name = flt.get("Name")
        values = list(flt.get("Values") or [])
        if not name:
            raise InvalidParameterValue("The filter name must be specified", code="InvalidFilter")
        checks.append(_check(name, values, getters, tags_of))
    return [item for item in items if all(check(item) for check in checks)]


def _check(name: str, values: list[str], getters: Mapping[str, Getter],
           tags_of: Callable[[Any], Mapping[str, str]] | None) -> Callable[[Any], bool]:
    def any_match(actuals: Iterable[str]) -> bool:
        actual_list = list(actuals)
        return any(value_matches(a, w) for a in actual_list for w in values)

    if tags_of is not None:
        if name.startswith("tag:"):
            key = name[4:]
            return lambda item: key in tags_of(item) and any_match([tags_of(item)[key]])
        if name == "tag-key":
            return lambda item: any_match(tags_of(item).keys())
        if name == "tag-value":
            return lambda item: any_match(tags_of(item).values())
    getter = getters.get(name)
    if getter is None:
        raise InvalidParameterValue(f"The filter '{name}' is invalid")
    return lambda item: any_match(_as_strings(getter(item)))
