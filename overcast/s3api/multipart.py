"""CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote, unquote

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError
from overcast.core.objects.multipart import MultipartUploads, UploadInfo

from . import checksums, tagging
from .access import account_for, account_for_async
from .registry import S3

# Standard headers kept with the object (as objects.py keeps them for PutObject).
STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)\Z")


def _uploads(ctx: RequestContext) -> MultipartUploads:
    return ctx.cloud.objects.multipart


def _encode(value: str | None, encoding: str | None) -> str | None:
    return quote(value, safe="/") if value is not None and encoding == "url" else value


def _owner(account: str) -> dict[str, str]:
    return {"ID": account, "DisplayName": account}


def _initiator(upload: UploadInfo) -> dict[str, str]:
    return {"ID": upload.initiator_arn, "DisplayName": upload.initiator_arn.rsplit("/", 1)[-1]}


@S3.handles("CreateMultipartUpload", partial="no ACLs, SSE, object lock or checksums yet")
def create_multipart_upload(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_for(ctx, params)
    assert ctx.caller is not None
    headers = {name: params[name] for name in STORED_HEADERS if params.get(name) is not None}
    if "Expires" in headers:
        headers["Expires"] = headers["Expires"].isoformat()
    upload = _uploads(ctx).create(account, params["Bucket"], params["Key"], initiator_arn=ctx.caller.arn,
                                  content_type=params.get("ContentType"), metadata=params.get("Metadata"),
                                  headers=headers, tags=tagging.from_header(params.get("Tagging")))
    return {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": upload.upload_id}


@S3.handles("UploadPart", partial="checksums verified and returned, not kept for the object; no SSE-C yet")
async def upload_part(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = await account_for_async(ctx, params)
    assert ctx.body is not None
    part = await _uploads(ctx).upload_part(account, params["Bucket"], params["Key"], params["UploadId"],
                                           params["PartNumber"], ctx.body, size=params.get("ContentLength"),
                                           content_md5=params.get("ContentMD5"))
    out: dict[str, Any] = {"ETag": part.etag}
    checksum = checksums.of(ctx.body)
    if checksum is not None:
        out.update(checksum.output())
        out.pop("ChecksumType", None)       # not a member of UploadPart's answer
    return out


def _copy_source(source: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of an ``x-amz-copy-source`` value (``bucket/key[?versionId=v]``)."""
    path, _, query = source.partition("?")
    version = query[len("versionId="):] if query.startswith("versionId=") else None
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise AWSError("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                       code="InvalidArgument")
    return bucket, key, version


def _copy_range(header: str | None, size: int) -> tuple[int, int] | None:
    if header is None:
        return None
    m = _COPY_RANGE.match(header.strip())
    if m is None or int(m.group(2)) < int(m.group(1)):
        raise AWSError("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last "
                       "are the zero-based offsets of the first and last bytes to copy", code="InvalidArgument")
    first, last = int(m.group(1)), int(m.group(2))
    if last >= size:
        raise AWSError("The requested range is not satisfiable", code="InvalidRange", status=416,
                       extra={"RangeRequested": header, "ActualObjectSize": str(size)})
    return first, last


@S3.handles("UploadPartCopy", partial="no CopySourceIf* conditions or versions yet")
async def upload_part_copy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = await account_for_async(ctx, params)
    bucket, key, version = _copy_source(params["CopySource"])
    if version not in (None, "null"):
        raise AWSError("Invalid version id specified", code="InvalidArgument")
    source = await asyncio.to_thread(ctx.cloud.objects.head, account, bucket, key)
    wanted = _copy_range(params.get("CopySourceRange"), source.size)
    size = source.size if wanted is None else wanted[1] - wanted[0] + 1
    body = await ctx.cloud.objects.open(source, wanted) if size else _nothing()
    part = await _uploads(ctx).upload_part(account, params["Bucket"], params["Key"], params["UploadId"],
                                           params["PartNumber"], body, size=size)
    return {"CopyPartResult": {"ETag": part.etag, "LastModified": part.last_modified}}


async def _nothing() -> Any:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""


@S3.handles("CompleteMultipartUpload", partial="no additional checksums yet")
async def complete_multipart_upload(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = await account_for_async(ctx, params)
    parts = [(p.get("PartNumber", 0), p.get("ETag")) for p in (params.get("MultipartUpload") or {}).get("Parts") or []]
    info = await _uploads(ctx).complete(account, params["Bucket"], params["Key"], params["UploadId"], parts,
                                        if_match=params.get("IfMatch"), if_none_match=params.get("IfNoneMatch"))
    return {"Location": f"/{params['Bucket']}/{quote(params['Key'], safe='/')}", "Bucket": params["Bucket"],
            "Key": params["Key"], "ETag": info.etag}


@S3.handles("AbortMultipartUpload")
async def abort_multipart_upload(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _uploads(ctx).abort(await account_for_async(ctx, params), params["Bucket"], params["Key"], params["UploadId"])
    return {}


def _max(params: dict[str, Any], name: str, wire: str) -> int:
    value = params.get(name, 1000)
    if value < 0:
        raise AWSError(f"Argument {wire} must be an integer between 0 and 2147483647", code="InvalidArgument")
    return int(min(value, 1000))


@S3.handles("ListParts", partial="no checksums yet")
def list_parts(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_for(ctx, params)
    marker = params.get("PartNumberMarker") or 0
    max_parts = _max(params, "MaxParts", "max-parts")
    page = _uploads(ctx).list_parts(account, params["Bucket"], params["Key"], params["UploadId"],
                                    marker=marker, max_parts=max_parts)
    return {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": params["UploadId"],
            "PartNumberMarker": marker, "NextPartNumberMarker": page.next_marker if page.truncated else None,
            "MaxParts": max_parts, "IsTruncated": page.truncated,
            "Parts": [{"PartNumber": p.part_number, "LastModified": p.last_modified, "ETag": p.etag, "Size": p.size}
                      for p in page.parts] or None,
            "Initiator": _initiator(page.upload), "Owner": _owner(account), "StorageClass": "STANDARD"}


@S3.handles("ListMultipartUploads")
def list_multipart_uploads(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_for(ctx, params)
    max_uploads = _max(params, "MaxUploads", "max-uploads")
    encoding = params.get("EncodingType")
    page = _uploads(ctx).list_uploads(account, params["Bucket"], prefix=params.get("Prefix") or "",
                                      delimiter=params.get("Delimiter") or "", key_marker=params.get("KeyMarker") or "",
                                      upload_id_marker=params.get("UploadIdMarker") or "", max_uploads=max_uploads)
    return {"Bucket": params["Bucket"], "KeyMarker": _encode(params.get("KeyMarker") or "", encoding),
            "UploadIdMarker": params.get("UploadIdMarker") or "",
            "NextKeyMarker": _encode(page.next_key_marker, encoding), "NextUploadIdMarker": page.next_upload_id_marker,
            "Prefix": _encode(params.get("Prefix"), encoding), "Delimiter": _encode(params.get("Delimiter"), encoding),
            "MaxUploads": max_uploads, "IsTruncated": page.truncated, "EncodingType": encoding,
            "Uploads": [{"UploadId": u.upload_id, "Key": _encode(u.key, encoding), "Initiated": u.initiated,
                         "StorageClass": "STANDARD", "Owner": _owner(account), "Initiator": _initiator(u)}
                        for u in page.uploads] or None,
            "CommonPrefixes": [{"Prefix": _encode(p, encoding)} for p in page.common_prefixes] or None}
