"""The object node's internal HTTP API: a small Starlette app over an :class:`ObjectStore`.

Every route but ``/healthz`` needs the node signature of :mod:`overcast.core.objects.nodeauth`.
Bodies stream in both directions in chunks of at most 1 MiB; file IO runs in worker threads.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Sequence
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...core.objects import nodeauth
from .auditor import DEFAULT_BYTES_PER_SECOND as DEFAULT_AUDIT_RATE
from .auditor import Auditor
from .store import (
    CHUNK_SIZE,
    InvalidReplicaName,
    ObjectStore,
    ReplicaReader,
    SizeMismatch,
    check_name,
    is_out_of_space,
    parse_partition,
)

log = logging.getLogger("overcast.objectnode")

EXPECT_SIZE_HEADER = "x-overcast-expect-size"
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
UNAUTHENTICATED_PATHS = frozenset({"/healthz"})


def _error(status: int, code: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, **extra}, status_code=status)


class NodeAuth:
    """Rejects requests that do not carry a fresh signature of their method and raw path."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in UNAUTHENTICATED_PATHS:
            raw_path = scope.get("raw_path") or scope["path"].encode()
            path = raw_path.decode("latin-1").split("?", 1)[0]
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if not nodeauth.verify(self.secret, scope["method"], path, headers):
                await _error(403, "auth")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ReplicaResponse(Response):
    """Streams [start, end) of an open replica, closing it at the end or on disconnect."""

    def __init__(self, reader: ReplicaReader, start: int, end: int, status_code: int,
                 headers: dict[str, str]) -> None:
        super().__init__(status_code=status_code, headers=headers, media_type="application/octet-stream")
        self.reader, self.start, self.end = reader, start, end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_disconnect)
                await self._send_body(send)
                group.cancel_scope.cancel()
        finally:
            self.reader.close()

    async def _send_body(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        pos = self.start
        if pos >= self.end:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        while pos < self.end:
            data = await run_in_threadpool(self.reader.read, pos, min(CHUNK_SIZE, self.end - pos))
            if not data:
                # uvicorn logs this and drops the connection: the client sees a short body
                raise RuntimeError(f"replica shorter than its metadata ({pos} of {self.end} bytes)")
            pos += len(data)
            await send({"type": "http.response.body", "body": data, "more_body": pos < self.end})


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``Range: bytes=…`` as [start, end); None when unsatisfiable; ValueError when malformed."""
    match = RANGE_RE.fullmatch(value.strip())
    if not match or match.group(1) == match.group(2) == "":
        raise ValueError(f"malformed range {value[:60]!r}")
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return None
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        raise ValueError(f"malformed range {value[:60]!r}")
    if start >= size:
        return None
    end = size if last == "" else min(size, int(last) + 1)
    return start, end


class NodeApp:
    """The routes, bound to one store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def _target(self, request: Request) -> tuple[int, str]:
        return parse_partition(request.path_params["partition"]), check_name(request.path_params["name"])

    async def healthz(self, request: Request) -> Response:
        free = await run_in_threadpool(self.store.free_bytes)
        return JSONResponse({"ok": True, "root": str(self.store.root), "free_bytes": free})

    async def object(self, request: Request) -> Response:
        partition, name = self._target(request)
        if request.method == "PUT":
            return await self._put(request, partition, name)
        if request.method == "DELETE":
            await run_in_threadpool(self.store.delete, partition, name)
            return Response(status_code=204)
        return await self._get(request, partition, name)

    async def _put(self, request: Request, partition: int, name: str) -> Response:
        expect_size: int | None = None
        if EXPECT_SIZE_HEADER in request.headers:
            text = request.headers[EXPECT_SIZE_HEADER].strip()
            if not text.isdigit():
                return _error(400, "expect-size")
            expect_size = int(text)
        writer = self.store.writer(partition, name)
        try:
            buffer = bytearray()
            async for chunk in request.stream():
                buffer += chunk
                if expect_size is not None and writer.size + len(buffer) > expect_size:
                    writer.abort()
                    return _error(400, "size", expected=expect_size)
                if len(buffer) >= CHUNK_SIZE:
                    full, buffer = buffer, bytearray()
                    await run_in_threadpool(writer.write, full)
            info = await run_in_threadpool(writer.commit, buffer, expect_size)
        except SizeMismatch:
            return _error(400, "size", expected=expect_size)
        except ClientDisconnect:
            writer.abort()
            return _error(400, "disconnected")
        except BaseException:
            writer.abort()
            raise
        return JSONResponse(info.to_json(), status_code=201)

    async def _get(self, request: Request, partition: int, name: str) -> Response:
        reader = await run_in_threadpool(self.store.open, partition, name)
        if reader is None:
            return _error(404, "not-found")
        info = reader.info
        headers = {"X-Overcast-MD5": info.md5, "X-Overcast-SHA256": info.sha256, "Accept-Ranges": "bytes",
                   "X-Overcast-Created": f"{info.created:.6f}"}
        start, end, status = 0, info.size, 200
        if "range" in request.headers:
            try:
                span = parse_range(request.headers["range"], info.size)
            except ValueError:
                reader.close()
                return _error(400, "range")
            if span is None:
                reader.close()
                return Response(status_code=416, headers={"Content-Range": f"bytes */{info.size}"})
            start, end, status = span[0], span[1], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
        headers["Content-Length"] = str(end - start)
        if request.method == "HEAD":
            reader.close()
            return Response(status_code=status, headers=headers, media_type="application/octet-stream")
        return ReplicaResponse(reader, start, end, status, headers)

    async def partitions(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.store.partitions))

    async def partition(self, request: Request) -> Response:
        partition = parse_partition(request.path_params["partition"])
        replicas = await run_in_threadpool(self.store.list_partition, partition)
        return JSONResponse({name: {"md5": info.md5, "size": info.size} for name, info in replicas.items()})

    async def quarantine(self, request: Request) -> Response:
        partition, name = self._target(request)
        moved = await run_in_threadpool(self.store.quarantine, partition, name)
        if moved is None:
            return _error(404, "not-found")
        return JSONResponse({"quarantined": str(moved.relative_to(self.store.root))})


