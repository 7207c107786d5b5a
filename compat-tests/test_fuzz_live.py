"""A bounded fuzz storm against the real ``overcast up`` process, over real sockets to 127.0.0.1.

A few hundred hostile requests (signed ones with hostile parameters, broken signatures, garbage
presigned URLs, odd methods/paths/hosts, XML bombs to S3 paths, an oversized body) sent with
http.client, plus malformed HTTP on raw sockets.  Every HTTP answer must be an AWS answer (never a
500, a request id, an error botocore's parsers read), and the process must survive and keep serving.
The requests come from a seeded generator: ``OVERCAST_FUZZ_SEED`` picks another storm.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import botocore.session
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser

SEED = int(os.environ.get("OVERCAST_FUZZ_SEED", "20240501"))
REQUESTS = int(os.environ.get("OVERCAST_FUZZ_LIVE_REQUESTS", "400"))
TIME_BUDGET = 120.0      # seconds for the whole storm; it stops early rather than run on
TIMEOUT = 20.0           # one request
MAX_BODY = 16 * 1024 * 1024
FORM = "application/x-www-form-urlencoded; charset=utf-8"
VERSIONS = {"ec2": "2016-11-15", "sts": "2011-06-15"}
SERVED = {"ec2": ["DescribeRegions", "DescribeAvailabilityZones", "DescribeAccountAttributes", "DescribeInstanceTypes",
                  "DescribeInstanceTypeOfferings", "CreateTags", "DeleteTags", "DescribeTags", "CreateKeyPair",
                  "ImportKeyPair", "DescribeKeyPairs", "DeleteKeyPair"],
          "sts": ["GetCallerIdentity", "GetSessionToken", "AssumeRole"]}
ERROR_ROOTS = {"Response": "ec2", "ErrorResponse": "query", "Error": "rest-xml"}
PROTOCOL_OF = {"ec2": "ec2", "sts": "query", "s3": "rest-xml"}
UVICORN_REFUSAL = b"Invalid HTTP request received."
_BOTOCORE = botocore.session.get_session()
MODELS = {name: _BOTOCORE.get_service_model(name) for name in ("ec2", "sts", "s3")}

HOSTILE = ["", "\x00", "a\x00b", "\ufffe", "\x1b[31m", "<![CDATA[x]]>&amp;<a>", "]]>", "%s%n", "${jndi:ldap://x}",
           "' OR 1=1 --", "1e309", "NaN", "-0", "99999999999999999999999999", "true", "TRUE", "٣",
           "9999-12-31T23:59:59Z", "2024-13-45T99:99:99Z", "1e20", "A" * 70_000, "é" * 3000, "\U0001f600" * 10]
KEYS = ["Filter.1.Value.1", "Filter.1.Name", "Filter.0.Name", "Filter.99999999999999999999.Name", "Filter.1",
        "Filter.100001.Name", "Filter.1.Name.Foo", "RegionName.1.x", "KeyName.1", "Foo", "Foo.Bar.Baz", ".", "..",
        "Tag.1.Key", "TagSpecification.1.Tag.1.Key", "DryRun", "MaxResults", "NextToken", "Resources.member.1",
        "Policy", "DurationSeconds", "RoleArn", "PublicKeyMaterial", "X-Amz-Foo", "Action.1", "Version.1",
        ".".join(["A"] * 300), ".".join(["1"] * 300)]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Live:
    """The running server, reached with http.client: nothing on the client side tidies requests up."""

    def __init__(self, overcast: Any, creds: Credentials) -> None:
        split = urlsplit(overcast.endpoint)
        assert split.hostname in ("127.0.0.1", "localhost", "::1"), overcast.endpoint
        self.host, self.port = split.hostname, split.port or 80
        self.netloc = split.netloc
        self.endpoint = overcast.endpoint
        self.creds = creds
        self.region = overcast.region
        self.seen: Counter[str] = Counter()

    def send(self, method: str, target: str, headers: list[tuple[str, Any]], body: Any = b"",
             chunked: bool = False) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            elif not any(n.lower() == "content-length" for n, _ in headers) and method not in ("GET", "HEAD"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                if chunked:
                    for piece in body:
                        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                    conn.send(b"0\r\n\r\n")
                elif body:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading it all: read that answer
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def signed(self, service: str, method: str, path: str, body: bytes, headers: dict[str, str],
               host: str | None = None) -> tuple[str, list[tuple[str, Any]]]:
        url = f"http://{host or self.netloc}{path}"
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(self.creds, service, self.region).add_auth(request)
        return path, [("Host", host or self.netloc)] + [(k, str(v)) for k, v in request.headers.items()]


def check(live: Live, answer: Answer, method: str, protocol: str | None, service: str | None, may_succeed: bool,
          what: str) -> None:
    where = f"\nseed {SEED}; request: {what[:1500]}\nanswer: {answer.status} {answer.headers}\n{answer.body[:1500]!r}"
    assert answer.status != 500 and (answer.status < 500 or answer.status in (501, 503)), "server error" + where
    rid = answer.headers.get("x-amzn-requestid") or answer.headers.get("x-amz-request-id")
    if not rid and answer.status == 400 and answer.body == UVICORN_REFUSAL:
        live.seen["http 400 (refused by the HTTP parser)"] += 1  # e.g. a method llhttp does not know
        return
    assert rid, "no request id header" + where
    if method == "HEAD":
        live.seen[f"HEAD {answer.status}"] += 1
        assert answer.status >= 300 or may_succeed, where
        return
    if answer.status < 300 and service == "s3":
        # S3 handlers exist: a fuzzed request can be a valid one (e.g. PUT /bucket is CreateBucket)
        assert may_succeed, "unexpected success" + where
        live.seen[f"s3 {answer.status}"] += 1
        return
    try:
        tag = ET.fromstring(answer.body).tag.rsplit("}", 1)[-1]
    except ET.ParseError as err:
        raise AssertionError(f"the body is not XML ({err})" + where) from None
    response = {"status_code": answer.status, "headers": answer.headers, "body": answer.body}
    if answer.status < 300:
        assert may_succeed and service in ("ec2", "sts") and tag.endswith("Response"), "unexpected success" + where
        op = MODELS[service].operation_model(tag[: -len("Response")])
        assert "Error" not in create_parser(PROTOCOL_OF[service]).parse(response, op.output_shape), where
        live.seen[f"{service} 200 {op.name}"] += 1
        return
    assert tag in ERROR_ROOTS, f"not an AWS error envelope: <{tag}>" + where
    found = ERROR_ROOTS[tag]
    assert protocol is None or found == protocol, f"a {found} error for a {protocol} request" + where
    parsed = create_parser(found).parse(response, None)
    code = parsed.get("Error", {}).get("Code", "")
    assert code and not str(code).isdigit(), "botocore found no error code" + where
    live.seen[f"{found} {answer.status} {code}"] += 1


# --- the kinds of hostile requests ------------------------------------------------------------------------

Case = Callable[[Live, random.Random], None]


def _form(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs, quote_via=quote, safe="").encode()


def hostile_params(live: Live, rng: random.Random) -> None:
    service = rng.choice(["ec2", "ec2", "sts"])
    model = MODELS[service]
    op = rng.choice(SERVED[service]) if rng.random() < 0.6 else rng.choice(sorted(model.operation_names))
    shape = model.operation_model(op).input_shape
    members = sorted(shape.members) if shape is not None else []
    pairs = [("Action", op), ("Version", VERSIONS[service])]
    for _ in range(rng.randint(0, 8)):
        key = rng.choice(members + KEYS) if members else rng.choice(KEYS)
        suffix = rng.choice(["", "", ".1", ".1.Name", ".member.1", ".0", ".-1", ".100001", ".1.1.1"])
        pairs.append((key + suffix, rng.choice(HOSTILE + ["x", "1", "us-east-1", "tag:Name"])))
    if rng.random() < 0.1:
        pairs.append(("Action", rng.choice(["", "Nope", op.lower(), op + "\x00"])))
    rng.shuffle(pairs)
    body = _form(pairs)
    if rng.random() < 0.3:  # invalid percent-encoding / invalid UTF-8 / NUL bytes, still signed
        at = rng.randint(0, len(body))
        body = body[:at] + rng.choice([b"%", b"%zz", b"%C3%28", b"\xff\xfe", b"\x00", b"%00", b"&&=", b"\xc3"]) + body[at:]
    target, headers = live.signed(service, "POST", "/", body, {"Content-Type": FORM})
    answer = live.send("POST", target, headers, body)
    check(live, answer, "POST", PROTOCOL_OF[service], service, True, f"{service} {body[:1000]!r}")


def bad_signature(live: Live, rng: random.Random) -> None:
    service = rng.choice(["ec2", "sts"])
    body = _form([("Action", SERVED[service][0]), ("Version", VERSIONS[service])])
    scope_service = rng.choice([service, service, "s3", "iam", "nope", "cloudformation"])
    request = AWSRequest(method="POST", url=f"{live.endpoint}/", data=body, headers={"Content-Type": FORM})
    SigV4Auth(live.creds, scope_service, rng.choice([live.region, live.region, "xx-fake-1"])).add_auth(request)
    headers = [(k, str(v)) for k, v in request.headers.items()]
    auth = dict(headers)["Authorization"]
    how = rng.choice(["truncate", "flip", "random", "date", "nodate", "httpdate", "key", "bytes"])
    if how == "truncate":
        auth = auth[: rng.randint(0, len(auth))]
    elif how == "flip":
        at = rng.randint(0, len(auth) - 1)
        auth = auth[:at] + rng.choice(["0", "/", ",", " ", "="]) + auth[at + 1:]
    elif how == "random":
        auth = rng.choice(["", "AWS4-HMAC-SHA256", "Bearer x", "AWS AKIAIOSFODNN7EXAMPLE:x=",
                           "AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=0",
                           "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="])
    elif how == "key":
        auth = auth.replace(live.creds.access_key, rng.choice(["AKIA" + "X" * 16, "A", "x" * 300]))
    headers = [(k, v) for k, v in headers if k != "Authorization"]
    if how == "date":
        headers = [(k, v) for k, v in headers if k != "X-Amz-Date"]
        headers.append(("X-Amz-Date", rng.choice(["", "2024", "20241301T000000Z", "99991231T235959Z",
                                                  "00010101T000000Z", "2024-01-01T00:00:00Z"])))
    elif how in ("nodate", "httpdate"):
        headers = [(k, v) for k, v in headers if k != "X-Amz-Date"]
        if how == "httpdate":
            headers.append(("Date", rng.choice(["garbage", "Mon, 32 Foo 2024 25:61:61 GMT",
                                                "Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 +9999"])))
    value: Any = auth.encode() + rng.choice([b"\xff", b"\xc3\xa9", b"\x80"]) if how == "bytes" else auth
    headers.append(("Authorization", value))
    answer = live.send("POST", "/", [("Host", live.netloc)] + headers, body)
    check(live, answer, "POST", None, service, True, f"{headers}")


def presigned_garbage(live: Live, rng: random.Random) -> None:
    service = rng.choice(["ec2", "sts", "s3"])
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    params = [] if service == "s3" else [("Action", SERVED[service][0]), ("Version", VERSIONS[service])]
    params += [("X-Amz-Algorithm", rng.choice(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256", "", "HMAC"])),
               ("X-Amz-Credential", rng.choice([f"{live.creds.access_key}/{stamp[:8]}/{live.region}/{service}/aws4_request",
                                                "", "/", "a/b/c/d/e/f", f"{live.creds.access_key}/2024/x/y/aws4_request"])),
               ("X-Amz-Date", rng.choice([stamp, stamp, "", "2024", "20240230T000000Z", "x" * 100])),
               ("X-Amz-Expires", rng.choice(["60", "0", "-1", "604801", "1e9", "9" * 5000, "NaN", "", "0x10"])),
               ("X-Amz-SignedHeaders", rng.choice(["host", "", ";;", "HOST"])),
               ("X-Amz-Signature", rng.choice(["0" * 64, "", "zz"]))]
    params = [p for p in params if not p[0].startswith("X-Amz") or rng.random() < 0.85]
    params.append(("X-Amz-Signature", "0" * 64))
    path = "/bucket/key" if service == "s3" else "/"
    method = rng.choice(["GET", "GET", "POST", "HEAD", "PUT", "DELETE"])
    answer = live.send(method, f"{path}?{_form(params).decode()}", [("Host", live.netloc)])
    check(live, answer, method, None, service, False, f"{method} {path}?{params}")


def random_request(live: Live, rng: random.Random) -> None:
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "FOO"])
    path = "".join(rng.choice(["/", "//", "/..", "/.", "/bucket", "/bucket/key", "/%", "/%zz", "/%C3%28", "/%00",
                               "/%2F", "/a%20b", "/~", "/" + "a" * 2000]) for _ in range(rng.randint(1, 4)))
    query = rng.choice(["", "acl", "uploads", "Action=DescribeRegions&Version=2016-11-15", "Action=GetCallerIdentity",
                        "Action=Nope", "%", "a=%zz", "Signature=x&AWSAccessKeyId=y", "X-Amz-Credential=x", "delete"])
    host = rng.choice([live.netloc, "bucket.s3.localhost", f"bucket.s3.localhost:{live.port}", "s3.localhost",
                       ".s3.localhost", "x.s3.amazonaws.com", "[::1]", "a" * 300, ""])
    body = rng.choice([b"", b"Action=DescribeRegions&Version=2016-11-15", b"<a/>", b"\xff\xfe", b"x" * 70_000])
    headers: list[tuple[str, Any]] = [("Host", host)] if host else []
    if rng.random() < 0.5:
        headers.append(("Content-Type", rng.choice([FORM, "application/xml", "text/plain"])))
    if rng.random() < 0.3:
        headers.append((rng.choice(["x-amz-date", "x-amz-content-sha256", "range", "x-amz-security-token",
                                    "x-amz-meta-x", "content-md5"]), rng.choice([b"\xff", b"", b"0" * 64, b"zz"])))
    target = path + (f"?{query}" if query else "")
    answer = live.send(method, target, headers, body if method not in ("GET", "HEAD") else b"")
    check(live, answer, method, None, None, False, f"{method} {target} {headers}")


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
        + b"]><CreateBucketConfiguration><LocationConstraint>&lol9;</LocationConstraint></CreateBucketConfiguration>")
XML_BODIES = [
    BOMB,
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Tagging><TagSet><Tag><Key>&e;</Key>'
    b"<Value>v</Value></Tag></TagSet></Tagging>",
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><Delete/>',
    b"<LifecycleConfiguration>" + b"<Rule>" * 20_000 + b"</Rule>" * 20_000 + b"</LifecycleConfiguration>",
    b"<Delete>" + b"<Object><Key>k</Key></Object>" * 20_000 + b"</Delete>",
    b"<Tagging><TagSet><Tag><Key><![CDATA[<&>]]></Key><Value>\x00</Value></Tag></TagSet></Tagging>",
    b"<a><b></a>", b"", b"\xff\xfe<\x00a\x00/\x00>\x00",
]


def s3_xml(live: Live, rng: random.Random) -> None:
    method, path = rng.choice([("PUT", "/bucket"), ("PUT", "/bucket?tagging"), ("PUT", "/bucket?lifecycle"),
                               ("POST", "/bucket?delete"), ("PUT", "/bucket/key"), ("POST", "/bucket/key?uploadId=x")])
    host = None
    if rng.random() < 0.5:
        host = f"bucket.s3.localhost:{live.port}"
        path = path.replace("/bucket", "", 1) or "/"
        if path.startswith("?"):
            path = "/" + path
    body = rng.choice(XML_BODIES)
    target, headers = live.signed("s3", method, path, body, {"Content-Type": "application/xml"}, host=host)
    answer = live.send(method, target, headers, body)
    valid = method == "PUT" and "?" not in target   # CreateBucket / PutObject: real operations now
    check(live, answer, method, "rest-xml", "s3", valid, f"{method} {host} {target} {body[:200]!r}")


CASES: list[Case] = [hostile_params, hostile_params, bad_signature, presigned_garbage, random_request, s3_xml]


@pytest.fixture(scope="module")
def fuzz_creds(overcast: Any) -> Credentials:
    """An account of its own, so that whatever the storm happens to create stays out of other tests' way."""
    if hasattr(overcast, "create_account"):
        _, key, secret = overcast.create_account("fuzz")
        return Credentials(key, secret)
    return Credentials(overcast.access_key, overcast.secret)


