"""S3 tagging, CORS and returned checksums through the real ``overcast up``: boto3 for the API, raw
``http.client`` for the unsigned ``OPTIONS`` preflights and the CORS headers of actual requests."""

from __future__ import annotations

import base64
import http.client
import os
import zlib
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from botocore.exceptions import ClientError
from helpers import Overcast, error_of

BUCKET = "tagging-cors"
ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> Any:
    client = overcast.client("s3")
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    return client


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def options(overcast: Overcast, path: str, headers: dict[str, str], host: str | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    """An unsigned request to the real server; header names lowercased."""
    return raw(overcast, "OPTIONS", path, headers, host)


def raw(overcast: Overcast, method: str, path: str, headers: dict[str, str], host: str | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    url = urlparse(overcast.endpoint)
    conn = http.client.HTTPConnection("127.0.0.1", url.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{url.port}")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- checksums ------------------------------------------------------------------------------------

def test_put_returns_checksum_and_get_returns_it_with_checksum_mode(s3: Any) -> None:
    data = os.urandom(50_000)
    put = s3.put_object(Bucket=BUCKET, Key="sum", Body=data, ChecksumAlgorithm="CRC32")
    assert put["ChecksumCRC32"] == crc32(data) and put["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=BUCKET, Key="sum", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc32(data) and got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == data               # botocore validated the returned checksum
    head = s3.head_object(Bucket=BUCKET, Key="sum", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc32(data)
    assert "ChecksumCRC32" not in s3.head_object(Bucket=BUCKET, Key="sum")
    ranged = s3.get_object(Bucket=BUCKET, Key="sum", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in ranged and ranged["Body"].read() == data[:10]


def test_sha256_checksum_kept_through_copy(s3: Any) -> None:
    data = b"copy me"
    put = s3.put_object(Bucket=BUCKET, Key="sha", Body=data, ChecksumAlgorithm="SHA256")
    s3.copy_object(Bucket=BUCKET, Key="sha-copy", CopySource=f"{BUCKET}/sha")
    got = s3.head_object(Bucket=BUCKET, Key="sha-copy", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == put["ChecksumSHA256"]


def test_upload_part_returns_checksum(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-sum", ChecksumAlgorithm="CRC32")
    data = b"part one"
    part = s3.upload_part(Bucket=BUCKET, Key="mp-sum", UploadId=upload["UploadId"], PartNumber=1, Body=data,
                          ChecksumAlgorithm="CRC32")
    assert part["ChecksumCRC32"] == crc32(data)
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp-sum", UploadId=upload["UploadId"])


# -- tagging --------------------------------------------------------------------------------------

def test_bucket_tagging(s3: Any) -> None:
    code, status, _ = error_of(s3.get_bucket_tagging, Bucket=BUCKET)
    assert (code, status) == ("NoSuchTagSet", 404)
    tags = [{"Key": "team", "Value": "storage"}, {"Key": "cost center", "Value": "42"}]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == tags
    code, _, _ = error_of(s3.put_bucket_tagging, Bucket=BUCKET,
                          Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    assert code == "InvalidTag"
    s3.delete_bucket_tagging(Bucket=BUCKET)
    assert error_of(s3.get_bucket_tagging, Bucket=BUCKET)[0] == "NoSuchTagSet"


def test_object_tagging(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="tagged", Body=b"x", Tagging="color=blue&size=x%20large")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="tagged")["TagSet"] == [
        {"Key": "color", "Value": "blue"}, {"Key": "size", "Value": "x large"}]
    assert s3.get_object(Bucket=BUCKET, Key="tagged")["TagCount"] == 2
    s3.put_object_tagging(Bucket=BUCKET, Key="tagged", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket=BUCKET, Key="tagged")["TagSet"] == [{"Key": "only", "Value": "one"}]
    s3.delete_object_tagging(Bucket=BUCKET, Key="tagged")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="tagged")["TagSet"] == []
    assert "TagCount" not in s3.get_object(Bucket=BUCKET, Key="tagged")
    assert error_of(s3.get_object_tagging, Bucket=BUCKET, Key="missing")[0] == "NoSuchKey"


@pytest.mark.parametrize(("tags", "fragment"), [
    ([{"Key": f"k{i}", "Value": "v"} for i in range(11)], "greater than 10"),
    ([{"Key": "k" * 129, "Value": "v"}], "max 128"),
    ([{"Key": "k", "Value": "v" * 257}], "max 256"),
])
def test_object_tag_limits(s3: Any, tags: list[dict[str, str]], fragment: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="limits", Body=b"x")
    code, status, message = error_of(s3.put_object_tagging, Bucket=BUCKET, Key="limits", Tagging={"TagSet": tags})
    assert (code, status) == ("InvalidTag", 400) and fragment in message
    header = "&".join(f"{quote(t['Key'])}={quote(t['Value'])}" for t in tags)
    assert error_of(s3.put_object, Bucket=BUCKET, Key="limits2", Body=b"x", Tagging=header)[0] == "InvalidTag"


def test_copy_tagging_directive(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(Bucket=BUCKET, Key="copied", CopySource=f"{BUCKET}/src")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="copied")["TagSet"] == [{"Key": "a", "Value": "1"}]
    s3.copy_object(Bucket=BUCKET, Key="replaced", CopySource=f"{BUCKET}/src", TaggingDirective="REPLACE",
                   Tagging="b=2")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="replaced")["TagSet"] == [{"Key": "b", "Value": "2"}]
    s3.copy_object(Bucket=BUCKET, Key="untagged", CopySource=f"{BUCKET}/src", TaggingDirective="REPLACE")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="untagged")["TagSet"] == []


def test_multipart_upload_tagging(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp-tags", Tagging="stage=final")
    part = s3.upload_part(Bucket=BUCKET, Key="mp-tags", UploadId=upload["UploadId"], PartNumber=1, Body=b"abc")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-tags", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object_tagging(Bucket=BUCKET, Key="mp-tags")["TagSet"] == [{"Key": "stage", "Value": "final"}]
    got = s3.get_object(Bucket=BUCKET, Key="mp-tags")
    assert got["TagCount"] == 1 and got["Body"].read() == b"abc" and "x-amz-tagging" not in got["Metadata"]


# -- CORS -----------------------------------------------------------------------------------------

RULES = [
    {"ID": "uploads", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "POST", "GET"],
     "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag", "x-amz-request-id"],
     "MaxAgeSeconds": 3000},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


@pytest.fixture(scope="module")
def cors_bucket(s3: Any) -> str:
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=BUCKET, Key="page.html", Body=b"<html/>")
    return BUCKET


def test_cors_configuration_round_trip(overcast: Overcast) -> None:
    s3 = overcast.client("s3")
    bucket = "cors-config"
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    code, status, _ = error_of(s3.get_bucket_cors, Bucket=bucket)
    assert (code, status) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    code, _, message = error_of(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={
        "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    assert code == "InvalidRequest" and "PATCH" in message
    code, _, message = error_of(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={
        "CORSRules": [{"AllowedOrigins": ["http://*.*"], "AllowedMethods": ["GET"]}]})
    assert code == "InvalidRequest" and "wildcard" in message
    s3.delete_bucket_cors(Bucket=bucket)
    assert error_of(s3.get_bucket_cors, Bucket=bucket)[0] == "NoSuchCORSConfiguration"
    status, _, body = options(overcast, f"/{bucket}/x", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert status == 403 and b"CORSResponse: This CORS request is not allowed." in body


def test_preflight_allowed(overcast: Overcast, cors_bucket: str) -> None:
    status, headers, _ = options(overcast, f"/{cors_bucket}/uploads/file.bin", {
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "X-Amz-Date, Content-Type"})
    assert status == 200, headers
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "PUT, POST, GET"
    assert headers["access-control-allow-headers"] == "x-amz-date, content-type"
    assert headers["access-control-max-age"] == "3000"
    assert headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert headers["vary"].startswith("Origin")


def test_preflight_second_rule_and_virtual_host(overcast: Overcast, cors_bucket: str) -> None:
    port = urlparse(overcast.endpoint).port
    status, headers, _ = options(overcast, "/page.html", {"Origin": "http://other.org",
                                                          "Access-Control-Request-Method": "GET"},
                                 host=f"{cors_bucket}.s3.localhost:{port}")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET, HEAD"


@pytest.mark.parametrize("request_headers", [
    {"Origin": "http://other.org", "Access-Control-Request-Method": "PUT"},            # origin not allowed for PUT
    {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},                     # method nowhere
    {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"},
])
def test_preflight_refused(overcast: Overcast, cors_bucket: str, request_headers: dict[str, str]) -> None:
    status, headers, body = options(overcast, f"/{cors_bucket}/k", request_headers)
    assert status == 403
    assert b"<Code>AccessForbidden</Code>" in body and b"CORSResponse: This CORS request is not allowed." in body
    assert "access-control-allow-origin" not in headers


def test_preflight_bad_requests(overcast: Overcast, cors_bucket: str) -> None:
    status, _, body = options(overcast, f"/{cors_bucket}/k", {"Access-Control-Request-Method": "GET"})
    assert status == 400 and b"Origin request header needed" in body
    status, _, body = options(overcast, "/no-such-bucket-here/k", {"Origin": ORIGIN,
                                                                   "Access-Control-Request-Method": "GET"})
    assert status == 403 and b"CORSResponse" in body


def test_actual_request_gets_cors_headers(overcast: Overcast, cors_bucket: str) -> None:
    s3 = overcast.client("s3", signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "page.html"})
    parsed = urlparse(url)
    path, host = f"{parsed.path}?{parsed.query}", parsed.netloc
    status, headers, body = raw(overcast, "GET", path, {"Origin": ORIGIN}, host)
    assert status == 200 and body == b"<html/>"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-expose-headers"] == "ETag, x-amz-request-id"
    assert "Origin" in headers["vary"]
    status, headers, _ = raw(overcast, "GET", path, {}, host)
    assert status == 200 and "access-control-allow-origin" not in headers


def test_boto3_request_with_origin_header(overcast: Overcast, cors_bucket: str) -> None:
    s3 = overcast.client("s3")

    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = "http://elsewhere.net"

    s3.meta.events.register("before-sign.s3.HeadObject", add_origin)
    head = s3.head_object(Bucket=cors_bucket, Key="page.html")
    assert head["ResponseMetadata"]["HTTPHeaders"]["access-control-allow-origin"] == "*"
