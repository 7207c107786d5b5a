"""Server-side AWS Signature Version 4 verification, on plain data (no web framework).

Canonicalisation mirrors botocore/auth.py applied to the request as it arrives on the wire.  URI: S3-family
services sign the raw path; others sign it with dot and empty segments removed, percent-encoded once more
(``%20`` is signed as ``%2520``).  Query: keys/values percent-decoded, re-encoded with ``quote(safe='-_.~')``,
sorted; a literal ``+`` is tried as ``+`` then as a space (form encoders such as botocore's
``AWSRequest.params`` send spaces as ``+``).  Headers and the path are expected as ASGI gives them (latin-1
decoded); non-ASCII values are mapped back to the UTF-8 text the client hashed.  Payload: :func:`payload_hash`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_EXPIRES = 604800
RAW_PATH_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express", "s3-outposts"})
PAYLOAD_SENTINELS = frozenset({
    UNSIGNED_PAYLOAD, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
})
_ALREADY_CANONICAL = re.compile(r"[A-Za-z0-9\-_.~]*").fullmatch
_IS_HEX64 = re.compile(r"[0-9a-fA-F]{64}").fullmatch
_IS_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z").fullmatch
_IS_SCOPE_DATE = re.compile(r"[0-9]{8}").fullmatch
_V4_QUERY_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                    "X-Amz-Expires")
_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
             "Secret Access Key and signing method. Consult the service documentation for details.")
_UNSUPPORTED = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


@dataclass(frozen=True)
class RequestParts:
    method: str
    raw_path: str  # path exactly as sent on the wire (percent-encoded), no query
    raw_query: str  # query string exactly as sent, without '?'
    headers: Mapping[str, str]  # lowercase names; repeated headers already joined with ','


@dataclass(frozen=True)
class SigV4Auth:
    access_key: str
    scope_date: str  # yyyymmdd
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime  # aware UTC, from X-Amz-Date (or Date header)
    presigned: bool
    expires: int | None  # X-Amz-Expires seconds, presigned only
    security_token: str | None  # X-Amz-Security-Token header or query param
    content_sha256: str | None  # x-amz-content-sha256 header (or presigned query param) value if any


class SigV4Error(Exception):
    """``kind``: malformed, incomplete, mismatch, expired, skewed or unsupported.  ``code`` optionally names
    a more specific AWS error code (e.g. ``XAmzContentSHA256Mismatch``) the gateway may prefer."""

    def __init__(self, kind: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code


def _wire_text(value: str) -> str:
    """ASGI decodes header bytes (and the raw path) as latin-1; signers hashed them as UTF-8 text."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    return [(key, value) for key, _, value in (part.partition("=") for part in raw_query.split("&") if part)]


def _parse_amz_date(value: str) -> datetime:
    if not _IS_AMZ_DATE(value):
        raise SigV4Error("malformed", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                        int(value[11:13]), int(value[13:15]), tzinfo=UTC)
    except ValueError:
        raise SigV4Error("malformed", f"Invalid X-Amz-Date value: {value!r}") from None


def _parse_http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SigV4Error("malformed", "Invalid date format header, expected to be in ISO8601, RFC 2616, "
                                      "or RFC 822 format") from None


def _amz_stamp(when: datetime) -> str:
    return (f"{when.year:04d}{when.month:02d}{when.day:02d}T"
            f"{when.hour:02d}{when.minute:02d}{when.second:02d}Z")


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.rsplit("/", 4)
    if len(parts) != 5:
        raise SigV4Error("malformed", "Credential must have exactly 5 slash-delimited elements, e.g. "
                                      f"keyid/date/region/service/term, got '{credential}'")
    access_key, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise SigV4Error("malformed", "Credential should be scoped with a valid terminator: 'aws4_request', "
                                      f"not '{terminator}'.")
    if not _IS_SCOPE_DATE(date) or not region or not service:
        raise SigV4Error("malformed", f"Credential should be scoped to a valid date, region and service, got "
                                      f"'{credential}'")
    return access_key, date, region, service


def _from_header(authorization: str, headers: Mapping[str, str]) -> tuple[str, str, str, datetime]:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error("unsupported", _UNSUPPORTED)
    fields = dict(item.strip().partition("=")[::2] for item in rest.split(","))
    amz_date = headers.get("x-amz-date")
    http_date = None if amz_date else headers.get("date")
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    if not amz_date and not http_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise SigV4Error("incomplete", f"{' '.join(missing)} Authorization={authorization}")
    when = _parse_amz_date(amz_date) if amz_date else _parse_http_date(http_date or "")
    return fields["Credential"].strip(), fields["SignedHeaders"].strip(), fields["Signature"].strip(), when


