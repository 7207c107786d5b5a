"""ASGI middlewares (pure ASGI: no per-request task overhead)."""

from __future__ import annotations

import email.utils
import logging
from typing import Any

from overcast.core import ids

log = logging.getLogger("overcast.gateway")
Scope = dict[str, Any]

_LAST_RESORT = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InternalError</Code>'
                "<Message>We encountered an internal error. Please try again.</Message></Error></Errors>"
                "<RequestID>{rid}</RequestID></Response>")


class RequestIdMiddleware:
    """Gives every request an id (in ``scope['state']``) and every response its headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ids.request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_ids(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-amzn-requestid", rid.encode()), (b"x-amz-request-id", rid.encode()),
                            (b"x-amz-id-2", rid.encode()), (b"server", b"Overcast"),
                            (b"date", email.utils.formatdate(usegmt=True).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_ids)


class ErrorGuard:
    """Outermost guard: whatever escapes becomes an AWS ``InternalError`` (500), logged once."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            rid = scope.get("state", {}).get("request_id") or ids.request_id()
            log.exception("unhandled error in request %s", rid)
            if started:
                raise
            protocol = scope.get("state", {}).get("protocol")
            if protocol is not None:
                from overcast.core.errors import InternalError
                wire = protocol.error(InternalError("We encountered an internal error. Please try again."), rid)
                body, headers, status = wire.body, wire.headers, wire.status
            else:
                body, headers, status = _LAST_RESORT.format(rid=rid).encode(), {"content-type": "text/xml"}, 500
            await send({"type": "http.response.start", "status": status,
                        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]
                        + [(b"x-amzn-requestid", rid.encode()), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
