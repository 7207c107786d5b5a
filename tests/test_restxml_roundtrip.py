"""Round trips of the ``rest-xml`` codec against botocore's own client code, for every S3 operation.

Requests: botocore's client serializer builds the request (URI labels, query string, headers,
XML payload); the request is taken apart the way the gateway takes apart what uvicorn hands it
(decoded path, decoded query pairs, lower-case header names); :class:`RestXmlProtocol` must find
the same operation from method + path + query + headers and recover exactly the params.
Responses: our serializer renders a result; botocore's client parser must read back exactly that
result.  Errors: the S3 ``<Error>`` envelope.  Safety: hostile XML is a ``MalformedXML``.

Streaming payloads (``PutObject`` ``Body``, ``GetObject`` ``Body``…) are left out by design: the
S3 service streams them; the codec never reads them whole.
"""

from __future__ import annotations

import base64
import math
import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from shapegen import ShapeGen

from overcast.core.errors import AuthError, AWSError, NotFound, ParamError
from overcast.gateway.codecs import xml_input
from overcast.gateway.codecs.rest_xml import RestXmlProtocol, split_header_list
from overcast.gateway.codecs.wire import WireRequest
from overcast.gateway.codecs.xml_input import MalformedXML, parse_document

REQUEST_ID = "4442587FB7D0A2F9"
ENDPOINT = "https://s3.overcast.test"
MODEL: ServiceModel = botocore.session.get_session().get_service_model("s3")
PROTOCOL = RestXmlProtocol(MODEL)
OPERATIONS = MODEL.operation_names
# Keys that break naive URI handling: '/', '//', spaces, '+', '%', '?', '#', '=', '&', unicode, a
# trailing '/', a leading '/', dot segments.
KEYS = ("dir/sub dir/a+b%20c?d=e&f#g ké✓.txt", "/leading//double/./../x+y?", "trailing/", "%2F%",
        "plain")

# Operations that method + path + query + headers cannot tell apart: the same HTTP request means
# either one.  The matcher prefers the operation that is not deprecated; ListDirectoryBuckets is
# S3 Express (told apart by the endpoint, not the request).  Others share method + path + query
# keys of the requestUri but not their required members: GetObject / ListParts (``uploadId``),
# DeleteObject / AbortMultipartUpload, PutObject / UploadPart (``partNumber`` + ``uploadId``),
# the Get* / List* analytics, inventory, metrics and intelligent-tiering pairs (``id``), and, by
# a required header only, PutObject / CopyObject and UploadPart / UploadPartCopy
# (``x-amz-copy-source``): the round trips below check the matcher finds each of them.
INDISTINGUISHABLE = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",
}


def _op(name: str) -> OperationModel:
    return MODEL.operation_model(name)


def _streaming_payload(shape: Shape | None) -> str | None:
    """The name of a payload member that is streamed (raw bytes or an event stream), if any."""
    if shape is None:
        return None
    payload = shape.serialization.get("payload")
    if payload and (shape.members[payload].serialization.get("streaming")
                    or shape.members[payload].serialization.get("eventstream")):
        return str(payload)
    return None


# -- example values ------------------------------------------------------------------------------------

def header_safe(text: str, shape: Shape) -> str:
    """What an HTTP header can carry: printable ASCII, no surrounding blanks."""
    out = "".join(c if " " <= c <= "~" else "_" for c in text).strip()
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
    if high is not None:
        out = out[:high]
    return out + "x" * max(low - len(out), 0)


def located_value(gen: ShapeGen, shape: Any, where: str, name: str, variant: int) -> Any:
    """An example value for a member bound to the URI, query string or headers."""
    if where == "uri":
        if name.endswith("+") or name == "Key":
            return KEYS[variant % len(KEYS)]
        return f"my-bucket-{variant}"
    if where == "headers":  # x-amz-meta-*: lower-case names (HTTP and S3 fold case)
        return {f"meta-{i}": header_safe(gen.value(shape.value), shape.value) for i in range(2)}
    value = gen.value(shape)
    if where != "header":
        return value
    if shape.serialization.get("hostLabel"):  # also a host name label: [A-Za-z0-9.-]
        return f"route-{variant}"
    if shape.type_name == "string":
        return header_safe(value, shape)
    if shape.type_name == "list":
        return [header_safe(v, shape.member) or "x" if isinstance(v, str) else v for v in value]
    return value