async def _invalid_name(request: Request, exc: Exception) -> Response:
    return _error(400, "invalid-name", detail=str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "no-route", 405: "method"}.get(exc.status_code, "http")
    return JSONResponse({"error": code}, status_code=exc.status_code, headers=exc.headers)


async def _os_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OSError)
    if is_out_of_space(exc):
        return _error(507, "no-space")
    log.error("IO error serving %s %s: %s", request.method, request.url.path, exc)
    return _error(500, "io")


def create_app(store: ObjectStore, secret: bytes) -> ASGIApp:
    """The node's ASGI app: signature check around the routes."""
    node = NodeApp(store)
    routes = [
        Route("/healthz", node.healthz, methods=["GET"]),
        Route("/v1/objects/{partition}/{name}", node.object, methods=["GET", "HEAD", "PUT", "DELETE"]),
        Route("/v1/partitions", node.partitions, methods=["GET"]),
        Route("/v1/partitions/{partition}", node.partition, methods=["GET"]),
        Route("/v1/quarantine/{partition}/{name}", node.quarantine, methods=["POST"]),
    ]
    handlers: dict[Any, Any] = {InvalidReplicaName: _invalid_name, HTTPException: _http_error, OSError: _os_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return NodeAuth(app, secret)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="overcast-objectnode", description="Overcast object node")
    parser.add_argument("--root", required=True, help="the data directory this node stores replicas in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret-file", required=True, help="file holding the shared node secret")
    parser.add_argument("--audit-interval", type=float, default=0.0,
                        help="seconds between auditor passes over every replica (default 0: no auditor)")
    parser.add_argument("--audit-bytes-per-second", type=int, default=DEFAULT_AUDIT_RATE,
                        help=f"the auditor's read rate limit (default {DEFAULT_AUDIT_RATE}; 0: unlimited)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s objectnode %(levelname)s %(message)s")
    secret = nodeauth.read_secret(args.secret_file)
    store = ObjectStore(args.root)
    removed = store.remove_stale_tmp()
    if removed:
        log.warning("removed %d stale temporary files from %s", removed, store.tmp_dir)
    config = uvicorn.Config(create_app(store, secret), host=args.host, port=args.port, log_level="warning",
                            access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    # uvicorn re-raises the signal that stopped it once it has shut down; make that a no-op so a
    # SIGINT/SIGTERM ends the process with status 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server = uvicorn.Server(config)
    auditor = Auditor(store, args.audit_bytes_per_second).start(args.audit_interval) if args.audit_interval > 0 else None
    try:
        server.run()
    finally:
        if auditor is not None:
            auditor.stop()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
