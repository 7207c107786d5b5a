"""The ``ec2`` and ``query`` protocols: form-encoded requests, XML responses.

They share almost everything; :class:`Ec2Protocol` overrides naming, the response envelope and
the error envelope, as botocore's ``EC2Serializer`` does on its ``QuerySerializer``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel

from overcast.core.errors import AWSError, ParamError

from . import error_codes
from .query_params import EC2_PARSER, QUERY_PARSER, ParamParser
from .wire import WireRequest, WireResponse
from .xml_output import EC2_WRITER, QUERY_WRITER, XmlWriter, escape

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
XML_TYPE = "text/xml;charset=UTF-8"


def form_pairs(req: WireRequest) -> list[tuple[str, str]]:
    """Query-string pairs followed by form-body pairs (AWS accepts either)."""
    pairs = list(req.query)
    ctype = req.headers.get("content-type", "").lower()
    if req.body and (not ctype or ctype.startswith("application/x-www-form-urlencoded")):
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ParamError("type", "", "The request body is not valid UTF-8") from None
        try:
            pairs += parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=20_000,
                               errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise ParamError("range", "", "The request body could not be parsed as a form") from None
    return pairs


class QueryProtocol:
    name = "query"
    parser: ParamParser = QUERY_PARSER
    writer: XmlWriter = QUERY_WRITER
    param_codes = error_codes.QUERY_PARAM
    auth_codes = error_codes.QUERY_AUTH

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def parse(self, op: OperationModel, req: WireRequest, pairs: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self.parser.parse(op.input_shape, form_pairs(req) if pairs is None else pairs)

    def serialize(self, op: OperationModel, result: dict[str, Any] | None, request_id: str) -> WireResponse:
        out = [XML_DECL, f'<{op.name}Response xmlns="{self.namespace}">']
        shape = op.output_shape
        wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
        if shape is not None and wrapper:
            out.append(f"<{wrapper}>")
            self.writer.members(shape, result or {}, out)
            out.append(f"</{wrapper}>")
        elif shape is not None:
            self.writer.members(shape, result or {}, out)
        out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{op.name}Response>")
        return WireResponse(200, {"content-type": XML_TYPE}, "".join(out).encode("utf-8"))

    def code_for(self, err: AWSError) -> tuple[str, int]:
        return error_codes.resolve(err, self.param_codes, self.auth_codes)

    def error(self, err: AWSError, request_id: str) -> WireResponse:
        code, status = self.code_for(err)
        kind = "Sender" if err.sender_fault else "Receiver"
        body = (f'{XML_DECL}<ErrorResponse xmlns="{self.namespace}"><Error><Type>{kind}</Type>'
                f"<Code>{escape(code)}</Code><Message>{escape(err.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return WireResponse(status, {"content-type": XML_TYPE}, body.encode("utf-8"))


class Ec2Protocol(QueryProtocol):
    name = "ec2"
    parser = EC2_PARSER
    writer = EC2_WRITER
    param_codes = error_codes.EC2_PARAM
    auth_codes = error_codes.EC2_AUTH

    def serialize(self, op: OperationModel, result: dict[str, Any] | None, request_id: str) -> WireResponse:
        out = [XML_DECL, f'<{op.name}Response xmlns="{self.namespace}">', f"<requestId>{request_id}</requestId>"]
        if op.output_shape is not None:
            self.writer.members(op.output_shape, result or {}, out)
        else:
            out.append("<return>true</return>")
        out.append(f"</{op.name}Response>")
        return WireResponse(200, {"content-type": XML_TYPE}, "".join(out).encode("utf-8"))

    def error(self, err: AWSError, request_id: str) -> WireResponse:
        code, status = self.code_for(err)
        body = (f"{XML_DECL}<Response><Errors><Error><Code>{escape(code)}</Code>"
                f"<Message>{escape(err.message)}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>")
        return WireResponse(status, {"content-type": XML_TYPE}, body.encode("utf-8"))