def request_params(op: OperationModel, variant: str) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    index = ("full", "minimal", "empty_lists").index(variant) + sum(map(ord, op.name))
    gen = ShapeGen(f"req.s3.{op.name}.{variant}", minimal=variant == "minimal",
                   empty_lists=variant == "empty_lists")
    params = gen.value(shape)
    streaming = _streaming_payload(shape)
    if streaming is not None:  # streamed bodies are the service's business: a few bytes when required
        params.pop(streaming, None)
        if streaming in shape.required_members:
            params[streaming] = b"a few bytes"
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        if where is None or (variant == "minimal" and name not in shape.required_members):
            continue
        label = member.serialization.get("name", name)
        if where == "uri" and f"{{{label}+}}" in op.http["requestUri"]:
            label += "+"
        params[name] = located_value(gen, member, where, label, index)
    return without_colliding(shape, params)  # type: ignore[no-any-return]


def response_result(op: OperationModel, variant: str) -> dict[str, Any]:
    shape = op.output_shape
    if shape is None:
        return {}
    gen = ShapeGen(f"resp.s3.{op.name}.{variant}", empty_lists=variant == "empty_lists")
    result = gen.value(shape)
    streaming = _streaming_payload(shape)
    if streaming is not None:
        result.pop(streaming, None)
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        if where in ("header", "headers"):
            result[name] = located_value(gen, member, where, name, 0)
    return without_colliding(shape, result)  # type: ignore[no-any-return]


# -- the wire ------------------------------------------------------------------------------------------

def client_request(op: OperationModel, params: dict[str, Any]) -> WireRequest:
    """The request botocore sends for ``params``, as the gateway turns what uvicorn gives it into a WireRequest."""
    serialized = create_serializer("rest-xml").serialize_to_request(params, op)
    prepare_request_dict(serialized, endpoint_url=ENDPOINT)
    prepared = create_request_object(serialized).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    # as the gateway does it: unquote(raw_path); parse_qsl(raw_query, keep_blank_values=True)
    return WireRequest(op.http["method"], unquote(url.path), parse_qsl(url.query, keep_blank_values=True),
                       headers, body, url.netloc)


