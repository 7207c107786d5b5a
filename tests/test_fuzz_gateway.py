"""Fuzz the whole gateway in-process: hostile, malformed, truncated and oversized requests.

The app is the real one (``create_app`` over a real :class:`Cloud` on SQLite in a temporary
directory); requests reach it through httpx's ASGI transport, or, where httpx would tidy the
request up (dot segments, odd methods), as raw ASGI calls shaped the way uvicorn shapes them.

Every answer must be an AWS answer: never a 500 (nor any 5xx but 501/503), a request id header,
and a body that botocore's own parser for the protocol reads as an error with a code (or, for a
correctly signed request that happens to be valid, as that operation's result).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import string
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import botocore.auth
import botocore.session
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overcast.core import config as overcast_config
from overcast.core.cloud import Cloud
from overcast.gateway.app import create_app
from overcast.gateway.services import default_services

HOST = "127.0.0.1:8773"
BASE = f"http://{HOST}"
REGION = "us-east-1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
VERSIONS = {"ec2": "2016-11-15", "sts": "2011-06-15"}
MAX_BODY = 16 * 1024 * 1024
REQUEST_TIMEOUT = 30.0
EXAMPLES = int(os.environ.get("OVERCAST_FUZZ_EXAMPLES", "500"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.large_base_example])
FEWER = settings(FUZZ, max_examples=max(EXAMPLES * 3 // 4, 1))

_BOTOCORE = botocore.session.get_session()
MODELS: dict[str, ServiceModel] = {name: _BOTOCORE.get_service_model(name) for name in ("ec2", "sts", "s3")}
PROTOCOL_OF = {"ec2": "ec2", "sts": "query", "s3": "rest-xml"}
# Operations with handlers run deeper code, so the fuzzer leans on them; any other operation still
# goes through the codec (parse happens before the handler lookup).
SERVED = {
    "ec2": ["DescribeRegions", "DescribeAvailabilityZones", "DescribeAccountAttributes", "DescribeInstanceTypes",
            "DescribeInstanceTypeOfferings", "CreateTags", "DeleteTags", "DescribeTags", "CreateKeyPair",
            "ImportKeyPair", "DescribeKeyPairs", "DeleteKeyPair"],
    "sts": ["GetCallerIdentity", "GetSessionToken", "AssumeRole"],
}
S3_SERVED = set(default_services()["s3"].handlers)  # none yet: every S3 request is NotImplemented
ERROR_ROOTS = {"Response": "ec2", "ErrorResponse": "query", "Error": "rest-xml"}
SEEN: Counter[str] = Counter()  # "<protocol> <status> <code>" of every answer, to show the storm reached deep


# --- the gateway under test ------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Gateway:
    app: Any
    cloud: Cloud
    creds: Credentials
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    errors: _Collect
    sent: int = 0

    def run(self, coro: Any) -> Any:
        """Run one request to completion; a request that hangs fails the test."""
        return self.loop.run_until_complete(asyncio.wait_for(coro, REQUEST_TIMEOUT))

    def send(self, method: str, url: str, *, headers: Any = None, content: Any = None) -> Answer:
        """Through httpx's ASGI transport (app exceptions propagate: a crash fails the test)."""
        resp = self.run(self.client.request(method, url, headers=headers, content=content))
        return self._answer(resp.status_code, resp.headers.multi_items(), resp.content)

    def send_raw(self, method: str, target: bytes, headers: Sequence[tuple[bytes, bytes]],
                 chunks: Sequence[bytes] = ()) -> Answer:
        """A raw ASGI call, scope built as uvicorn builds it from the request line."""
        raw_path, _, query = target.partition(b"?")
        path = raw_path.decode("ascii")
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": unquote(path) if "%" in path else path,
                 "raw_path": raw_path, "query_string": query, "root_path": "", "headers": list(headers),
                 "server": ("127.0.0.1", 8773), "client": ("127.0.0.1", 50000), "state": {}}
        pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
        pending.append({"type": "http.request", "body": b"", "more_body": False})
        out: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop(0)
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        self.run(self.app(scope, receive, send))
        start = [m for m in out if m["type"] == "http.response.start"]
        assert len(start) == 1, f"expected one response start, got {out!r}"
        body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start[0].get("headers", [])]
        return self._answer(start[0]["status"], pairs, body)

    def _answer(self, status: int, pairs: Sequence[tuple[str, str]], body: bytes) -> Answer:
        self.sent += 1
        headers: dict[str, str] = {}
        for k, v in pairs:
            headers[k.lower()] = v
        return Answer(status, headers, body)

    def signed_form(self, service: str, body: bytes, *, content_type: str | None = FORM,
                    method: str = "POST", query: str = "", region: str = REGION) -> Answer:
        headers = {"Content-Type": content_type} if content_type else {}
        url = f"{BASE}/" + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(self.creds, service, region).add_auth(request)
        if len(url) > 8000:  # httpx refuses long URLs; a server must not
            sent = [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()]
            sent += [(b"host", HOST.encode()), (b"content-length", str(len(body)).encode())]
            return self.send_raw(method, url[len(BASE):].encode(), sent, [body] if body else [])
        return self.send(method, url, headers=dict(request.headers.items()), content=body)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    cloud = Cloud.open(overcast_config.load(data_dir))
    _, keys = cloud.bootstrap()
    app = create_app(cloud)
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=60)
    collect = _Collect()
    logger = logging.getLogger("overcast")
    logger.addHandler(collect)
    gateway = Gateway(app, cloud, Credentials(keys.access_key_id, keys.secret_access_key), loop, client, collect)
    try:
        yield gateway
    finally:
        logger.removeHandler(collect)
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        cloud.close()


