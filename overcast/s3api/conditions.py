"""Conditional requests (RFC 9110 §13) as S3 evaluates them: pure functions, no I/O.

Order, as in the RFC and S3's documentation:

1. ``If-Match`` present: false → 412.  When true, ``If-Unmodified-Since`` is not looked at (S3:
   If-Match true + If-Unmodified-Since false → 200).
2. Otherwise ``If-Unmodified-Since``: modified after the date → 412.
3. ``If-None-Match`` present: false (an ETag matches) → 304.  When true, ``If-Modified-Since`` is
   not looked at; when false it is 304 whatever ``If-Modified-Since`` says (S3: If-None-Match
   false + If-Modified-Since true → 304).
4. Otherwise ``If-Modified-Since``: not modified after the date → 304.

Dates compare at one-second resolution: ``Last-Modified`` is sent without fractions, and a
client that echoes it back must see the object as unmodified.  CopyObject's
``x-amz-copy-source-if-*`` headers follow the same rules, except that every failure is a 412.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from overcast.core.errors import AWSError
from overcast.core.objects.object_store import PreconditionFailed

OK, NOT_MODIFIED, PRECONDITION_FAILED = 200, 304, 412
__all__ = ["Conditions", "NotModified", "PreconditionFailed", "Verdict", "check_copy_source", "check_read",
           "etag_matches", "etags", "evaluate"]


@dataclass(frozen=True)
class Verdict:
    status: int                   # 200, 304 or 412
    condition: str | None = None  # the header that decided a 304/412 ("If-Match"…)


@dataclass(frozen=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    @classmethod
    def of_request(cls, params: dict[str, object]) -> Conditions:
        """The ``If-*`` members of a GetObject/HeadObject request."""
        return cls(_str(params.get("IfMatch")), _str(params.get("IfNoneMatch")),
                   _date(params.get("IfModifiedSince")), _date(params.get("IfUnmodifiedSince")))

    @classmethod
    def of_copy_source(cls, params: dict[str, object]) -> Conditions:
        """The ``x-amz-copy-source-if-*`` members of a CopyObject (or UploadPartCopy) request."""
        return cls(_str(params.get("CopySourceIfMatch")), _str(params.get("CopySourceIfNoneMatch")),
                   _date(params.get("CopySourceIfModifiedSince")), _date(params.get("CopySourceIfUnmodifiedSince")))

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.if_match, self.if_none_match, self.if_modified_since,
                                           self.if_unmodified_since))


def etags(header: str) -> list[str]:
    """The entity tags of an ``If-Match`` / ``If-None-Match`` value, without quotes or ``W/``."""
    out = []
    for item in header.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if len(item) >= 2 and item[0] == item[-1] == '"':
            item = item[1:-1]
        if item:
            out.append(item)
    return out


def etag_matches(header: str, etag: str) -> bool:
    """Whether ``etag`` (quoted or not) is listed in ``header``, or ``header`` is ``*``."""
    bare = etag.strip('"')
    return any(tag == "*" or tag == bare for tag in etags(header))


def _seconds(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def evaluate(cond: Conditions, etag: str, last_modified: datetime) -> Verdict:
    """The outcome of ``cond`` against an existing object with ``etag`` and ``last_modified``."""
    modified = _seconds(last_modified)
    if cond.if_match is not None:
        if not etag_matches(cond.if_match, etag):
            return Verdict(PRECONDITION_FAILED, "If-Match")
    elif cond.if_unmodified_since is not None and modified > _seconds(cond.if_unmodified_since):
        return Verdict(PRECONDITION_FAILED, "If-Unmodified-Since")
    if cond.if_none_match is not None:
        if etag_matches(cond.if_none_match, etag):
            return Verdict(NOT_MODIFIED, "If-None-Match")
    elif cond.if_modified_since is not None and modified <= _seconds(cond.if_modified_since):
        return Verdict(NOT_MODIFIED, "If-Modified-Since")
    return Verdict(OK)


# -- the errors S3 answers with ------------------------------------------------------------------------

class NotModified(AWSError):
    """304: rendered without a body, with the validators of the object (``headers``)."""

    code = "NotModified"
    status = 304

    def __init__(self, etag: str, last_modified: datetime) -> None:
        super().__init__("Not Modified")
        self.headers = {"etag": etag, "last-modified": format_datetime(_seconds(last_modified), usegmt=True)}


def check_read(cond: Conditions, etag: str, last_modified: datetime) -> None:
    """Raise what GetObject/HeadObject answer when ``cond`` does not hold."""
    verdict = evaluate(cond, etag, last_modified)
    if verdict.status == NOT_MODIFIED:
        raise NotModified(etag, last_modified)
    if verdict.status == PRECONDITION_FAILED:
        raise PreconditionFailed(verdict.condition or "")


def check_copy_source(cond: Conditions, etag: str, last_modified: datetime) -> None:
    """Raise what CopyObject answers when its ``x-amz-copy-source-if-*`` do not hold: always 412."""
    verdict = evaluate(cond, etag, last_modified)
    if verdict.status != OK:
        raise PreconditionFailed(f"x-amz-copy-source-{verdict.condition}")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None
