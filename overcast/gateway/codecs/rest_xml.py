"""The ``rest-xml`` protocol (S3, and the shape of Route 53 / CloudFront).

Generic, model-driven parts only: finding the operation from method + path + query + headers
using each operation's ``requestUri`` template, binding ``uri`` / ``querystring`` / ``header`` /
``headers`` members, reading an XML payload, and rendering headers + XML (or a streamed blob).
S3-only wire details (aws-chunked, checksums, virtual-hosted buckets) belong in ``s3api``.

Finding the operation: a template matches when the method, the path segments and the query keys
written in its ``requestUri`` (``?uploads``, ``?list-type=2``) match.  Several operations often
match one request (S3: ``GET /{Bucket}/{Key+}`` is GetObject or ListParts, ``PUT`` on a key is
PutObject, CopyObject, UploadPart or UploadPartCopy); the best one is the one with the most
literal path segments, then the most literal query keys, then whose required query/header members
are all present, then with the most of them present, then not deprecated, then the first in the
model.  Requests no rule tells apart (S3: GetBucketLifecycle vs GetBucketLifecycleConfiguration,
the same for PutBucketLifecycle and Get/PutBucketNotification) get the operation that is not
deprecated; ListDirectoryBuckets (S3 Express, told apart by its endpoint) never wins over
ListBuckets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, ServiceModel

from overcast.core.errors import AWSError, ParamError

from . import error_codes
from .query_params import ParamParser, QueryNaming
from .wire import WireRequest, WireResponse
from .xml_input import MalformedXML, element_to_value, parse_document, timestamp_from_text
from .xml_output import XML_ESC_DECL, XmlWriter, escape, format_timestamp, scalar_text

_LABEL = re.compile(r"\{([^}]+)\}")
_SCALAR_PARSER = ParamParser(QueryNaming())
_HEADER_SAFE = re.compile(r"[ -~]*\Z")          # printable ASCII: what a header value carries as is
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")


@dataclass(frozen=True)
class UriTemplate:
    operation: str
    method: str
    segments: tuple[str, ...]                       # literal text or "{Name}" / "{Name+}"
    query_literal: tuple[tuple[str, str | None], ...]  # from the requestUri: key, required value
    required_query: tuple[str, ...]                 # wire names of required querystring members
    required_headers: tuple[str, ...]               # lower-case names of required header members
    deprecated: bool
    index: int                                      # position in the model, the last tie-break

    @classmethod
    def from_model(cls, op: OperationModel, index: int = 0) -> UriTemplate:
        uri = op.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        literal = []
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            literal.append((key, value if eq else None))
        segments = tuple(path.lstrip("/").split("/")) if path.strip("/") else ()
        required_query: list[str] = []
        required_headers: list[str] = []
        shape = op.input_shape
        if shape is not None:
            for name in shape.required_members:
                ser = shape.members[name].serialization
                if ser.get("location") == "querystring" and shape.members[name].type_name != "map":
                    required_query.append(ser.get("name", name))
                elif ser.get("location") == "header":
                    required_headers.append(ser.get("name", name).lower())
        return cls(op.name, op.http.get("method", "POST"), segments, tuple(literal), tuple(required_query),
                   tuple(required_headers), bool(op.deprecated), index)

    def match(self, method: str, path_segments: list[str], query: dict[str, str]) -> dict[str, str] | None:
        """The URI labels when method, path and the requestUri's own query keys match, else None."""
        if method != self.method:
            return None
        for key, value in self.query_literal:
            if key not in query or (value is not None and query[key] != value):
                return None
        labels: dict[str, str] = {}
        segs = path_segments
        for i, seg in enumerate(self.segments):
            m = _LABEL.fullmatch(seg)
            if m is None:
                if i >= len(segs) or segs[i] != seg:
                    return None
                continue
            name = m.group(1)
            if name.endswith("+"):  # greedy: everything up to what the template's tail needs
                tail = self.segments[i + 1:]
                end = len(segs) - len(tail)
                rest = "/".join(segs[i:end])
                if not rest or end < i or list(segs[end:]) != list(tail) or any(_LABEL.search(t) for t in tail):
                    return None
                labels[name[:-1]] = rest
                return labels
            if i >= len(segs) or segs[i] == "":
                return None
            labels[name] = segs[i]
        if len(segs) > len(self.segments) and any(segs[len(self.segments):]):
            return None
        return labels

    def rank(self, query: dict[str, str], headers: dict[str, str]) -> tuple[int, ...]:
        """How well a matching template fits the request: higher is better."""
        literal_segments = sum(1 for s in self.segments if not _LABEL.fullmatch(s))
        present = sum(1 for k in self.required_query if k in query) + \
            sum(1 for h in self.required_headers if h in headers)
        complete = present == len(self.required_query) + len(self.required_headers)
        return (literal_segments, len(self.query_literal), complete, present, not self.deprecated, -self.index)


