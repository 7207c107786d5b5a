"""S3 object features through the real gateway onto three real object nodes, driven by boto3 (and
raw signed requests where boto3 hides the wire): conditional reads and writes, response-*
overrides, partNumber reads, CopyObject, DeleteObjects, GetObjectAttributes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from helpers import REGION, Account, Overcast, RawResponse, error_of, http


def _signed(overcast: Overcast, method: str, path: str, headers: Mapping[str, str] | None = None,
            query: str = "") -> RawResponse:
    """A SigV4-signed S3 request as botocore signs it (``path`` already URL-encoded)."""
    url = overcast.endpoint + path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    botocore.auth.S3SigV4Auth(Credentials(overcast.access_key, overcast.secret), "s3", REGION).add_auth(request)
    return http(method, url, None, dict(request.headers.items()))


def _bucket(s3: Any, name: str) -> str:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    return name


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> Any:
    return overcast.client("s3")


# -- conditional reads ---------------------------------------------------------------------------------

def test_conditional_get_and_head(s3: Any) -> None:
    bucket = _bucket(s3, "cond-read")
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"conditional")
    etag = put["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    hour = timedelta(hours=1)
    ok = [dict(IfMatch=etag), dict(IfMatch=etag.strip('"')), dict(IfMatch="*"),
          dict(IfMatch=f'"0123", {etag}'), dict(IfNoneMatch='"0123"'), dict(IfModifiedSince=modified - hour),
          dict(IfUnmodifiedSince=modified), dict(IfUnmodifiedSince=modified + hour),
          dict(IfMatch=etag, IfUnmodifiedSince=modified - hour),        # S3: If-Match wins → 200
          dict(IfNoneMatch='"0123"', IfModifiedSince=modified + hour)]  # If-None-Match true wins → 200
    for conditions in ok:
        got = s3.get_object(Bucket=bucket, Key="k", **conditions)
        assert got["Body"].read() == b"conditional", conditions
        assert s3.head_object(Bucket=bucket, Key="k", **conditions)["ETag"] == etag, conditions
    failed = [dict(IfMatch='"0123"'), dict(IfUnmodifiedSince=modified - hour),
              dict(IfMatch='"0123"', IfNoneMatch='"0123"')]
    for conditions in failed:
        assert error_of(s3.get_object, Bucket=bucket, Key="k", **conditions)[:2] == ("PreconditionFailed", 412)
        assert error_of(s3.head_object, Bucket=bucket, Key="k", **conditions)[:2] == ("412", 412)
    not_modified = [dict(IfNoneMatch=etag), dict(IfNoneMatch="*"), dict(IfNoneMatch=f'"0123",{etag}'),
                    dict(IfModifiedSince=modified), dict(IfModifiedSince=modified + hour),
                    dict(IfNoneMatch=etag, IfModifiedSince=modified - hour)]   # S3: If-None-Match wins → 304
    for conditions in not_modified:
        assert error_of(s3.get_object, Bucket=bucket, Key="k", **conditions)[:2] == ("304", 304)
        assert error_of(s3.head_object, Bucket=bucket, Key="k", **conditions)[:2] == ("304", 304)
    assert error_of(s3.get_object, Bucket=bucket, Key="missing", IfMatch=etag)[:2] == ("NoSuchKey", 404)


def test_304_and_412_on_the_wire(overcast: Overcast, s3: Any) -> None:
    bucket = _bucket(s3, "cond-wire")
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"wire")["ETag"]
    modified = _signed(overcast, "HEAD", f"/{bucket}/k").headers["last-modified"]
    for method in ("GET", "HEAD"):
        for header in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
            resp = _signed(overcast, method, f"/{bucket}/k", header)
            assert resp.status == 304 and resp.body == b"", (method, header, resp)
            assert resp.headers["etag"] == etag and resp.headers["last-modified"] == modified
            assert "x-amz-request-id" in resp.headers
    resp = _signed(overcast, "GET", f"/{bucket}/k", {"If-Match": '"abc"'})
    assert resp.status == 412
    error = resp.parsed("s3", "GetObject")["Error"]
    assert error["Code"] == "PreconditionFailed" and error["Condition"] == "If-Match"
    resp = _signed(overcast, "GET", f"/{bucket}/k", {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert resp.status == 412 and resp.parsed("s3", "GetObject")["Error"]["Condition"] == "If-Unmodified-Since"
    resp = _signed(overcast, "HEAD", f"/{bucket}/k", {"If-Match": '"abc"'})
    assert resp.status == 412 and resp.body == b""


# -- conditional writes ---------------------------------------------------------------------------------

def test_conditional_put(s3: Any) -> None:
    bucket = _bucket(s3, "cond-write")
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")[:2] == \
        ("PreconditionFailed", 412)
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"two", IfMatch='"0123"')[:2] == \
        ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"three", IfMatch=first["ETag"])[:2] == \
        ("PreconditionFailed", 412)
    assert error_of(s3.put_object, Bucket=bucket, Key="new", Body=b"x", IfMatch=second["ETag"])[:2] == \
        ("NoSuchKey", 404)
    code, status, _ = error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=second["ETag"])
    assert (code, status) == ("NotImplemented", 501)


# -- response-* overrides -----------------------------------------------------------------------------

def test_response_header_overrides(overcast: Overcast, s3: Any) -> None:
    bucket = _bucket(s3, "overrides")
    s3.put_object(Bucket=bucket, Key="k", Body=b"body", ContentType="text/plain", CacheControl="no-cache")
    got = s3.get_object(Bucket=bucket, Key="k", ResponseContentType="application/json",
                        ResponseContentDisposition='attachment; filename="x.json"', ResponseCacheControl="max-age=9",
                        ResponseContentEncoding="identity", ResponseContentLanguage="fr",
                        ResponseExpires="Wed, 21 Oct 2037 07:28:00 GMT")
    assert got["Body"].read() == b"body"
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert headers["content-disposition"] == 'attachment; filename="x.json"'
    assert headers["cache-control"] == "max-age=9"
    assert headers["content-encoding"] == "identity" and headers["content-language"] == "fr"
    assert headers["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    plain = s3.get_object(Bucket=bucket, Key="k")
    assert plain["ContentType"] == "text/plain" and plain["CacheControl"] == "no-cache"
    signer = overcast.client("s3", signature_version="s3v4")
    url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k",
                                                          "ResponseContentType": "image/png"})
    presigned = http("GET", url)
    assert presigned.status == 200 and presigned.headers["content-type"] == "image/png"
    anonymous = http("GET", f"{overcast.endpoint}/{bucket}/k?response-content-type=image/png")
    assert anonymous.status == 400
    assert anonymous.parsed("s3", "GetObject")["Error"]["Code"] == "InvalidRequest"


def test_expires_is_an_http_date(overcast: Overcast, s3: Any) -> None:
    bucket = _bucket(s3, "overrides")
    s3.put_object(Bucket=bucket, Key="exp", Body=b"x", Expires="Wed, 21 Oct 2037 07:28:00 GMT")
    resp = _signed(overcast, "GET", f"/{bucket}/exp")
    assert resp.headers["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"


# -- partNumber ---------------------------------------------------------------------------------------

def test_part_number_of_a_simple_object(s3: Any) -> None:
    bucket = _bucket(s3, "parts")
    payload = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="simple", Body=payload)
    got = s3.get_object(Bucket=bucket, Key="simple", PartNumber=1)
    assert got["Body"].read() == payload
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 0-2999/3000" and got["ContentLength"] == 3000
    head = s3.head_object(Bucket=bucket, Key="simple", PartNumber=1)
    assert head["ContentLength"] == 3000 and head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert error_of(s3.get_object, Bucket=bucket, Key="simple", PartNumber=2)[:2] == ("InvalidPartNumber", 416)
    assert error_of(s3.get_object, Bucket=bucket, Key="simple", PartNumber=1, Range="bytes=0-1")[:2] == \
        ("InvalidRequest", 400)


def test_part_number_of_a_multipart_object(s3: Any) -> None:
    bucket = _bucket(s3, "parts")
    try:
        upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")
    except ClientError as err:
        if err.response["Error"]["Code"] == "NotImplemented":
            pytest.skip("multipart uploads are not served yet")
        raise
    sizes = [5 * 1024 * 1024, 5 * 1024 * 1024, 1234]
    chunks = [os.urandom(n) for n in sizes]
    parts = [{"PartNumber": i + 1, "ETag": s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"],
                                                          PartNumber=i + 1, Body=chunk)["ETag"]}
             for i, chunk in enumerate(chunks)]
    s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": parts})
    total = sum(sizes)
    offset = 0
    for number, chunk in enumerate(chunks, 1):
        got = s3.get_object(Bucket=bucket, Key="multi", PartNumber=number)
        assert got["Body"].read() == chunk
        assert got["PartsCount"] == 3 and got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(chunk) - 1}/{total}"
        assert s3.head_object(Bucket=bucket, Key="multi", PartNumber=number)["ContentLength"] == len(chunk)
        offset += len(chunk)
    assert error_of(s3.get_object, Bucket=bucket, Key="multi", PartNumber=4)[:2] == ("InvalidPartNumber", 416)
    attributes = s3.get_object_attributes(Bucket=bucket, Key="multi", ObjectAttributes=["ObjectParts", "ObjectSize"])
    assert attributes["ObjectParts"]["TotalPartsCount"] == 3 and attributes["ObjectSize"] == total


# -- CopyObject --------------------------------------------------------------------------------------

def test_copy_within_and_across_buckets(overcast: Overcast, s3: Any) -> None:
    src, dst = _bucket(s3, "copy-src"), _bucket(s3, "copy-dst")
    payload = os.urandom(6 * 1024 * 1024 + 5)
    key = "dir/söurce +=%?&.bin"
    put = s3.put_object(Bucket=src, Key=key, Body=payload, ContentType="application/x-src",
                        Metadata={"color": "blue"}, CacheControl="max-age=5", ContentDisposition="inline")
    copied = s3.copy_object(Bucket=dst, Key="copy", CopySource={"Bucket": src, "Key": key})
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    assert copied["CopyObjectResult"]["LastModified"]
    got = s3.get_object(Bucket=dst, Key="copy")
    assert got["Body"].read() == payload
    assert got["ContentType"] == "application/x-src" and got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=5" and got["ContentDisposition"] == "inline"
    # the string forms (botocore URL-encodes them): plain, a leading slash, ?versionId=null
    for source in (f"{src}/{key}", f"/{src}/{key}", f"{src}/{key}?versionId=null"):
        s3.copy_object(Bucket=src, Key="same-bucket", CopySource=source)
        assert s3.get_object(Bucket=src, Key="same-bucket")["Body"].read() == payload, source
    raw = _signed(overcast, "PUT", f"/{dst}/raw", {"x-amz-copy-source": f"/{src}/{quote(key)}?versionId=null"})
    assert raw.status == 200, raw
    assert raw.parsed("s3", "CopyObject")["CopyObjectResult"]["ETag"] == put["ETag"]
    replaced = s3.copy_object(Bucket=dst, Key="replaced", CopySource={"Bucket": src, "Key": key},
                              MetadataDirective="REPLACE", ContentType="text/x-new", Metadata={"shape": "round"})
    assert replaced["CopyObjectResult"]["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=dst, Key="replaced")
    assert head["ContentType"] == "text/x-new" and head["Metadata"] == {"shape": "round"}
    assert "CacheControl" not in head
    empty = s3.put_object(Bucket=src, Key="empty", Body=b"")
    assert s3.copy_object(Bucket=dst, Key="empty", CopySource=f"{src}/empty")["CopyObjectResult"]["ETag"] == \
        empty["ETag"]
    assert s3.get_object(Bucket=dst, Key="empty")["Body"].read() == b""


def test_copy_onto_itself(s3: Any) -> None:
    bucket = _bucket(s3, "copy-self")
    s3.put_object(Bucket=bucket, Key="k", Body=b"self", Metadata={"v": "1"})
    code, status, message = error_of(s3.copy_object, Bucket=bucket, Key="k", CopySource=f"{bucket}/k")
    assert (code, status) == ("InvalidRequest", 400)
    assert message.startswith("This copy request is illegal because it is trying to copy an object to itself "
                              "without changing the object's metadata")
    s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k", MetadataDirective="REPLACE",
                   Metadata={"v": "2"})
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"self" and got["Metadata"] == {"v": "2"}


def test_copy_conditions_and_errors(overcast: Overcast, s3: Any, second_account: Account) -> None:
    bucket = _bucket(s3, "copy-cond")
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"conditions")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="src")["LastModified"]
    hour = timedelta(hours=1)
    source = f"{bucket}/src"
    for conditions in (dict(CopySourceIfMatch=etag), dict(CopySourceIfNoneMatch='"0123"'),
                       dict(CopySourceIfModifiedSince=modified - hour), dict(CopySourceIfUnmodifiedSince=modified),
                       dict(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=modified - hour)):
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, **conditions)
    for conditions in (dict(CopySourceIfMatch='"0123"'), dict(CopySourceIfNoneMatch=etag),
                       dict(CopySourceIfModifiedSince=modified + hour),
                       dict(CopySourceIfUnmodifiedSince=modified - hour),
                       dict(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=modified - hour)):
        assert error_of(s3.copy_object, Bucket=bucket, Key="dst2", CopySource=source, **conditions)[:2] == \
            ("PreconditionFailed", 412), conditions
    assert error_of(s3.head_object, Bucket=bucket, Key="dst2")[:2] == ("404", 404)
    assert error_of(s3.copy_object, Bucket=bucket, Key="d", CopySource=f"{bucket}/missing")[:2] == ("NoSuchKey", 404)
    assert error_of(s3.copy_object, Bucket=bucket, Key="d", CopySource="no-such-bucket-x/k")[:2] == \
        ("NoSuchBucket", 404)
    assert error_of(s3.copy_object, Bucket="no-such-bucket-x", Key="d", CopySource=source)[:2] == \
        ("NoSuchBucket", 404)
    assert error_of(s3.copy_object, Bucket=bucket, Key="d", CopySource="just-a-bucket")[:2] == \
        ("InvalidArgument", 400)
    other = overcast.client_for(second_account, "s3")
    _bucket(other, "copy-theirs")
    assert error_of(other.copy_object, Bucket="copy-theirs", Key="d", CopySource=source)[:2] == \
        ("AccessDenied", 403)
    assert error_of(s3.copy_object, Bucket="copy-theirs", Key="d", CopySource=source)[:2] == ("AccessDenied", 403)


# -- DeleteObjects -------------------------------------------------------------------------------------

def test_delete_objects(overcast: Overcast, s3: Any, second_account: Account) -> None:
    bucket = _bucket(s3, "batch-delete")
    keys = [f"k/{i} é+" for i in range(5)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys + ["gone-1", "gone-2"]]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == sorted(keys + ["gone-1", "gone-2"])
    assert "Errors" not in answer
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="quiet", Body=b"q")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "quiet"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert error_of(s3.head_object, Bucket=bucket, Key="quiet")[:2] == ("404", 404)
    versioned = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v", "VersionId": "nope"},
                                                                     {"Key": "w", "VersionId": "null"}]})
    assert [(e["Key"], e["Code"]) for e in versioned["Errors"]] == [("v", "NoSuchVersion")]
    assert versioned["Deleted"] == [{"Key": "w", "VersionId": "null"}]
    too_many = {"Objects": [{"Key": f"x{i}"} for i in range(1001)]}
    assert error_of(s3.delete_objects, Bucket=bucket, Delete=too_many)[:2] == ("MalformedXML", 400)
    exactly = s3.delete_objects(Bucket=bucket, Delete={"Objects": too_many["Objects"][:1000], "Quiet": True})
    assert "Errors" not in exactly
    other = overcast.client_for(second_account, "s3")
    # like S3: the request succeeds and each key the caller may not delete is reported as an error
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    denied = other.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "kept"}]})
    assert [(e["Key"], e["Code"]) for e in denied["Errors"]] == [("kept", "AccessDenied")]
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"
    assert error_of(s3.delete_objects, Bucket="no-such-bucket-x", Delete={"Objects": [{"Key": "a"}]})[:2] == \
        ("NoSuchBucket", 404)


def test_delete_objects_without_checksum_headers(overcast: Overcast, s3: Any) -> None:
    """S3 wants Content-MD5 or x-amz-checksum-*; Overcast accepts the request without either."""
    bucket = _bucket(s3, "batch-delete")
    s3.put_object(Bucket=bucket, Key="raw", Body=b"raw")
    body = (b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>raw</Key></Object>'
            b"</Delete>")
    url = f"{overcast.endpoint}/{bucket}?delete"
    request = AWSRequest(method="POST", url=url, data=body)
    botocore.auth.S3SigV4Auth(Credentials(overcast.access_key, overcast.secret), "s3", REGION).add_auth(request)
    resp = http("POST", url, body, dict(request.headers.items()))
    assert resp.status == 200, resp
    assert [d["Key"] for d in resp.parsed("s3", "DeleteObjects")["Deleted"]] == ["raw"]


# -- GetObjectAttributes -------------------------------------------------------------------------------

def test_get_object_attributes(s3: Any) -> None:
    bucket = _bucket(s3, "attributes")
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"attributes")
    got = s3.get_object_attributes(Bucket=bucket, Key="k",
                                   ObjectAttributes=["ETag", "ObjectSize", "StorageClass", "ObjectParts"])
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == len(b"attributes") and got["StorageClass"] == "STANDARD"
    assert "ObjectParts" not in got and got["LastModified"]
    assert error_of(s3.get_object_attributes, Bucket=bucket, Key="missing", ObjectAttributes=["ETag"])[:2] == \
        ("NoSuchKey", 404)
