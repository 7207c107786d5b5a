"""Get/PutBucketAcl, Get/PutObjectAcl, and the ACL and ownership headers of CreateBucket.

A bucket's ACL is its ``acl`` configuration document; an object's lives in its stored headers
(see :mod:`.grants`).  With ownership controls ``BucketOwnerEnforced`` ACLs are disabled: only
``bucket-owner-full-control`` (or private) is accepted, others fail ``AccessControlListNotSupported``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError

from . import grants
from .access import (
    ACL,
    BUCKET_OWNER_ENFORCED,
    OWNERSHIP,
    Access,
    acls_not_supported,
    authorize,
    authorize_async,
)
from .policy import ownership_document
from .registry import S3

_ACCEPTED_WHEN_ENFORCED = (None, "", "private", "bucket-owner-full-control")


def _one_source(params: dict[str, Any]) -> None:
    sources = [bool(params.get("ACL")), any(params.get(m) for m in grants.GRANT_MEMBERS),
               params.get("AccessControlPolicy") is not None]
    if sum(sources) > 1:
        raise AWSError("Specifying both Canned ACLs and Header Grants is not allowed", code="InvalidRequest")
    if not any(sources):
        raise AWSError("The XML you provided was not well-formed or did not validate against our published schema",
                       code="MalformedACLError")


def _requested(access: Access, params: dict[str, Any], owner: str, *, for_bucket: bool) -> dict[str, Any]:
    """The ACL a Put*Acl request sets (canned, grant headers or body), checked."""
    _one_source(params)
    if access.ownership == BUCKET_OWNER_ENFORCED:
        if params.get("ACL") not in _ACCEPTED_WHEN_ENFORCED or params.get("AccessControlPolicy") is not None \
                or any(params.get(m) for m in grants.GRANT_MEMBERS):
            raise acls_not_supported()
        return grants.canned("private", owner, for_bucket=for_bucket)
    body = params.get("AccessControlPolicy")
    if body is not None:
        acl = grants.from_body(body, owner)
        access.check_acl_allowed(acl)
        return acl
    requested = access.requested_acl(params, owner=owner, for_bucket=for_bucket)
    assert requested is not None
    return requested


@S3.handles("GetBucketAcl")
def get_bucket_acl(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    acl = access.configs.get(ACL) if access.ownership != BUCKET_OWNER_ENFORCED else None
    return grants.render(acl or grants.canned("private", access.account))


@S3.handles("PutBucketAcl")
def put_bucket_acl(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    access = authorize(ctx, params)
    acl = _requested(access, params, access.account, for_bucket=True)
    ctx.cloud.buckets.put_config(access.account, params["Bucket"], ACL, acl)
    return {}


def _version(params: dict[str, Any]) -> None:
    if params.get("VersionId") not in (None, "null"):
        raise AWSError("Invalid version id specified", code="InvalidArgument",
                       extra={"ArgumentName": "versionId", "ArgumentValue": str(params["VersionId"])})


@S3.handles("GetObjectAcl", partial="no versionId other than null")
async def get_object_acl(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _version(params)
    access = await authorize_async(ctx, params)
    info = await asyncio.to_thread(ctx.cloud.objects.head, access.account, params["Bucket"], params["Key"])
    if access.ownership == BUCKET_OWNER_ENFORCED:
        return grants.render(grants.canned("private", access.account, for_bucket=False))
    return grants.render(grants.object_acl(info.headers, access.account))


@S3.handles("PutObjectAcl", partial="no versionId other than null")
async def put_object_acl(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _version(params)
    access = await authorize_async(ctx, params)
    info = await asyncio.to_thread(ctx.cloud.objects.head, access.account, params["Bucket"], params["Key"])
    owner = grants.object_owner(info.headers, access.account)
    acl = _requested(access, params, owner, for_bucket=False)
    value = None if owner == access.account and acl == grants.canned("private", owner, for_bucket=False) \
        else json.dumps(acl)
    await asyncio.to_thread(ctx.cloud.objects.set_headers, access.account, params["Bucket"], params["Key"],
                            {grants.OBJECT_ACL_HEADER: value})
    return {}


# -- CreateBucket ---------------------------------------------------------------------------------------
def creation_documents(params: dict[str, Any], account: str) -> dict[str, Any]:
    """The ``acl`` and ``ownership-controls`` documents that CreateBucket's ``x-amz-acl`` /
    ``x-amz-grant-*`` / ``x-amz-object-ownership`` headers ask for, checked before the bucket exists."""
    out: dict[str, Any] = {}
    ownership = params.get("ObjectOwnership")
    if ownership:
        out[OWNERSHIP] = ownership_document(ownership)
    canned = params.get("ACL")
    by_headers = grants.from_grant_headers(params, account)
    if canned and by_headers is not None:
        raise AWSError("Specifying both Canned ACLs and Header Grants is not allowed", code="InvalidRequest")
    acl = grants.canned(canned, account) if canned else by_headers
    if acl is not None and acl != grants.canned("private", account):
        if ownership == BUCKET_OWNER_ENFORCED:
            raise AWSError("Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                           code="InvalidBucketAclWithObjectOwnership")
        out[ACL] = acl
    return out