class RestXmlProtocol:
    name = "rest-xml"
    writer = XmlWriter("member")

    def __init__(self, service: ServiceModel, root_tags: dict[str, str] | None = None) -> None:
        """``root_tags``: the root element of an operation's XML answer where the model names none
        (the default is the output shape's ``locationName``, else ``<Operation>Result``)."""
        self.service = service
        self.root_tags = dict(root_tags or {})
        self.templates: dict[str, list[UriTemplate]] = {}     # by HTTP method
        self.by_operation: dict[str, UriTemplate] = {}
        for i, name in enumerate(service.operation_names):
            template = UriTemplate.from_model(service.operation_model(name), i)
            self.templates.setdefault(template.method, []).append(template)
            self.by_operation[name] = template
        self.namespace = service.metadata.get("xmlNamespace", "") or _model_namespace(service)

    def find_operation(self, req: WireRequest, path: str | None = None) -> tuple[OperationModel, dict[str, str]] | None:
        """The operation a request addresses, with its URI labels (``path`` overrides ``req.path``)."""
        query = _first_values(req.query)
        target = path if path is not None else req.path
        segments = (target[1:] if target.startswith("/") else target).split("/")
        if segments == [""]:
            segments = []   # "/": no segment; "//k" is ["", "k"] (an empty bucket name matches nothing)
        best: tuple[tuple[int, ...], UriTemplate, dict[str, str]] | None = None
        for template in self.templates.get(req.method, ()):
            labels = template.match(req.method, segments, query)
            if labels is None:
                continue
            rank = template.rank(query, req.headers)
            if best is None or rank > best[0]:
                best = (rank, template, labels)
        if best is None:
            return None
        return self.service.operation_model(best[1].operation), best[2]

    # -- requests ---------------------------------------------------------------------------------
    def parse(self, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
        """The operation's params from a request.  Raw (blob/string) payloads that are streamed are
        left to the service; a non-streamed one is taken from ``req.body`` when there is a body."""
        shape = op.input_shape
        if shape is None:
            return {}
        query = _first_values(req.query)
        params: dict[str, Any] = {}
        payload_name = shape.serialization.get("payload")
        template = self.by_operation.get(op.name) or UriTemplate.from_model(op)
        claimed = {key for key, _ in template.query_literal}
        body_members = False
        for name, member in shape.members.items():
            ser = member.serialization
            where = ser.get("location")
            key = ser.get("name", name)
            if where == "uri":
                if key in labels:
                    params[name] = self._scalar(member, labels[key], key)
            elif where == "querystring":
                claimed.add(key)
                if member.type_name == "list":
                    values = [v for k, v in req.query if k == key]
                    if values:
                        params[name] = [self._scalar(member.member, v, key) for v in values]
                elif member.type_name != "map" and key in query:
                    params[name] = self._scalar(member, query[key], key)
            elif where == "header":
                value = req.headers.get(key.lower())
                if value is not None:
                    try:
                        params[name] = self._header_value(member, value, key)
                    except ParamError:
                        if member.type_name != "timestamp":
                            raise
                        # HTTP dates that cannot be parsed are ignored, as HTTP (and S3) do for
                        # If-Modified-Since, If-Unmodified-Since and Expires

            elif where == "headers":
                prefix = key.lower()
                found = {h[len(prefix):]: self._scalar(member.value, v, h)
                         for h, v in req.headers.items() if h.startswith(prefix) and len(h) > len(prefix)}
                if found:
                    params[name] = found
            elif where is None:
                if name == payload_name:
                    value = self._payload(member, name, req.body)
                    if value is not None:
                        params[name] = value
                elif payload_name is None:
                    body_members = True
        for name, member in shape.members.items():  # querystring maps take the keys nobody else claims
            if member.serialization.get("location") == "querystring" and member.type_name == "map":
                params.update(self._query_map(name, member, req.query, claimed))
        if body_members and req.body:
            params.update(_read_xml(shape, req.body, shape.serialization.get("name")))
        for name in shape.required_members:
            if name in params:
                continue
            member = shape.members[name]
            raw_payload = name == payload_name and member.type_name in ("blob", "string")
            if member.serialization.get("location") is not None or raw_payload:
                if name == payload_name and self.streams_payload(op):
                    continue  # the service reads the stream
                key = member.serialization.get("name", name)
                raise ParamError("missing", key, f"Missing required parameter {key}")
            raise MalformedXML("The request body is missing or incomplete.")  # XML payload or body members
        return params

    def streams_payload(self, op: OperationModel) -> bool:
        """Whether the operation's request body is a stream the service reads (PutObject, UploadPart…):
        every other body is read whole by the gateway and parsed here."""
        shape = op.input_shape
        payload = shape.serialization.get("payload") if shape is not None else None
        return bool(payload and shape is not None and shape.members[payload].serialization.get("streaming"))

    def _payload(self, member: Any, name: str, body: bytes) -> Any:
        if not body:
            return None
        if member.type_name in ("blob", "string"):
            if member.serialization.get("streaming"):
                return None  # streamed by the service; never read whole here
            if member.type_name == "blob":
                return body
            try:
                return self._scalar(member, body.decode("utf-8"), name)
            except UnicodeDecodeError:
                raise ParamError("type", name, "The request body is not valid UTF-8.") from None
        return _read_xml(member, body, member.serialization.get("name", name))

    def _query_map(self, name: str, member: Any, pairs: list[tuple[str, str]], claimed: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in claimed:
                continue
            if member.value.type_name == "list":
                out.setdefault(key, []).append(self._scalar(member.value.member, value, key))
            else:
                out.setdefault(key, self._scalar(member.value, value, key))
        return {name: out} if out else {}

    def _header_value(self, shape: Any, text: str, name: str) -> Any:
        if shape.type_name == "list":
            return [self._scalar(shape.member, item, name) for item in split_header_list(text)]
        if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError):
                raise ParamError("type", name, f"Invalid value for header {name}: base64 JSON is expected") from None
        return self._scalar(shape, text.strip() if shape.type_name != "string" else text, name)

    def _scalar(self, shape: Any, text: str, path: str) -> Any:
        if shape.type_name == "timestamp":
            return timestamp_from_text(text, path)
        return _SCALAR_PARSER._scalar(shape, text, path)

    # -- responses --------------------------------------------------------------------------------
    def serialize(self, op: OperationModel, result: dict[str, Any] | None, request_id: str) -> WireResponse:
        result = result or {}
        shape = op.output_shape
        resp = WireResponse(200, {})
        if shape is None:
            if op.http.get("method") == "DELETE":
                resp.status = 204   # a DELETE that answers nothing answers 204 No Content
            return resp
        payload_name = shape.serialization.get("payload")
        for name, member in shape.members.items():
            value = result.get(name)
            if value is None:
                continue
            ser = member.serialization
            where = ser.get("location")
            if where == "header":
                if member.type_name == "list" and not value:
                    continue
                resp.headers[ser.get("name", name).lower()] = self._header_text(member, value)
            elif where == "headers":
                prefix = ser.get("name", name).lower()
                for k, v in value.items():
                    if v is not None:
                        resp.headers[prefix + str(k).lower()] = self._header_text(member.value, v)
            elif where == "statusCode":
                resp.status = int(value)
        if resp.status == 200 and "content-range" in resp.headers:
            resp.status = 206  # a part of the representation (RFC 9110 15.3.7): S3 GetObject with Range
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
            tag = self.root_tags.get(op.name) or shape.serialization.get("name", op.name + "Result")
            body_members = [(n, m) for n, m in shape.members.items() if m.serialization.get("location") is None]
            only = body_members[0] if len(body_members) == 1 else None
            if only is not None and only[1].serialization.get("name", only[0]) == tag and \
                    only[1].type_name not in ("structure", "list", "map"):
                # the answer is the element itself (S3 GetBucketLocation: <LocationConstraint>eu-west-1<…>)
                value = result.get(only[0])
                text = "" if value is None else scalar_text(only[1], value)
                ns = f' xmlns="{self.namespace}"' if self.namespace else ""
                resp.body = f"{XML_ESC_DECL}<{tag}{ns}>{text}</{tag}>".encode()
            else:
                resp.body = self._document(shape, result, tag)
            resp.headers["content-type"] = "application/xml"
        if resp.status == 200 and op.http.get("method") == "DELETE" and not resp.body and resp.stream is None:
            resp.status = 204   # a DELETE that answers nothing answers 204 No Content
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
        kind = shape.type_name
        if kind == "timestamp":
            return format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822"))
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "list":
            return ",".join(self._header_text(shape.member, v) for v in value if v is not None)
        if kind == "string" and shape.serialization.get("jsonvalue"):
            return base64.b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")
        if kind == "string":
            return header_safe(value if isinstance(value, str) else str(value))
        return scalar_text(shape, value)

    def code_for(self, err: AWSError) -> tuple[str, int]:
        return error_codes.resolve(err, error_codes.REST_XML_PARAM, error_codes.REST_XML_AUTH)

    def error(self, err: AWSError, request_id: str) -> WireResponse:
        """S3's envelope: ``<Error><Code/><Message/>…extra…<RequestId/><HostId/></Error>``.

        ``err.extra`` (a dict, optional) adds fields such as ``BucketName`` or ``Key``."""
        code, status = self.code_for(err)
        if status == 304:  # Not Modified has no body (RFC 9110 §15.4.5): only the headers the error carries
            return WireResponse(304, dict(getattr(err, "headers", None) or {}))
        extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in (getattr(err, "extra", None) or {}).items()
                        if isinstance(k, str) and _XML_NAME.match(k) and v is not None)
        body = (f"{XML_ESC_DECL}<Error><Code>{escape(code)}</Code><Message>{escape(err.message)}</Message>"
                f"{extra}<RequestId>{escape(request_id)}</RequestId><HostId>{escape(request_id)}</HostId></Error>")
        return WireResponse(status, {"content-type": "application/xml"}, body.encode("utf-8"))