@pytest.fixture(autouse=True)
def no_logged_errors(gw: Gateway) -> Iterator[None]:
    gw.errors.records.clear()
    yield
    logged = [f"{r.getMessage()}\n{r.exc_text or ''}" for r in gw.errors.records]
    gw.errors.records.clear()
    assert not logged, "the gateway logged errors:\n" + "\n".join(logged)


# --- what every answer must look like --------------------------------------------------------------------

def _root_tag(body: bytes) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise AssertionError(f"the body is not XML ({err}): {body[:500]!r}") from None
    return root.tag.rsplit("}", 1)[-1]


def check(answer: Answer, *, method: str = "POST", protocol: str | None = None, service: str | None = None,
          may_succeed: bool = False, request: str = "", operation: str | None = None) -> str | None:
    """Assert ``answer`` is a well-formed AWS answer; returns the error code (None on success)."""
    where = f"\nrequest: {request[:2000]}\nanswer: {answer.status} {answer.headers}\n{answer.body[:2000]!r}"
    assert answer.status != 500, "500 Internal Error" + where
    assert answer.status < 500 or answer.status in (501, 503), "unexpected 5xx" + where
    rid = answer.headers.get("x-amzn-requestid", "")
    assert rid and answer.headers.get("x-amz-request-id") == rid, "no request id header" + where
    if method == "HEAD":
        assert answer.body == b"", "a HEAD answer with a body" + where
        assert answer.status >= 300 or may_succeed, where
        SEEN[f"HEAD {answer.status}"] += 1
        return None
    if answer.status < 300 and service == "s3":  # once S3 handlers exist: headers and an optional XML body
        assert may_succeed and operation is not None, "an unexpected success" + where
        op = MODELS["s3"].operation_model(operation)
        assert "Error" not in create_parser("rest-xml").parse(_botocore_response(answer), op.output_shape), where
        SEEN[f"s3 {answer.status} {operation}"] += 1
        return None
    tag = _root_tag(answer.body)
    if answer.status < 300:
        assert may_succeed, "an unexpected success" + where
        assert service in ("ec2", "sts"), where
        assert tag.endswith("Response"), where
        op = MODELS[service].operation_model(tag[: -len("Response")])
        parsed = create_parser(PROTOCOL_OF[service]).parse(_botocore_response(answer), op.output_shape)
        assert "Error" not in parsed, where
        SEEN[f"{service} {answer.status} {op.name}"] += 1
        return None
    assert tag in ERROR_ROOTS, f"not an AWS error envelope: <{tag}>" + where
    found = ERROR_ROOTS[tag]
    if protocol is not None:
        assert found == protocol, f"a {found} error for a {protocol} request" + where
    parsed = create_parser(found).parse(_botocore_response(answer), None)
    code = parsed.get("Error", {}).get("Code", "")
    assert code and not code.isdigit(), "botocore found no error code" + where
    assert parsed["ResponseMetadata"].get("RequestId") == rid, "body and header request ids differ" + where
    assert 300 <= answer.status < 600, where
    SEEN[f"{found} {answer.status} {code}"] += 1
    return str(code)


def _botocore_response(answer: Answer) -> dict[str, Any]:
    return {"status_code": answer.status, "headers": dict(answer.headers), "body": answer.body}


# --- hostile building blocks ------------------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_NUMBERS = st.sampled_from(["1e309", "-1e309", "NaN", "nan", "Infinity", "-0", "0x10", "1_000", "٣", "１",
                            "99999999999999999999999999", "-9223372036854775809", "18446744073709551616",
                            " 1", "1 ", "+1", "1.0", ".5", "5.", "1e3", "true", "TRUE", "yes", "null"])
_DATES = st.sampled_from(["2024-13-45T99:99:99Z", "0000-00-00", "9999-12-31T23:59:59Z", "1e20", "-1e20",
                          "99999999999999999999", "2024-01-01T00:00:00+99:99", "2024-02-30", "",
                          "10000-01-01T00:00:00Z", "1.123456789012", "-62135596801"])
