"""Talking to object nodes: stream a PUT to every primary at once, succeed at write quorum; read
one replica and fail over to the next.

The body is never held whole: each replica has a small bounded queue fed by one pump, so the
slowest live replica sets the pace and a dead one is dropped without stalling the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import nodeauth
from .nodeclient import NodeHTTPClient, NodeHTTPError
from .ring import Device

log = logging.getLogger("overcast.objects")
QUEUE_DEPTH = 8
HASH_BATCH = 1024 * 1024    # body bytes gathered before they are hashed in a worker thread


class QuorumError(Exception):
    """Fewer replicas than the write quorum stored the body."""


class ReplicaUnavailable(Exception):
    """No replica could serve a read."""


@dataclass(frozen=True)
class Written:
    md5: str
    sha256: str
    size: int
    devices: tuple[Device, ...]     # the replicas that hold a verified copy


class _Md5:
    """MD5 of a stream, off the event loop for all but small bodies: chunks gather into batches of
    :data:`HASH_BATCH` bytes, each hashed in a worker thread while the next one gathers."""

    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.running: asyncio.Future[None] | None = None

    async def update(self, chunk: bytes) -> None:
        self.pending.append(chunk)
        self.pending_size += len(chunk)
        if self.pending_size >= HASH_BATCH:
            batch = b"".join(self.pending)
            self.pending, self.pending_size = [], 0
            if self.running is not None:
                await self.running
            self.running = asyncio.get_running_loop().run_in_executor(None, self.md5.update, batch)

    async def hexdigest(self) -> str:
        if self.running is not None:
            await self.running
            self.running = None
        for chunk in self.pending:
            self.md5.update(chunk)
        self.pending, self.pending_size = [], 0
        return self.md5.hexdigest()

    async def cancel(self) -> None:
        if self.running is not None:
            await asyncio.gather(self.running, return_exceptions=True)


class _Replica:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_DEPTH)
        self.dead = False
        self.task: asyncio.Task[Any] | None = None

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.queue.get()
            if chunk is None:
                return
            yield chunk

    def on_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.drop()

    def drop(self) -> None:
        """Mark dead and free the queue, so a pump blocked on it carries on."""
        self.dead = True
        while not self.queue.empty():
            self.queue.get_nowait()


class ReplicaClient:
    def __init__(self, secret: bytes, timeout: float = 30.0) -> None:
        self.secret = secret
        self.http = NodeHTTPClient(timeout=timeout, connect_timeout=3.0)

    def _path(self, partition: int, name: str) -> str:
        return f"/v1/objects/{partition}/{name}"

    def _headers(self, method: str, path: str) -> dict[str, str]:
        return nodeauth.sign(self.secret, method, path)

    async def put(self, devices: Sequence[Device], partition: int, name: str, source: AsyncIterator[bytes],
                  quorum: int, expect_size: int | None = None) -> Written:
        """Stream ``source`` to every device; raises what ``source`` raises (after cleaning up) or
        :class:`QuorumError`."""
        path = self._path(partition, name)
        replicas = [_Replica(d) for d in devices]
        for replica in replicas:
            headers = self._headers("PUT", path)
            if expect_size is not None:
                headers["X-Overcast-Expect-Size"] = str(expect_size)
            replica.task = asyncio.create_task(self._send(replica, path, headers, expect_size))
            replica.task.add_done_callback(replica.on_done)
        md5, size = _Md5(), 0
        try:
            async for chunk in source:
                if not chunk:
                    continue
                await md5.update(chunk)
                size += len(chunk)
                for replica in replicas:
                    if not replica.dead:
                        await replica.queue.put(chunk)
                if all(r.dead for r in replicas):
                    break
            for replica in replicas:
                if not replica.dead:
                    await replica.queue.put(None)
            digest = await md5.hexdigest()
        except BaseException:
            for replica in replicas:
                if replica.task is not None:
                    replica.task.cancel()
            await md5.cancel()
            await asyncio.gather(*(r.task for r in replicas if r.task), return_exceptions=True)
            await self.delete(devices, partition, name)
            raise
        results = await asyncio.gather(*(r.task for r in replicas if r.task), return_exceptions=True)
        good, sha256 = [], ""
        for replica, result in zip(replicas, results, strict=True):
            if isinstance(result, dict) and result.get("md5") == digest and result.get("size") == size:
                good.append(replica.device)
                sha256 = sha256 or str(result.get("sha256", ""))   # the node hashed the same bytes
            else:
                log.warning("replica %s of %s failed: %r", replica.device.name, name, result)
        if len(good) < quorum:
            await self.delete(devices, partition, name)
            raise QuorumError(f"{len(good)} of {len(replicas)} replicas stored the object (quorum {quorum})")
        bad = [r.device for r in replicas if r.device not in good]
        if bad:
            await self.delete(bad, partition, name)
        return Written(digest, sha256, size, tuple(good))

    async def _send(self, replica: _Replica, path: str, headers: dict[str, str],
                    size: int | None) -> dict[str, Any]:
        resp = await self.http.request("PUT", replica.device.url + path, headers, replica.body(), size)
        text = await resp.read()
        if resp.status != 201:
            raise OSError(f"{replica.device.name}: PUT answered {resp.status} {text[:200]!r}")
        data: dict[str, Any] = json.loads(text)
        return data

    async def get(self, devices: Sequence[Device], partition: int, name: str, expected_md5: str,
                  byte_range: tuple[int, int] | None = None) -> AsyncIterator[bytes]:
        """The bytes of the first replica that answers with the expected checksum (failing over on
        errors before the first byte).  ``byte_range`` is inclusive (first, last)."""
        path = self._path(partition, name)
        errors = []
        for device in devices:
            headers = self._headers("GET", path)
            if byte_range is not None:
                headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            try:
                resp = await self.http.request("GET", device.url + path, headers)
            except NodeHTTPError as err:
                errors.append(f"{device.name}: {err!r}")
                continue
            if resp.status not in (200, 206) or resp.headers.get("x-overcast-md5") != expected_md5:
                errors.append(f"{device.name}: {resp.status} md5={resp.headers.get('x-overcast-md5')}")
                if resp.status in (200, 206):
                    await resp.aclose()         # a body we do not want: drop the connection
                else:
                    await resp.read()           # a short error answer: keep the connection
                continue
            return resp.stream()
        raise ReplicaUnavailable("; ".join(errors) or "no replicas")

    async def delete(self, devices: Sequence[Device], partition: int, name: str) -> int:
        """Best effort; the number of devices that confirmed."""
        path = self._path(partition, name)

        async def one(device: Device) -> bool:
            try:
                resp = await self.http.request("DELETE", device.url + path, self._headers("DELETE", path))
                await resp.read()
                return resp.status in (200, 204, 404)
            except NodeHTTPError:
                return False

        done = await asyncio.gather(*(one(d) for d in devices))
        return sum(done)

    async def aclose(self) -> None:
        await self.http.aclose()
