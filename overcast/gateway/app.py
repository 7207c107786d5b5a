"""The AWS endpoint: one ASGI app for every service.

request → error guard → request id → endpoint: route to a service, read the body (query
protocols), authenticate (SigV4), parse with the service's codec, call the handler in a worker
thread, serialize.  Handlers never see HTTP.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from overcast.core.cloud import Cloud
from overcast.core.context import RequestContext
from overcast.core.errors import (
    AuthError,
    AWSError,
    DryRunOperation,
    InternalError,
    InvalidAction,
    MissingAction,
    NotYetImplemented,
    ParamError,
)

from . import payload, sigv4
from .codecs.query_family import Ec2Protocol, form_pairs
from .codecs.wire import WireRequest, WireResponse
from .middleware import ErrorGuard, RequestIdMiddleware
from .routing import Router
from .services import Service

log = logging.getLogger("overcast.gateway")
MAX_QUERY_BODY = 16 * 1024 * 1024
_SIG_KINDS = {"malformed": "malformed", "incomplete": "incomplete", "mismatch": "mismatch", "expired": "expired",
              "skewed": "skewed", "unsupported": "unsupported"}


# Optional hooks of a rest-xml service's handler table (``handlers.hooks``), called with (ctx, dict) like
# handlers: ``preflight`` answers OPTIONS requests (the headers of a 200), ``response_headers`` adds
# headers to every successful answer.
PREFLIGHT_HOOK = "preflight"
RESPONSE_HEADERS_HOOK = "response_headers"


async def _call(handler: Any, ctx: RequestContext, params: dict[str, Any]) -> Any:
    """A handler or hook: awaited on the event loop when async, else run in a worker thread."""
    if inspect.iscoroutinefunction(handler):
        return await handler(ctx, params)
    return await run_in_threadpool(handler, ctx, params)


class BodyTooLarge(ParamError):
    def __init__(self) -> None:
        super().__init__("range", "", "The request body is too large.")


def _headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


class Endpoint:
    def __init__(self, cloud: Cloud, services: dict[str, Service]) -> None:
        self.cloud = cloud
        self.router = Router(services, cloud.config.domain)
        self.max_skew = timedelta(seconds=cloud.config.max_clock_skew_seconds)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """As a plain ASGI app the route takes every method: even an unknown one gets an AWS error body."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        scope = request.scope
        rid: str = scope["state"]["request_id"]
        headers = _headers(scope)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        parts = sigv4.RequestParts(request.method, raw_path, raw_query, headers)
        query = parse_qsl(raw_query, keep_blank_values=True)
        wire = WireRequest(request.method, unquote(raw_path), query, headers, b"", headers.get("host", ""))
        service: Service | None = None
        try:
            auth_error: AWSError | None = None
            try:
                auth = sigv4.parse(parts)
            except sigv4.SigV4Error as err:
                auth, auth_error = None, AuthError(_SIG_KINDS.get(err.kind, "malformed"), err.message)
            service, body_read = await self._route(request, auth, wire)
            scope["state"]["protocol"] = service.protocol
            if service.model.metadata["protocol"] != "rest-xml" and not body_read:
                wire.body = await self._read_body(request)  # once the service is known: its errors, its format
            if auth_error is not None:
                raise auth_error
            if service.model.metadata["protocol"] == "rest-xml":
                result = await self._handle_rest(request, service, parts, auth, wire, rid)
            else:
                result = await run_in_threadpool(self._handle_query, service, parts, auth, wire, rid)
        except AWSError as err:
            result = self._error(service, err, rid)
        except Exception:
            log.exception("request %s failed", rid)
            result = self._error(service, InternalError("We encountered an internal error. Please try again."), rid)
        if scope["state"].get("body_pending"):
            result.headers["connection"] = "close"
        return self._respond(result, request.method)

    async def _route(self, request: Request, auth: sigv4.SigV4Auth | None,
                     wire: WireRequest) -> tuple[Service, bool]:
        """The service, and whether the body was read already (to find the service in a form body)."""
        if auth is not None:
            service = self.router.by_scope(auth.service)
            if service is None:
                raise NotYetImplemented(f"Overcast does not serve the service '{auth.service}'.")
            return service, False
        hinted = self.router.by_scope(self.router.scope_hint(wire.headers.get("authorization", ""), wire.query))
        if hinted is not None:  # a broken signature still names its service: answer in that service's format
            return hinted, False
        service = self.router.by_params(wire.query)
        if service is None and request.method == "POST" and wire.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            wire.body = await self._read_body(request)
            request.scope["state"]["body_read"] = True
            pairs = form_pairs(wire)
            form = dict(pairs)
            service = self.router.by_params(pairs)
            if service is None and "Action" in form:
                raise InvalidAction(f"The action {form['Action'][:64]} is not valid for this web service.")
            if service is not None:
                return service, True
        if service is None:
            s3 = self.router.s3
            if s3 is None:
                raise InvalidAction("Could not determine the service for this request.")
            return s3, False
        return service, False

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_QUERY_BODY:
            raise BodyTooLarge()
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_QUERY_BODY:
                raise BodyTooLarge()
            chunks.append(chunk)
        return b"".join(chunks)

    # -- query-family services (EC2, STS, CloudFormation): runs in a worker thread ----------------------
    def _handle_query(self, service: Service, parts: sigv4.RequestParts, auth: sigv4.SigV4Auth | None,
                      wire: WireRequest, rid: str) -> WireResponse:
        protocol = service.protocol
        pairs = form_pairs(wire)
        action = None
        for key, value in pairs:
            if key == "Action":
                action = value
        caller, region = self._authenticate(service, parts, auth, wire.body)
        if not action:
            raise MissingAction("The request must contain the parameter Action")
        if action not in service.model.operation_names:
            raise InvalidAction(f"The action {action[:64]} is not valid for this web service.")
        op = service.model.operation_model(action)
        params = protocol.parse(op, wire, pairs)
        handler = service.handlers.get(action)
        if handler is None:
            if isinstance(protocol, Ec2Protocol):
                raise AWSError(f"The operation {action} is not supported by Overcast yet.", code="UnsupportedOperation")
            raise NotYetImplemented(f"The operation {action} is not supported by Overcast yet.")
        if params.get("DryRun") is True:
            raise DryRunOperation()
        ctx = RequestContext(self.cloud, caller, region, rid, action)
        return protocol.serialize(op, handler(ctx, params), rid)

    # -- rest-xml services (S3): the body is never read here; S3 streams it ----------------------------
    async def _handle_rest(self, request: Request, service: Service, parts: sigv4.RequestParts,
                           auth: sigv4.SigV4Auth | None, wire: WireRequest, rid: str) -> WireResponse:
        bucket = self.router.bucket_from_host(wire.host)
        path = f"/{bucket}{wire.path}" if bucket else wire.path
        caller, region = None, self.cloud.config.default_region
        hooks: dict[str, Any] = getattr(service.handlers, "hooks", {})
        preflight = hooks.get(PREFLIGHT_HOOK)
        if request.method == "OPTIONS" and preflight is not None:   # CORS preflight: never signed
            ctx = RequestContext(self.cloud, None, region, rid, PREFLIGHT_HOOK)
            return WireResponse(200, await _call(preflight, ctx, {"Path": path, "Headers": wire.headers}))
        found = service.protocol.find_operation(wire, path)
        if auth is not None:
            if not auth.presigned and auth.content_sha256 is None:
                raise AWSError("Missing required header for this request: x-amz-content-sha256", code="InvalidRequest")
            caller, region = await run_in_threadpool(self._authenticate, service, parts, auth, None)
        if found is None:
            raise AWSError("The specified method is not allowed against this resource.", code="MethodNotAllowed",
                           status=405)
        op, labels = found
        handler = service.handlers.get(op.name)
        if handler is None:
            raise NotYetImplemented(f"The operation {op.name} is not supported by Overcast yet.")
        body: AsyncIterator[bytes] | None = None
        if service.protocol.streams_payload(op):
            request.scope["state"]["body_pending"] = True   # until the handler has read it all
            key = None
            if auth is not None and auth.content_sha256 in payload.SIGNED_STREAMING_VALUES:
                _, secret = await run_in_threadpool(self.cloud.identity.authenticate, auth.access_key,
                                                    auth.security_token)   # cached: checked just above
                key = payload.StreamingKey(sigv4.signing_key(secret, auth.scope_date, auth.region, auth.service))
            body = payload.request_body(payload.from_request(request), wire.headers, auth, key)
            wire.headers = payload.decoded_headers(wire.headers)   # decoded Content-Length, no aws-chunked
        else:
            if not request.scope["state"].get("body_read"):   # read already while looking for an Action
                wire.body = await self._read_body(request)
            if auth is not None and auth.content_sha256:
                await run_in_threadpool(sigv4.payload_hash, parts, auth, wire.body)  # checks a hex digest
            if op.http_checksum.get("requestAlgorithmMember"):   # x-amz-checksum-* is this body's
                payload.verify_whole(wire.headers, wire.body)
        params = service.protocol.parse(op, wire, labels)
        client = request.client
        ctx = RequestContext(self.cloud, caller, region, rid, op.name, body=body,
                             source_ip=client.host if client is not None else None,
                             secure_transport=request.url.scheme == "https")
        response = service.protocol.serialize(op, await _call(handler, ctx, params), rid)
        decorate = hooks.get(RESPONSE_HEADERS_HOOK)
        if decorate is not None:   # headers that depend on the request, not the operation (S3: CORS)
            response.headers.update(await _call(decorate, ctx, {"Method": request.method, "Headers": wire.headers,
                                                                "Params": params}))
        return response

    def _authenticate(self, service: Service, parts: sigv4.RequestParts, auth: sigv4.SigV4Auth | None,
                      body: bytes | None) -> tuple[Any, str]:
        """Verify the signature; ``body`` is None for streamed payloads (the claimed hash is signed)."""
        if auth is None:
            raise AuthError("missing", "Request is missing Authentication Token")
        caller, secret = self.cloud.identity.authenticate(auth.access_key, auth.security_token)
        now = datetime.now(UTC)
        try:
            sigv4.verify(parts, auth, secret, sigv4.payload_hash(parts, auth, body), now, self.max_skew)
        except sigv4.SigV4Error as err:
            if err.code and service.model.metadata["protocol"] == "rest-xml":
                raise AWSError(err.message, code=err.code) from None
            raise AuthError(_SIG_KINDS.get(err.kind, "mismatch"), err.message) from None
        region = auth.region
        if not service.global_service and self.cloud.config.region(region) is None:
            raise AuthError("unknown_key", f"The region '{region}' is not served by this endpoint.")
        return caller, region if self.cloud.config.region(region) else self.cloud.config.default_region

    # -- responses -----------------------------------------------------------------------------------
    def _error(self, service: Service | None, err: AWSError, rid: str) -> WireResponse:
        protocol = service.protocol if service is not None else Ec2Protocol("")
        return protocol.error(err, rid)

    @staticmethod
    def _respond(result: WireResponse, method: str) -> Response:
        headers = dict(result.headers)
        if result.stream is not None:
            return StreamingResponse(result.stream, result.status, headers)
        body = b"" if method == "HEAD" else result.body
        return Response(body, result.status, headers)


def create_app(cloud: Cloud, services: dict[str, Service] | None = None) -> Starlette:
    if services is None:
        from .services import default_services
        services = default_services()
    endpoint = Endpoint(cloud, services)
    return Starlette(routes=[Route("/{path:path}", endpoint)],
                     middleware=[Middleware(ErrorGuard), Middleware(RequestIdMiddleware)])