HOSTILE_VALUES = st.one_of(
    _TEXT, _NUMBERS, _DATES,
    st.just(""), st.just("\x00"), st.just("a\x00b"), st.just("\ufffe\uffff"), st.just("\x1b[31m"),
    st.just("<![CDATA[x]]>&amp;<a>"), st.just("]]>"), st.just("%s%n%x"), st.just("${jndi:ldap://x}"),
    st.just("../../etc/passwd"), st.just("' OR 1=1 --"),
    st.integers(1, 300_000).map(lambda n: "A" * n),
    st.integers(1, 5_000).map(lambda n: "é" * n),
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), max_size=8),
)
_SEGMENT = st.one_of(
    st.text(string.ascii_letters + string.digits + "-_:[]$%*", min_size=0, max_size=12),
    st.integers(-5, 10**30).map(str),
    st.sampled_from(["0", "00", "01", "1", "2", "100000", "100001", "999999", "1000000", "1e3", "member",
                     "entry", "key", "value", "Name", "Value", "item", "", "Filter", "Tag", "\u0661"]),
)
RANDOM_KEYS = st.lists(_SEGMENT, min_size=1, max_size=8).map(".".join)


def _deep_key(depth: int, index: bool) -> str:
    parts = ["Filter"]
    for i in range(depth):
        parts.append(str(i + 1) if index else f"A{i}")
    return ".".join(parts)


DEEP_KEYS = st.builds(_deep_key, st.integers(2, 400), st.booleans())


# --- values for real input shapes, serialized by botocore's own serializers --------------------------------

def _ssh_keys() -> list[bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    openssh = (serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return [ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(*openssh),
            ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(*openssh)]


SSH_KEYS = _ssh_keys()
# Values real clients send, so that requests get past validation into the handlers.
PLAUSIBLE = st.sampled_from([
    "us-east-1", "us-west-2", "us-east-1a", "us-east-1b", "use1-az1", "t3.micro", "m5.large", "x86_64", "arm64",
    "tag:Name", "tag-key", "tag-value", "Name", "region-name", "zone-name", "zone-id", "state", "key-name",
    "key-pair-id", "fingerprint", "instance-type", "location", "availability-zone", "resource-id",
    "resource-type", "key", "value", "supported-architecture", "*", "?", "a*", "fuzz-key", "fuzz-key-2",
    "key-0123456789abcdef0", "i-0123456789abcdef0", "vpc-12345678", "default-vpc", "supported-platforms",
    "arn:aws:iam::000000000000:role/r", "arn:aws:iam::123456789012:role/x", "session", "rsa", "ed25519", "pem",
    "ppk", "region", "availability-zone-id", "opt-in-not-required", "true", "false", "",
])
_BLOBS = st.one_of(
    st.sampled_from(SSH_KEYS),
    st.tuples(st.sampled_from(SSH_KEYS), st.integers(0, 120)).map(lambda kv: kv[0][: kv[1]]),
    st.tuples(st.sampled_from(SSH_KEYS), st.integers(0, 80), st.binary(min_size=1, max_size=4))
    .map(lambda kv: kv[0][: kv[1]] + kv[2] + kv[0][kv[1] + len(kv[2]):]),
    st.sampled_from([b"ssh-rsa AAAA", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==", b"---- BEGIN SSH2 PUBLIC KEY ----",
                     b"-----BEGIN PUBLIC KEY-----\nMII=\n-----END PUBLIC KEY-----", b"ecdsa-sha2-nistp256 AAAA"]),
    st.binary(max_size=64),
)
_STRATEGIES: dict[tuple[str, str, int, bool], st.SearchStrategy[Any]] = {}
MAX_DEPTH = 4


def value_for(service: str, shape: Shape, depth: int = 0, plausible: bool = False) -> st.SearchStrategy[Any]:
    """Values of the right types for ``shape``: random ones, or (``plausible``) ones a real client sends."""
    key = (service, shape.name, depth, plausible)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build_value(service, shape, depth, plausible)
    return _STRATEGIES[key]


def _build_value(service: str, shape: Shape, depth: int, plausible: bool) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
        if depth >= MAX_DEPTH or not members:
            return st.just({})
        required = set(shape.required_members) if plausible else set()  # type: ignore[attr-defined]
        optional = sorted(set(members) - required)

        def pick(chosen: list[str]) -> st.SearchStrategy[dict[str, Any]]:
            return st.fixed_dictionaries({n: value_for(service, members[n], depth + 1, plausible)
                                          for n in sorted(required) + chosen})

        if not optional:
            return pick([])
        return st.lists(st.sampled_from(optional), max_size=min(4, len(optional)), unique=True).flatmap(pick)
    if kind == "list":
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(value_for(service, shape.member, depth + 1, plausible), max_size=3)  # type: ignore[attr-defined]
    if kind == "map":
        if depth >= MAX_DEPTH:
            return st.just({})
        return st.dictionaries(st.text(string.ascii_letters, max_size=6),
                               value_for(service, shape.value, depth + 1, plausible),  # type: ignore[attr-defined]
                               max_size=2)
    if kind == "string":
        enum = shape.metadata.get("enum")
        base = PLAUSIBLE | PLAUSIBLE | _TEXT if plausible else _TEXT
        return st.sampled_from(enum) | base if enum else base
    if kind in ("integer", "long"):
        return st.integers(-1, 50_000) if plausible else st.integers(-(2**40), 2**40)
    if kind == "boolean":
        return st.booleans()
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "timestamp":
        return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))
    if kind == "blob":
        return _BLOBS if plausible else st.binary(max_size=16)
    return st.none()