def client_parse(op: OperationModel, status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    # what the gateway's RequestIdMiddleware adds to every answer
    http_headers = HeadersDict({**headers, "x-amz-request-id": REQUEST_ID, "x-amz-id-2": REQUEST_ID})
    return create_parser("rest-xml").parse({"body": body, "headers": http_headers, "status_code": status,
                                            "context": {}},
                                           op.output_shape)


def xml_normalized(value: Any) -> Any:
    """XML parsers turn CR and CR LF in text into LF (botocore's request serializer does not escape CR)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, dict):
        return {k: xml_normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_normalized(v) for v in value]
    return value


def drop_unsent(shape: Any, value: Any) -> Any:
    """What the wire cannot carry: empty flattened lists (no element at all) and empty header lists."""
    if shape.type_name == "structure" and isinstance(value, dict):
        out = {}
        for name, item in value.items():
            member = shape.members[name]
            if item == [] and (member.serialization.get("flattened")
                               or member.serialization.get("location") == "header"):
                continue
            out[name] = drop_unsent(member, item)
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [drop_unsent(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: drop_unsent(shape.value, v) for k, v in value.items()}
    return value


def without_colliding(shape: Any, value: Any) -> Any:
    """Leave out members whose XML element name an earlier member of the structure already uses.

    The model itself is ambiguous there (S3's deprecated ``TopicConfiguration`` has both ``Events``,
    a flattened list of ``<Event>``, and ``Event``, one ``<Event>``): no reader can tell them apart.
    """
    if shape.type_name == "structure" and isinstance(value, dict):
        seen: set[str] = set()
        keep: set[str] = set()
        for name, member in shape.members.items():
            tag = member.serialization.get("name", name)
            if member.serialization.get("location") is None and tag in seen:
                continue
            seen.add(tag)
            keep.add(name)
        return {k: without_colliding(shape.members[k], v) for k, v in value.items() if k in keep}
    if shape.type_name == "list" and isinstance(value, list):
        return [without_colliding(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: without_colliding(shape.value, v) for k, v in value.items()}
    return value


def assert_same(expected: Any, actual: Any, path: str = "") -> None:
    """Deep equality with a readable path; aware datetimes by instant, floats with tolerance."""
    where = path or "<root>"
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {actual!r}"
        assert set(actual) == set(expected), (f"{where}: keys differ: missing {set(expected) - set(actual)}, "
                                              f"extra {set(actual) - set(expected)}")
        for key in expected:
            assert_same(expected[key], actual[key], f"{path}.{key}" if path else str(key))
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, expected {len(expected)}"
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_same(want, got, f"{where}[{i}]")
    elif isinstance(expected, datetime):
        assert isinstance(actual, datetime) and actual.tzinfo is not None, f"{where}: {actual!r}"
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, float):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: {actual!r}"
        assert math.isclose(actual, expected, rel_tol=1e-12), f"{where}: {actual!r} != {expected!r}"
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


# -- 1. requests: botocore serializes, we find the operation and parse --------------------------------

@pytest.mark.parametrize("variant", ["full", "minimal", "empty_lists"])
@pytest.mark.parametrize("op_name", OPERATIONS)
def test_request_round_trip(op_name: str, variant: str) -> None:
    op = _op(op_name)
    params = request_params(op, variant)
    wire = client_request(op, params)
    found = PROTOCOL.find_operation(wire)
    assert found is not None, f"no operation for {wire.method} {wire.path} {wire.query}"
    found_op, labels = found
    assert found_op.name == INDISTINGUISHABLE.get(op_name, op_name)
    parsed = PROTOCOL.parse(op, wire, labels)
    shape = op.input_shape
    if shape is None:
        assert parsed == {}
        return
    expected = drop_unsent(shape, params)
    streaming = _streaming_payload(shape)
    if streaming is not None:
        expected.pop(streaming, None)
    for name, member in shape.members.items():
        if member.serialization.get("location") is None and name in expected:
            expected[name] = xml_normalized(expected[name])  # only the payload goes through an XML parser
        if member.serialization.get("name") == "Content-Length" and name not in expected:
            expected[name] = int(wire.headers["content-length"])  # set by the HTTP layer
    assert_same(without_colliding(shape, expected), without_colliding(shape, parsed))


# -- 2. responses: we serialize, botocore parses -------------------------------------------------------

@pytest.mark.parametrize("variant", ["full", "empty_lists"])
@pytest.mark.parametrize("op_name", OPERATIONS)
def test_response_round_trip(op_name: str, variant: str) -> None:
    op = _op(op_name)
    result = response_result(op, variant)
    wire = PROTOCOL.serialize(op, result, REQUEST_ID)
    expected = 206 if "content-range" in wire.headers else 200
    if expected == 200 and op.http["method"] == "DELETE" and not wire.body:
        expected = 204  # S3 answers DELETEs without a body with 204 No Content
    assert wire.status == expected
    for name, value in wire.headers.items():
        assert value == value.strip() and all(" " <= c <= "~" for c in value), (name, value)
    parsed = client_parse(op, wire.status, wire.headers, wire.body)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == REQUEST_ID
    shape = op.output_shape
    if shape is None:
        assert parsed == {}
        return
    streaming = _streaming_payload(shape)
    if streaming is not None:
        parsed.pop(streaming, None)
    expected = drop_unsent(shape, result)
    assert_same(without_colliding(shape, expected), without_colliding(shape, parsed))


# -- 1b. the matcher, request by request ------------------------------------------------------------

def wire_request(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> WireRequest:
    url = urlsplit(target)
    return WireRequest(method, unquote(url.path), parse_qsl(url.query, keep_blank_values=True),
                       headers or {}, body)


MATCHES = [
    ("GET", "/", {}, "ListBuckets", {}),
    ("GET", "/my-bucket", {}, "ListObjects", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket/", {}, "ListObjects", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?prefix=a&delimiter=/", {}, "ListObjects", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?list-type=2&prefix=a", {}, "ListObjectsV2", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?list-type=1", {}, "ListObjects", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?uploads", {}, "ListMultipartUploads", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?versions", {}, "ListObjectVersions", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?location", {}, "GetBucketLocation", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?lifecycle", {}, "GetBucketLifecycleConfiguration", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?notification", {}, "GetBucketNotificationConfiguration", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?analytics", {}, "ListBucketAnalyticsConfigurations", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?analytics&id=a1", {}, "GetBucketAnalyticsConfiguration", {"Bucket": "my-bucket"}),
    ("GET", "/my-bucket?inventory&continuation-token=t", {}, "ListBucketInventoryConfigurations",
     {"Bucket": "my-bucket"}),
    ("PUT", "/my-bucket", {}, "CreateBucket", {"Bucket": "my-bucket"}),
    ("PUT", "/my-bucket?acl", {}, "PutBucketAcl", {"Bucket": "my-bucket"}),
    ("HEAD", "/my-bucket", {}, "HeadBucket", {"Bucket": "my-bucket"}),
    ("DELETE", "/my-bucket", {}, "DeleteBucket", {"Bucket": "my-bucket"}),
    ("POST", "/my-bucket?delete", {}, "DeleteObjects", {"Bucket": "my-bucket"}),
    ("GET", "/b/a/b/c.txt", {}, "GetObject", {"Bucket": "b", "Key": "a/b/c.txt"}),
    ("GET", "/b//lead", {}, "GetObject", {"Bucket": "b", "Key": "/lead"}),
    ("GET", "/b/dir/", {}, "GetObject", {"Bucket": "b", "Key": "dir/"}),
    ("GET", "/b/k%3Facl%20x%2B", {}, "GetObject", {"Bucket": "b", "Key": "k?acl x+"}),
    ("GET", "/b/k?x-id=GetObject", {}, "GetObject", {"Bucket": "b", "Key": "k"}),   # newer SDKs add x-id
    ("GET", "/b/k?versionId=v1&partNumber=2", {}, "GetObject", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k?uploadId=u1", {}, "ListParts", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k?acl", {}, "GetObjectAcl", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k?acl&versionId=v1", {}, "GetObjectAcl", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k?tagging", {}, "GetObjectTagging", {"Bucket": "b", "Key": "k"}),
    ("GET", "/b/k?attributes", {"x-amz-object-attributes": "ETag"}, "GetObjectAttributes",
     {"Bucket": "b", "Key": "k"}),
    ("HEAD", "/b/k", {}, "HeadObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", {}, "PutObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k", {"x-amz-copy-source": "src/k"}, "CopyObject", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k?partNumber=1&uploadId=u", {}, "UploadPart", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k?partNumber=1&uploadId=u", {"x-amz-copy-source": "src/k"}, "UploadPartCopy",
     {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k?tagging", {"x-amz-copy-source": "src/k"}, "PutObjectTagging", {"Bucket": "b", "Key": "k"}),
    ("PUT", "/b/k?renameObject", {"x-amz-rename-source": "/b/old"}, "RenameObject", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k?uploads", {}, "CreateMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k?uploadId=u", {}, "CompleteMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k?restore", {}, "RestoreObject", {"Bucket": "b", "Key": "k"}),
    ("POST", "/b/k?select&select-type=2", {}, "SelectObjectContent", {"Bucket": "b", "Key": "k"}),
    ("DELETE", "/b/k", {}, "DeleteObject", {"Bucket": "b", "Key": "k"}),
    ("DELETE", "/b/k?uploadId=u", {}, "AbortMultipartUpload", {"Bucket": "b", "Key": "k"}),
    ("POST", "/WriteGetObjectResponse", {}, "WriteGetObjectResponse", {}),
]


@pytest.mark.parametrize(("method", "target", "headers", "operation", "labels"), MATCHES,
                         ids=[f"{m} {t}" for m, t, *_ in MATCHES])
def test_matcher_picks(method: str, target: str, headers: dict[str, str], operation: str,
                       labels: dict[str, str]) -> None:
    found = PROTOCOL.find_operation(wire_request(method, target, headers))
    assert found is not None
    assert (found[0].name, found[1]) == (operation, labels)


@pytest.mark.parametrize(("method", "target"), [
    ("PATCH", "/b/k"), ("OPTIONS", "/"), ("POST", "/"), ("PUT", "/"), ("DELETE", "/"), ("HEAD", "/"),
    ("GET", "/%2F/k"), ("get", "/b/k"),
])
def test_matcher_finds_nothing(method: str, target: str) -> None:
    assert PROTOCOL.find_operation(wire_request(method, target)) is None


def test_matcher_path_override_for_virtual_hosted_buckets() -> None:
    found = PROTOCOL.find_operation(wire_request("GET", "/dir/k?tagging"), path="/my-bucket/dir/k")
    assert found is not None and found[0].name == "GetObjectTagging"
    assert found[1] == {"Bucket": "my-bucket", "Key": "dir/k"}


def test_best_candidate_still_reports_missing_parameters() -> None:
    # no operation has all it requires: the closest one is picked and parse names what is missing
    found = PROTOCOL.find_operation(wire_request("POST", "/WriteGetObjectResponse"))
    assert found is not None
    with pytest.raises(ParamError) as info:
        PROTOCOL.parse(found[0], wire_request("POST", "/WriteGetObjectResponse"), found[1])
    assert info.value.kind == "missing"
    assert PROTOCOL.code_for(info.value) == ("InvalidRequest", 400)


# -- 1c. request details -------------------------------------------------------------------------------

def test_header_timestamps_in_any_client_format() -> None:
    op = _op("GetObject")
    want = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    for text in ("Thu, 29 Feb 2024 23:59:58 GMT", "Thursday, 29-Feb-24 23:59:58 GMT", "2024-02-29T23:59:58Z",
                 "2024-02-29T23:59:58.000Z", "1709251198"):
        wire = wire_request("GET", "/b/k", {"if-modified-since": text})
        assert PROTOCOL.parse(op, wire, {"Bucket": "b", "Key": "k"})["IfModifiedSince"] == want, text
    # an HTTP date that cannot be parsed is ignored (as S3 does), not an error
    parsed = PROTOCOL.parse(op, wire_request("GET", "/b/k", {"if-modified-since": "yesterday"}),
                            {"Bucket": "b", "Key": "k"})
    assert "IfModifiedSince" not in parsed


def test_header_scalars_and_metadata() -> None:
    op = _op("PutObject")
    headers = {"content-length": "12", "x-amz-server-side-encryption-bucket-key-enabled": "TRUE", "x-amz-meta-color": "blue",
               "x-amz-meta-": "ignored (no name)", "x-amz-meta-empty": "", "x-amz-acl": "private",
               "x-amz-object-lock-retain-until-date": "2030-01-02T03:04:05Z"}
    parsed = PROTOCOL.parse(op, wire_request("PUT", "/b/k", headers), {"Bucket": "b", "Key": "k"})
    assert parsed["ContentLength"] == 12 and parsed["BucketKeyEnabled"] is True
    assert parsed["Metadata"] == {"color": "blue", "empty": ""}
    assert parsed["ObjectLockRetainUntilDate"] == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    for bad in ({"content-length": "twelve"}, {"x-amz-server-side-encryption-bucket-key-enabled": "yes"}, {"x-amz-acl": "everyone"}):
        with pytest.raises(ParamError):
            PROTOCOL.parse(op, wire_request("PUT", "/b/k", bad), {"Bucket": "b", "Key": "k"})


def test_header_lists_follow_rfc7230_quoting() -> None:
    # botocore quotes list items holding ',' or '"' (``_escape_header_list_string``)
    assert split_header_list('ETag, "a,b" ,"say \\"hi\\"",plain') == ["ETag", "a,b", 'say "hi"', "plain"]
    assert split_header_list("") == []
    assert split_header_list("one") == ["one"]
    op = _op("GetObjectAttributes")
    wire = wire_request("GET", "/b/k?attributes", {"x-amz-object-attributes": "ETag, ObjectSize,Checksum"})
    assert PROTOCOL.parse(op, wire, {"Bucket": "b", "Key": "k"})["ObjectAttributes"] == [
        "ETag", "ObjectSize", "Checksum"]


def test_repeated_query_keys_keep_the_first_value() -> None:
    op = _op("ListObjectsV2")
    wire = wire_request("GET", "/b?list-type=2&prefix=first&prefix=second&max-keys=5")
    assert PROTOCOL.parse(op, wire, {"Bucket": "b"}) == {"Bucket": "b", "Prefix": "first", "MaxKeys": 5}


def test_raw_payload_that_is_not_streamed_is_read() -> None:
    op = _op("PutBucketPolicy")
    policy = '{"Version": "2012-10-17", "Statement": [{"Sid": "é✓"}]}'
    wire = wire_request("PUT", "/b?policy", body=policy.encode("utf-8"))
    assert PROTOCOL.parse(op, wire, {"Bucket": "b"})["Policy"] == policy
    with pytest.raises(ParamError):
        PROTOCOL.parse(op, wire_request("PUT", "/b?policy", body=b"\xff\xfe"), {"Bucket": "b"})
    # a streamed payload is never read here, whatever the body
    put = PROTOCOL.parse(_op("PutObject"), wire_request("PUT", "/b/k", body=b"data"), {"Bucket": "b", "Key": "k"})
    assert "Body" not in put


def test_grantee_type_attribute() -> None:
    body = (b'<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><AccessControlList><Grant>'
            b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
            b"<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>"
            b"</Grant></AccessControlList><Owner><ID>o</ID></Owner></AccessControlPolicy>")
    parsed = PROTOCOL.parse(_op("PutBucketAcl"), wire_request("PUT", "/b?acl", body=body), {"Bucket": "b"})
    grant = parsed["AccessControlPolicy"]["Grants"][0]
    assert grant["Grantee"] == {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    with pytest.raises(MalformedXML):  # an attribute is validated like any value
        PROTOCOL.parse(_op("PutBucketAcl"), wire_request("PUT", "/b?acl", body=body.replace(b'"Group"', b'"Nobody"')),
                       {"Bucket": "b"})


# -- 2b. response details ------------------------------------------------------------------------------

def test_response_headers_are_always_sendable() -> None:
    op = _op("HeadObject")
    note = "é✓ and\r\nX-Injected: 1"
    result: dict[str, Any] = {"Metadata": {"Note": note, "plain": "ok"}, "ContentType": " padded ",
              "LastModified": datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC), "ContentLength": 3,
              "DeleteMarker": False}
    wire = PROTOCOL.serialize(op, result, REQUEST_ID)
    assert all(" " <= c <= "~" for value in wire.headers.values() for c in value)
    assert wire.headers["x-amz-meta-plain"] == "ok"
    assert wire.headers["x-amz-meta-note"].startswith("=?UTF-8?B?")  # RFC 2047, as S3 answers
    assert base64.b64decode(wire.headers["x-amz-meta-note"][10:-2]).decode() == note
    assert wire.headers["last-modified"] == "Thu, 29 Feb 2024 23:59:58 GMT"
    assert wire.headers["content-length"] == "3" and wire.headers["x-amz-delete-marker"] == "false"
    assert wire.body == b""


def test_raw_payloads_and_streams() -> None:
    policy = PROTOCOL.serialize(_op("GetBucketPolicy"), {"Policy": '{"a": "é"}'}, REQUEST_ID)
    assert policy.body == '{"a": "é"}'.encode()
    assert client_parse(_op("GetBucketPolicy"), 200, policy.headers, policy.body)["Policy"] == '{"a": "é"}'

    async def chunks() -> Any:
        yield b"x"

    stream = chunks()
    got = PROTOCOL.serialize(_op("GetObject"), {"Body": stream, "ContentLength": 1}, REQUEST_ID)
    assert got.stream is stream and got.body == b"" and got.headers["content-length"] == "1"
    assert got.status == 200
    part = PROTOCOL.serialize(_op("GetObject"), {"Body": b"raw", "ContentRange": "bytes 0-2/9"}, REQUEST_ID)
    assert part.status == 206 and part.headers["content-range"] == "bytes 0-2/9"
    assert PROTOCOL.serialize(_op("GetObject"), {"Body": b"raw"}, REQUEST_ID).body == b"raw"


def test_namespaced_documents() -> None:
    wire = PROTOCOL.serialize(_op("ListBuckets"), {"Buckets": [{"Name": "b"}]}, REQUEST_ID)
    root = parse_document(wire.body)
    assert root.tag == "{http://s3.amazonaws.com/doc/2006-03-01/}ListBucketsResult"
    assert wire.headers["content-type"] == "application/xml"
    # the service may name the roots the model leaves unnamed (S3: ListAllMyBucketsResult)
    named = RestXmlProtocol(MODEL, root_tags={"ListBuckets": "ListAllMyBucketsResult"})
    root = parse_document(named.serialize(_op("ListBuckets"), {"Buckets": []}, REQUEST_ID).body)
    assert root.tag == "{http://s3.amazonaws.com/doc/2006-03-01/}ListAllMyBucketsResult"
    # payload members keep their own element name and namespace
    acl = PROTOCOL.serialize(_op("GetBucketAcl"), {"Owner": {"ID": "o"}}, REQUEST_ID)
    assert parse_document(acl.body).tag == "{http://s3.amazonaws.com/doc/2006-03-01/}GetBucketAclResult"
    tagging = PROTOCOL.serialize(_op("GetObjectRetention"), {"Retention": {"Mode": "GOVERNANCE"}}, REQUEST_ID)
    assert parse_document(tagging.body).tag == "{http://s3.amazonaws.com/doc/2006-03-01/}Retention"


# -- 3. errors: the S3 envelope through botocore's error parser ------------------------------------------

def _with_extra(err: AWSError, **extra: str) -> AWSError:
    err.extra = extra  # type: ignore[attr-defined]
    return err


ERRORS = [
    pytest.param(_with_extra(NotFound("The specified bucket does not exist", code="NoSuchBucket", status=404),
                             BucketName="my-bucket"), {"BucketName": "my-bucket"}, id="no-such-bucket"),
    pytest.param(_with_extra(NotFound("The specified key does not exist.", code="NoSuchKey", status=404),
                             Key="dir/a <&> é✓", BucketName="b"), {"Key": "dir/a <&> é✓", "BucketName": "b"},
                 id="no-such-key-escaped"),
    pytest.param(ParamError("missing", "x-amz-copy-source", "Missing required header x-amz-copy-source"), {},
                 id="param-missing"),
    pytest.param(ParamError("enum", "x-amz-acl", "Invalid value '<b>&amp;\"x\"' é✓"), {}, id="param-enum"),
    pytest.param(AuthError("unknown_key", "The AWS Access Key Id you provided does not exist in our records."),
                 {}, id="auth-unknown-key"),
    pytest.param(MalformedXML(), {}, id="malformed-xml"),
    pytest.param(AWSError("a ]]> b <![CDATA[ c ]]> & d\r\ne", code="InternalError", status=500,
                          sender_fault=False), {}, id="internal-cdata-crlf"),
]


@pytest.mark.parametrize(("err", "extra"), ERRORS)
def test_error_envelope(err: AWSError, extra: dict[str, str]) -> None:
    op = _op("GetObject")
    wire = PROTOCOL.error(err, REQUEST_ID)
    code, status = PROTOCOL.code_for(err)
    assert wire.status == status
    parsed = client_parse(op, status, wire.headers, wire.body)
    assert parsed["Error"] == {"Code": code, "Message": err.message, **extra}
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
    root = parse_document(wire.body)  # SDKs that read the body find the request id there too
    assert root.tag == "Error" and root.findtext("RequestId") == REQUEST_ID


def test_error_extra_fields_that_are_not_xml_names_are_left_out() -> None:
    err = _with_extra(NotFound("gone", code="NoSuchKey", status=404), **{"Key": "k", "bad name": "x", "<a>": "y"})
    parsed = client_parse(_op("GetObject"), 404, PROTOCOL.error(err, REQUEST_ID).headers,
                          PROTOCOL.error(err, REQUEST_ID).body)
    assert parsed["Error"] == {"Code": "NoSuchKey", "Message": "gone", "Key": "k"}


# -- 4. safety: hostile XML is a MalformedXML, nothing else ------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Tagging><TagSet><Tag><Key>&lol3;</Key><Value>v</Value></Tag></TagSet></Tagging>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Tagging><TagSet><Tag><Key>&xxe;</Key><Value>v</Value></Tag></TagSet></Tagging>"""
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE Tagging SYSTEM "http://127.0.0.1:1/x.dtd"><Tagging/>'
PARAMETER_ENTITY = b'<!DOCTYPE t [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><Tagging/>'
UTF16_DTD = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE t [<!ENTITY e "x">]><Tagging>&e;</Tagging>' \
    .encode("utf-16")
DEEP = b"<Tagging>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Tagging>"
DEEPISH = b"<Tagging>" + b"<a>" * 100 + b"</a>" * 100 + b"</Tagging>"
HOSTILE = [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(XXE, id="xxe"),
    pytest.param(EXTERNAL_DTD, id="external-dtd"),
    pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
    pytest.param(UTF16_DTD, id="utf16-dtd"),
    pytest.param(b"<Tagging>&undefined;</Tagging>", id="undefined-entity"),
    pytest.param(DEEP, id="too-deep-for-libxml"),
    pytest.param(DEEPISH, id="too-deep"),
    pytest.param(b"<Tagging>" + b"<TagSet/>" * (xml_input.MAX_XML_BYTES // 9) + b"</Tagging>", id="too-large"),
    pytest.param(b"", id="empty"),
    pytest.param(b"   ", id="blank"),
    pytest.param(b"not xml", id="text"),
    pytest.param(b"\xff\xfe\x00garbage", id="bytes"),
    pytest.param(b"<Tagging><TagSet><Tag><Key>k</Key>", id="truncated"),
    pytest.param(b"<Tagging></Tagging><Tagging></Tagging>", id="two-roots"),
    pytest.param(b"<Tags><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tags>", id="wrong-root"),
    pytest.param(b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>junk", id="trailing"),
    pytest.param(b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>", id="missing-required"),
    pytest.param(b"<Tagging/>", id="missing-required-list"),
    pytest.param(b"<Tagging><TagSet><Tag><Key><b>k</b></Key><Value>v</Value></Tag></TagSet></Tagging>",
                 id="scalar-with-children"),
    pytest.param(b"<Tagging><TagSet><Tag><Key>\x01</Key><Value>v</Value></Tag></TagSet></Tagging>",
                 id="control-char"),
    pytest.param(b"<Tagging><TagSet><Tag><Key>&#1;</Key><Value>v</Value></Tag></TagSet></Tagging>",
                 id="control-char-reference"),
    pytest.param(b'<?xml version="1.1"?><Tagging><TagSet><Tag><Key>&#1;</Key><Value>v</Value></Tag></TagSet>'
                 b"</Tagging>", id="xml-1.1-control-char"),
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_xml_is_malformed(body: bytes) -> None:
    op = _op("PutBucketTagging")
    wire = wire_request("PUT", "/b?tagging", body=body)
    with pytest.raises(MalformedXML) as info:
        PROTOCOL.parse(op, wire, {"Bucket": "b"})
    assert PROTOCOL.code_for(info.value) == ("MalformedXML", 400)


def test_required_bodies() -> None:
    labels = {"Bucket": "b", "Key": "k"}
    with pytest.raises(MalformedXML):   # a required XML payload
        PROTOCOL.parse(_op("PutBucketTagging"), wire_request("PUT", "/b?tagging"), labels)
    with pytest.raises(MalformedXML):   # required members in the body itself
        PROTOCOL.parse(_op("SelectObjectContent"), wire_request("POST", "/b/k?select&select-type=2"), labels)
    with pytest.raises(ParamError) as info:   # a required raw payload
        PROTOCOL.parse(_op("PutBucketPolicy"), wire_request("PUT", "/b?policy"), labels)
    assert info.value.kind == "missing"
    assert PROTOCOL.parse(_op("PutBucketAcl"), wire_request("PUT", "/b?acl"), labels) == {"Bucket": "b"}
    # streamed payloads are the service's, even when required
    assert PROTOCOL.streams_payload(_op("PutObjectAnnotation")) and PROTOCOL.streams_payload(_op("UploadPart"))
    assert not PROTOCOL.streams_payload(_op("PutBucketPolicy")) and not PROTOCOL.streams_payload(_op("GetObject"))
    assert "AnnotationPayload" not in PROTOCOL.parse(
        _op("PutObjectAnnotation"), wire_request("PUT", "/b/k?annotation&annotationName=a"), labels)


def test_wrongly_typed_values_are_malformed() -> None:
    body = (b"<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>",
            b"<LegalHold><Status>ON</Status></LegalHold>",
            b"<Retention><RetainUntilDate>soon</RetainUntilDate></Retention>",
            b"<AccelerateConfiguration><Status>Enabled</Status></AccelerateConfiguration>")
    ops = ("PutBucketVersioning", "PutObjectLegalHold", "PutObjectRetention", "PutBucketAccelerateConfiguration")
    labels = {"Bucket": "b", "Key": "k"}
    with pytest.raises(MalformedXML):
        PROTOCOL.parse(_op(ops[0]), wire_request("PUT", "/b?versioning", body=body[0]), labels)
    assert PROTOCOL.parse(_op(ops[1]), wire_request("PUT", "/b/k?legal-hold", body=body[1]), labels)[
        "LegalHold"] == {"Status": "ON"}
    with pytest.raises(MalformedXML):
        PROTOCOL.parse(_op(ops[2]), wire_request("PUT", "/b/k?retention", body=body[2]), labels)
    assert PROTOCOL.parse(_op(ops[3]), wire_request("PUT", "/b?accelerate", body=body[3]), labels)[
        "AccelerateConfiguration"] == {"Status": "Enabled"}


def test_mutated_documents_never_raise_anything_else() -> None:
    """Random byte mutations of real payloads: a value, a MalformedXML or a ParamError; nothing else."""
    rng = random.Random(7)
    seeds = []
    for name in ("PutBucketAcl", "PutBucketLifecycleConfiguration", "DeleteObjects", "PutBucketReplication",
                 "CompleteMultipartUpload", "PutBucketNotificationConfiguration", "SelectObjectContent"):
        op = _op(name)
        wire = client_request(op, request_params(op, "full"))
        seeds.append((op, wire))
    alphabet = b'<>/&;"\'=: \x00\xff#![]-?axmlns'
    for i in range(3000):
        op, wire = seeds[i % len(seeds)]
        body = bytearray(wire.body)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(body) + 1)
            action = rng.randrange(3)
            if action == 0 and body:
                del body[pos:pos + rng.randint(1, 20)]
            elif action == 1:
                body[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
            else:
                body[pos:pos] = body[rng.randrange(len(body) + 1):][:rng.randint(1, 200)]
        mutated = WireRequest(wire.method, wire.path, wire.query, wire.headers, bytes(body))
        found = PROTOCOL.find_operation(mutated)
        assert found is not None
        try:
            PROTOCOL.parse(op, mutated, found[1])
        except (MalformedXML, ParamError):
            pass


def test_greedy_label_followed_by_literal_segments() -> None:
    from overcast.gateway.codecs.rest_xml import UriTemplate

    template = UriTemplate("Op", "GET", ("v1", "{Path+}", "meta"), (), (), (), False, 0)
    assert template.match("GET", ["v1", "a", "b", "meta"], {}) == {"Path": "a/b"}
    assert template.match("GET", ["v1", "a", "meta"], {}) == {"Path": "a"}
    assert template.match("GET", ["v1", "meta"], {}) is None
    assert template.match("GET", ["v1", "a", "b"], {}) is None
