"""Who may do what to a bucket and its objects: the access decision every S3 handler makes.

The bucket owner's account may do anything, unless an explicit Deny of the bucket policy names it
(the owner can always manage the policy, the public access block and the ownership controls,
so it cannot lock itself out).  Other accounts and anonymous callers (``ctx.caller`` None) are
allowed only by an Allow of the bucket policy or an ACL grant, never when a Deny matches.  The
public access block turns public ACLs off (``IgnorePublicAcls``) and keeps a public policy from
letting in anyone outside the owner's account (``RestrictPublicBuckets``); ownership controls
``BucketOwnerEnforced`` turn ACLs off altogether.

Handlers call :func:`account_for` (or ``await account_for_async``) with their params; the answer
is the bucket owner's account, which the stores accept (they check ``bucket.account_id``).
:func:`account_of` stays for what needs a signed caller's own account (CreateBucket, ListBuckets).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from overcast.core.context import RequestContext
from overcast.core.errors import AccessDenied, AWSError
from overcast.core.objects.buckets import BucketInfo
from overcast.core.objects.object_store import NoSuchKey
from overcast.core.objects.policy import ContextValue, Principal, evaluate
from overcast.core.objects.policy import is_public as policy_is_public

from . import grants

POLICY, ACL, PUBLIC_ACCESS_BLOCK, OWNERSHIP = "policy", "acl", "public-access-block", "ownership-controls"
KINDS = (POLICY, ACL, PUBLIC_ACCESS_BLOCK, OWNERSHIP)
BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"

# Operations only the bucket owner's account may call (and always may).
OWNER_ONLY = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicyStatus",
                        "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock",
                        "GetBucketOwnershipControls", "PutBucketOwnershipControls",
                        "DeleteBucketOwnershipControls"})
# S3 operation -> the IAM action it needs (others: ``s3:<operation>``).
ACTIONS = {
    "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject", "DeleteObject": "s3:DeleteObject", "DeleteObjects": "s3:DeleteObject",
    "GetObjectAttributes": "s3:GetObjectAttributes",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts", "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListObjects": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions", "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "GetBucketCors": "s3:GetBucketCORS", "PutBucketCors": "s3:PutBucketCORS", "DeleteBucketCors": "s3:PutBucketCORS",
    "DeleteBucketTagging": "s3:PutBucketTagging", "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock", "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
}


def account_of(ctx: RequestContext) -> str:
    """The signed caller's own account (anonymous: ``AccessDenied``)."""
    if ctx.caller is None:
        raise AccessDenied("Access Denied")
    return ctx.caller.account_id


def action_of(operation: str) -> str:
    return ACTIONS.get(operation, f"s3:{operation}")


@dataclass(frozen=True)
class Access:
    """An allowed request: the bucket, who asks, and the bucket's access documents."""

    bucket: BucketInfo
    caller: str | None                     # the caller's account (None: anonymous)
    configs: dict[str, Any] = field(default_factory=dict)

    @property
    def account(self) -> str:
        """The account to act as in the stores: the bucket owner's."""
        return self.bucket.account_id

    @property
    def is_owner(self) -> bool:
        return self.caller == self.bucket.account_id

    @property
    def ownership(self) -> str:
        rules = (self.configs.get(OWNERSHIP) or {}).get("Rules") or [{}]
        return str(rules[0].get("ObjectOwnership") or "ObjectWriter")

    @property
    def public_access_block(self) -> dict[str, Any]:
        return dict(self.configs.get(PUBLIC_ACCESS_BLOCK) or {})

    def new_object_acl(self, params: dict[str, Any]) -> dict[str, str]:
        """The stored headers that carry the ACL of an object this caller writes now (``ACL`` /
        ``Grant*`` of the request; the writer owns it unless the bucket owner's ownership controls
        say otherwise).  Merge them into the headers given to ``ObjectStore.put``."""
        acl = self.requested_acl(params, owner=self.object_owner(params), for_bucket=False)
        if acl is None:
            owner = self.object_owner(params)
            if owner == self.bucket.account_id:
                return {}
            acl = grants.canned("private", owner, for_bucket=False)
        return {grants.OBJECT_ACL_HEADER: json.dumps(acl)}

    def object_owner(self, params: dict[str, Any]) -> str:
        if self.caller is None or self.ownership == BUCKET_OWNER_ENFORCED:
            return self.bucket.account_id
        if self.ownership == "BucketOwnerPreferred" and params.get("ACL") == "bucket-owner-full-control":
            return self.bucket.account_id
        return self.caller

    def requested_acl(self, params: dict[str, Any], *, owner: str, for_bucket: bool) -> dict[str, Any] | None:
        """The ACL a request's ``x-amz-acl`` / ``x-amz-grant-*`` headers ask for (None: neither),
        refused when ACLs are disabled or public ones blocked."""
        canned = params.get("ACL")
        by_headers = grants.from_grant_headers(params, owner)
        if canned and by_headers is not None:
            raise AWSError("Specifying both Canned ACLs and Header Grants is not allowed", code="InvalidRequest")
        if self.ownership == BUCKET_OWNER_ENFORCED:
            if by_headers is not None or (canned and canned != "bucket-owner-full-control"):
                raise acls_not_supported()
            return None
        if canned:
            acl = grants.canned(canned, owner, bucket_owner=self.bucket.account_id, for_bucket=for_bucket)
        elif by_headers is not None:
            acl = by_headers
        else:
            return None
        self.check_acl_allowed(acl)
        return acl

    def check_acl_allowed(self, acl: dict[str, Any]) -> None:
        if self.public_access_block.get("BlockPublicAcls") and grants.is_public(acl):
            raise AccessDenied("Access Denied")


