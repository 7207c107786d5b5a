"""CORS rules: validation (S3's errors) and matching (first rule wins, one wildcard per pattern)."""

from __future__ import annotations

from typing import Any

import pytest

from overcast.core.errors import AWSError
from overcast.s3api import cors
from overcast.s3api.tagging import check_tags, from_header

RULES: list[dict[str, Any]] = [
    {"ID": "uploads", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "POST"],
     "AllowedHeaders": ["x-amz-*", "Content-Type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def _code(config: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(AWSError) as err:
        cors.check_rules(config)
    return err.value.code, err.value.message


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("*", "", True), ("*", "http://a", True), ("https://*.example.com", "https://a.b.example.com", True),
    ("https://*.example.com", "https://example.com", False), ("http://a", "http://a", True),
    ("http://a", "http://A", False), ("x-*", "x-", True), ("*-end", "a-end", True), ("a*a", "a", False),
])
def test_wildcard(pattern: str, value: str, expected: bool) -> None:
    assert cors.wildcard_match(pattern, value) is expected


def test_first_matching_rule_wins() -> None:
    rule = cors.matching_rule(RULES, "https://app.example.com", "PUT", ["x-amz-date", "content-type"])
    assert rule is RULES[0]
    assert cors.matching_rule(RULES, "https://app.example.com", "GET") is RULES[1]
    assert cors.matching_rule(RULES, "https://evil.org", "PUT") is None
    assert cors.matching_rule(RULES, "https://app.example.com", "DELETE") is None


def test_requested_headers_must_all_be_allowed() -> None:
    assert cors.matching_rule(RULES, "https://a.example.com", "PUT", ["X-Amz-Meta-Color"]) is RULES[0]
    assert cors.matching_rule(RULES, "https://a.example.com", "PUT", ["x-amz-date", "authorization"]) is None
    assert cors.matching_rule(RULES, "http://anywhere", "GET", ["x-custom"]) is None   # no AllowedHeaders


def test_split_headers() -> None:
    assert cors.split_headers(" X-Amz-Date ,content-type,, ") == ["x-amz-date", "content-type"]
    assert cors.split_headers(None) == []


def test_preflight_and_response_headers() -> None:
    headers = cors.preflight_headers(RULES[0], "https://a.example.com", ["x-amz-date"])
    assert headers == {"access-control-allow-origin": "https://a.example.com",
                       "access-control-allow-methods": "PUT, POST", "access-control-allow-headers": "x-amz-date",
                       "access-control-allow-credentials": "true", "access-control-expose-headers": "ETag",
                       "access-control-max-age": "600", "vary": cors.VARY}
    any_origin = cors.response_headers(RULES[1], "http://x")
    assert any_origin["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in any_origin and "access-control-max-age" not in any_origin


def test_valid_rules_are_kept() -> None:
    assert cors.check_rules({"CORSRules": RULES}) == RULES


@pytest.mark.parametrize(("rule", "code", "fragment"), [
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, "InvalidRequest", "Unsupported method is PATCH"),
    ({"AllowedOrigins": ["http://*.*.com"], "AllowedMethods": ["GET"]}, "InvalidRequest", "more than one wildcard"),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*-*"]}, "InvalidRequest",
     'AllowedHeader "*-*"'),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["x-*"]}, "InvalidRequest", "wildcard"),
    ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ID": "x" * 256}, "InvalidRequest", "ID"),
    ({"AllowedOrigins": [], "AllowedMethods": ["GET"]}, "MalformedXML", "well-formed"),
])
def test_invalid_rules(rule: dict[str, Any], code: str, fragment: str) -> None:
    got_code, message = _code({"CORSRules": [rule]})
    assert got_code == code and fragment in message


def test_rule_count_and_empty() -> None:
    assert _code({"CORSRules": []})[0] == "MalformedXML"
    rule = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    assert "100 rules" in _code({"CORSRules": [rule] * 101})[1]


# -- the tag rules shared by buckets, objects and x-amz-tagging ---------------------------------------

def test_tagging_header() -> None:
    assert from_header("a=1&b=two%20words&c=&d") == {"a": "1", "b": "two words", "c": "", "d": ""}
    assert from_header(None) == {} and from_header("") == {}


@pytest.mark.parametrize(("pairs", "fragment"), [
    ([("k", "1"), ("k", "2")], "same key"),
    ([(f"k{i}", "") for i in range(11)], "greater than 10"),
    ([("k" * 129, "")], "too long, max 128"),
    ([("k", "v" * 257)], "too long, max 256"),
    ([("aws:x", "")], "aws:"),
    ([("", "v")], "TagKey you have provided is invalid"),
    ([("k", "bad<char>")], "TagValue you have provided is invalid"),
])
def test_invalid_tags(pairs: list[tuple[str, str]], fragment: str) -> None:
    with pytest.raises(AWSError) as err:
        check_tags(pairs)
    assert err.value.code == "InvalidTag" and fragment in err.value.message


def test_bucket_tag_limit() -> None:
    assert len(check_tags([(f"k{i}", "") for i in range(50)], limit=50, bucket=True)) == 50
    with pytest.raises(AWSError, match="Bucket tag count"):
        check_tags([(f"k{i}", "") for i in range(51)], limit=50, bucket=True)
