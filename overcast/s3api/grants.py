"""S3 access control lists: canned ACLs, ``x-amz-grant-*`` headers, and what a grant allows.

An ACL is kept as ``{"Owner": {"ID": account}, "Grants": [{"Grantee": {...}, "Permission": P}]}``
(the shape of GetBucketAcl's output): a bucket's as its ``acl`` configuration document, an
object's as JSON in the object's stored headers under :data:`OBJECT_ACL_HEADER`.  Canonical user
ids are account ids.  No ACL stored means ``private`` for the bucket owner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from overcast.core.errors import AWSError

OBJECT_ACL_HEADER = "x-amz-acl"   # reserved key in an object's stored headers
GROUPS = "http://acs.amazonaws.com/groups/"
ALL_USERS = GROUPS + "global/AllUsers"
AUTHENTICATED_USERS = GROUPS + "global/AuthenticatedUsers"
LOG_DELIVERY = GROUPS + "s3/LogDelivery"
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
CANNED_BUCKET = ("private", "public-read", "public-read-write", "authenticated-read", "log-delivery-write")
CANNED_OBJECT = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                 "bucket-owner-read", "bucket-owner-full-control")
# GrantX request members (x-amz-grant-*) -> permission.
GRANT_MEMBERS = {"GrantFullControl": "FULL_CONTROL", "GrantRead": "READ", "GrantReadACP": "READ_ACP",
                 "GrantWrite": "WRITE", "GrantWriteACP": "WRITE_ACP"}

BUCKET_PERMISSIONS: dict[str, frozenset[str]] = {
    "READ": frozenset({"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}),
    "WRITE": frozenset({"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts"}),
    "READ_ACP": frozenset({"s3:GetBucketAcl"}),
    "WRITE_ACP": frozenset({"s3:PutBucketAcl"}),
}
OBJECT_PERMISSIONS: dict[str, frozenset[str]] = {
    "READ": frozenset({"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"}),
    "WRITE": frozenset(),
    "READ_ACP": frozenset({"s3:GetObjectAcl", "s3:GetObjectVersionAcl"}),
    "WRITE_ACP": frozenset({"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}),
}
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*\Z', re.IGNORECASE)


def user(account: str) -> dict[str, Any]:
    return {"Grantee": {"Type": "CanonicalUser", "ID": account}, "Permission": "FULL_CONTROL"}


def grant(grantee: dict[str, str], permission: str) -> dict[str, Any]:
    return {"Grantee": grantee, "Permission": permission}


def _group(uri: str, permission: str) -> dict[str, Any]:
    return grant({"Type": "Group", "URI": uri}, permission)


def invalid_argument(message: str, name: str = "", value: str = "") -> AWSError:
    return AWSError(message, code="InvalidArgument", extra={"ArgumentName": name, "ArgumentValue": value}
                    if name else None)


def canned(name: str, owner: str, *, bucket_owner: str | None = None, for_bucket: bool = True) -> dict[str, Any]:
    """The ACL of canned ACL ``name`` for ``owner`` (``bucket_owner``: an object's bucket's owner)."""
    allowed = CANNED_BUCKET if for_bucket else CANNED_OBJECT
    if name not in allowed:
        raise invalid_argument("", "x-amz-acl", name)
    grants = [user(owner)]
    if name in ("public-read", "public-read-write"):
        grants.append(_group(ALL_USERS, "READ"))
    if name == "public-read-write":
        grants.append(_group(ALL_USERS, "WRITE"))
    if name == "authenticated-read":
        grants.append(_group(AUTHENTICATED_USERS, "READ"))
    if name == "log-delivery-write":
        grants += [_group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")]
    if name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner and bucket_owner != owner:
        grants.append(grant({"Type": "CanonicalUser", "ID": bucket_owner},
                            "READ" if name == "bucket-owner-read" else "FULL_CONTROL"))
    return {"Owner": {"ID": owner}, "Grants": grants}


def from_grant_headers(params: Mapping[str, Any], owner: str) -> dict[str, Any] | None:
    """The ACL that ``x-amz-grant-*`` headers describe (None: none sent).  Forms: ``id="…"``,
    ``uri="…"``; ``emailAddress`` cannot be resolved here."""
    grants = []
    for member, permission in GRANT_MEMBERS.items():
        value = params.get(member)
        if not value:
            continue
        for item in value.split(","):
            m = _GRANTEE.match(item)
            if m is None:
                raise invalid_argument("Invalid id", member, value)
            kind, target = m.group(1).lower(), m.group(2).strip()
            if kind == "emailaddress":
                raise AWSError("The e-mail address you provided does not match any account on record.",
                               code="UnresolvableGrantByEmailAddress")
            if kind == "uri":
                if not target.startswith(GROUPS):
                    raise invalid_argument("Invalid group uri", "uri", target)
                grants.append(_group(target, permission))
            else:
                grants.append(grant({"Type": "CanonicalUser", "ID": target}, permission))
    if not grants:
        return None
    return {"Owner": {"ID": owner}, "Grants": grants}


def from_body(document: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """An AccessControlPolicy request body, checked (``MalformedACLError``)."""
    grants = []
    for item in document.get("Grants") or []:
        grantee = item.get("Grantee") or {}
        permission = item.get("Permission")
        if permission not in PERMISSIONS:
            raise _malformed()
        kind = grantee.get("Type")
        if kind == "CanonicalUser" and grantee.get("ID"):
            grants.append(grant({"Type": "CanonicalUser", "ID": grantee["ID"]}, permission))
        elif kind == "Group" and str(grantee.get("URI", "")).startswith(GROUPS):
            grants.append(_group(grantee["URI"], permission))
        elif kind == "AmazonCustomerByEmail":
            raise AWSError("The e-mail address you provided does not match any account on record.",
                           code="UnresolvableGrantByEmailAddress")
        else:
            raise _malformed()
    stated = (document.get("Owner") or {}).get("ID")
    if stated is not None and stated != owner:
        raise AccessDenied403()
    return {"Owner": {"ID": owner}, "Grants": grants}


class AccessDenied403(AWSError):
    code = "AccessDenied"
    status = 403

    def __init__(self) -> None:
        super().__init__("Access Denied")


def _malformed() -> AWSError:
    return AWSError("The XML you provided was not well-formed or did not validate against our published schema",
                    code="MalformedACLError")


def is_public(acl: Mapping[str, Any] | None) -> bool:
    return any(g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS for g in (acl or {}).get("Grants", []))


def _grantee_matches(grantee: Mapping[str, Any], account: str | None, ignore_public: bool) -> bool:
    uri = grantee.get("URI")
    if uri == ALL_USERS:
        return not ignore_public
    if uri == AUTHENTICATED_USERS:
        return account is not None and not ignore_public
    return account is not None and grantee.get("Type") == "CanonicalUser" and grantee.get("ID") == account


def allows(acl: Mapping[str, Any] | None, account: str | None, action: str, *, for_bucket: bool,
           ignore_public: bool = False) -> bool:
    """Whether ``acl`` grants ``account`` (None: anonymous) what ``action`` needs."""
    table = BUCKET_PERMISSIONS if for_bucket else OBJECT_PERMISSIONS
    for item in (acl or {}).get("Grants", []):
        permission = item.get("Permission")
        if not _grantee_matches(item.get("Grantee") or {}, account, ignore_public):
            continue
        if permission == "FULL_CONTROL" and any(action in actions for actions in table.values()):
            return True
        if action in table.get(permission, frozenset()):
            return True
    return False


def render(acl: Mapping[str, Any]) -> dict[str, Any]:
    """Get{Bucket,Object}Acl's answer."""
    owner = acl["Owner"]["ID"]
    grants = []
    for item in acl.get("Grants", []):
        grantee = dict(item["Grantee"])
        if grantee.get("Type") == "CanonicalUser":
            grantee.setdefault("DisplayName", grantee["ID"])
        grants.append({"Grantee": grantee, "Permission": item["Permission"]})
    return {"Owner": {"ID": owner, "DisplayName": owner}, "Grants": grants}


def object_acl(headers: Mapping[str, str], bucket_owner: str) -> dict[str, Any]:
    """An object's ACL from its stored headers (none stored: private to the bucket owner)."""
    text = headers.get(OBJECT_ACL_HEADER)
    if text:
        try:
            document = json.loads(text)
            if isinstance(document, dict) and "Owner" in document:
                return document
        except ValueError:
            pass
    return canned("private", bucket_owner, for_bucket=False)


def object_owner(headers: Mapping[str, str], bucket_owner: str) -> str:
    return str(object_acl(headers, bucket_owner)["Owner"]["ID"])
