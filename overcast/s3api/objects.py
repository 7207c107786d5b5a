"""PutObject, GetObject, HeadObject, DeleteObject, GetObjectAttributes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError, NotYetImplemented
from overcast.core.objects.object_store import ObjectInfo

from . import checksums, tagging
from .access import account_for, account_for_async, authorize_async
from .conditions import Conditions, check_read
from .registry import S3

# Standard headers kept with the object and returned on GET/HEAD (param name = output member name).
STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
# GetObject/HeadObject ``response-*`` overrides: request member -> output member.
OVERRIDES = {"ResponseCacheControl": "CacheControl", "ResponseContentDisposition": "ContentDisposition",
             "ResponseContentEncoding": "ContentEncoding", "ResponseContentLanguage": "ContentLanguage",
             "ResponseContentType": "ContentType", "ResponseExpires": "Expires"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")


def stored_headers(params: dict[str, Any]) -> dict[str, str]:
    """The standard headers of a PutObject/CopyObject request, as the store keeps them."""
    headers = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
    if isinstance(headers.get("Expires"), datetime):
        headers["Expires"] = headers["Expires"].isoformat()
    return headers


def write_conditions(params: dict[str, Any]) -> dict[str, str]:
    """``If-Match`` / ``If-None-Match`` of a write, as keyword arguments of ``ObjectStore.put``."""
    if_none_match = params.get("IfNoneMatch")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise NotYetImplemented("A header you provided implies functionality that is not implemented",
                                extra={"Header": "If-None-Match"})
    out = {}
    if params.get("IfMatch") is not None:
        out["if_match"] = params["IfMatch"]
    if if_none_match is not None:
        out["if_none_match"] = "*"
    return out


@S3.handles("PutObject", partial="no ACLs or SSE yet")
async def put_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = await authorize_async(ctx, params)
    account = access.account
    assert ctx.body is not None
    tags = tagging.from_header(params.get("Tagging"))
    checksum = checksums.of(ctx.body)
    info = await ctx.cloud.objects.put(account, params["Bucket"], params["Key"], ctx.body,
                                       size=params.get("ContentLength"), content_type=params.get("ContentType"),
                                       metadata=params.get("Metadata"),
                                       headers={**stored_headers(params), **access.new_object_acl(params)},
                                       content_md5=params.get("ContentMD5"), checksum=checksum, tags=tags,
                                       **write_conditions(params))
    out: dict[str, Any] = {"ETag": info.etag, "Size": info.size}
    if checksum is not None:
        out.update(checksum.output())
    return out


def describe(info: ObjectInfo) -> dict[str, Any]:
    """GetObject/HeadObject's answer about ``info`` (without the body)."""
    out: dict[str, Any] = {"ETag": info.etag, "LastModified": info.last_modified, "ContentLength": info.size,
                           "ContentType": info.content_type, "AcceptRanges": "bytes", "Metadata": info.metadata}
    out.update(info.headers)
    if info.tags:
        out["TagCount"] = len(info.tags)
    if isinstance(out.get("Expires"), str):
        try:
            out["Expires"] = datetime.fromisoformat(out["Expires"])
        except ValueError:
            pass   # sent back as it was stored
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


def _part_range(ctx: RequestContext, info: ObjectInfo, part_number: int) -> tuple[int, int] | None:
    """The bytes of part ``part_number`` (None: an empty part); a simple object has one part."""
    if not 1 <= part_number <= 10000:
        raise AWSError("Part number must be an integer between 1 and 10000, inclusive", code="InvalidArgument",
                       extra={"ArgumentName": "partNumber", "ArgumentValue": str(part_number)})
    first, last = ctx.cloud.objects.part_range(info, part_number)   # InvalidPartNumber beyond the last
    return (first, last) if last >= first else None


def _overrides(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = {out: params[name] for name, out in OVERRIDES.items() if params.get(name) is not None}
    if found and ctx.caller is None:
        raise AWSError("Request specific response headers cannot be used for anonymous GET requests.",
                       code="InvalidRequest")
    return found


async def _read_answer(ctx: RequestContext, params: dict[str, Any]) -> tuple[ObjectInfo, tuple[int, int] | None,
                                                                              dict[str, Any]]:
    """What GetObject and HeadObject share: the object, the conditions, the range or part, the headers."""
    overrides = _overrides(ctx, params)
    account = await account_for_async(ctx, params)
    info = await asyncio.to_thread(ctx.cloud.objects.head, account, params["Bucket"], params["Key"])
    check_read(Conditions.of_request(params), info.etag, info.last_modified)
    out = describe(info)
    part_number = params.get("PartNumber")
    if part_number is not None and params.get("Range"):
        raise AWSError("Cannot specify both Range header and partNumber query parameter", code="InvalidRequest")
    if part_number is not None:
        wanted = _part_range(ctx, info, part_number)
        out["PartsCount"] = info.parts_count
    else:
        wanted = byte_range(params.get("Range"), info.size) if info.size else None
    if wanted is not None:
        out["ContentRange"] = f"bytes {wanted[0]}-{wanted[1]}/{info.size}"
        out["ContentLength"] = wanted[1] - wanted[0] + 1
    elif part_number is not None:
        out["ContentLength"] = 0
    if params.get("ChecksumMode") == "ENABLED" and info.checksum_algorithm and info.checksum_value and \
            (wanted is None or (part_number is not None and info.parts_count is None)):
        out[f"Checksum{info.checksum_algorithm}"] = info.checksum_value   # whole-object values only
        out["ChecksumType"] = "FULL_OBJECT"
    out.update(overrides)
    return info, wanted, out


@S3.handles("GetObject", partial="no versionId or SSE-C yet; ChecksumMode for simple objects only")
async def get_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    info, wanted, out = await _read_answer(ctx, params)
    if out["ContentLength"] == 0:
        out["Body"] = empty_body()
    else:
        out["Body"] = await ctx.cloud.objects.open(info, wanted)
    return out


async def empty_body() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""


@S3.handles("HeadObject", partial="no versionId or SSE-C yet; ChecksumMode for simple objects only")
async def head_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _, _, out = await _read_answer(ctx, params)
    return out


@S3.handles("DeleteObject", partial="no versioning yet")
async def delete_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.cloud.objects.delete(await account_for_async(ctx, params), params["Bucket"], params["Key"])
    return {}


_ATTRIBUTES = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}


@S3.handles("GetObjectAttributes", partial="no Checksum or per-part details yet")
def get_object_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    wanted = set(params.get("ObjectAttributes") or ())
    unknown = wanted - _ATTRIBUTES
    if not wanted or unknown:
        raise AWSError("Invalid attribute name specified.", code="InvalidArgument",
                       extra={"ArgumentName": "x-amz-object-attributes",
                              "ArgumentValue": ",".join(sorted(unknown))})
    info = ctx.cloud.objects.head(account_for(ctx, params), params["Bucket"], params["Key"])
    out: dict[str, Any] = {"LastModified": info.last_modified}
    if "ETag" in wanted:
        out["ETag"] = info.etag.strip('"')        # S3 sends this one without quotes
    if "ObjectSize" in wanted:
        out["ObjectSize"] = info.size
    if "StorageClass" in wanted:
        out["StorageClass"] = "STANDARD"
    if "ObjectParts" in wanted and info.parts_count is not None:
        out["ObjectParts"] = {"TotalPartsCount": info.parts_count}
    return out