def acls_not_supported() -> AWSError:
    return AWSError("The bucket does not allow ACLs", code="AccessControlListNotSupported")


def request_context(ctx: RequestContext, params: dict[str, Any], bucket: BucketInfo) -> dict[str, ContextValue]:
    """The condition keys a bucket policy can test for this request."""
    now = datetime.now(UTC)
    out: dict[str, ContextValue] = {
        "aws:SecureTransport": "true" if ctx.secure_transport else "false",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(time.time())),
        "aws:ResourceAccount": bucket.account_id, "s3:ResourceAccount": bucket.account_id,
        "aws:PrincipalType": "Anonymous",
    }
    if ctx.source_ip:
        out["aws:SourceIp"] = ctx.source_ip
    caller = ctx.caller
    if caller is not None:
        out.update({"aws:PrincipalAccount": caller.account_id, "aws:PrincipalArn": caller.arn,
                    "aws:userid": caller.user_id, "s3:signatureversion": "AWS4-HMAC-SHA256",
                    "aws:PrincipalType": "AssumedRole" if ":assumed-role/" in caller.arn else
                    "User" if ":user/" in caller.arn else "Account"})
        if ":user/" in caller.arn:
            out["aws:username"] = caller.arn.rsplit("/", 1)[-1]
    for member, key in (("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter"), ("ACL", "s3:x-amz-acl"),
                        ("CopySource", "s3:x-amz-copy-source"), ("MetadataDirective", "s3:x-amz-metadata-directive"),
                        ("ServerSideEncryption", "s3:x-amz-server-side-encryption"),
                        ("StorageClass", "s3:x-amz-storage-class")):
        value = params.get(member)
        if value is not None:
            out[key] = str(value)
    if params.get("MaxKeys") is not None:
        out["s3:max-keys"] = str(params["MaxKeys"])
    for member, permission in grants.GRANT_MEMBERS.items():
        if params.get(member):
            out[f"s3:x-amz-grant-{permission.lower().replace('_', '-')}"] = str(params[member])
    if params.get("Tagging") and isinstance(params["Tagging"], str):
        pairs = parse_qsl(params["Tagging"], keep_blank_values=True)
        for k, v in pairs:
            out[f"s3:RequestObjectTag/{k}"] = v
        out["s3:RequestObjectTagKeys"] = [k for k, _ in pairs]
    return out


def authorize(ctx: RequestContext, params: dict[str, Any], *, bucket: str | None = None, key: str | None = None,
              action: str | None = None) -> Access:
    """Decide the request (``AccessDenied`` / ``NoSuchBucket``); ``bucket``/``key``/``action`` default
    to the request's ``Bucket``/``Key`` and its operation's action."""
    name = bucket if bucket is not None else params["Bucket"]
    key = key if key is not None else params.get("Key")
    action = action or action_of(ctx.operation)
    info, configs = ctx.cloud.buckets.access_state(name, KINDS)
    caller = ctx.caller.account_id if ctx.caller is not None else None
    access = Access(info, caller, configs)
    if ctx.operation in OWNER_ONLY and bucket is None:
        if access.is_owner:
            return access
        raise AccessDenied("Access Denied")
    policy = configs.get(POLICY)
    resource = f"arn:aws:s3:::{name}/{key}" if key is not None else f"arn:aws:s3:::{name}"
    decision = "none"
    if policy:
        context = request_context(ctx, params, info)
        if key is not None and "existingobjecttag" in json.dumps(policy).lower():
            for k, v in _existing_tags(ctx, info, key).items():
                context[f"s3:ExistingObjectTag/{k}"] = v
        who = Principal(caller, ctx.caller.arn if ctx.caller is not None else None)
        decision = evaluate(policy, who, action, resource, context)
    if decision == "deny":
        raise AccessDenied("Access Denied")
    if access.is_owner:
        return access
    if decision == "allow" and not (access.public_access_block.get("RestrictPublicBuckets")
                                    and policy_is_public(policy)):
        return access
    if access.ownership != BUCKET_OWNER_ENFORCED and _acl_allows(ctx, access, action, key):
        return access
    raise AccessDenied("Access Denied")


def _acl_allows(ctx: RequestContext, access: Access, action: str, key: str | None) -> bool:
    ignore_public = bool(access.public_access_block.get("IgnorePublicAcls"))
    bucket_acl = access.configs.get(ACL) or grants.canned("private", access.bucket.account_id)
    if grants.allows(bucket_acl, access.caller, action, for_bucket=True, ignore_public=ignore_public):
        return True
    if key is None or not any(action in actions for actions in grants.OBJECT_PERMISSIONS.values()):
        return False
    try:
        info = ctx.cloud.objects.head(access.bucket.account_id, access.bucket.name, key)
    except NoSuchKey:
        return False
    acl = grants.object_acl(info.headers, access.bucket.account_id)
    return grants.allows(acl, access.caller, action, for_bucket=False, ignore_public=ignore_public)


def _existing_tags(ctx: RequestContext, bucket: BucketInfo, key: str) -> dict[str, str]:
    try:
        return dict(ctx.cloud.objects.head(bucket.account_id, bucket.name, key).tags)
    except NoSuchKey:
        return {}


async def authorize_async(ctx: RequestContext, params: dict[str, Any], *, bucket: str | None = None,
                          key: str | None = None, action: str | None = None) -> Access:
    return await asyncio.to_thread(authorize, ctx, params, bucket=bucket, key=key, action=action)


def account_for(ctx: RequestContext, params: dict[str, Any]) -> str:
    """The account to act as for this request if it is allowed (``AccessDenied`` otherwise)."""
    return authorize(ctx, params).account


async def account_for_async(ctx: RequestContext, params: dict[str, Any]) -> str:
    return (await authorize_async(ctx, params)).account
