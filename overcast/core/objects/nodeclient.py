"""A small keep-alive HTTP/1.1 client on asyncio streams, for the gateway's requests to object nodes.

Only what the node protocol needs: one pool of idle connections per ``host:port``; request bodies as
bytes (``Content-Length``) or an async iterator (``Content-Length`` when the caller gives the size,
else ``Transfer-Encoding: chunked``); responses whose body is read whole or streamed (Content-Length,
chunked, or until the connection closes); a timeout on connecting and on every socket read and write.

A connection returns to the pool only after its response was read to the end (and the server did not
ask to close it); anything else closes it.  An idle connection the server has closed is noticed and
dropped before reuse; a request without a streamed body that fails on a reused connection before any
answer arrived is retried once on a new one (the node closes keep-alive connections after a few idle
seconds, a race this covers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

READ_SIZE = 1024 * 1024          # at most this many bytes per streamed chunk
STREAM_LIMIT = 1024 * 1024       # StreamReader buffer (it reads ahead up to twice this)
MAX_HEAD = 64 * 1024             # status line + headers
IDLE_EXPIRY = 4.0                # seconds an idle connection is kept (uvicorn closes them after 5)
NO_BODY_STATUSES = frozenset({204, 304})


class NodeHTTPError(OSError):
    """The connection failed, timed out, or the server broke the protocol."""


class NodeTimeout(NodeHTTPError, TimeoutError):
    """No progress within the client's timeout."""


