"""Bucket and object tagging: Put/Get/DeleteBucketTagging, Put/Get/DeleteObjectTagging, and the
``x-amz-tagging`` header (URL-encoded ``k1=v1&k2=v2``) of PutObject/CreateMultipartUpload/CopyObject.

Bucket tags are the bucket's ``tagging`` configuration document; object tags live with the object.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError

from .access import account_for, account_for_async
from .registry import S3

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_ALLOWED = re.compile(r"[\w\s.:/=+\-@]*\Z")
KIND = "tagging"


def invalid_tag(message: str) -> AWSError:
    return AWSError(message, code="InvalidTag")


def check_tags(pairs: Iterable[tuple[str, str]], *, limit: int = MAX_OBJECT_TAGS, bucket: bool = False
               ) -> dict[str, str]:
    """S3's rules for a tag set (``InvalidTag``); the tags as an ordered dict."""
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        if not key or not _ALLOWED.match(key):
            raise invalid_tag("The TagKey you have provided is invalid")
        if len(key) > MAX_KEY:
            raise invalid_tag(f"The TagKey you have provided is too long, max {MAX_KEY}")
        if not _ALLOWED.match(value):
            raise invalid_tag("The TagValue you have provided is invalid")
        if len(value) > MAX_VALUE:
            raise invalid_tag(f"The TagValue you have provided is too long, max {MAX_VALUE}")
        if key.lower().startswith("aws:"):
            raise invalid_tag("Your TagKey cannot be prefixed with aws:")
        tags[key] = value
    if len(tags) > limit:
        raise invalid_tag(f"{'Bucket tag count' if bucket else 'Object tags'} cannot be greater than {limit}")
    return tags


def from_header(header: str | None) -> dict[str, str]:
    """The tags of an ``x-amz-tagging`` header (URL query form; a key without ``=`` has an empty value)."""
    if not header:
        return {}
    return check_tags(parse_qsl(header, keep_blank_values=True))


def from_tag_set(tagging: Mapping[str, Any] | None, *, limit: int = MAX_OBJECT_TAGS, bucket: bool = False
                 ) -> dict[str, str]:
    tag_set = (tagging or {}).get("TagSet") or []
    return check_tags(((t.get("Key") or "", t.get("Value") or "") for t in tag_set), limit=limit, bucket=bucket)


def tag_set(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# -- buckets ----------------------------------------------------------------------------------------

@S3.handles("PutBucketTagging")
def put_bucket_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = from_tag_set(params.get("Tagging"), limit=MAX_BUCKET_TAGS, bucket=True)
    ctx.cloud.buckets.put_config(account_for(ctx, params), params["Bucket"], KIND, {"TagSet": tag_set(tags)})
    return {}


@S3.handles("GetBucketTagging")
def get_bucket_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    document = ctx.cloud.buckets.get_config(account_for(ctx, params), params["Bucket"], KIND)
    if not document or not document.get("TagSet"):
        raise AWSError("The TagSet does not exist", code="NoSuchTagSet", status=404,
                       extra={"BucketName": params["Bucket"]})
    return {"TagSet": document["TagSet"]}


@S3.handles("DeleteBucketTagging")
def delete_bucket_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.cloud.buckets.delete_config(account_for(ctx, params), params["Bucket"], KIND)
    return {}


# -- objects ----------------------------------------------------------------------------------------

def _no_versions(params: Mapping[str, Any]) -> None:
    if params.get("VersionId") not in (None, "null"):
        raise AWSError("Invalid version id specified", code="InvalidArgument",
                       extra={"ArgumentName": "versionId", "ArgumentValue": params["VersionId"]})


@S3.handles("PutObjectTagging", partial="no versionId yet")
async def put_object_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _no_versions(params)
    tags = from_tag_set(params.get("Tagging"))
    await asyncio.to_thread(ctx.cloud.objects.set_tags, await account_for_async(ctx, params), params["Bucket"], params["Key"], tags)
    return {}


@S3.handles("GetObjectTagging", partial="no versionId yet")
async def get_object_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _no_versions(params)
    info = await asyncio.to_thread(ctx.cloud.objects.head, await account_for_async(ctx, params), params["Bucket"], params["Key"])
    return {"TagSet": tag_set(info.tags)}


@S3.handles("DeleteObjectTagging", partial="no versionId yet")
async def delete_object_tagging(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _no_versions(params)
    await asyncio.to_thread(ctx.cloud.objects.set_tags, await account_for_async(ctx, params), params["Bucket"], params["Key"], None)
    return {}
