"""Bucket policy, public access block and ownership controls: Put/Get/Delete of each, and
GetBucketPolicyStatus.  The documents are the bucket's ``policy``, ``public-access-block`` and
``ownership-controls`` configurations; :mod:`.access` enforces them."""

from __future__ import annotations

import json
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AccessDenied, AWSError, NotFound
from overcast.core.objects import policy as policies

from .access import ACL, BUCKET_OWNER_ENFORCED, OWNERSHIP, POLICY, PUBLIC_ACCESS_BLOCK, authorize
from .registry import S3

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
OWNERSHIP_VALUES = ("BucketOwnerPreferred", "ObjectWriter", BUCKET_OWNER_ENFORCED)


def _malformed_xml() -> AWSError:
    return AWSError("The XML you provided was not well-formed or did not validate against our published schema",
                    code="MalformedXML")


# -- bucket policy ------------------------------------------------------------------------------------
@S3.handles("PutBucketPolicy", partial="principals are checked for form, not for existing accounts")
def put_bucket_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    text = params.get("Policy")
    if not text:
        raise policies.MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    document = policies.parse(text, params["Bucket"])
    if access.public_access_block.get("BlockPublicPolicy") and policies.is_public(document):
        raise AccessDenied("Access Denied")
    # Kept as sent (GetBucketPolicy returns the caller's text) next to the parsed document.
    ctx.cloud.buckets.put_config(access.account, params["Bucket"], POLICY, document)
    ctx.cloud.buckets.put_config(access.account, params["Bucket"], "policy-text", {"Text": text})
    return {}


@S3.handles("GetBucketPolicy")
def get_bucket_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    document = access.configs.get(POLICY)
    if document is None:
        raise _no_policy(params["Bucket"])
    text = ctx.cloud.buckets.get_config(access.account, params["Bucket"], "policy-text")
    return {"Policy": text["Text"] if text else json.dumps(document)}


def _no_policy(bucket: str) -> AWSError:
    return NotFound("The bucket policy does not exist", code="NoSuchBucketPolicy", status=404,
                    extra={"BucketName": bucket})


@S3.handles("DeleteBucketPolicy")
def delete_bucket_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    ctx.cloud.buckets.delete_config(access.account, params["Bucket"], POLICY)
    ctx.cloud.buckets.delete_config(access.account, params["Bucket"], "policy-text")
    return {}


@S3.handles("GetBucketPolicyStatus")
def get_bucket_policy_status(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    document = access.configs.get(POLICY)
    if document is None:
        raise _no_policy(params["Bucket"])
    return {"PolicyStatus": {"IsPublic": policies.is_public(document)}}


# -- public access block ------------------------------------------------------------------------------
@S3.handles("PutPublicAccessBlock", partial="bucket level only (no account-level s3control block)")
def put_public_access_block(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    config = params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        raise _malformed_xml()
    document = {flag: bool(config.get(flag, False)) for flag in PUBLIC_ACCESS_FLAGS}
    ctx.cloud.buckets.put_config(access.account, params["Bucket"], PUBLIC_ACCESS_BLOCK, document)
    return {}


@S3.handles("GetPublicAccessBlock")
def get_public_access_block(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    document = access.configs.get(PUBLIC_ACCESS_BLOCK)
    if document is None:
        raise NotFound("The public access block configuration was not found",
                       code="NoSuchPublicAccessBlockConfiguration", status=404,
                       extra={"BucketName": params["Bucket"]})
    return {"PublicAccessBlockConfiguration": document}


@S3.handles("DeletePublicAccessBlock")
def delete_public_access_block(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    ctx.cloud.buckets.delete_config(access.account, params["Bucket"], PUBLIC_ACCESS_BLOCK)
    return {}


# -- ownership controls -------------------------------------------------------------------------------
def ownership_document(value: str) -> dict[str, Any]:
    if value not in OWNERSHIP_VALUES:
        raise _malformed_xml()
    return {"Rules": [{"ObjectOwnership": value}]}


@S3.handles("PutBucketOwnershipControls")
def put_bucket_ownership_controls(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    rules = (params.get("OwnershipControls") or {}).get("Rules") or []
    if len(rules) != 1:
        raise _malformed_xml()
    document = ownership_document(str(rules[0].get("ObjectOwnership")))
    if document["Rules"][0]["ObjectOwnership"] == BUCKET_OWNER_ENFORCED:
        acl = access.configs.get(ACL)
        if acl is not None and any(g.get("Grantee", {}).get("ID") != access.account for g in acl.get("Grants", [])):
            raise AWSError("Bucket ACLs must be reset to private before applying BucketOwnerEnforced ownership",
                           code="InvalidBucketAclWithObjectOwnership")
    ctx.cloud.buckets.put_config(access.account, params["Bucket"], OWNERSHIP, document)
    return {}


@S3.handles("GetBucketOwnershipControls")
def get_bucket_ownership_controls(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    document = access.configs.get(OWNERSHIP)
    if document is None:
        raise NotFound("The bucket ownership controls were not found", code="OwnershipControlsNotFoundError",
                       status=404, extra={"BucketName": params["Bucket"]})
    return {"OwnershipControls": document}


@S3.handles("DeleteBucketOwnershipControls")
def delete_bucket_ownership_controls(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    ctx.cloud.buckets.delete_config(access.account, params["Bucket"], OWNERSHIP)
    return {}