def serialized_pairs(service: str, op: OperationModel, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The flat form botocore's client would send for ``params``."""
    serialized = create_serializer(MODELS[service].metadata["protocol"], include_validation=False).serialize_to_request(params, op)
    body = serialized["body"]
    return [(str(k), v.decode() if isinstance(v, bytes) else str(v)) for k, v in body.items()]


def member_keys(service: str, op: OperationModel) -> list[str]:
    """Every spelling of the input shape's top-level member names (right or wrong for the protocol)."""
    shape = op.input_shape
    keys = {"DryRun", "Foo"}
    for name, member in (shape.members if shape is not None else {}).items():
        keys.add(name)
        for alias in (member.serialization.get("name"), member.serialization.get("queryName")):
            if alias:
                keys.update((alias, alias[0].upper() + alias[1:]))
    return sorted(keys)


@st.composite
def mutated_pairs(draw: st.DrawFn, service: str, op: OperationModel) -> list[tuple[str, str]]:
    params = draw(value_for(service, op.input_shape)) if op.input_shape is not None else {}
    pairs = serialized_pairs(service, op, params)
    known = member_keys(service, op)
    for _ in range(draw(st.integers(0, 6))):
        how = draw(st.sampled_from(["value", "unknown", "known", "index", "segment", "duplicate", "delete",
                                    "deep", "action", "version", "shuffle", "filter"]))
        victim = draw(st.integers(0, max(len(pairs) - 1, 0)))
        if how == "value" and pairs:
            pairs[victim] = (pairs[victim][0], draw(HOSTILE_VALUES))
        elif how == "unknown":
            pairs.append((draw(RANDOM_KEYS), draw(HOSTILE_VALUES)))
        elif how == "known":
            base = draw(st.sampled_from(known))
            suffix = draw(st.sampled_from(["", ".1", ".1.Name", ".1.Value.1", ".member.1", ".entry.1.key",
                                           ".100001", ".0", ".-1", ".1.1.1", ".Foo", "."]))
            pairs.append((base + suffix, draw(HOSTILE_VALUES)))
        elif how == "index" and pairs:
            key = re.sub(r"\.\d+", lambda m: "." + draw(st.sampled_from(
                ["0", "99999999999999999999", "100001", "-1", "01", "1e2", "", "1.1"])), pairs[victim][0], count=1)
            pairs[victim] = (key, pairs[victim][1])
        elif how == "segment" and pairs:
            key = pairs[victim][0]
            key = draw(st.sampled_from([key.rsplit(".", 1)[0], key + "." + draw(_SEGMENT), key + ".", "." + key,
                                        key.replace(".", ".."), key.lower(), key.upper()]))
            pairs[victim] = (key, pairs[victim][1])
        elif how == "duplicate" and pairs:
            pairs.append((pairs[victim][0], draw(HOSTILE_VALUES)))
        elif how == "delete" and pairs:
            del pairs[victim]
        elif how == "deep":
            pairs.append((draw(DEEP_KEYS), draw(HOSTILE_VALUES)))
        elif how == "action":
            other = draw(st.sampled_from(sorted(MODELS["ec2"].operation_names) + SERVED["sts"]))
            pairs.append(("Action", draw(st.sampled_from([other, "", "describeregions", op.name + "\x00",
                                                          "Describe" * 200]))))
        elif how == "version":
            pairs.append(("Version", draw(st.sampled_from(["", "2011-06-15", "2016-11-15", "1999-01-01",
                                                           "2010-05-15", "x" * 300]))))
        elif how == "shuffle":
            pairs = draw(st.permutations(pairs))
        elif how == "filter":
            n = draw(st.sampled_from(["1", "2", "99999", "100000"]))
            pairs += draw(st.sampled_from([
                [(f"Filter.{n}.Value.1", "x")],                          # a filter without its name
                [(f"Filter.{n}.Name", "")],
                [(f"Filter.{n}.Name", "tag:x"), (f"Filter.{n}.Value", "x")],
                [(f"Filter.{n}", "x")],
                [(f"Filter.{n}.Name", "x"), (f"Filter.{n}.Name.1", "y")],
                [(f"Filter.{n}.Name", "tag-key"), (f"Filter.{n}.Value.{n}", "v")],
            ]))
    return pairs


@st.composite
def query_operation(draw: st.DrawFn) -> tuple[str, OperationModel]:
    service = draw(st.sampled_from(["ec2", "ec2", "sts"]))
    model = MODELS[service]
    if draw(st.booleans()):
        name = draw(st.sampled_from(SERVED[service]))
    else:
        name = draw(st.sampled_from(sorted(model.operation_names)))
    return service, model.operation_model(name)


def _encode(pairs: Sequence[tuple[str, str]]) -> bytes:
    return urlencode(list(pairs), quote_via=quote, safe="").encode("ascii")


# --- 1. correctly signed requests with hostile form parameters --------------------------------------------

@FUZZ
@given(target=query_operation(), data=st.data())
def test_signed_hostile_params(gw: Gateway, target: tuple[str, OperationModel], data: st.DataObject) -> None:
    service, op = target
    pairs = data.draw(mutated_pairs(service, op), label="pairs")
    where = data.draw(st.sampled_from(["body", "body", "query", "both"]), label="where")
    body, query = _encode(pairs), ""
    if where == "query":
        body, query = b"", body.decode()
    elif where == "both":
        cut = data.draw(st.integers(0, len(pairs)))
        body, query = _encode(pairs[:cut]), _encode(pairs[cut:]).decode()
    method = "POST" if body or data.draw(st.booleans()) else "GET"
    answer = gw.signed_form(service, body, query=query, method=method)
    check(answer, protocol=PROTOCOL_OF[service], service=service, may_succeed=True,
          request=f"{method} ?{query[:500]} {service} {body[:1500]!r}")


@FUZZ
@given(service=st.sampled_from(["ec2", "ec2", "sts"]), data=st.data())
def test_signed_plausible_params(gw: Gateway, service: str, data: st.DataObject) -> None:
    """Served operations with values real clients send: these get past the codec into the handlers."""
    op = MODELS[service].operation_model(data.draw(st.sampled_from(SERVED[service]), label="operation"))
    params = data.draw(value_for(service, op.input_shape, plausible=True), label="params") if op.input_shape else {}
    body = _encode(serialized_pairs(service, op, params))
    answer = gw.signed_form(service, body)
    check(answer, protocol=PROTOCOL_OF[service], service=service, may_succeed=True, request=f"{service} {body[:2000]!r}")


# --- 2. correctly signed bodies that are not valid forms ----------------------------------------------------

_GARBAGE = st.sampled_from([b"%", b"%z", b"%zz", b"%G0", b"%C3%28", b"%ff%fe", b"%ED%A0%80", b"\xff\xfe", b"\xc3",
                            b"\x00", b"%00", b"&&&", b"===", b"=", b"&=&", b";", b"+", b"%2B", b"\r\n", b"\xef\xbb\xbf",
                            b"Action", b"Action=", b"Filter.1.Name", b"%E2%82", b"\x80\x81"])


@st.composite
def garbage_body(draw: st.DrawFn) -> tuple[str, bytes]:
    service = draw(st.sampled_from(["ec2", "sts"]))
    action = draw(st.sampled_from(SERVED[service]))
    base = bytearray(_encode([("Action", action), ("Version", VERSIONS[service])]))
    for _ in range(draw(st.integers(1, 8))):
        piece = draw(_GARBAGE | st.binary(max_size=16) | _TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
        at = draw(st.integers(0, len(base)))
        base[at:at] = piece
    if draw(st.booleans()):
        base += b"&" + draw(RANDOM_KEYS).encode("utf-8", "surrogatepass") + b"=" + draw(_GARBAGE)
    return service, bytes(base)


@FUZZ
@given(case=garbage_body(), content_type=st.sampled_from([FORM, "application/x-www-form-urlencoded", None,
                                                          "text/xml", "application/json", "multipart/form-data",
                                                          "application/x-www-form-urlencoded; charset=latin-1"]))
def test_signed_garbage_bodies(gw: Gateway, case: tuple[str, bytes], content_type: str | None) -> None:
    service, body = case
    answer = gw.signed_form(service, body, content_type=content_type)
    check(answer, protocol=PROTOCOL_OF[service], service=service, may_succeed=True,
          request=f"{service} {content_type} {body!r}")


# --- 3. bad signatures, truncated / random Authorization headers, wrong scopes -------------------------------

@contextmanager
def signing_clock(offset_seconds: float) -> Iterator[None]:
    """botocore.auth stamps requests with get_current_datetime(): shift it for this block."""
    real = botocore.auth.get_current_datetime

    def shifted(remove_tzinfo: bool = True) -> datetime:
        now = datetime.now(UTC) + timedelta(seconds=offset_seconds)
        return now.replace(tzinfo=None) if remove_tzinfo else now

    botocore.auth.get_current_datetime = shifted  # type: ignore[attr-defined]
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = real  # type: ignore[attr-defined]


def _amz_now() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@st.composite
def bad_auth(draw: st.DrawFn, gw_creds: Credentials) -> tuple[str, dict[str, Any], bytes, str]:
    service = draw(st.sampled_from(["ec2", "sts"]))
    action = draw(st.sampled_from(SERVED[service]))
    body = _encode([("Action", action), ("Version", VERSIONS[service])])
    scope_service = draw(st.sampled_from([service, service, "s3", "iam", "cloudformation", "nope", "", "EC2",
                                          "s3-object-lambda", "ec2/x", "\u00e9c2"]))
    scope_region = draw(st.sampled_from([REGION, REGION, "us-west-2", "xx-fake-1", "", "aws-global", "US-EAST-1",
                                         "us-east-1/../", "r" * 300]))
    offset = draw(st.sampled_from([0, 0, 0, -3600, 3600, -86400 * 400, 86400 * 3]))
    creds = gw_creds
    if draw(st.integers(0, 5)) == 0:
        creds = Credentials(draw(st.sampled_from(["AKIA" + "X" * 16, "A", "", "AKIA\u00e9" * 4, "x" * 200])),
                            gw_creds.secret_key)
    elif draw(st.integers(0, 5)) == 0:
        creds = Credentials(gw_creds.access_key, "wrong-secret")
    elif draw(st.integers(0, 8)) == 0:
        creds = Credentials(gw_creds.access_key, gw_creds.secret_key, draw(_TEXT))
    request = AWSRequest(method="POST", url=f"{BASE}/", data=body, headers={"Content-Type": FORM})
    with signing_clock(offset):
        SigV4Auth(creds, scope_service, scope_region).add_auth(request)
    headers: dict[str, Any] = dict(request.headers.items())
    auth = str(headers["Authorization"])
    stamp = str(headers["X-Amz-Date"])
    signature = auth.rsplit("Signature=", 1)[-1]
    how = draw(st.sampled_from(["keep", "truncate", "flip", "random", "fields", "scope", "date", "nodate",
                                "httpdate", "duplicate", "bytes", "sha"]))
    if how == "truncate":
        auth = auth[: draw(st.integers(0, len(auth)))]
    elif how == "flip":
        at = draw(st.integers(0, len(auth) - 1))
        auth = auth[:at] + draw(st.sampled_from(["0", "/", ",", " ", "=", "", "\t"])) + auth[at + 1:]
    elif how == "random":
        auth = draw(st.one_of(_TEXT.filter(lambda t: t.isascii() and t.isprintable()),
                              st.just("AWS4-HMAC-SHA256"), st.just("AWS4-HMAC-SHA256 "),
                              st.just("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="),
                              st.just("AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="),
                              st.just("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=0"),
                              st.just("Bearer x"), st.just("AWS4-ECDSA-P256-SHA256 Credential=x")))
    elif how == "fields":
        auth = auth.replace(draw(st.sampled_from(["Credential=", "SignedHeaders=", "Signature=", ", "])),
                            draw(st.sampled_from(["", "X=", ",,", "Credential=a,"])), 1)
    elif how == "scope":
        scope = draw(st.sampled_from(["AKIA/20240101/us-east-1/ec2", "/////", "a/b/c/d/aws4_request",
                                      f"{creds.access_key}/{stamp[:8]}/{REGION}/{service}/aws4_request/x",
                                      f"{creds.access_key}/2024-01-01/{REGION}/{service}/aws4_request",
                                      f"{creds.access_key}/{stamp[:8]}//{service}/aws4_request",
                                      f"{creds.access_key}/99999999/{REGION}/{service}/aws4_request"]))
        auth = re.sub(r"Credential=[^,]*", "Credential=" + scope, auth)
    elif how == "date":
        headers["X-Amz-Date"] = draw(st.sampled_from(["", "2024", "20241301T000000Z", "20240230T000000Z",
                                                       "99991231T235959Z", "00010101T000000Z", "20240101T246060Z",
                                                       "2024-01-01T00:00:00Z", _amz_now() + "x", "\u0662" * 8]))
    elif how == "nodate":
        headers.pop("X-Amz-Date", None)
    elif how == "httpdate":
        headers.pop("X-Amz-Date", None)
        headers["Date"] = draw(st.sampled_from(["", "garbage", "Mon, 01 Jan 99999 00:00:00 GMT",
                                                "Mon, 32 Foo 2024 25:61:61 GMT", "Thu, 01 Jan 1970 00:00:00 +9999",
                                                "Sun, 06 Nov 1994 08:49:37 GMT", "0", "Tue, 1 Jan 10000 00:00:00"]))
    elif how == "duplicate":
        headers = {**headers, "authorization": auth}
    elif how == "sha":
        headers["X-Amz-Content-SHA256"] = draw(st.sampled_from(["", "0" * 64, "UNSIGNED-PAYLOAD", "z" * 64, "x",
                                                                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"]))
    if how != "duplicate":
        headers["Authorization"] = auth
    if how == "bytes":
        headers["Authorization"] = auth.encode() + draw(st.sampled_from([b"\xff", b"\xc3\xa9", b"\x00", b"\x80"]))
    return service, headers, body, signature


@FUZZ
@given(data=st.data())
def test_bad_signatures(gw: Gateway, data: st.DataObject) -> None:
    service, headers, body, signature = data.draw(bad_auth(gw.creds))
    sent = _to_header_list(headers)
    answer = gw.send("POST", f"{BASE}/", headers=sent, content=body)
    check(answer, service=service, may_succeed=True, request=f"{sent} {body!r}")
    if answer.status < 300:  # only a request that still carries the right signature may pass
        assert any(k.lower() == b"authorization" and signature.encode() in v for k, v in sent), sent


def _to_header_list(headers: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    out = []
    for k, v in headers.items():
        value = v if isinstance(v, bytes) else str(v).encode("utf-8")
        out.append((k.encode("latin-1"), value))
    return out




# --- 4. dates at the end of time (found by this fuzzer: overflowed to a 500) ---------------------------------

END_OF_TIME = [
    ("presigned", "99991231T235959Z", "99991231", "60"),
    ("presigned", "00010101T000000Z", "00010101", "604800"),
    ("presigned", "99991231T235959Z", "99991231", "604800"),
    ("header-date", "Fri, 31 Dec 9999 23:59:59 -2359", "", ""),
    ("header-date", "Mon, 01 Jan 0001 00:00:00 +2359", "", ""),
    ("header-amz", "99991231T235959Z", "99991231", ""),
]


@pytest.mark.parametrize(("how", "stamp", "day", "expires"), END_OF_TIME)
def test_dates_at_the_end_of_time(gw: Gateway, how: str, stamp: str, day: str, expires: str) -> None:
    key = gw.creds.access_key
    if how == "presigned":
        query = _encode([("Action", "DescribeRegions"), ("Version", VERSIONS["ec2"]),
                         ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                         ("X-Amz-Credential", f"{key}/{day}/{REGION}/ec2/aws4_request"),
                         ("X-Amz-Date", stamp), ("X-Amz-Expires", expires), ("X-Amz-SignedHeaders", "host"),
                         ("X-Amz-Signature", "0" * 64)]).decode()
        answer = gw.send("GET", f"{BASE}/?{query}")
    else:
        day = day or "99991231"
        headers = {"Content-Type": FORM,
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/{day}/{REGION}/ec2/aws4_request, "
                                    f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}"}
        headers["Date" if how == "header-date" else "X-Amz-Date"] = stamp
        answer = gw.send("POST", f"{BASE}/", headers=headers, content=_encode([("Action", "DescribeRegions"),
                                                                              ("Version", VERSIONS["ec2"])]))
    assert check(answer, protocol="ec2", request=f"{how} {stamp}") is not None


# --- 5. presigned URLs with mangled parameters ------------------------------------------------------------

_PRESIGN_PARAMS = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                   "X-Amz-Signature", "X-Amz-Security-Token", "Action", "Version"]
_PRESIGN_VALUES = st.one_of(_TEXT, _NUMBERS, _DATES, st.sampled_from(["", "-1", "0", "604801", "99999999999999999999",
                                                                      "host", "AWS4-HMAC-SHA256", "AWS4-X"]))


@FUZZ
@given(service=st.sampled_from(["ec2", "sts"]), data=st.data())
def test_presigned_garbage(gw: Gateway, service: str, data: st.DataObject) -> None:
    action = data.draw(st.sampled_from(SERVED[service]), label="action")
    url = f"{BASE}/?" + _encode([("Action", action), ("Version", VERSIONS[service])]).decode()
    request = AWSRequest(method="GET", url=url)
    botocore.auth.SigV4QueryAuth(gw.creds, service, REGION, expires=data.draw(st.integers(1, 3600))).add_auth(request)
    pairs = [(k, v) for k, _, v in (p.partition("=") for p in urlsplit(request.url).query.split("&"))]
    for _ in range(data.draw(st.integers(0, 4), label="mutations")):
        how = data.draw(st.sampled_from(["drop", "replace", "duplicate", "add"]), label="how")
        if how == "add" or not pairs:
            pairs.append((data.draw(st.sampled_from(_PRESIGN_PARAMS)), quote(data.draw(_PRESIGN_VALUES), safe="")))
            continue
        at = data.draw(st.integers(0, len(pairs) - 1))
        if how == "drop":
            pairs.pop(at)
        elif how == "replace":
            pairs[at] = (pairs[at][0], quote(data.draw(_PRESIGN_VALUES), safe=""))
        else:
            pairs.append(pairs[at])
    target = "/?" + "&".join(f"{k}={v}" for k, v in pairs)
    answer = gw.send_raw("GET", target.encode("ascii"), [(b"host", HOST.encode())])
    # with neither an Action nor a credential scope left, nothing says EC2/STS: S3 (the fallback) answers
    known = set(MODELS["ec2"].operation_names) | set(MODELS["sts"].operation_names) | set(VERSIONS.values())
    identified = any((k in ("Action", "Version") and unquote(v) in known)
                     or (k == "X-Amz-Credential" and unquote(v).count("/") >= 4) for k, v in pairs)
    check(answer, protocol=PROTOCOL_OF[service] if identified else None, service=service, may_succeed=True,
          method="GET", request=target)


@pytest.mark.parametrize("query", ["Version=0&Version=2016-11-15", "Version=2016-11-15&Version=0",
                                   "Action=Nope&Action=DescribeRegions", "Version=&Action=DescribeRegions"])
def test_duplicated_routing_params(gw: Gateway, query: str) -> None:
    """Any ``Version``/``Action`` value that names EC2 routes to EC2, whichever copy comes first (CI found
    ``Version=0&…&Version=2016-11-15`` answered in S3's format)."""
    answer = gw.send_raw("GET", f"/?{query}".encode(), [(b"host", HOST.encode())])
    check(answer, protocol="ec2", service="ec2", method="GET", request=query)


# --- 6. random methods, paths and hosts (S3 is the fallback) ---------------------------------------------------

_METHODS = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "FOO", "CONNECT"])
_PATHS = st.one_of(
    st.sampled_from(["/", "//", "/a/../../b", "/bucket", "/bucket/", "/bucket/key", "/bucket/a/b/c?acl",
                     "/bucket?uploads", "/bucket/key?uploadId=1&partNumber=2", "/%2e%2e/%2f", "/%ff%fe",
                     "/bucket?list-type=2&max-keys=x", "/?Action=DescribeRegions", "/?Action=" + "A" * 5000]),
    st.lists(st.text(string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@", max_size=30), max_size=6)
    .map(lambda parts: "/" + "/".join(parts)))
_HOSTS = st.sampled_from([HOST, "bucket.s3.localhost:8773", "s3.localhost", "my.bucket.s3.localhost",
                          "BUCKET.S3.LOCALHOST", ".s3.localhost", "x" * 300, "[::1]:8773", "", "é.s3.localhost"])


@FUZZ
@given(method=_METHODS, path=_PATHS, host=_HOSTS, body=st.binary(max_size=200))
def test_random_methods_paths_hosts(gw: Gateway, method: str, path: str, host: str, body: bytes) -> None:
    headers = [(b"host", host.encode("utf-8"))]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    answer = gw.send_raw(method, path.encode("utf-8"), headers, [body] if body else [])
    check(answer, method=method, request=f"{method} {host} {path}")


# --- 7. XML bombs and hostile XML to S3 (signed) ------------------------------------------------------------

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b"]><Tagging><TagSet><Tag><Key>&lol9;</Key><Value>x</Value></Tag></TagSet></Tagging>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b"<Tagging><TagSet><Tag><Key>&xxe;</Key><Value>x</Value></Tag></TagSet></Tagging>")
XML_BODIES = st.one_of(
    st.sampled_from([BILLION_LAUGHS, XXE, b"<a>" * 20000 + b"</a>" * 20000, b"<Tagging>" + b"<x/>" * 50000 + b"</Tagging>",
                     b"<", b"<?xml?>", b"\xff\xfe<a/>", b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
                     b"<CreateBucketConfiguration><LocationConstraint>\x00</LocationConstraint></CreateBucketConfiguration>"]),
    st.binary(max_size=300))


@FEWER
@given(body=XML_BODIES, target=st.sampled_from([("PUT", "/bucket?tagging", HOST), ("PUT", "/bucket", HOST),
                                                ("POST", "/bucket?delete", HOST), ("PUT", "/?tagging",
                                                                                   "bucket.s3.localhost:8773"),
                                                ("PUT", "/key?tagging", "bucket.s3.localhost:8773")]))
def test_s3_hostile_xml(gw: Gateway, body: bytes, target: tuple[str, str, str]) -> None:
    method, path, host = target
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body)
    botocore.auth.S3SigV4Auth(gw.creds, "s3", REGION).add_auth(request)
    headers = [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()]
    headers += [(b"host", host.encode()), (b"content-length", str(len(body)).encode())]
    answer = gw.send_raw(method, path.encode(), headers, [body])
    create = method == "PUT" and path == "/bucket" and not body   # a valid CreateBucket: may succeed (once)
    check(answer, protocol="rest-xml", service="s3", method=method, may_succeed=create,
          operation="CreateBucket" if create else None, request=f"{method} {host}{path} {body[:200]!r}")


# --- 8. too many parameters; oversized bodies ------------------------------------------------------------

@pytest.mark.parametrize("count", [19_990, 20_001, 40_000])
def test_too_many_params(gw: Gateway, count: int) -> None:
    pairs = [("Action", "DescribeTags"), ("Version", VERSIONS["ec2"])]
    pairs += [(f"Filter.{i}.Name", "key") for i in range(1, count)]
    answer = gw.signed_form("ec2", _encode(pairs))
    code = check(answer, protocol="ec2", service="ec2", may_succeed=count < 20_000, request=f"{count} params")
    assert (code is None) == (count < 20_000), code


@pytest.mark.parametrize("service", ["ec2", "sts"])
@pytest.mark.parametrize("declared", [True, False])
def test_oversized_body(gw: Gateway, service: str, declared: bool) -> None:
    chunk = b"A" * (1024 * 1024)
    body_chunks = [b"Action=DescribeRegions&Version=" + VERSIONS[service].encode() + b"&X="] + [chunk] * 17
    request = AWSRequest(method="POST", url=f"{BASE}/", data=b"", headers={"Content-Type": FORM})
    SigV4Auth(gw.creds, service, REGION).add_auth(request)
    headers = [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items() if k.lower() != "content-length"]
    headers.append((b"host", HOST.encode()))
    if declared:
        headers.append((b"content-length", str(sum(map(len, body_chunks))).encode()))
    answer = gw.send_raw("POST", b"/", headers, body_chunks)
    assert check(answer, protocol=PROTOCOL_OF[service], request="oversized") is not None
    assert answer.status == 400


# --- 9. after all that, the gateway still serves -----------------------------------------------------------

def test_zz_still_serving(gw: Gateway) -> None:
    for service, action in (("ec2", "DescribeRegions"), ("sts", "GetCallerIdentity")):
        answer = gw.signed_form(service, _encode([("Action", action), ("Version", VERSIONS[service])]))
        assert answer.status == 200, answer.body
        assert check(answer, service=service, may_succeed=True) is None
    if gw.sent > 1000:  # the whole storm ran: it must have reached past auth and parsing
        assert len(SEEN) >= 30, SEEN
        assert any(" 200 " in key for key in SEEN), SEEN
