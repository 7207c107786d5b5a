"""Streamed request payloads: read from the client chunk by chunk and checked as they pass — against the
signed ``x-amz-content-sha256``, the SigV4 streaming (aws-chunked) chunk and trailer signatures, and the
S3 flexible checksum (``x-amz-checksum-*`` header or trailer).  Every mismatch surfaces as an
:class:`AWSError` raised by the iterator, at the latest when its end is reached — before the store
commits anything.

:func:`request_body` builds what S3 handlers get as ``ctx.body``: a :class:`RequestBody` (an async iterator
of the decoded bytes) whose ``checksum`` (:class:`overcast.s3api.checksums.PayloadChecksum`, also reachable
as ``checksums.of(ctx.body)``) holds the verified value once the body was read to its end.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from overcast.core.errors import AWSError
from overcast.s3api import checksums

from . import aws_chunked, sigv4

SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_STREAMING_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_STREAMING = frozenset({SIGNED_STREAMING, SIGNED_STREAMING_TRAILER, UNSIGNED_STREAMING_TRAILER})
SIGNED_STREAMING_VALUES = frozenset({SIGNED_STREAMING, SIGNED_STREAMING_TRAILER})


class IncompleteBody(AWSError):
    code = "IncompleteBody"

    def __init__(self) -> None:
        super().__init__("You did not provide the number of bytes specified by the Content-Length HTTP header.")


async def from_request(request: Request) -> AsyncIterator[bytes]:
    """The request body; ``scope["state"]["body_pending"]`` stays true until it was read to the end
    (an answer sent before that must close the connection: the unread bytes would poison it)."""
    state = request.scope.setdefault("state", {})
    state["body_pending"] = True
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise IncompleteBody() from None
    state["body_pending"] = False


async def verified(chunks: AsyncIterator[bytes], claimed_sha256: str | None) -> AsyncIterator[bytes]:
    """``chunks`` checked against a hex ``x-amz-content-sha256`` (anything else passes unchecked)."""
    if not claimed_sha256 or len(claimed_sha256) != 64:
        async for chunk in chunks:
            yield chunk
        return
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if not hmac.compare_digest(digest.hexdigest(), claimed_sha256.lower()):
        raise AWSError("The provided 'x-amz-content-sha256' header does not match what was computed.",
                       code="XAmzContentSHA256Mismatch")


async def checked(chunks: AsyncIterator[bytes], checksum: checksums.PayloadChecksum,
                  trailers: Mapping[str, str] | None = None) -> AsyncIterator[bytes]:
    """``chunks`` with ``checksum.algorithm`` computed as they pass; at the end the client's value (a
    header, or the trailer found in ``trailers``) must match, then ``checksum.value`` is set."""
    if checksum.algorithm is None:
        async for chunk in chunks:
            yield chunk
        return
    hasher = checksums.Hasher(checksum.algorithm)
    async for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    if checksum.trailer is not None and trailers is not None:
        given = trailers.get(checksum.trailer)
        if given is None:
            raise aws_chunked.malformed_trailer()
        if not checksums.is_valid_value(checksum.algorithm, given):
            raise checksums.invalid_value(checksum.trailer, trailing=True)
        checksum.expected = given
    computed = hasher.b64digest()
    if checksum.expected is not None and computed != checksum.expected:
        raise checksums.bad_digest(checksum.algorithm)
    checksum.value = computed


class RequestBody:
    """``ctx.body`` for S3 handlers: the decoded payload, as an async iterator of bytes.

    ``checksum``: see :class:`~overcast.s3api.checksums.PayloadChecksum` (``value`` is set once the
    iterator ended cleanly).  ``size``: the decoded length the client declared, if any
    (x-amz-decoded-content-length for aws-chunked bodies, else Content-Length)."""

    def __init__(self, chunks: AsyncIterator[bytes], checksum: checksums.PayloadChecksum,
                 size: int | None) -> None:
        self._chunks = chunks
        self.checksum = checksum
        self.size = size

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()


@dataclass(frozen=True)
class StreamingKey:
    """What verifying signed chunks needs beyond the request: the caller's SigV4 signing key."""

    signing_key: bytes


def is_aws_chunked(headers: Mapping[str, str]) -> bool:
    return headers.get("x-amz-content-sha256", "") in _STREAMING


def _length(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise AWSError(f"Invalid value for {name} header.", code="InvalidArgument")
    return int(value)


def decoded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as the operation sees them: for an aws-chunked body, Content-Length is the decoded
    length and ``aws-chunked`` is not part of Content-Encoding (S3 does not store it)."""
    out = dict(headers)
    if not is_aws_chunked(headers):
        return out
    decoded = headers.get("x-amz-decoded-content-length")
    out.pop("content-length", None)
    if decoded is not None:
        out["content-length"] = decoded
    encodings = [e.strip() for e in headers.get("content-encoding", "").split(",")
                 if e.strip() and e.strip().lower() != "aws-chunked"]
    if encodings:
        out["content-encoding"] = ",".join(encodings)
    else:
        out.pop("content-encoding", None)
    return out


def verify_whole(headers: Mapping[str, str], body: bytes) -> checksums.PayloadChecksum:
    """A body read whole (PutBucketTagging, DeleteObjects…): its declared x-amz-checksum-* is checked."""
    return checksums.verify_whole(headers, body)


def request_body(source: AsyncIterator[bytes], headers: Mapping[str, str], auth: sigv4.SigV4Auth | None,
                 key: StreamingKey | None = None) -> RequestBody:
    """The checked payload of an S3 request whose body streams (PutObject, UploadPart…).

    Which checks apply follows the signed ``x-amz-content-sha256`` (``headers`` lowercase): a hex digest
    is compared; ``STREAMING-*`` values are decoded as aws-chunked, with chunk signatures verified for
    the signed variants (``key`` is then required); the checksum the headers declare is verified."""
    content_sha256 = auth.content_sha256 if auth is not None else headers.get("x-amz-content-sha256")
    streaming = content_sha256 in _STREAMING
    checksum = checksums.declared(headers, trailers_allowed=streaming and content_sha256 != SIGNED_STREAMING)
    if not streaming:
        size = _length(headers, "content-length")
        return RequestBody(checked(verified(source, content_sha256), checksum), checksum, size)
    signer = None
    if content_sha256 in SIGNED_STREAMING_VALUES:
        if auth is None or key is None:
            raise AWSError("Anonymous requests don't support this x-amz-content-sha256 value. Please use "
                           "UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER.", code="InvalidRequest")
        scope = f"{auth.scope_date}/{auth.region}/{auth.service}/aws4_request"
        signer = aws_chunked.ChunkSigner(key.signing_key, auth.amz_date.strftime("%Y%m%dT%H%M%SZ"), scope,
                                         auth.signature)
    size = _length(headers, "x-amz-decoded-content-length")
    decoder = aws_chunked.Decoder(signer=signer, trailer=checksum.trailer,
                                  signed_trailer=content_sha256 == SIGNED_STREAMING_TRAILER, decoded_length=size)
    return RequestBody(checked(aws_chunked.decode(source, decoder), checksum, decoder.trailers), checksum, size)