def test_live_storm(overcast: Any, fuzz_creds: Credentials) -> None:
    live = Live(overcast, fuzz_creds)
    rng = random.Random(SEED)
    stderr_before = len(getattr(getattr(overcast, "process", None), "stderr", []) or [])
    deadline = time.monotonic() + TIME_BUDGET
    sent = 0
    while sent < REQUESTS and time.monotonic() < deadline:
        case = rng.choice(CASES)
        case(live, random.Random(rng.getrandbits(64)))
        sent += 1
    assert sent >= min(REQUESTS, 100), f"only {sent} requests within {TIME_BUDGET:.0f} s"
    _still_serving(overcast)
    print(f"{sent} requests (seed {SEED}):", dict(live.seen.most_common()))
    assert any(" 200 " in what for what in live.seen) and len(live.seen) >= 15, live.seen
    process = getattr(overcast, "process", None)
    if process is not None and hasattr(process, "stderr"):
        logged = "".join(process.stderr[stderr_before:])
        assert "Traceback" not in logged, f"overcast up logged tracebacks during the storm:\n{logged[-5000:]}"


def test_live_oversized_bodies(overcast: Any, fuzz_creds: Credentials) -> None:
    """More than 16 MiB, declared and streamed (chunked), to query endpoints: refused, server unharmed."""
    live = Live(overcast, fuzz_creds)
    size = MAX_BODY + 1024 * 1024

    def pieces() -> Iterator[bytes]:
        for _ in range(size // (1024 * 1024)):
            yield b"A" * (1024 * 1024)

    for declared in (True, False):
        for service in ("ec2", "sts", None):
            headers: list[tuple[str, Any]] = [("Host", live.netloc), ("Content-Type", FORM)]
            if service is not None:
                _, headers = live.signed(service, "POST", "/", b"", {"Content-Type": FORM})
            target = "/" if service is not None else "/?Action=DescribeRegions&Version=2016-11-15"
            if declared:
                headers.append(("Content-Length", str(size)))
                answer = live.send("POST", target, headers, b"".join(pieces()))
            else:
                answer = live.send("POST", target, headers, pieces(), chunked=True)
            check(live, answer, "POST", PROTOCOL_OF.get(service or "ec2"), None, False, f"{size} bytes to {service}")
            assert answer.status == 400, answer.body[:500]
    _still_serving(overcast)


MALFORMED_HTTP = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
    b"GET /\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20,
    b"GET /?Action=DescribeRegions HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 \xff\xfe\r\n\r\n",
    b"",
]


def test_live_malformed_http(overcast: Any, fuzz_creds: Credentials) -> None:
    """Broken HTTP on raw sockets: whatever answers come back, none is a 500 and the server lives on."""
    live = Live(overcast, fuzz_creds)
    for raw in MALFORMED_HTTP:
        with socket.create_connection((live.host, live.port), timeout=5) as sock:
            try:
                sock.sendall(raw)
                sock.shutdown(socket.SHUT_WR)
                received = b""
                while len(received) < 1_000_000:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
            except (TimeoutError, ConnectionResetError, BrokenPipeError):
                received = b""
        for line in received.split(b"\r\n"):
            if line.startswith(b"HTTP/1.1 5"):
                assert line.split()[1] in (b"501", b"503"), f"{raw[:200]!r} -> {received[:1000]!r}"
    _still_serving(overcast)


def _still_serving(overcast: Any) -> None:
    process = getattr(getattr(overcast, "process", None), "proc", None)
    if process is not None:
        assert process.poll() is None, f"overcast up died ({process.returncode})"
    regions = overcast.client("ec2").describe_regions()["Regions"]
    assert regions and all(r["RegionName"] for r in regions)
    assert overcast.client("sts").get_caller_identity()["Account"]
