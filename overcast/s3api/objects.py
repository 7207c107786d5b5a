"""PutObject, GetObject, HeadObject, DeleteObject."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError
from overcast.core.objects.object_store import ObjectInfo

from .access import account_of
from .registry import S3

# Standard headers kept with the object and returned on GET/HEAD (param name = output member name).
STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")


@S3.handles("PutObject", partial="no checksums/aws-chunked, conditional writes, ACLs or SSE yet")
async def put_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_of(ctx)
    assert ctx.body is not None
    headers = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
    if "Expires" in headers:
        headers["Expires"] = headers["Expires"].isoformat()
    info = await ctx.cloud.objects.put(account, params["Bucket"], params["Key"], ctx.body,
                                       size=params.get("ContentLength"), content_type=params.get("ContentType"),
                                       metadata=params.get("Metadata"), headers=headers,
                                       content_md5=params.get("ContentMD5"))
    return {"ETag": info.etag, "Size": info.size}


def _describe(info: ObjectInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"ETag": info.etag, "LastModified": info.last_modified, "ContentLength": info.size,
                           "ContentType": info.content_type, "AcceptRanges": "bytes", "Metadata": info.metadata}
    out.update(info.headers)
    return out


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (first, last) for a single ``Range: bytes=…`` header; None means the whole object."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None                          # S3 ignores ranges it cannot parse
    if not m.group(1):                       # suffix: the last n bytes
        n = int(m.group(2))
        if n == 0:
            raise _invalid_range(size)
        return max(size - n, 0), size - 1
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if first >= size or (m.group(2) and last < first):
        raise _invalid_range(size)
    return first, min(last, size - 1)


def _invalid_range(size: int) -> AWSError:
    return AWSError("The requested range is not satisfiable", code="InvalidRange", status=416,
                    extra={"RangeRequested": "", "ActualObjectSize": str(size)})


@S3.handles("GetObject", partial="no conditional requests, partNumber or response-* overrides yet")
async def get_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_of(ctx)
    info = await asyncio.to_thread(ctx.cloud.objects.head, account, params["Bucket"], params["Key"])
    wanted = byte_range(params.get("Range"), info.size)
    out = _describe(info)
    if wanted is not None and info.size > 0:
        out["ContentRange"] = f"bytes {wanted[0]}-{wanted[1]}/{info.size}"
        out["ContentLength"] = wanted[1] - wanted[0] + 1
    elif info.size == 0:
        wanted = None
    out["Body"] = await ctx.cloud.objects.open(info, wanted) if info.size else _empty()
    return out


async def _empty() -> Any:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""


@S3.handles("HeadObject", partial="no conditional requests yet")
def head_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    info = ctx.cloud.objects.head(account_of(ctx), params["Bucket"], params["Key"])
    return _describe(info)


@S3.handles("DeleteObject", partial="no versioning yet")
async def delete_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.cloud.objects.delete(account_of(ctx), params["Bucket"], params["Key"])
    return {}
