"""SigV4 verification against requests signed by botocore's own signers (no network)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import (
    HmacV1Auth,
    HmacV1QueryAuth,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.gateway import sigv4
from overcast.gateway.sigv4 import RequestParts, SigV4Error

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjE+/token==with/odd+chars"
CREDS = Credentials(AKID, SECRET)
TOKEN_CREDS = Credentials("ASIAEXAMPLE", SECRET, TOKEN)
EC2_BODY = {"Action": "DescribeInstances", "Version": "2016-11-15", "Filter.1.Name": "tag:Name",
            "Filter.1.Value.1": "a b/ü~=+"}


@pytest.fixture(autouse=True)
def frozen_signing_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore stamps requests with get_current_datetime(); pin it instead of freezing time."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: NOW.replace(tzinfo=None))


def wire(prepared: Any) -> tuple[RequestParts, bytes]:
    """What a server sees: raw path/query from the URL, lowercased latin-1 headers, Host added by the client."""
    split = urlsplit(prepared.url)
    headers = {k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers.setdefault("host", split.netloc)
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return RequestParts(prepared.method, split.path, split.query, headers), body or b""


def sign(signer: Any, method: str, url: str, **kwargs: Any) -> tuple[RequestParts, bytes]:
    request = AWSRequest(method=method, url=url, **kwargs)
    signer.add_auth(request)
    return wire(request.prepare())


def check(req: RequestParts, body: bytes | None = b"", *, secret: str = SECRET, now: datetime = NOW) -> sigv4.SigV4Auth:
    auth = sigv4.parse(req)
    assert auth is not None
    sigv4.verify(req, auth, secret, sigv4.payload_hash(req, auth, body), now)
    return auth


def kind_of(req: RequestParts, body: bytes | None = b"", **kwargs: Any) -> str:
    with pytest.raises(SigV4Error) as info:
        check(req, body, **kwargs)
    assert info.value.message
    return info.value.kind


def replace(req: RequestParts, **changes: Any) -> RequestParts:
    fields = {"method": req.method, "raw_path": req.raw_path, "raw_query": req.raw_query,
              "headers": dict(req.headers)} | changes
    return RequestParts(**fields)


def with_header(req: RequestParts, name: str, value: str | None) -> RequestParts:
    headers = dict(req.headers)
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value
    return replace(req, headers=headers)


def ec2_post(creds: Credentials = CREDS) -> tuple[RequestParts, bytes]:
    return sign(SigV4Auth(creds, "ec2", "us-east-1"), "POST", "http://ec2.local:4566/",
                data=EC2_BODY, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def s3_presigned(method: str = "GET", expires: int = 3600, creds: Credentials = CREDS) -> RequestParts:
    req, _ = sign(S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=expires), method,
                  "https://s3.local/bkt/dir/a%20b%2Bc/%C3%BC~",
                  params={"response-content-type": "text/plain", "versionId": ""})
    return req


# --- botocore-signed requests verify -------------------------------------------------------------------


@pytest.mark.parametrize("creds", [CREDS, TOKEN_CREDS], ids=["keys", "session-token"])
def test_query_protocol_post_form(creds: Credentials) -> None:
    req, body = ec2_post(creds)
    assert "a+b%2F%C3%BC~%3D%2B" in body.decode()
    auth = check(req, body)
    assert (auth.access_key, auth.scope_date, auth.region, auth.service) == (creds.access_key, "20240501",
                                                                              "us-east-1", "ec2")
    assert auth.amz_date == NOW and not auth.presigned and auth.expires is None
    assert auth.security_token == creds.token
    assert auth.signed_headers == (("content-type", "host", "x-amz-date") if creds.token is None
                                   else ("content-type", "host", "x-amz-date", "x-amz-security-token"))


@pytest.mark.parametrize("params", [
    {"q": "with space", "tilde": "a~b", "slash": "x/y", "eq": "a=b", "empty": "", "uni": "ünï€", "plus": "1+1"},
    [("dup", "b"), ("dup", "a"), ("Z", "1"), ("a", "2"), ("%weird", "&")],
])
def test_get_with_awsrequest_params(params: Any) -> None:
    # AWSRequest.params goes on the wire via urlencode (space -> '+'), but is signed as %20.
    req, _ = sign(SigV4Auth(CREDS, "iam", "us-east-1"), "GET", "http://iam.local/", params=params)
    check(req)


def test_get_with_encoded_url_query_and_valueless_keys() -> None:
    url = "http://svc.local/a/b?b=%E2%82%AC%20x&a=1&flag&empty=&t=~&s=%2F&k%3Dx=v%3D"
    req, _ = sign(SigV4Auth(CREDS, "execute-api", "eu-west-1"), "GET", url)
    assert req.raw_query == url.split("?")[1]
    check(req)


@pytest.mark.parametrize("path", ["/", "/a%20b/c", "/a/./b/../c//d/", "/%E2%82%AC/x~y/%2F/", "/.."])
def test_non_s3_path_is_normalised_and_double_encoded(path: str) -> None:
    req, body = sign(SigV4Auth(CREDS, "lambda", "us-east-1"), "POST", f"http://lambda.local{path}", data=b"{}")
    check(req, body)


@pytest.mark.parametrize("path", ["/bkt/a%20b", "/bkt/%C3%BC%2Bx", "/bkt//lead", "/bkt/a/../b/./c", "/bkt/~t/",
                                  "/bkt/a%2Fb%3Fc%23d"])
def test_s3_path_is_signed_raw(path: str) -> None:
    req, body = sign(S3SigV4Auth(CREDS, "s3", "us-east-1"), "PUT", f"http://s3.local{path}", data=b"hello")
    auth = check(req, body)
    assert auth.content_sha256 == sigv4.payload_hash(req, auth, body) != sigv4.UNSIGNED_PAYLOAD


def test_date_header_instead_of_x_amz_date() -> None:
    req, body = sign(SigV4Auth(CREDS, "sts", "us-east-1"), "POST", "http://sts.local/",
                     data={"Action": "GetCallerIdentity"}, headers={"Date": "placeholder"})
    assert "x-amz-date" not in req.headers and req.headers["date"] == "Wed, 01 May 2024 12:00:00 -0000"
    assert check(req, body).amz_date == NOW


def test_unsigned_payload_header_over_https() -> None:
    request = AWSRequest(method="POST", url="https://svc.local/x", data=b"payload")
    request.context["payload_signing_enabled"] = False
    SigV4Auth(CREDS, "svc", "us-east-1").add_auth(request)
    req, body = wire(request.prepare())
    assert req.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    check(req, body + b" anything goes")


def test_non_ascii_header_values() -> None:
    req, _ = sign(SigV4Auth(CREDS, "svc", "us-east-1"), "GET", "http://svc.local/", headers={"X-Meta": "  ü  x"})
    check(req)  # sent latin-1 (http.client's encoding)
    check(with_header(req, "x-meta", "  ü  x".encode().decode("latin-1")))  # sent as UTF-8 bytes


def test_unsigned_extra_headers_are_ignored() -> None:
    req, body = ec2_post()
    check(with_header(with_header(req, "user-agent", "other"), "x-forwarded-for", "10.0.0.1"), body)


def test_string_to_sign_matches_botocore() -> None:
    seen: list[str] = []

    class Recording(S3SigV4Auth):
        def string_to_sign(self, request: Any, canonical_request: str) -> str:
            seen.append(super().string_to_sign(request, canonical_request))
            return seen[-1]

    req, body = sign(Recording(TOKEN_CREDS, "s3", "us-west-2"), "GET", "http://s3.local/b/k%20?tagging&x=%20")
    auth = sigv4.parse(req)
    assert auth is not None
    assert sigv4.string_to_sign(req, auth, sigv4.payload_hash(req, auth, body)) == seen[0]
    assert sigv4.canonical_request(req, auth, sigv4.EMPTY_SHA256).startswith("GET\n/b/k%20\ntagging=&x=%20\n")


def test_signing_key_is_cached() -> None:
    sigv4.signing_key.cache_clear()
    req, body = ec2_post()
    check(req, body)
    check(req, body)
    assert sigv4.signing_key.cache_info().hits >= 1


# --- presigned URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("creds", [CREDS, TOKEN_CREDS], ids=["keys", "session-token"])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_s3_presigned(method: str, creds: Credentials) -> None:
    req = s3_presigned(method, creds=creds)
    auth = check(req, b"any body at all", now=NOW + timedelta(minutes=59))
    assert auth.presigned and auth.expires == 3600 and auth.security_token == creds.token
    assert sigv4.payload_hash(req, auth, b"x") == sigv4.UNSIGNED_PAYLOAD
    assert "Authorization" not in req.headers


def test_presigned_query_token_wins_over_unsigned_header() -> None:
    req = with_header(s3_presigned(creds=TOKEN_CREDS), "x-amz-security-token", "injected")
    assert check(req).security_token == TOKEN


def test_non_s3_presigned_signs_empty_payload_hash() -> None:
    # e.g. the EKS token: a presigned sts:GetCallerIdentity; SigV4QueryAuth moves the form body to the query.
    req, body = sign(SigV4QueryAuth(TOKEN_CREDS, "sts", "us-east-1", expires=60), "GET", "https://sts.local/",
                     data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                     headers={"x-k8s-aws-id": "cluster"})
    auth = check(req, body)
    assert body == b"" and sigv4.payload_hash(req, auth, None) == sigv4.EMPTY_SHA256
    assert auth.signed_headers == ("host", "x-k8s-aws-id")


def test_presigned_expiry_and_future_dates() -> None:
    req = s3_presigned(expires=60)
    check(req, now=NOW + timedelta(seconds=60))
    assert kind_of(req, now=NOW + timedelta(seconds=61)) == "expired"
    check(req, now=NOW - timedelta(minutes=14))
    assert kind_of(req, now=NOW - timedelta(minutes=16)) == "skewed"


@pytest.mark.parametrize("expires", [0, -5, 604801])
def test_presigned_expires_out_of_range(expires: int) -> None:
    assert kind_of(s3_presigned(expires=expires)) == "malformed"


def test_presigned_tampered_query() -> None:
    req = s3_presigned()
    assert kind_of(replace(req, raw_query=req.raw_query.replace("text%2Fplain", "text%2Fhtml"))) == "mismatch"
    assert kind_of(replace(req, raw_query=req.raw_query + "&extra=1")) == "mismatch"
    assert kind_of(replace(req, raw_query=req.raw_query.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601"))) \
        == "mismatch"
    assert kind_of(replace(req, raw_path=req.raw_path + "x")) == "mismatch"


def test_presigned_missing_parameters() -> None:
    req = s3_presigned()
    for name in ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"):
        query = "&".join(p for p in req.raw_query.split("&") if not p.startswith(name + "="))
        with pytest.raises(SigV4Error) as info:
            sigv4.parse(replace(req, raw_query=query))
        assert info.value.kind == "incomplete" and f"'{name}'" in info.value.message


def test_presigned_with_authorization_header_too() -> None:
    req = s3_presigned()
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(with_header(req, "authorization", "AWS4-HMAC-SHA256 Credential=x"))
    assert info.value.kind == "malformed"


# --- botocore clients end to end (captured before send) ----------------------------------------------------


class Captured(Exception):
    pass


def client_request(service: str, call: Callable[[Any], Any], endpoint: str = "http://localhost:4566",
                   creds: Credentials = CREDS) -> tuple[RequestParts, bytes]:
    session = boto3.session.Session(aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                                    aws_session_token=creds.token, region_name="us-east-1")
    client = session.client(service, endpoint_url=endpoint,
                            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        captured.append(request)
        raise Captured

    client.meta.events.register("before-send", capture)
    with pytest.raises(Captured):
        call(client)
    return wire(captured[0])


CLIENT_CALLS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("sts", lambda c: c.get_caller_identity(), "http://localhost:4566"),
    ("ec2", lambda c: c.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["a b/ü~=+"]}]),
     "http://localhost:4566"),
    ("lambda", lambda c: c.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f", Payload=b"{}"),
     "http://localhost:4566"),
    ("s3", lambda c: c.put_object(Bucket="bkt", Key="a b/ü+x//../y?z#w", Body=b"hello"), "http://localhost:4566"),
    ("s3", lambda c: c.put_object(Bucket="bkt", Key="a b/ü+x", Body=b"hello"), "https://localhost:4566"),
    ("s3", lambda c: c.list_objects_v2(Bucket="bkt", Prefix="a b/~ü+", Delimiter="/"), "http://localhost:4566"),
    ("s3", lambda c: c.create_multipart_upload(Bucket="bkt", Key="k"), "http://localhost:4566"),
]


@pytest.mark.parametrize("creds", [CREDS, TOKEN_CREDS], ids=["keys", "session-token"])
@pytest.mark.parametrize(("service", "call", "endpoint"), CLIENT_CALLS)
def test_botocore_clients(service: str, call: Callable[[Any], Any], endpoint: str, creds: Credentials) -> None:
    req, body = client_request(service, call, endpoint, creds)
    auth = check(req, body)
    assert auth.service == service and auth.security_token == creds.token
    assert kind_of(req, body, secret=SECRET + "x") == "mismatch"


def test_botocore_streaming_trailer_payload() -> None:
    req, body = client_request("s3", lambda c: c.put_object(Bucket="b", Key="k", Body=b"hi"), "https://localhost")
    auth = sigv4.parse(req)
    assert auth is not None
    assert sigv4.payload_hash(req, auth, body) == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


@pytest.mark.parametrize("creds", [CREDS, TOKEN_CREDS], ids=["keys", "session-token"])
@pytest.mark.parametrize(("service", "method", "params"), [
    ("s3", "get_object", {"Bucket": "bkt", "Key": "dir/a b+ü~", "ResponseContentDisposition": "attachment; x=y"}),
    ("s3", "put_object", {"Bucket": "bkt", "Key": "k//../x"}),
    ("sts", "get_caller_identity", {}),
])
def test_botocore_generate_presigned_url(service: str, method: str, params: dict[str, str],
                                         creds: Credentials) -> None:
    session = boto3.session.Session(aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                                    aws_session_token=creds.token, region_name="us-east-1")
    client = session.client(service, endpoint_url="https://localhost:4566",
                            config=Config(signature_version="s3v4" if service == "s3" else "v4",
                                          s3={"addressing_style": "path"}))
    http_method = "PUT" if method == "put_object" else "GET"  # `aws eks get-token` presigns STS as GET
    split = urlsplit(client.generate_presigned_url(method, Params=params, ExpiresIn=900, HttpMethod=http_method))
    req = RequestParts(http_method, split.path, split.query, {"host": split.netloc})
    auth = check(req, None, now=NOW + timedelta(minutes=10))
    assert auth.presigned and auth.expires == 900 and auth.security_token == creds.token
    assert kind_of(req, None, now=NOW + timedelta(minutes=16)) == "expired"


# --- header-auth failures -----------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    req, body = ec2_post()
    assert kind_of(req, body, secret="not-the-secret") == "mismatch"


def test_tampered_signed_header() -> None:
    req, body = ec2_post()
    assert kind_of(with_header(req, "content-type", "application/json"), body) == "mismatch"
    assert kind_of(with_header(req, "host", "evil.local:4566"), body) == "mismatch"


def test_tampered_signed_token() -> None:
    req, body = ec2_post(TOKEN_CREDS)
    assert kind_of(with_header(req, "x-amz-security-token", TOKEN + "x"), body) == "mismatch"


def test_tampered_body() -> None:
    req, body = ec2_post()
    assert kind_of(req, body.replace(b"DescribeInstances", b"TerminateInstances")) == "mismatch"


def test_tampered_s3_body_against_content_sha256() -> None:
    req, body = sign(S3SigV4Auth(CREDS, "s3", "us-east-1"), "PUT", "http://s3.local/b/k", data=b"hello")
    with pytest.raises(SigV4Error) as info:
        check(req, b"jello")
    assert (info.value.kind, info.value.code) == ("mismatch", "XAmzContentSHA256Mismatch")
    with pytest.raises(SigV4Error) as info:
        check(with_header(req, "x-amz-content-sha256", "not-a-hash"), body)
    assert info.value.kind == "malformed"


def test_tampered_query_and_path() -> None:
    req, _ = sign(SigV4Auth(CREDS, "iam", "us-east-1"), "GET", "http://iam.local/x",
                  params={"Action": "ListUsers", "q": "a b"})
    check(req)
    assert kind_of(replace(req, raw_query=req.raw_query.replace("ListUsers", "ListRoles"))) == "mismatch"
    assert kind_of(replace(req, raw_query=req.raw_query + "&MaxItems=1")) == "mismatch"
    assert kind_of(replace(req, raw_path="/y")) == "mismatch"
    assert kind_of(replace(req, method="POST")) == "mismatch"


def test_host_must_be_signed() -> None:
    request = AWSRequest(method="GET", url="http://svc.local/", headers={"X-Custom": "1"})

    class NoHost(SigV4Auth):
        def headers_to_sign(self, request: Any) -> Any:
            headers = super().headers_to_sign(request)
            del headers["host"]
            return headers

    NoHost(CREDS, "svc", "us-east-1").add_auth(request)
    req, _ = wire(request.prepare())
    with pytest.raises(SigV4Error) as info:
        check(req)
    assert info.value.kind == "mismatch" and "'Host'" in info.value.message


def test_clock_skew() -> None:
    req, body = ec2_post()
    check(req, body, now=NOW + timedelta(minutes=15))
    check(req, body, now=NOW - timedelta(minutes=15))
    assert kind_of(req, body, now=NOW + timedelta(minutes=15, seconds=1)) == "skewed"
    assert kind_of(req, body, now=NOW - timedelta(minutes=16)) == "skewed"
    auth = sigv4.parse(req)
    assert auth is not None
    with pytest.raises(SigV4Error) as info:
        sigv4.verify(req, auth, SECRET, sigv4.payload_hash(req, auth, body), NOW + timedelta(minutes=6),
                     max_skew=timedelta(minutes=5))
    assert info.value.kind == "skewed" and "Signature expired: 20240501T120000Z" in info.value.message


def test_scope_date_mismatch() -> None:
    req, body = ec2_post()
    bad = with_header(req, "authorization", req.headers["authorization"].replace("/20240501/", "/20240502/"))
    with pytest.raises(SigV4Error) as info:
        check(bad, body)
    assert info.value.kind == "mismatch" and "Credential scope" in info.value.message


@pytest.mark.parametrize("part", ["Credential", "SignedHeaders", "Signature"])
def test_authorization_missing_parts(part: str) -> None:
    req, _ = ec2_post()
    kept = [p for p in req.headers["authorization"][len("AWS4-HMAC-SHA256 "):].split(", ")
            if not p.startswith(part + "=")]
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(with_header(req, "authorization", "AWS4-HMAC-SHA256 " + ", ".join(kept)))
    assert info.value.kind == "incomplete"
    assert info.value.message.startswith(f"Authorization header requires '{part}' parameter.")


def test_authorization_missing_date() -> None:
    req, _ = ec2_post()
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(with_header(req, "x-amz-date", None))
    assert info.value.kind == "incomplete" and "'X-Amz-Date' or a 'Date'" in info.value.message


@pytest.mark.parametrize(("header", "name", "value", "kind"), [
    (True, "authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/ec2, SignedHeaders=host, "
                            "Signature=00", "malformed"),
    (True, "authorization", "AWS4-HMAC-SHA256 Credential=AKID/2024-5-1/us-east-1/ec2/aws4_request, "
                            "SignedHeaders=host, Signature=00", "malformed"),
    (True, "x-amz-date", "2024-05-01T12:00:00Z", "malformed"),
    (True, "authorization", "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240501/ec2/aws4_request, "
                            "SignedHeaders=host, Signature=00", "unsupported"),
    (True, "authorization", "Bearer abc", "unsupported"),
])
def test_malformed_and_unsupported_headers(header: bool, name: str, value: str, kind: str) -> None:
    req, _ = ec2_post()
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(with_header(req, name, value))
    assert info.value.kind == kind


def test_sigv2_header_and_query_are_unsupported() -> None:
    req, _ = sign(HmacV1Auth(CREDS), "GET", "http://s3.local/bkt/key")
    assert req.headers["authorization"].startswith(f"AWS {AKID}:")
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(req)
    assert info.value.kind == "unsupported"
    req, _ = sign(HmacV1QueryAuth(CREDS), "GET", "http://s3.local/bkt/key")
    assert "Signature=" in req.raw_query and "AWSAccessKeyId=" in req.raw_query
    with pytest.raises(SigV4Error) as info:
        sigv4.parse(req)
    assert info.value.kind == "unsupported"


def test_anonymous_requests() -> None:
    assert sigv4.parse(RequestParts("GET", "/bkt/key", "", {"host": "s3.local"})) is None
    assert sigv4.parse(RequestParts("GET", "/bkt", "list-type=2&X-Amz-Date=x", {"host": "s3.local"})) is None


# --- property: whatever botocore signs, we verify ------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(segments=st.lists(_text, max_size=4), params=st.lists(st.tuples(_text, _text), max_size=4),
       service=st.sampled_from(["s3", "sqs"]), presign=st.booleans())
def test_property_botocore_round_trip(segments: list[str], params: list[tuple[str, str]], service: str,
                                      presign: bool) -> None:
    from botocore.utils import percent_encode

    path = "/" + "/".join(percent_encode(s, safe="~") for s in segments)
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params)
    url = f"https://svc.local{path}" + (f"?{query}" if query else "")
    if presign:
        signer: Any = (S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth)(CREDS, service, "us-east-1")
    else:
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(CREDS, service, "us-east-1")
    req, body = sign(signer, "GET", url)
    check(req, body)
