"""The gateway's HTTP/1.1 client for object nodes: against a real node process, and against tiny
asyncio servers for the edge cases (connections closed between requests, slow servers, chunked and
until-close responses, large streamed bodies)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from test_objectnode_server import SECRET, Node, write_secret

from overcast.core.objects import nodeauth
from overcast.core.objects.nodeclient import NodeHTTPClient, NodeHTTPError, NodeTimeout
from overcast.core.objects.replicas import ReplicaClient
from overcast.core.objects.ring import Device

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    base = tmp_path_factory.mktemp("nodeclient")
    running = Node(base / "root", write_secret(base / "secret")).start()
    yield running
    running.stop()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def signed(method: str, path: str) -> dict[str, str]:
    return nodeauth.sign(SECRET, method, path)


# -- against a real object node -------------------------------------------------------------------------
def test_put_get_delete_reuse_one_connection(node: Node) -> None:
    async def run() -> None:
        client = NodeHTTPClient(timeout=10)
        try:
            path = "/v1/objects/3/" + "a" * 32
            resp = await client.request("PUT", node.url + path, signed("PUT", path), b"hello")
            assert resp.status == 201
            assert b'"md5"' in await resp.read()
            resp = await client.request("GET", node.url + path, signed("GET", path))
            assert (resp.status, await resp.read()) == (200, b"hello")
            assert resp.headers["x-overcast-md5"] == hashlib.md5(b"hello").hexdigest()
            resp = await client.request("DELETE", node.url + path, signed("DELETE", path))
            assert resp.status == 204 and await resp.read() == b""
            resp = await client.request("GET", node.url + path, signed("GET", path))
            assert resp.status == 404
            await resp.read()
            assert len(client._idle[("127.0.0.1", node.port)]) == 1     # every request on one connection
        finally:
            await client.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("framed", [True, False], ids=["content-length", "chunked"])
def test_large_streamed_put_and_get(node: Node, framed: bool) -> None:
    data = bytes(range(256)) * (12 * MiB // 256) + b"tail"

    async def run() -> None:
        client = NodeHTTPClient(timeout=10)
        try:
            path = "/v1/objects/5/" + ("b" if framed else "c") * 32
            resp = await client.request("PUT", node.url + path, signed("PUT", path), pieces(data, 200_000),
                                        len(data) if framed else None)
            assert resp.status == 201, await resp.read()
            await resp.read()
            resp = await client.request("GET", node.url + path, signed("GET", path))
            digest, total, biggest = hashlib.sha256(), 0, 0
            async for chunk in resp.stream():
                digest.update(chunk)
                total += len(chunk)
                biggest = max(biggest, len(chunk))
            assert (total, digest.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())
            assert biggest <= MiB
        finally:
            await client.aclose()

    asyncio.run(run())


def test_streamed_body_not_matching_content_length_fails(node: Node) -> None:
    async def run() -> None:
        client = NodeHTTPClient(timeout=10)
        try:
            path = "/v1/objects/5/" + "d" * 32
            with pytest.raises(NodeHTTPError):
                await client.request("PUT", node.url + path, signed("PUT", path), pieces(b"x" * 10, 4), 11)
            with pytest.raises(NodeHTTPError):
                await client.request("PUT", node.url + path, signed("PUT", path), pieces(b"x" * 10, 4), 9)
            assert not client._idle.get(("127.0.0.1", node.port))
        finally:
            await client.aclose()

    asyncio.run(run())


def test_replica_client_roundtrip_with_a_dead_replica(node: Node) -> None:
    live = Device(1, "node1", node.url, "z1")
    dead = Device(2, "node2", "http://127.0.0.1:9", "z2")     # nothing listens on the discard port
    data = b"0123456789" * 300_000

    async def run() -> None:
        replicas = ReplicaClient(SECRET, timeout=10)
        try:
            written = await replicas.put([live, dead], 7, "e" * 32, pieces(data, 65536), 1, len(data))
            assert written.devices == (live,)
            assert written.md5 == hashlib.md5(data).hexdigest()
            assert written.sha256 == hashlib.sha256(data).hexdigest()
            assert written.size == len(data)
            body = b"".join([c async for c in await replicas.get([dead, live], 7, "e" * 32, written.md5)])
            assert body == data
            ranged = await replicas.get([live], 7, "e" * 32, written.md5, (5, 14))
            assert b"".join([c async for c in ranged]) == data[5:15]
            assert await replicas.delete([live, dead], 7, "e" * 32) == 1
        finally:
            await replicas.aclose()

    asyncio.run(run())


# -- against tiny asyncio servers -----------------------------------------------------------------------
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readexactly(2)
    return head[0], headers, body


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def test_server_closing_keep_alive_connection_between_requests() -> None:
    connections = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()          # keep-alive promised (HTTP/1.1, no Connection: close), then closed

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=5)
        try:
            for _ in range(3):
                resp = await client.request("GET", url + "/x")
                assert await resp.read() == b"ok"
                await asyncio.sleep(0.05)        # the close reaches the client: dropped before reuse
            resp = await client.request("GET", url + "/x")
            assert await resp.read() == b"ok"
            # no pause: the stale connection may be taken, and the request is retried on a new one
            resp = await client.request("DELETE", url + "/x")
            assert await resp.read() == b"ok"
            assert len(connections) == 5
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_stale_connection_retry_without_waiting() -> None:
    """The server closes right after answering; the next request finds the connection dead."""
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await read_request(reader)
        served += 1
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.transport.abort()

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=5)
        try:
            for _ in range(4):
                resp = await client.request("PUT", url + "/x", {}, b"body")
                assert resp.status == 204
            assert served == 4
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_connection_close_header_and_body_until_eof() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"z" * 300_000)
        await writer.drain()
        writer.close()

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=5)
        try:
            resp = await client.request("GET", url + "/x")
            assert await resp.read() == b"z" * 300_000
            assert not client._idle.get(resp._conn.key)
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_chunked_response_with_extensions_and_trailers_then_reuse() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                _, _, body = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5;ext=1\r\nhello\r\n1\r\n \r\n" + b"%x\r\n" % len(body) + body + b"\r\n"
                         b"0\r\nX-Trailer: yes\r\n\r\n")
            await writer.drain()

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=5)
        try:
            for word in (b"world", b"again", b"x" * 3 * MiB):
                resp = await client.request("POST", url + "/x", {}, pieces(word, 7000 if len(word) < 100 else MiB))
                assert await resp.read() == b"hello " + word
            assert connections == 1
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_slow_server_times_out_and_connection_is_not_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        line, _, _ = await read_request(reader)
        if "slow-head" in line:
            await asyncio.sleep(2)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        await writer.drain()
        if "slow-body" in line:
            await asyncio.sleep(2)
        writer.write(b"67890")
        await writer.drain()
        try:
            await read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=0.3)
        try:
            with pytest.raises(NodeTimeout):
                await client.request("GET", url + "/slow-head")
            resp = await client.request("GET", url + "/slow-body")
            with pytest.raises(NodeTimeout):
                await resp.read()
            resp = await client.request("GET", url + "/fast")
            assert await resp.read() == b"1234567890"
            assert connections == 3
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_connect_failure_and_abandoned_stream() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n" + b"q" * 4_000_000)
        await writer.drain()

    async def run() -> None:
        client = NodeHTTPClient(timeout=5, connect_timeout=1)
        with pytest.raises(NodeHTTPError):
            await client.request("GET", "http://127.0.0.1:9/x")
        server, url = await serve(handler)
        try:
            resp = await client.request("GET", url + "/x")
            stream = resp.stream()
            assert (await stream.__anext__()).startswith(b"q")
            await stream.aclose()                      # left half read: the connection is closed
            assert resp._conn.writer.is_closing()
            assert not client._idle.get(resp._conn.key)
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_server_answering_before_reading_the_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\nnope!!")
        await writer.drain()
        writer.write_eof()
        await asyncio.sleep(2)      # never reads the body: the client's send stalls, then gives up
        writer.close()

    async def run() -> None:
        server, url = await serve(handler)
        client = NodeHTTPClient(timeout=0.5)
        try:
            resp = await client.request("PUT", url + "/x", {}, pieces(b"y" * 8 * MiB, MiB), 8 * MiB)
            assert (resp.status, await resp.read()) == (403, b"nope!!")
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_closed_client_refuses(tmp_path: Path) -> None:
    async def run() -> None:
        client = NodeHTTPClient()
        await client.aclose()
        with pytest.raises(NodeHTTPError):
            await client.request("GET", "http://127.0.0.1:9/x")

    asyncio.run(run())
