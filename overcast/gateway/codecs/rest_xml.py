"""The ``rest-xml`` protocol (S3, and the shape of Route 53 / CloudFront).

Generic, model-driven parts only: finding the operation from method + path + query using each
operation's ``requestUri`` template, binding ``uri`` / ``querystring`` / ``header`` / ``headers``
members, reading an XML payload, and rendering headers + XML (or a streamed blob).  S3-only wire
details (aws-chunked, checksums, virtual-hosted buckets) belong in ``s3api``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, ServiceModel

from overcast.core.errors import AWSError, ParamError

from . import error_codes
from .query_params import ParamParser, QueryNaming
from .wire import WireRequest, WireResponse
from .xml_input import element_to_value, parse_document
from .xml_output import XML_ESC_DECL, XmlWriter, escape, format_timestamp, scalar_text

_LABEL = re.compile(r"\{([^}]+)\}")
_SCALAR_PARSER = ParamParser(QueryNaming())


@dataclass(frozen=True)
class UriTemplate:
    operation: str
    method: str
    segments: tuple[str, ...]        # literal text or "{Name}" / "{Name+}"
    query_required: tuple[tuple[str, str | None], ...]

    @classmethod
    def from_model(cls, op: OperationModel) -> UriTemplate:
        uri = op.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        required = []
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            required.append((key, value if eq else None))
        segments = tuple(path.lstrip("/").split("/")) if path.strip("/") else ()
        return cls(op.name, op.http.get("method", "POST"), segments, tuple(required))

    def match(self, method: str, path_segments: list[str], query: dict[str, str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        for key, value in self.query_required:
            if key not in query or (value is not None and query[key] != value):
                return None
        labels: dict[str, str] = {}
        segs = list(path_segments)
        for i, seg in enumerate(self.segments):
            m = _LABEL.fullmatch(seg)
            if m is None:
                if i >= len(segs) or segs[i] != seg:
                    return None
                continue
            name = m.group(1)
            if name.endswith("+"):
                rest = "/".join(segs[i:])
                if not rest:
                    return None
                labels[name[:-1]] = rest
                return labels
            if i >= len(segs) or segs[i] == "":
                return None
            labels[name] = segs[i]
        if len(segs) > len(self.segments) and any(segs[len(self.segments):]):
            return None
        return labels

    @property
    def specificity(self) -> tuple[int, int]:
        return (len(self.query_required), len(self.segments))


class RestXmlProtocol:
    name = "rest-xml"
    writer = XmlWriter("member")

    def __init__(self, service: ServiceModel) -> None:
        self.service = service
        templates = [UriTemplate.from_model(service.operation_model(n)) for n in service.operation_names]
        self.templates = sorted(templates, key=lambda t: t.specificity, reverse=True)
        self.namespace = service.metadata.get("xmlNamespace", "")

    def find_operation(self, req: WireRequest, path: str | None = None) -> tuple[OperationModel, dict[str, str]] | None:
        """The operation a request addresses, with its URI labels (``path`` overrides ``req.path``)."""
        query = {k: v for k, v in req.query}
        segments = (path if path is not None else req.path).lstrip("/").split("/")
        if segments == [""]:
            segments = []
        for template in self.templates:
            labels = template.match(req.method, segments, query)
            if labels is not None:
                return self.service.operation_model(template.operation), labels
        return None

    # -- requests ---------------------------------------------------------------------------------
    def parse(self, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        query = {k: v for k, v in req.query}
        params: dict[str, Any] = {}
        payload_name = shape.serialization.get("payload")
        for name, member in shape.members.items():
            ser = member.serialization
            where = ser.get("location")
            key = ser.get("name", name)
            if where == "uri" and key in labels:
                params[name] = self._scalar(member, labels[key], key)
            elif where == "querystring":
                if member.type_name == "map":
                    params[name] = {k: v for k, v in query.items()}
                elif key in query:
                    params[name] = self._scalar(member, query[key], key)
            elif where == "header":
                value = req.headers.get(key.lower())
                if value is not None:
                    params[name] = self._scalar(member, value, key)
            elif where == "headers":
                prefix = key.lower()
                found = {h[len(prefix):]: v for h, v in req.headers.items() if h.startswith(prefix)}
                if found:
                    params[name] = found
            elif name == payload_name:
                if member.type_name in ("blob", "string"):
                    continue  # streamed by the service; never read whole here
                if req.body:
                    params[name] = element_to_value(member, parse_document(req.body))
        for name in shape.required_members:
            if name not in params and name != payload_name:
                raise ParamError("missing", name, f"Missing required parameter {name}")
        return params

    def _scalar(self, shape: Any, text: str, path: str) -> Any:
        if shape.type_name == "timestamp":
            from email.utils import parsedate_to_datetime
            try:
                return parsedate_to_datetime(text)
            except (TypeError, ValueError):
                pass
        return _SCALAR_PARSER._scalar(shape, text, path)

    # -- responses --------------------------------------------------------------------------------
    def serialize(self, op: OperationModel, result: dict[str, Any] | None, request_id: str) -> WireResponse:
        result = result or {}
        shape = op.output_shape
        resp = WireResponse(200, {})
        if shape is None:
            return resp
        payload_name = shape.serialization.get("payload")
        for name, member in shape.members.items():
            value = result.get(name)
            if value is None:
                continue
            ser = member.serialization
            where = ser.get("location")
            if where == "header":
                resp.headers[ser.get("name", name).lower()] = self._header_text(member, value)
            elif where == "headers":
                prefix = ser.get("name", name).lower()
                for k, v in value.items():
                    resp.headers[prefix + k.lower()] = str(v)
            elif where == "statusCode":
                resp.status = int(value)
        if payload_name:
            member = shape.members[payload_name]
            value = result.get(payload_name)
            if member.type_name in ("blob", "string"):
                if hasattr(value, "__aiter__"):
                    resp.stream = value
                elif value is not None:
                    resp.body = value if isinstance(value, bytes) else str(value).encode("utf-8")
            elif value is not None:
                tag = member.serialization.get("name", payload_name)
                resp.body = self._document(member, value, tag)
                resp.headers["content-type"] = "application/xml"
        elif any(m.serialization.get("location") is None for m in shape.members.values()):
            tag = shape.serialization.get("name", op.name + "Result")
            resp.body = self._document(shape, result, tag)
            resp.headers["content-type"] = "application/xml"
        return resp

    def _document(self, shape: Any, value: dict[str, Any], tag: str) -> bytes:
        out = [XML_ESC_DECL]
        if shape.serialization.get("xmlNamespace") or not self.namespace:
            self.writer.element(shape, value, tag, out)
        else:
            out.append(f'<{tag} xmlns="{self.namespace}">')
            self.writer.members(shape, value, out)
            out.append(f"</{tag}>")
        return "".join(out).encode("utf-8")

    def _header_text(self, shape: Any, value: Any) -> str:
        if shape.type_name == "timestamp":
            return format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822"))
        if shape.type_name == "boolean":
            return "true" if value else "false"
        text = scalar_text(shape, value)
        return text if shape.type_name != "string" else str(value)

    def code_for(self, err: AWSError) -> tuple[str, int]:
        return error_codes.resolve(err, error_codes.REST_XML_PARAM, error_codes.REST_XML_AUTH)

    def error(self, err: AWSError, request_id: str) -> WireResponse:
        code, status = self.code_for(err)
        extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in getattr(err, "extra", {}).items())
        body = (f"{XML_ESC_DECL}<Error><Code>{escape(code)}</Code><Message>{escape(err.message)}</Message>"
                f"{extra}<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
        return WireResponse(status, {"content-type": "application/xml"}, body.encode("utf-8"))
