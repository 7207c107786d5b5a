"""CopyObject: the source's bytes streamed from its replicas into a new object (never whole in memory)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, unquote

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError
from overcast.core.objects.object_store import check_key

from . import tagging
from .access import authorize_async
from .conditions import Conditions, check_copy_source
from .grants import OBJECT_ACL_HEADER
from .objects import empty_body, stored_headers, write_conditions
from .registry import S3

MAX_COPY_BYTES = 5 * 1024**3
# Changes that make copying an object onto itself legal (besides MetadataDirective=REPLACE).
_SELF_COPY_CHANGES = ("StorageClass", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId",
                      "SSECustomerAlgorithm")


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``bucket/key[?versionId=v]`` (URL-encoded, optionally with a leading ``/``) as (bucket, key, version)."""
    path, _, query = value.partition("?")
    version = None
    for name, item in parse_qsl(query, keep_blank_values=True):
        if name == "versionId":
            version = item
    path = unquote(path)
    if path.startswith("/"):
        path = path[1:]
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise AWSError("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                       code="InvalidArgument", extra={"ArgumentName": "x-amz-copy-source", "ArgumentValue": value})
    return bucket, key, version


@S3.handles("CopyObject", partial="no versionId other than null, ACLs or SSE yet")
async def copy_object(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = await authorize_async(ctx, params)          # s3:PutObject on the destination
    account = access.account
    src_bucket, src_key, version = parse_copy_source(params["CopySource"])
    if version not in (None, "null"):
        raise AWSError("Invalid version id specified", code="InvalidArgument",
                       extra={"ArgumentName": "versionId", "ArgumentValue": version})
    directive = params.get("MetadataDirective") or "COPY"
    if directive not in ("COPY", "REPLACE"):
        raise AWSError("Unknown metadata directive.", code="InvalidArgument",
                       extra={"ArgumentName": "x-amz-metadata-directive", "ArgumentValue": directive})
    tagging_directive = params.get("TaggingDirective") or "COPY"
    if tagging_directive not in ("COPY", "REPLACE"):
        raise AWSError("Unknown tagging directive.", code="InvalidArgument",
                       extra={"ArgumentName": "x-amz-tagging-directive", "ArgumentValue": tagging_directive})
    new_tags = tagging.from_header(params.get("Tagging"))
    source_access = await authorize_async(ctx, params, bucket=src_bucket, key=src_key, action="s3:GetObject")
    source = await asyncio.to_thread(ctx.cloud.objects.head, source_access.account, src_bucket, src_key)
    check_copy_source(Conditions.of_copy_source(params), source.etag, source.last_modified)
    if (src_bucket, src_key) == (params["Bucket"], params["Key"]) and directive != "REPLACE" and \
            not any(params.get(name) is not None for name in _SELF_COPY_CHANGES):
        raise AWSError("This copy request is illegal because it is trying to copy an object to itself without "
                       "changing the object's metadata, storage class, website redirect location or encryption "
                       "attributes.", code="InvalidRequest")
    if source.size > MAX_COPY_BYTES:
        raise AWSError("The specified copy source is larger than the maximum allowable size for a copy source: "
                       f"{MAX_COPY_BYTES}", code="InvalidRequest")
    if directive == "REPLACE":
        content_type, metadata, headers = params.get("ContentType"), params.get("Metadata"), stored_headers(params)
    else:
        content_type, metadata, headers = source.content_type, source.metadata, source.headers
    headers = {k: v for k, v in headers.items() if k != OBJECT_ACL_HEADER} | access.new_object_acl(params)
    tags = new_tags if tagging_directive == "REPLACE" else source.tags
    checksum = source.checksum if source.parts_count is None else None   # same bytes, same checksum
    conditions = write_conditions(params)
    # What the store would refuse before reading the body is checked first: an opened source stream
    # is only released once read or closed.
    check_key(params["Key"])
    await asyncio.to_thread(ctx.cloud.buckets.get, account, params["Bucket"])
    body = await ctx.cloud.objects.open(source) if source.size else empty_body()
    try:
        info = await ctx.cloud.objects.put(account, params["Bucket"], params["Key"], body, size=source.size,
                                           content_type=content_type, metadata=metadata, headers=headers,
                                           checksum=checksum, tags=tags, **conditions)
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
    return {"CopyObjectResult": {"ETag": info.etag, "LastModified": info.last_modified}}
