"""Bucket policy validation and evaluation (core/objects/policy.py), and the ACL model (s3api/grants.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.core.errors import AWSError
from overcast.core.objects.policy import MalformedPolicy, Principal, evaluate, glob_match, is_public, parse
from overcast.s3api import grants

A, B = "111111111111", "222222222222"
OWNER = Principal(A, f"arn:aws:iam::{A}:user/admin")
OTHER = Principal(B, f"arn:aws:iam::{B}:user/admin")
ANON = Principal(None)


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), "bkt")


def _allow(principal: Any = "*", action: Any = "s3:GetObject", resource: Any = "arn:aws:s3:::bkt/*",
           **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def test_no_policy_decides_nothing() -> None:
    assert evaluate(None, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k") == "none"


@pytest.mark.parametrize("principal, who, expected", [
    ("*", ANON, "allow"), ("*", OTHER, "allow"), ({"AWS": "*"}, ANON, "allow"),
    ({"AWS": B}, OTHER, "allow"), ({"AWS": [B]}, OWNER, "none"), ({"AWS": B}, ANON, "none"),
    ({"AWS": f"arn:aws:iam::{B}:root"}, OTHER, "allow"),
    ({"AWS": f"arn:aws:iam::{B}:user/admin"}, OTHER, "allow"),
    ({"AWS": f"arn:aws:iam::{B}:user/someone"}, OTHER, "none"),
    ({"AWS": f"arn:aws:iam::{B}:role/R"}, Principal(B, f"arn:aws:sts::{B}:assumed-role/R/session"), "allow"),
    ({"CanonicalUser": B}, OTHER, "allow"),
])
def test_principals(principal: Any, who: Principal, expected: str) -> None:
    assert evaluate(_policy(_allow(principal)), who, "s3:GetObject", "arn:aws:s3:::bkt/k") == expected


def test_actions_and_resources_with_wildcards() -> None:
    policy = _policy(_allow({"AWS": B}, ["s3:Get*", "s3:List?ucket"], ["arn:aws:s3:::bkt/public/*",
                                                                       "arn:aws:s3:::bkt"]))
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/public/a/b") == "allow"
    assert evaluate(policy, OTHER, "S3:GETOBJECT", "arn:aws:s3:::bkt/public/x") == "allow"   # actions: any case
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/private/x") == "none"
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/Public/x") == "none"    # resources: exact
    assert evaluate(policy, OTHER, "s3:ListBucket", "arn:aws:s3:::bkt") == "allow"
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/public/x") == "none"
    assert glob_match("a*b?c", "aXXbYc") and not glob_match("a*b?c", "abc")


def test_explicit_deny_beats_allow() -> None:
    policy = _policy(_allow({"AWS": B}, "s3:*"),
                     {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/*"})
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k") == "allow"
    assert evaluate(policy, OTHER, "s3:DeleteObject", "arn:aws:s3:::bkt/k") == "deny"
    assert evaluate(policy, OWNER, "s3:DeleteObject", "arn:aws:s3:::bkt/k") == "deny"


def test_not_action_not_resource_not_principal() -> None:
    policy = _policy({"Effect": "Deny", "NotPrincipal": {"AWS": A}, "NotAction": "s3:Get*",
                      "NotResource": "arn:aws:s3:::bkt/open/*"})
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/k") == "deny"
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/open/k") == "none"
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k") == "none"
    assert evaluate(policy, OWNER, "s3:PutObject", "arn:aws:s3:::bkt/k") == "none"


def test_ip_conditions() -> None:
    policy = _policy(_allow({"AWS": B}, Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.1/32", "192.168.0.0/16"]}}))
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "127.0.0.1"}) == "allow"
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "192.168.3.4"}) == "allow"
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "10.1.1.1"}) == "none"
    assert evaluate(policy, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {}) == "none"
    deny = _policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    assert evaluate(deny, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "127.0.0.1"}) == "deny"
    assert evaluate(deny, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "10.2.3.4"}) == "none"
    assert evaluate(deny, OTHER, "s3:GetObject", "arn:aws:s3:::bkt/k", {"aws:SourceIp": "::1"}) == "deny"


def test_string_bool_numeric_null_and_qualifiers() -> None:
    def decide(condition: dict[str, Any], context: dict[str, Any]) -> str:
        policy = _policy(_allow("*", "s3:ListBucket", "arn:aws:s3:::bkt", Condition=condition))
        return evaluate(policy, OTHER, "s3:ListBucket", "arn:aws:s3:::bkt", context)

    assert decide({"StringEquals": {"s3:prefix": "home/"}}, {"s3:prefix": "home/"}) == "allow"
    assert decide({"StringEquals": {"s3:prefix": "home/"}}, {"s3:prefix": "HOME/"}) == "none"
    assert decide({"StringEqualsIgnoreCase": {"s3:prefix": "home/"}}, {"s3:prefix": "HOME/"}) == "allow"
    assert decide({"StringNotEquals": {"s3:prefix": "home/"}}, {}) == "allow"          # absent key: negated holds
    assert decide({"StringEqualsIfExists": {"s3:prefix": "home/"}}, {}) == "allow"
    assert decide({"StringLike": {"s3:prefix": ["home/*", "pub?/"]}}, {"s3:prefix": "pubx/"}) == "allow"
    assert decide({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/x"}) == "none"
    assert decide({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}) == "allow"
    assert decide({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "false"}) == "none"
    assert decide({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}) == "allow"
    assert decide({"NumericLessThan": {"s3:max-keys": 10}}, {"s3:max-keys": "10"}) == "none"
    assert decide({"Null": {"aws:PrincipalAccount": "true"}}, {}) == "allow"
    assert decide({"Null": {"aws:PrincipalAccount": "false"}}, {}) == "none"
    assert decide({"StringEquals": {"aws:PrincipalAccount": B}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
                  {"aws:PrincipalAccount": B, "aws:SourceIp": "10.0.0.1"}) == "none"        # operators: AND
    assert decide({"StringEquals": {"aws:username": "${aws:username}x"}}, {"aws:username": "bob"}) == "none"
    assert decide({"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
                  {"s3:RequestObjectTagKeys": ["c", "b"]}) == "allow"
    assert decide({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
                  {"s3:RequestObjectTagKeys": ["c", "b"]}) == "none"
    assert decide({"StringEquals": {"s3:ExistingObjectTag/team": "blue"}}, {"s3:existingobjecttag/team": "blue"}) \
        == "allow"
    assert decide({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                  {"aws:CurrentTime": "2024-05-01T00:00:00Z"}) == "allow"


def test_policy_variables_in_resources() -> None:
    policy = _policy(_allow({"AWS": B}, "s3:*", "arn:aws:s3:::bkt/home/${aws:username}/*"))
    context = {"aws:username": "admin"}
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/home/admin/f", context) == "allow"
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/home/bob/f", context) == "none"
    assert evaluate(policy, OTHER, "s3:PutObject", "arn:aws:s3:::bkt/home/admin/f", {}) == "none"


@pytest.mark.parametrize("document", [
    "not json", "[]", '{"Statement": []}', '{"Version": "2013-01-01", "Statement": [{}]}',
    '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt"}]}',
    '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ec2:*", "Resource": "arn:aws:s3:::bkt"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "s3:*", '
    '"Resource": "arn:aws:s3:::bkt"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt", '
    '"Condition": {"StringSortOf": {"s3:prefix": "a"}}}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt", '
    '"Condition": {"IpAddress": {"aws:SourceIp": "300.1.1.1"}}}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt", '
    '"Bogus": 1}]}',
    '{"Statement": [{"Sid": "a", "Effect": "Allow", "Principal": "*", "Action": "s3:*", '
    '"Resource": "arn:aws:s3:::bkt"}, {"Sid": "a", "Effect": "Deny", "Principal": "*", "Action": "s3:*", '
    '"Resource": "arn:aws:s3:::bkt"}]}',
])
def test_malformed_policies(document: str) -> None:
    with pytest.raises(MalformedPolicy):
        parse(document, "bkt")


def test_policy_size_limit() -> None:
    with pytest.raises(AWSError) as err:
        parse('{"Statement": [' + " " * 21000 + "]}", "bkt")
    assert err.value.code == "PolicyTooLarge"


def test_public_policies() -> None:
    assert is_public(_policy(_allow()))
    assert is_public(_policy(_allow({"AWS": "*"})))
    assert not is_public(_policy(_allow({"AWS": B})))
    assert not is_public(_policy(_allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert is_public(_policy(_allow(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})))
    assert not is_public(_policy(_allow(Condition={"StringEquals": {"aws:PrincipalAccount": B}})))
    assert not is_public(_policy({**_allow(), "Effect": "Deny"}))


def test_canned_acls_and_grants() -> None:
    public = grants.canned("public-read", A)
    assert grants.is_public(public)
    assert grants.allows(public, None, "s3:ListBucket", for_bucket=True)
    assert not grants.allows(public, None, "s3:ListBucket", for_bucket=True, ignore_public=True)
    assert not grants.allows(public, None, "s3:PutObject", for_bucket=True)
    assert grants.allows(grants.canned("public-read-write", A), None, "s3:PutObject", for_bucket=True)
    auth = grants.canned("authenticated-read", A, for_bucket=False)
    assert grants.allows(auth, B, "s3:GetObject", for_bucket=False)
    assert not grants.allows(auth, None, "s3:GetObject", for_bucket=False)
    assert not grants.allows(grants.canned("private", A), B, "s3:ListBucket", for_bucket=True)
    full = grants.canned("bucket-owner-full-control", B, bucket_owner=A, for_bucket=False)
    assert grants.allows(full, A, "s3:GetObjectAcl", for_bucket=False)
    assert grants.allows(full, B, "s3:PutObjectAcl", for_bucket=False)
    with pytest.raises(AWSError):
        grants.canned("bucket-owner-read", A)          # an object ACL only
    by_headers = grants.from_grant_headers({"GrantRead": f'id="{B}", uri="{grants.ALL_USERS}"'}, A)
    assert by_headers is not None and grants.allows(by_headers, B, "s3:ListBucket", for_bucket=True)
    assert grants.is_public(by_headers)
    with pytest.raises(AWSError) as err:
        grants.from_grant_headers({"GrantRead": 'emailAddress="a@b.c"'}, A)
    assert err.value.code == "UnresolvableGrantByEmailAddress"
    rendered = grants.render(public)
    assert rendered["Owner"] == {"ID": A, "DisplayName": A}
    assert {"Grantee": {"Type": "Group", "URI": grants.ALL_USERS}, "Permission": "READ"} in rendered["Grants"]
