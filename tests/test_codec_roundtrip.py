"""Round trips of the query-family codecs against botocore's own client code.

Requests: botocore's client serializer builds the form a real client sends; our parser must
recover exactly the params the client was given.  Responses: our serializer renders a result;
botocore's client parser must read back exactly that result.  Every operation of the ``ec2``,
``sts`` and ``cloudformation`` models is covered, with values from :mod:`shapegen`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from shapegen import ShapeGen

from overcast.core.errors import AuthError, AWSError, InvalidAction, NotFound, ParamError
from overcast.gateway.codecs import error_codes
from overcast.gateway.codecs.query_family import Ec2Protocol, QueryProtocol, form_pairs
from overcast.gateway.codecs.query_params import MAX_PARAMS
from overcast.gateway.codecs.wire import WireRequest
from overcast.gateway.services import protocol_for

SERVICES = ("ec2", "sts", "cloudformation")
REQUEST_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

_session = botocore.session.get_session()
MODELS: dict[str, ServiceModel] = {name: _session.get_service_model(name) for name in SERVICES}
PROTOCOLS: dict[str, Any] = {name: protocol_for(model) for name, model in MODELS.items()}
OPERATIONS = [pytest.param(service, op, id=f"{service}.{op}")
              for service in SERVICES for op in MODELS[service].operation_names]


def _op(service: str, name: str) -> OperationModel:
    return MODELS[service].operation_model(name)


# -- helpers -----------------------------------------------------------------------------------------

def client_request(service: str, op: OperationModel, params: dict[str, Any]) -> WireRequest:
    """The request a botocore client sends for ``params``, as our gateway receives it."""
    protocol = MODELS[service].metadata["protocol"]
    serialized = create_serializer(protocol).serialize_to_request(params, op)
    prepared = AWSRequest(method=serialized["method"], url="https://overcast.test/",
                          data=serialized["body"], headers=serialized["headers"]).prepare()
    body = prepared.body.encode("utf-8") if isinstance(prepared.body, str) else prepared.body
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    return WireRequest(method="POST", path="/", query=[], headers=headers, body=body or b"")


def form_request(pairs: list[tuple[str, str]]) -> WireRequest:
    from urllib.parse import urlencode

    return WireRequest(method="POST", path="/", query=[], headers={"content-type": FORM_TYPE},
                       body=urlencode(pairs).encode("utf-8"))


def client_parse(service: str, op: OperationModel, status: int, headers: dict[str, str],
                 body: bytes) -> dict[str, Any]:
    parser = create_parser(MODELS[service].metadata["protocol"])
    return parser.parse({"body": body, "headers": headers, "status_code": status}, op.output_shape)


def drop_empty_lists(value: Any) -> Any:
    """EC2 clients send nothing at all for an empty list."""
    if isinstance(value, dict):
        return {k: drop_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [drop_empty_lists(v) for v in value]
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


# -- 1. requests: botocore serializes, we parse ----------------------------------------------------

@pytest.mark.parametrize("variant", ["full", "minimal", "empty_lists"])
@pytest.mark.parametrize(("service", "op_name"), OPERATIONS)
def test_request_round_trip(service: str, op_name: str, variant: str) -> None:
    op = _op(service, op_name)
    gen = ShapeGen(f"req.{service}.{op_name}.{variant}", minimal=variant == "minimal",
                   empty_lists=variant == "empty_lists")
    params = gen.value(op.input_shape) if op.input_shape is not None else {}
    wire = client_request(service, op, params)
    parsed = PROTOCOLS[service].parse(op, wire)
    expected = drop_empty_lists(params) if service == "ec2" else params
    assert_same(expected, parsed)


# -- 2. responses: we serialize, botocore parses ---------------------------------------------------

@pytest.mark.parametrize("variant", ["full", "empty_lists"])
@pytest.mark.parametrize(("service", "op_name"), OPERATIONS)
def test_response_round_trip(service: str, op_name: str, variant: str) -> None:
    op = _op(service, op_name)
    gen = ShapeGen(f"resp.{service}.{op_name}.{variant}", empty_lists=variant == "empty_lists")
    result = gen.value(op.output_shape) if op.output_shape is not None else {}
    wire = PROTOCOLS[service].serialize(op, result, REQUEST_ID)
    assert wire.status == 200
    parsed = client_parse(service, op, 200, wire.headers, wire.body)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == REQUEST_ID
    assert_same(result, parsed)


def test_ec2_empty_lists_render_as_empty_elements() -> None:
    op = _op("ec2", "DescribeInstances")
    body = PROTOCOLS["ec2"].serialize(op, {"Reservations": []}, REQUEST_ID).body.decode()
    assert "<reservationSet></reservationSet>" in body
    assert client_parse("ec2", op, 200, {}, body.encode())["Reservations"] == []


# -- 3. errors: our envelope, botocore's error parser ----------------------------------------------

ERRORS = [
    pytest.param(NotFound("The instance ID 'i-0123' does not exist", code="InvalidInstanceID.NotFound"),
                 id="not-found"),
    pytest.param(InvalidAction("The action Frob is not valid for this web service."), id="invalid-action"),
    pytest.param(ParamError("missing", "ImageId", "The request must contain the parameter ImageId"),
                 id="param-missing"),
    pytest.param(ParamError("enum", "InstanceType", "Invalid value '<b>&amp;\"x\"' for InstanceType é✓"),
                 id="param-enum-escaping"),
    pytest.param(AuthError("unknown_key", "The security token included in the request is invalid."),
                 id="auth-unknown-key"),
    pytest.param(AWSError("a ]]> b <![CDATA[ c ]]> & d\r\ne", code="InternalError", status=500,
                          sender_fault=False), id="internal-cdata-crlf"),
]


@pytest.mark.parametrize("err", ERRORS)
@pytest.mark.parametrize("service", SERVICES)
def test_error_envelope(service: str, err: AWSError) -> None:
    protocol = PROTOCOLS[service]
    op = _op(service, MODELS[service].operation_names[0])
    wire = protocol.error(err, REQUEST_ID)
    code, status = protocol.code_for(err)
    assert wire.status == status
    parsed = client_parse(service, op, status, wire.headers, wire.body)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == err.message
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
    if isinstance(protocol, Ec2Protocol):
        assert (code, status) == error_codes.resolve(err, error_codes.EC2_PARAM, error_codes.EC2_AUTH)
    else:
        assert parsed["Error"]["Type"] == ("Sender" if err.sender_fault else "Receiver")


# -- 4. validation: bad input is a ParamError of the right kind ------------------------------------

VALIDATION = [
    # (service, operation, form pairs, kind, param)
    ("ec2", "RunInstances", [("MinCount", "1")], "missing", "MaxCount"),
    ("ec2", "ImportKeyPair", [("KeyName", "k")], "missing", "PublicKeyMaterial"),
    ("ec2", "DescribeInstanceTypes", [("Frobnicate", "1")], "unknown", "Frobnicate"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Nme", "x")], "unknown", "Filter.1.Nme"),
    ("ec2", "DescribeRegions", [("RegionName.1.Foo", "x")], "unknown", "RegionName.1.Foo"),
    ("ec2", "RunInstances", [("MinCount", "one"), ("MaxCount", "1")], "type", "MinCount"),
    ("ec2", "RunInstances", [("MinCount", "1.5"), ("MaxCount", "1")], "type", "MinCount"),
    ("ec2", "RunInstances", [("MinCount", ""), ("MaxCount", "1")], "type", "MinCount"),
    ("ec2", "RunInstances", [("MinCount", "1"), ("MaxCount", str(2**31))], "range", "MaxCount"),
    ("ec2", "RunInstances", [("MinCount", "1"), ("MaxCount", str(2**31 - 1))], None, None),
    ("ec2", "DescribeInstanceTypes", [("DryRun", "yes")], "type", "DryRun"),
    ("ec2", "DescribeInstanceTypes", [("DryRun", "")], "type", "DryRun"),
    ("ec2", "DescribeInstanceTypes", [("InstanceType.1", "t9.huge")], "enum", "InstanceType.1"),
    ("ec2", "RunInstances", [("MinCount", "1"), ("MaxCount", "1"), ("InstanceType", "T2.MICRO")],
     "enum", "InstanceType"),
    ("ec2", "DescribeInstanceTypes", [("MaxResults", "4")], "range", "MaxResults"),
    ("ec2", "DescribeInstanceTypes", [("MaxResults", "101")], "range", "MaxResults"),
    ("ec2", "DescribeInstanceTypes", [("MaxResults", "99999999999999999999")], "range", "MaxResults"),
    ("ec2", "ImportKeyPair", [("KeyName", "k"), ("PublicKeyMaterial", "not base64!")], "type",
     "PublicKeyMaterial"),
    ("ec2", "ImportKeyPair", [("KeyName", "k"), ("PublicKeyMaterial", "YWJj")], None, None),
    ("ec2", "ImportKeyPair", [("KeyName", "k"), ("PublicKeyMaterial", "YWJ")], "type", "PublicKeyMaterial"),
    ("ec2", "DescribeSpotPriceHistory", [("StartTime", "yesterday")], "type", "StartTime"),
    ("ec2", "DescribeSpotPriceHistory", [("StartTime", "2024-02-30T00:00:00Z")], "type", "StartTime"),
    ("ec2", "DescribeSpotPriceHistory", [("StartTime", "2024-02-29T12:00:00Z")], None, None),
    ("ec2", "DescribeInstanceTypes", [("Filter.0.Name", "x")], "unknown", "Filter.0"),
    ("ec2", "DescribeInstanceTypes", [("Filter.one.Name", "x")], "unknown", "Filter.one"),
    ("ec2", "DescribeInstanceTypes", [("Filter.-1.Name", "x")], "unknown", "Filter.-1"),
    ("ec2", "DescribeInstanceTypes", [("Filter.².Name", "x")], "unknown", "Filter.²"),
    ("ec2", "DescribeInstanceTypes", [("Filter.01.Name", "x")], "unknown", "Filter.01"),
    ("ec2", "DescribeInstanceTypes", [("Filter.100001.Name", "x")], "unknown", "Filter.100001"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Name", "a\x01b")], "type", "Filter.1.Name"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Name", "ok"), ("Filter.7.Name", "a\x02")], "type",
     "Filter.7.Name"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Name", "a\x00")], "type", "Filter.1.Name"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Name", "a\ufffe")], "type", "Filter.1.Name"),
    ("ec2", "DescribeInstanceTypes", [("Filter.1.Name", "tab\tand\r\nnewline é✓")], None, None),
    ("ec2", "DescribeInstanceTypes", [("Filter", "x")], "type", "Filter"),
    ("ec2", "DescribeInstanceTypes", [("DryRun.1", "true")], "unknown", "DryRun.1"),
    ("sts", "AssumeRole", [("RoleSessionName", "s1")], "missing", "RoleArn"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s1"),
                           ("DurationSeconds", "12h")], "type", "DurationSeconds"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s1"),
                           ("DurationSeconds", "899")], "range", "DurationSeconds"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s")],
     "range", "RoleSessionName"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s1"),
                           ("Tags.member.0.Key", "k")], "unknown", "Tags.member.0"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s1"),
                           ("Tags.1.Key", "k")], "unknown", "Tags.1"),
    ("sts", "AssumeRole", [("RoleArn", "arn:aws:iam::123456789012:role/r"), ("RoleSessionName", "s1"),
                           ("Policy", "\x7f\x1b[31m")], "type", "Policy"),
    # Query services ignore parameters they do not know (as AWS does).
    ("sts", "GetCallerIdentity", [("Frobnicate", "1")], None, None),
    ("cloudformation", "CreateStack", [("TemplateBody", "{}")], "missing", "StackName"),
    ("cloudformation", "CreateStack", [("StackName", "s"), ("DisableRollback", "maybe")], "type",
     "DisableRollback"),
    ("cloudformation", "CreateStack", [("StackName", "s"), ("OnFailure", "EXPLODE")], "enum", "OnFailure"),
    ("cloudformation", "CreateStack", [("StackName", "s"), ("TimeoutInMinutes", "0")], "range",
     "TimeoutInMinutes"),
    ("cloudformation", "ListStacks", [("StackStatusFilter.member.1", "NOPE")], "enum",
     "StackStatusFilter.member.1"),
    ("cloudformation", "ListStacks", [("StackStatusFilter", "CREATE_COMPLETE")], "type", "StackStatusFilter"),
    ("cloudformation", "ListStacks", [("StackStatusFilter", "")], None, None),
    ("cloudformation", "ListStacks", [("StackStatusFilter.item.1", "CREATE_COMPLETE")], "unknown",
     "StackStatusFilter.item"),
    ("cloudformation", "CreateGeneratedTemplate",
     [("GeneratedTemplateName", "t"), ("Resources.member.1.ResourceType", "AWS::S3::Bucket"),
      ("Resources.member.1.ResourceIdentifier.entry.2.value", "b")], "missing",
     "Resources.member.1.ResourceIdentifier.entry.2.key"),
    ("cloudformation", "CreateGeneratedTemplate",
     [("GeneratedTemplateName", "t"), ("Resources.member.1.ResourceType", "AWS::S3::Bucket"),
      ("Resources.member.1.ResourceIdentifier.entry.1.key", "k"),
      ("Resources.member.1.ResourceIdentifier.entry.1.val", "b")], "unknown",
     "Resources.member.1.ResourceIdentifier.entry.1.val"),
    ("cloudformation", "CreateGeneratedTemplate",
     [("GeneratedTemplateName", "t"), ("Resources.member.1.ResourceType", "AWS::S3::Bucket"),
      ("Resources.member.1.ResourceIdentifier", "k=b")], "type", "Resources.member.1.ResourceIdentifier"),
    ("cloudformation", "CreateStackSet", [("StackSetName", "s"), ("ManagedExecution.Active", "true"),
                                          ("ManagedExecution", "x")], "type", "ManagedExecution"),
]


def _validation_id(case: tuple[Any, ...]) -> str:
    service, op, pairs, kind, _ = case
    return f"{service}.{op}-{kind or 'ok'}-{'&'.join(k for k, _ in pairs)}"


@pytest.mark.parametrize(("service", "op_name", "pairs", "kind", "param"),
                         [pytest.param(*case, id=_validation_id(case)) for case in VALIDATION])
def test_validation(service: str, op_name: str, pairs: list[tuple[str, str]], kind: str | None,
                    param: str | None) -> None:
    op = _op(service, op_name)
    protocol = PROTOCOLS[service]
    wire = form_request([("Action", op_name), ("Version", MODELS[service].api_version), *pairs])
    if kind is None:
        protocol.parse(op, wire)
        return
    with pytest.raises(ParamError) as info:
        protocol.parse(op, wire)
    assert info.value.kind == kind
    assert info.value.param == param
    code, status = protocol.code_for(info.value)
    assert status == 400
    expected = error_codes.EC2_PARAM if service == "ec2" else error_codes.QUERY_PARAM
    assert code == expected[kind][0]


@pytest.mark.parametrize("protocol_service", ["ec2", "sts"])
def test_too_many_params_in_body(protocol_service: str) -> None:
    service = protocol_service
    op = _op(service, "DescribeInstanceTypes" if service == "ec2" else "GetCallerIdentity")
    pairs = [(f"Filter.{i}.Name", "x") for i in range(1, MAX_PARAMS + 2)]
    with pytest.raises(ParamError) as info:
        PROTOCOLS[service].parse(op, form_request(pairs))
    assert info.value.kind == "range"


def test_too_many_params_in_pairs() -> None:
    op = _op("ec2", "DescribeInstanceTypes")
    pairs = [(f"Filter.{i}.Name", "x") for i in range(1, MAX_PARAMS + 2)]
    with pytest.raises(ParamError) as info:
        PROTOCOLS["ec2"].parse(op, form_request([]), pairs)
    assert info.value.kind == "range"


def test_query_string_and_body_are_both_read() -> None:
    wire = WireRequest(method="POST", path="/", query=[("Action", "DescribeRegions")],
                       headers={"content-type": FORM_TYPE}, body=b"RegionName.1=us-east-1&DryRun=true")
    assert form_pairs(wire) == [("Action", "DescribeRegions"), ("RegionName.1", "us-east-1"), ("DryRun", "true")]
    op = _op("ec2", "DescribeRegions")
    assert PROTOCOLS["ec2"].parse(op, wire) == {"RegionNames": ["us-east-1"], "DryRun": True}
    wire.headers = {"content-type": "Application/X-WWW-Form-URLEncoded"}
    assert PROTOCOLS["ec2"].parse(op, wire) == {"RegionNames": ["us-east-1"], "DryRun": True}


def test_body_not_utf8_is_a_param_error() -> None:
    wire = WireRequest(method="POST", path="/", query=[], headers={"content-type": FORM_TYPE},
                       body=b"Action=DescribeRegions&RegionName.1=%FF%FE")
    with pytest.raises(ParamError):
        PROTOCOLS["ec2"].parse(_op("ec2", "DescribeRegions"), wire)


def test_timestamps_in_other_forms() -> None:
    op = _op("ec2", "DescribeSpotPriceHistory")
    want = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    for text in ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z", "2024-02-29T14:00:00+02:00",
                 str(int(want.timestamp()))):
        assert PROTOCOLS["ec2"].parse(op, form_request([("StartTime", text)]))["StartTime"] == want


def test_protocol_classes() -> None:
    assert isinstance(PROTOCOLS["ec2"], Ec2Protocol)
    assert isinstance(PROTOCOLS["sts"], QueryProtocol) and not isinstance(PROTOCOLS["sts"], Ec2Protocol)