class _Connection:
    def __init__(self, key: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader, self.writer = reader, writer
        self.reused = False              # taken from the pool (it may have gone stale)
        self.answered = False            # a response head arrived on it (no retry after that)
        self.idle_since = 0.0

    def usable(self) -> bool:
        """Still open, nothing unread (a closed-by-peer connection shows EOF here)."""
        return not (self.writer.is_closing() or self.reader.at_eof() or self.reader._buffer)  # type: ignore[attr-defined]

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class NodeResponse:
    """Status and headers (names lower-case); the body is read with :meth:`read` or :meth:`stream`.
    Call :meth:`aclose` when done (a response read to its end has already let its connection go)."""

    def __init__(self, client: NodeHTTPClient, conn: _Connection, status: int, headers: dict[str, str],
                 length: int | None, chunked: bool, keep_alive: bool) -> None:
        self.status = status
        self.headers = headers
        self._client, self._conn = client, conn
        self._left = length              # bytes left of a Content-Length body (None: chunked / until EOF)
        self._chunked = chunked
        self._chunk_left = 0             # chunked: bytes left of the current chunk
        self._keep_alive = keep_alive
        self._done = length == 0
        if self._done:
            self._release()

    async def _read_line(self) -> bytes:
        line = await self._client._io(self._conn.reader.readuntil(b"\r\n"))
        return line[:-2]

    async def _next_chunk(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        if self._done:
            return b""
        reader = self._conn.reader
        if self._chunked:
            if self._chunk_left == 0:
                size_line = await self._read_line()
                try:
                    self._chunk_left = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise NodeHTTPError(f"bad chunk size {size_line[:40]!r}") from None
                if self._chunk_left < 0:
                    raise NodeHTTPError("bad chunk size")
                if self._chunk_left == 0:
                    while await self._read_line():    # trailers, up to the blank line
                        pass
                    self._finish()
                    return b""
            data = await self._client._io(reader.read(min(self._chunk_left, READ_SIZE)))
            if not data:
                raise NodeHTTPError("connection closed inside a chunk")
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and await self._client._io(reader.readexactly(2)) != b"\r\n":
                raise NodeHTTPError("chunk not followed by CRLF")
            return data
        if self._left is None:                        # delimited by the end of the connection
            data = await self._client._io(reader.read(READ_SIZE))
            if not data:
                self._keep_alive = False
                self._finish()
            return data
        data = await self._client._io(reader.read(min(self._left, READ_SIZE)))
        if not data:
            raise NodeHTTPError(f"connection closed with {self._left} bytes of the body unread")
        self._left -= len(data)
        if self._left == 0:
            self._finish()
        return data

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """The body piece by piece (closing the response at the end, on error, or when abandoned)."""
        try:
            while data := await self._next_chunk():
                yield data
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        pieces = []
        try:
            while data := await self._next_chunk():
                pieces.append(data)
        finally:
            await self.aclose()
        return b"".join(pieces)

    def _finish(self) -> None:
        self._done = True
        self._release()

    def _release(self) -> None:
        if self._keep_alive:
            self._client._put_idle(self._conn)
        else:
            self._conn.close()

    async def aclose(self) -> None:
        """Let the connection go: back to the pool when the body was read to its end, else closed."""
        if not self._done:
            self._done = True
            self._conn.close()


class NodeHTTPClient:
    def __init__(self, timeout: float = 30.0, connect_timeout: float = 3.0, max_idle_per_host: int = 32) -> None:
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    async def _io(self, operation: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await operation
        except TimeoutError:
            raise NodeTimeout(f"no progress in {self.timeout} s") from None
        except asyncio.IncompleteReadError as err:
            raise NodeHTTPError(f"connection closed early ({len(err.partial)} bytes read)") from None
        except asyncio.LimitOverrunError:
            raise NodeHTTPError("response head too long") from None
        except (OSError, EOFError) as err:
            if isinstance(err, NodeHTTPError):
                raise
            raise NodeHTTPError(f"{type(err).__name__}: {err}") from err

    # -- the pool -------------------------------------------------------------------------------------
    def _take_idle(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < IDLE_EXPIRY and conn.usable():
                conn.reused, conn.answered = True, False
                return conn
            conn.close()
        return None

    def _put_idle(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if self._closed or len(idle) >= self.max_idle_per_host or not conn.usable():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(key[0], key[1], limit=STREAM_LIMIT)
        except TimeoutError:
            raise NodeTimeout(f"connecting to {key[0]}:{key[1]} took more than {self.connect_timeout} s") from None
        except OSError as err:
            raise NodeHTTPError(f"connecting to {key[0]}:{key[1]}: {err}") from err
        return _Connection(key, reader, writer)

    # -- requests -------------------------------------------------------------------------------------
    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      body: bytes | AsyncIterator[bytes] | None = None,
                      content_length: int | None = None) -> NodeResponse:
        """Send the request and read the response head; the body is left to the caller (see
        :class:`NodeResponse`).  ``content_length`` frames a streamed ``body`` (else chunked)."""
        if self._closed:
            raise NodeHTTPError("client closed")
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"unsupported URL {url!r}")
        key = (parts.hostname, parts.port or 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        streamed = body is not None and not isinstance(body, bytes | bytearray)
        for name, value in (headers or {}).items():
            if name.lower() not in ("host", "content-length", "transfer-encoding", "connection"):
                head.append(f"{name}: {value}")
        if isinstance(body, bytes | bytearray):
            head.append(f"Content-Length: {len(body)}")
        elif body is not None:
            head.append(f"Content-Length: {content_length}" if content_length is not None
                        else "Transfer-Encoding: chunked")
        elif method in ("PUT", "POST"):
            head.append("Content-Length: 0")
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        while True:
            conn = self._take_idle(key) or await self._connect(key)
            try:
                return await self._exchange(conn, method, raw_head, body, content_length)
            except NodeHTTPError:
                conn.close()
                if conn.reused and not streamed and not conn.answered:
                    continue        # a stale keep-alive connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise

    async def _exchange(self, conn: _Connection, method: str, raw_head: bytes,
                        body: bytes | AsyncIterator[bytes] | None, content_length: int | None) -> NodeResponse:
        writer = conn.writer
        try:
            if isinstance(body, bytes | bytearray):
                writer.write(raw_head + body if len(body) < 65536 else raw_head)
                if len(body) >= 65536:
                    writer.write(body)
                await self._io(writer.drain())
            elif body is None:
                writer.write(raw_head)
                await self._io(writer.drain())
            else:
                await self._send_stream(conn, raw_head, body, content_length)
        except NodeHTTPError as err:
            # the node may have answered (and closed) before taking the whole body: prefer its answer
            if isinstance(body, bytes | bytearray) or body is None:
                raise
            try:
                response = await self._read_head(conn, method)
            except NodeHTTPError:
                raise err from None
            response._keep_alive = False
            return response
        return await self._read_head(conn, method)

    async def _send_stream(self, conn: _Connection, raw_head: bytes, body: AsyncIterator[bytes],
                           content_length: int | None) -> None:
        """The head goes out with the first piece of the body (one packet for a small body)."""
        writer, sent, pending = conn.writer, 0, raw_head
        async for chunk in body:
            if not chunk:
                continue
            sent += len(chunk)
            if content_length is not None and sent > content_length:
                raise NodeHTTPError(f"body longer than its Content-Length {content_length}")
            if content_length is None:
                pending += b"%x\r\n" % len(chunk)
            if len(chunk) < 65536:
                pending += chunk
            else:
                writer.write(pending)
                pending = b""
                writer.write(chunk)
            if content_length is None:
                pending += b"\r\n"
            if pending:
                writer.write(pending)
                pending = b""
            await self._io(writer.drain())
        if content_length is None:
            pending += b"0\r\n\r\n"
        elif sent != content_length:
            raise NodeHTTPError(f"body of {sent} bytes, Content-Length {content_length}")
        if pending:
            writer.write(pending)
            await self._io(writer.drain())

    async def _read_head(self, conn: _Connection, method: str) -> NodeResponse:
        raw = await self._io(conn.reader.readuntil(b"\r\n\r\n"))
        conn.answered = True
        if len(raw) > MAX_HEAD:
            raise NodeHTTPError("response head too long")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        status_parts = lines[0].split(" ", 2)
        if len(status_parts) < 2 or not status_parts[0].startswith("HTTP/1.") or not status_parts[1].isdigit():
            raise NodeHTTPError(f"bad status line {lines[0][:80]!r}")
        status = int(status_parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise NodeHTTPError(f"bad header line {line[:80]!r}")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        keep_alive = "close" not in headers.get("connection", "").lower() and status_parts[0] == "HTTP/1.1"
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length: int | None = None
        if method == "HEAD" or status in NO_BODY_STATUSES or 100 <= status < 200:
            length, chunked = 0, False
        elif not chunked and "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise NodeHTTPError(f"bad Content-Length {text[:40]!r}")
            length = int(text)
        elif not chunked:
            keep_alive = False      # read until the server closes
        return NodeResponse(self, conn, status, headers, length, chunked, keep_alive)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