# -- helpers -----------------------------------------------------------------------------------------

def _model_namespace(service: ServiceModel) -> str:
    """The XML namespace the model's own payload shapes declare (S3 states it there, not in metadata)."""
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        payload = shape.serialization.get("payload") if shape is not None else None
        ns = shape.members[payload].serialization.get("xmlNamespace") if shape is not None and payload else None
        if isinstance(ns, dict) and ns.get("uri") and not ns.get("prefix"):
            return str(ns["uri"])
        if isinstance(ns, str) and ns:
            return ns
    return ""


def _read_xml(shape: Any, body: bytes, root_tag: str | None) -> Any:
    """The body read as ``shape``; its root element must be the one the model names (any namespace)."""
    root = parse_document(body)
    if root_tag and root.tag.rsplit("}", 1)[-1] != root_tag:
        raise MalformedXML()
    return element_to_value(shape, root)


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The first value of each query key (a repeated key keeps the value a client put first)."""
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def split_header_list(text: str) -> list[str]:
    """Items of a comma-separated header list; items may be double-quoted with ``\\"`` escapes."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1
            items.append("".join(buf))
            while i < n and text[i] != ",":
                i += 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            items.append(text[i:end].strip())
            i = end
        i += 1  # the comma
    return items


def header_safe(text: str) -> str:
    """A header value: printable ASCII as is, anything else as an RFC 2047 encoded word (as S3 does)."""
    if _HEADER_SAFE.match(text) and text == text.strip():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii") + "?="
