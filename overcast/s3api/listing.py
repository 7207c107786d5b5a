"""ListObjectsV2 and ListObjects (v1)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError

from .access import account_for
from .registry import S3


def _encode(value: str | None, encoding: str | None) -> str | None:
    if value is None or encoding != "url":
        return value
    return quote(value, safe="/")


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise AWSError("The continuation token provided is incorrect", code="InvalidArgument") from None


def _list(ctx: RequestContext, params: dict[str, Any], after: str) -> tuple[Any, int]:
    max_keys = params.get("MaxKeys", 1000)
    if max_keys < 0:
        raise AWSError("Argument maxKeys must be an integer between 0 and 2147483647", code="InvalidArgument")
    listing = ctx.cloud.objects.list(account_for(ctx, params), params["Bucket"], prefix=params.get("Prefix") or "",
                                     delimiter=params.get("Delimiter") or "", after=after, max_keys=min(max_keys, 1000))
    return listing, max_keys


def _contents(listing: Any, encoding: str | None) -> dict[str, Any]:
    return {"Contents": [{"Key": _encode(o.key, encoding), "LastModified": o.last_modified, "ETag": o.etag,
                          "Size": o.size, "StorageClass": "STANDARD"} for o in listing.objects] or None,
            "CommonPrefixes": [{"Prefix": _encode(p, encoding)} for p in listing.common_prefixes] or None}


@S3.handles("ListObjectsV2", partial="no FetchOwner owner details yet")
def list_objects_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("ContinuationToken")
    after = _untoken(token) if token else (params.get("StartAfter") or "")
    listing, max_keys = _list(ctx, params, after)
    encoding = params.get("EncodingType")
    out = {"Name": params["Bucket"], "Prefix": _encode(params.get("Prefix") or "", encoding),
           "Delimiter": _encode(params.get("Delimiter"), encoding), "MaxKeys": max_keys,
           "EncodingType": encoding, "KeyCount": len(listing.objects) + len(listing.common_prefixes),
           "IsTruncated": listing.truncated, "ContinuationToken": token,
           "StartAfter": _encode(params.get("StartAfter"), encoding),
           "NextContinuationToken": _token(listing.next_marker) if listing.truncated and listing.next_marker else None}
    out.update(_contents(listing, encoding))
    return out


@S3.handles("ListObjects")
def list_objects(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    listing, max_keys = _list(ctx, params, params.get("Marker") or "")
    encoding = params.get("EncodingType")
    out = {"Name": params["Bucket"], "Prefix": _encode(params.get("Prefix") or "", encoding),
           "Delimiter": _encode(params.get("Delimiter"), encoding), "MaxKeys": max_keys, "EncodingType": encoding,
           "Marker": _encode(params.get("Marker") or "", encoding), "IsTruncated": listing.truncated,
           "NextMarker": _encode(listing.next_marker, encoding) if listing.truncated and params.get("Delimiter")
           else None}
    out.update(_contents(listing, encoding))
    return out
