"""Cross-account and anonymous S3 access decided by bucket policies, ACLs, the public access block
and ownership controls — boto3 as the owner, as a second account and unsigned."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore import UNSIGNED
from helpers import Account, Overcast, error_of


@pytest.fixture(scope="module")
def owner(overcast: Overcast) -> Any:
    return overcast.client("s3")


@pytest.fixture(scope="module")
def other(overcast: Overcast, second_account: Account) -> Any:
    return overcast.client_for(second_account, "s3")


@pytest.fixture(scope="module")
def anonymous(overcast: Overcast) -> Any:
    return overcast.client("s3", signature_version=UNSIGNED)


def _bucket(owner: Any, name: str, **extra: Any) -> str:
    owner.create_bucket(Bucket=name, **extra)
    owner.put_object(Bucket=name, Key="doc.txt", Body=b"hello")
    return name


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statement(effect: str, principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **extra}


def test_cross_account_read_needs_the_policy(owner: Any, other: Any, overcast: Overcast,
                                             second_account: Account) -> None:
    name = _bucket(owner, "xacct-read")
    assert error_of(other.get_object, Bucket=name, Key="doc.txt")[:2] == ("AccessDenied", 403)
    assert error_of(other.list_objects_v2, Bucket=name)[0] == "AccessDenied"
    assert error_of(other.put_object, Bucket=name, Key="x", Body=b"x")[0] == "AccessDenied"
    assert error_of(owner.get_bucket_policy, Bucket=name)[:2] == ("NoSuchBucketPolicy", 404)
    owner.put_bucket_policy(Bucket=name, Policy=_policy(
        _statement("Allow", {"AWS": f"arn:aws:iam::{second_account.account_id}:root"}, ["s3:GetObject"],
                   f"arn:aws:s3:::{name}/*"),
        _statement("Allow", {"AWS": second_account.account_id}, "s3:ListBucket", f"arn:aws:s3:::{name}")))
    assert json.loads(owner.get_bucket_policy(Bucket=name)["Policy"])["Statement"][0]["Effect"] == "Allow"
    assert owner.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    assert other.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in other.list_objects_v2(Bucket=name)["Contents"]] == ["doc.txt"]
    assert error_of(other.put_object, Bucket=name, Key="x", Body=b"x")[0] == "AccessDenied"
    assert error_of(other.delete_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    assert error_of(other.get_bucket_policy, Bucket=name)[0] == "AccessDenied"     # owner only
    anonymous = overcast.client("s3", signature_version=UNSIGNED)
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[:2] == ("AccessDenied", 403)
    owner.delete_bucket_policy(Bucket=name)
    assert error_of(other.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"


def test_explicit_deny_beats_allow_even_for_the_owner(owner: Any, other: Any, second_account: Account) -> None:
    name = _bucket(owner, "xacct-deny")
    owner.put_object(Bucket=name, Key="secret/plan.txt", Body=b"plan")
    owner.put_bucket_policy(Bucket=name, Policy=_policy(
        _statement("Allow", {"AWS": second_account.account_id}, "s3:*", [f"arn:aws:s3:::{name}",
                                                                         f"arn:aws:s3:::{name}/*"]),
        _statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{name}/secret/*")))
    assert other.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"hello"
    assert error_of(other.get_object, Bucket=name, Key="secret/plan.txt")[0] == "AccessDenied"
    assert error_of(owner.get_object, Bucket=name, Key="secret/plan.txt")[0] == "AccessDenied"
    # The Allow lets the second account write; the object stays readable by the bucket owner.
    other.put_object(Bucket=name, Key="theirs.txt", Body=b"from b")
    assert owner.get_object(Bucket=name, Key="theirs.txt")["Body"].read() == b"from b"
    acl = owner.get_object_acl(Bucket=name, Key="theirs.txt")
    assert acl["Owner"]["ID"] == second_account.account_id
    # The owner can always manage the policy (no lock-out), then reads again.
    owner.delete_bucket_policy(Bucket=name)
    assert owner.get_object(Bucket=name, Key="secret/plan.txt")["Body"].read() == b"plan"


def test_public_read_object_and_public_access_block(owner: Any, anonymous: Any, other: Any) -> None:
    name = _bucket(owner, "public-objects")
    owner.put_object(Bucket=name, Key="open.txt", Body=b"for all", ACL="public-read")
    assert anonymous.get_object(Bucket=name, Key="open.txt")["Body"].read() == b"for all"
    assert other.get_object(Bucket=name, Key="open.txt")["Body"].read() == b"for all"
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    assert error_of(anonymous.list_objects_v2, Bucket=name)[0] == "AccessDenied"
    grants = owner.get_object_acl(Bucket=name, Key="open.txt")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    owner.put_object_acl(Bucket=name, Key="doc.txt", ACL="authenticated-read")
    assert other.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"hello"
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"

    owner.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    config = owner.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert config == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                      "RestrictPublicBuckets": True}
    assert error_of(anonymous.get_object, Bucket=name, Key="open.txt")[0] == "AccessDenied"
    assert error_of(owner.put_object, Bucket=name, Key="x", Body=b"x", ACL="public-read")[0] == "AccessDenied"
    assert error_of(owner.put_bucket_policy, Bucket=name, Policy=_policy(
        _statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*")))[0] == "AccessDenied"
    assert owner.get_object(Bucket=name, Key="open.txt")["Body"].read() == b"for all"
    owner.delete_public_access_block(Bucket=name)
    assert error_of(owner.get_public_access_block, Bucket=name)[0] == "NoSuchPublicAccessBlockConfiguration"
    assert anonymous.get_object(Bucket=name, Key="open.txt")["Body"].read() == b"for all"


def test_public_policy_and_restrict_public_buckets(owner: Any, anonymous: Any) -> None:
    name = _bucket(owner, "public-policy")
    owner.put_bucket_policy(Bucket=name, Policy=_policy(
        _statement("Allow", "*", ["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"])))
    assert owner.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    assert anonymous.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in anonymous.list_objects(Bucket=name)["Contents"]] == ["doc.txt"]
    assert error_of(anonymous.put_object, Bucket=name, Key="x", Body=b"x")[0] == "AccessDenied"
    owner.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    owner.delete_public_access_block(Bucket=name)
    assert anonymous.head_object(Bucket=name, Key="doc.txt")["ContentLength"] == 5


def test_source_ip_conditions(owner: Any, anonymous: Any) -> None:
    name = _bucket(owner, "by-address")
    local = _statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*",
                       Condition={"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}})
    owner.put_bucket_policy(Bucket=name, Policy=_policy(local))
    assert owner.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    assert anonymous.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"hello"
    elsewhere = {**local, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    owner.put_bucket_policy(Bucket=name, Policy=_policy(elsewhere))
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    owner.put_bucket_policy(Bucket=name, Policy=_policy(_statement(
        "Deny", "*", "s3:*", f"arn:aws:s3:::{name}/*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert error_of(owner.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"
    owner.delete_bucket_policy(Bucket=name)


def test_malformed_policies_are_refused(owner: Any) -> None:
    name = _bucket(owner, "bad-policies")
    for document in ("nope", '{"Statement": []}',
                     _policy(_statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::another-bucket/*")),
                     _policy(_statement("Perhaps", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*")),
                     _policy(_statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{name}/*",
                                        Condition={"Sometimes": {"aws:SourceIp": "1.2.3.4"}}))):
        assert error_of(owner.put_bucket_policy, Bucket=name, Policy=document)[:2] == ("MalformedPolicy", 400)


def test_bucket_acls(owner: Any, other: Any, anonymous: Any, second_account: Account) -> None:
    name = _bucket(owner, "acl-bucket", ACL="public-read")
    assert [o["Key"] for o in anonymous.list_objects_v2(Bucket=name)["Contents"]] == ["doc.txt"]
    assert error_of(anonymous.get_object, Bucket=name, Key="doc.txt")[0] == "AccessDenied"   # objects stay private
    acl = owner.get_bucket_acl(Bucket=name)
    assert acl["Owner"]["ID"] == owner.list_buckets()["Owner"]["ID"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in acl["Grants"]
    owner.put_bucket_acl(Bucket=name, ACL="private")
    assert error_of(anonymous.list_objects_v2, Bucket=name)[0] == "AccessDenied"
    owner.put_bucket_acl(Bucket=name, GrantWrite=f'id="{second_account.account_id}"',
                         GrantFullControl=f'id="{acl["Owner"]["ID"]}"')
    other.put_object(Bucket=name, Key="dropbox.txt", Body=b"dropped")
    assert other.get_object(Bucket=name, Key="dropbox.txt")["Body"].read() == b"dropped"  # the writer owns it
    assert owner.get_object(Bucket=name, Key="dropbox.txt")["Body"].read() == b"dropped"
    assert error_of(other.list_objects_v2, Bucket=name)[0] == "AccessDenied"


def test_ownership_controls_disable_acls(owner: Any, second_account: Account) -> None:
    name = _bucket(owner, "enforced", ObjectOwnership="BucketOwnerEnforced")
    controls = owner.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
    assert controls == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert error_of(owner.put_object, Bucket=name, Key="x", Body=b"x", ACL="public-read")[0] == \
        "AccessControlListNotSupported"
    assert error_of(owner.put_bucket_acl, Bucket=name, ACL="public-read")[0] == "AccessControlListNotSupported"
    owner.put_object(Bucket=name, Key="y", Body=b"y", ACL="bucket-owner-full-control")
    owner.delete_bucket_ownership_controls(Bucket=name)
    assert error_of(owner.get_bucket_ownership_controls, Bucket=name)[0] == "OwnershipControlsNotFoundError"
    assert error_of(owner.create_bucket, Bucket="enforced-public", ACL="public-read",
                    ObjectOwnership="BucketOwnerEnforced")[0] == "InvalidBucketAclWithObjectOwnership"


def test_anonymous_cannot_create_or_list_buckets(anonymous: Any) -> None:
    assert error_of(anonymous.list_buckets)[0] == "AccessDenied"
    assert error_of(anonymous.create_bucket, Bucket="anon-bucket")[0] == "AccessDenied"
    assert error_of(anonymous.get_object, Bucket="no-such-bucket-here", Key="k")[0] == "NoSuchBucket"
