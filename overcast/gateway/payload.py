"""Streamed request payloads: read from the client chunk by chunk, checked against the signed
``x-amz-content-sha256`` as they pass (the mismatch surfaces at the end, before anything commits)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from overcast.core.errors import AWSError


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
    if not claimed_sha256 or len(claimed_sha256) != 64:
        async for chunk in chunks:
            yield chunk
        return
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != claimed_sha256.lower():
        raise AWSError("The provided 'x-amz-content-sha256' header does not match what was computed.",
                       code="XAmzContentSHA256Mismatch")