def _from_query(query: Mapping[str, str]) -> tuple[str, str, str, datetime, int | None]:
    given = {name: unquote(query[name]) for name in _V4_QUERY_PARAMS if query.get(name)}
    if given.get("X-Amz-Algorithm", ALGORITHM) != ALGORITHM:
        raise SigV4Error("unsupported", f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    missing = [f"'{name}'" for name in _V4_QUERY_PARAMS[:5] if name not in given]
    credential = given.get("X-Amz-Credential", "")
    service = credential.rsplit("/", 2)[-2] if credential.count("/") >= 2 else ""
    if "X-Amz-Expires" not in given and service in RAW_PATH_SERVICES:
        missing.append("'X-Amz-Expires'")  # optional for other services, mandatory for S3
    if missing:
        raise SigV4Error("incomplete", f"AWS query-string parameters must include {', '.join(missing)}. "
                                       "Re-examine the query-string parameters.")
    expires = given.get("X-Amz-Expires")
    try:
        seconds = None if expires is None else int(expires)
    except ValueError:
        raise SigV4Error("malformed", "X-Amz-Expires should be a number") from None
    return (credential, given["X-Amz-SignedHeaders"], given["X-Amz-Signature"],
            _parse_amz_date(given["X-Amz-Date"]), seconds)


def parse(req: RequestParts) -> SigV4Auth | None:
    """What SigV4 authentication the request claims; ``None`` when it carries none (anonymous)."""
    headers = req.headers
    authorization = headers.get("authorization")
    query: dict[str, str] = {}
    if req.raw_query:
        for key, value in _query_pairs(req.raw_query):
            query.setdefault(unquote(key), value)
    presigned = any(key in query for key in _V4_QUERY_PARAMS[:3])
    token = headers.get("x-amz-security-token")
    content_sha256 = headers.get("x-amz-content-sha256")
    expires = None
    if authorization is not None:
        if presigned:
            raise SigV4Error("malformed", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                             "parameter, Signature query string parameter or the Authorization header should "
                             "be specified")
        credential, signed, signature, when = _from_header(authorization, headers)
    elif presigned:
        credential, signed, signature, when, expires = _from_query(query)
        if "X-Amz-Security-Token" in query:  # signed as part of the query, so it wins over any header
            token = unquote(query["X-Amz-Security-Token"])
        if content_sha256 is None and "X-Amz-Content-Sha256" in query:
            content_sha256 = unquote(query["X-Amz-Content-Sha256"])
    elif "Signature" in query or "AWSAccessKeyId" in query:
        raise SigV4Error("unsupported", _UNSUPPORTED)  # SigV2 query authentication
    else:
        return None
    access_key, scope_date, region, service = _split_credential(credential)
    return SigV4Auth(access_key=access_key, scope_date=scope_date, region=region, service=service,
                     signed_headers=tuple(name.strip().lower() for name in signed.split(";")),
                     signature=signature, amz_date=when, presigned=presigned, expires=expires,
                     security_token=token, content_sha256=content_sha256)


def payload_hash(req: RequestParts, auth: SigV4Auth, body: bytes | None) -> str:
    """The payload hash for the canonical request.  A hex digest claimed in x-amz-content-sha256 is checked
    against ``body`` unless ``body`` is None (the caller streams the body and checks it itself)."""
    claimed = auth.content_sha256
    if claimed is not None:
        if claimed in PAYLOAD_SENTINELS:
            return claimed
        if not _IS_HEX64(claimed):
            raise SigV4Error("malformed", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                             "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                             "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                             code="InvalidArgument")
        if body is not None and not hmac.compare_digest(hashlib.sha256(body).hexdigest(), claimed.lower()):
            raise SigV4Error("mismatch", "The provided 'x-amz-content-sha256' header does not match what was "
                             "computed.", code="XAmzContentSHA256Mismatch")
        return claimed
    if auth.presigned and auth.service in RAW_PATH_SERVICES:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256


def _remove_dot_segments(path: str) -> str:
    """botocore.utils.remove_dot_segments: also drops empty segments ('//')."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def _canonical_uri(raw_path: str, service: str) -> str:
    path = _wire_text(raw_path) or "/"
    if service in RAW_PATH_SERVICES:
        return path
    return quote(_remove_dot_segments(path) or "/", safe="/~")


def _canonical_component(text: str, plus_is_space: bool) -> str:
    if _ALREADY_CANONICAL(text):
        return text
    if plus_is_space:
        text = text.replace("+", " ")
    return quote(unquote_to_bytes(text), safe="-_.~")


def _canonical_query(raw_query: str, presigned: bool, plus_is_space: bool) -> str:
    pairs = sorted((_canonical_component(key, plus_is_space), _canonical_component(value, plus_is_space))
                   for key, value in _query_pairs(raw_query)
                   if not (presigned and key == "X-Amz-Signature"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def canonical_request(req: RequestParts, auth: SigV4Auth, payload_sha256: str, plus_is_space: bool = False) -> str:
    """The canonical request (exposed for S3's SignatureDoesNotMatch error bodies)."""
    headers = req.headers
    canonical_headers = "".join(
        f"{name}:{' '.join(_wire_text(headers.get(name, '')).split())}\n" for name in auth.signed_headers)
    return "\n".join((req.method.upper(), _canonical_uri(req.raw_path, auth.service),
                      _canonical_query(req.raw_query, auth.presigned, plus_is_space), canonical_headers,
                      ";".join(auth.signed_headers), payload_sha256))


def string_to_sign(req: RequestParts, auth: SigV4Auth, payload_sha256: str, plus_is_space: bool = False) -> str:
    """The string to sign (exposed for S3's SignatureDoesNotMatch error bodies)."""
    digest = hashlib.sha256(canonical_request(req, auth, payload_sha256, plus_is_space).encode()).hexdigest()
    scope = f"{auth.scope_date}/{auth.region}/{auth.service}/aws4_request"
    return f"{ALGORITHM}\n{_amz_stamp(auth.amz_date)}\n{scope}\n{digest}"


@lru_cache(maxsize=4096)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_time(auth: SigV4Auth, now: datetime, max_skew: timedelta) -> None:
    stamp = _amz_stamp(auth.amz_date)
    if auth.presigned and auth.expires is not None:
        if auth.expires <= 0:
            raise SigV4Error("malformed", "X-Amz-Expires must be a positive number of seconds")
        if auth.expires > MAX_EXPIRES:
            raise SigV4Error("malformed", "X-Amz-Expires must be less than a week (in seconds) that is 604800")
        if now - auth.amz_date > timedelta(seconds=auth.expires):
            raise SigV4Error("expired", "Request has expired")
        if auth.amz_date - now > max_skew:
            raise SigV4Error("skewed", "Request is not valid yet")
        return
    minutes = int(max_skew.total_seconds() // 60)
    if now - auth.amz_date > max_skew:
        raise SigV4Error("skewed", f"Signature expired: {stamp} is now earlier than "
                         f"{_amz_stamp(now - max_skew)} ({_amz_stamp(now)} - {minutes} min.)")
    if auth.amz_date - now > max_skew:
        raise SigV4Error("skewed", f"Signature not yet current: {stamp} is still later than "
                         f"{_amz_stamp(now + max_skew)} ({_amz_stamp(now)} + {minutes} min.)")


def verify(req: RequestParts, auth: SigV4Auth, secret_key: str, payload_sha256: str, now: datetime,
           max_skew: timedelta = timedelta(minutes=15)) -> None:
    """Raise :class:`SigV4Error` unless ``auth`` is a valid, current signature of ``req`` by ``secret_key``."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    stamp = _amz_stamp(auth.amz_date)
    if auth.scope_date != stamp[:8]:
        raise SigV4Error("mismatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                         f"date from HTTP: '{auth.scope_date}' != '{stamp[:8]}', from '{stamp}'.")
    if "host" not in auth.signed_headers and ":authority" not in auth.signed_headers:
        raise SigV4Error("mismatch", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    _check_time(auth, now, max_skew)
    key = signing_key(secret_key, auth.scope_date, auth.region, auth.service)
    given = auth.signature.encode("utf-8", "replace")
    for plus_is_space in (False, True) if "+" in req.raw_query else (False,):
        sts = string_to_sign(req, auth, payload_sha256, plus_is_space)
        if hmac.compare_digest(hmac.new(key, sts.encode(), hashlib.sha256).hexdigest().encode(), given):
            return
    raise SigV4Error("mismatch", _MISMATCH)
