"""DeleteObjects: up to 1000 keys in one request, each answered on its own (Deleted or Error).

S3 asks for a ``Content-MD5`` or ``x-amz-checksum-*`` header on this request; SDKs always send
one.  Overcast accepts the request with either or neither (the body is small and signed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError

from .access import authorize_async
from .registry import S3

log = logging.getLogger("overcast.s3api")
MAX_KEYS = 1000
PARALLEL = 16      # deletions in flight at once per request


def _malformed() -> AWSError:
    return AWSError("The XML you provided was not well-formed or did not validate against our published schema",
                    code="MalformedXML")


@S3.handles("DeleteObjects", partial="no versioned deletes or checksum verification of the request body yet")
async def delete_objects(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    request = params["Delete"]
    entries = request.get("Objects") or []
    if not entries or len(entries) > MAX_KEYS:
        raise _malformed()
    if any(not entry.get("Key") for entry in entries):
        raise _malformed()
    await asyncio.to_thread(ctx.cloud.buckets.lookup, params["Bucket"])   # NoSuchBucket
    gate = asyncio.Semaphore(PARALLEL)

    async def one(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        key, version = entry["Key"], entry.get("VersionId")
        done = {"Key": key, "VersionId": version}
        if version not in (None, "null"):
            return done, {"Key": key, "VersionId": version, "Code": "NoSuchVersion",
                          "Message": "The specified version does not exist."}
        try:
            async with gate:
                access = await authorize_async(ctx, params, key=key)   # per key, like S3 (AccessDenied)
                await ctx.cloud.objects.delete(access.account, params["Bucket"], key)
        except AWSError as err:
            return done, {"Key": key, "VersionId": version, "Code": err.code, "Message": err.message}
        except Exception:
            log.exception("DeleteObjects: deleting %r failed", key)
            return done, {"Key": key, "VersionId": version, "Code": "InternalError",
                          "Message": "We encountered an internal error. Please try again."}
        return done, None

    results = await asyncio.gather(*(one(entry) for entry in entries))
    deleted = [done for done, error in results if error is None]
    errors = [error for _, error in results if error is not None]
    return {"Deleted": None if request.get("Quiet") else deleted or None, "Errors": errors or None}
