"""Talking to object nodes: stream a PUT to every primary at once, succeed at write quorum; read
one replica and fail over to the next.

The body is never held whole: each replica has a small bounded queue fed by one pump, so the
slowest live replica sets the pace and a dead one is dropped without stalling the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from . import nodeauth
from .ring import Device

log = logging.getLogger("overcast.objects")
QUEUE_DEPTH = 8


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
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0),
                                      limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

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
                headers["Content-Length"] = str(expect_size)
            replica.task = asyncio.create_task(self._send(replica, path, headers))
            replica.task.add_done_callback(replica.on_done)
        md5, sha, size = hashlib.md5(), hashlib.sha256(), 0
        try:
            async for chunk in source:
                if not chunk:
                    continue
                md5.update(chunk)
                sha.update(chunk)
                size += len(chunk)
                for replica in replicas:
                    if not replica.dead:
                        await replica.queue.put(chunk)
                if all(r.dead for r in replicas):
                    break
            for replica in replicas:
                if not replica.dead:
                    await replica.queue.put(None)
        except BaseException:
            for replica in replicas:
                if replica.task is not None:
                    replica.task.cancel()
            await asyncio.gather(*(r.task for r in replicas if r.task), return_exceptions=True)
            await self.delete(devices, partition, name)
            raise
        results = await asyncio.gather(*(r.task for r in replicas if r.task), return_exceptions=True)
        digest = md5.hexdigest()
        good = []
        for replica, result in zip(replicas, results, strict=True):
            if isinstance(result, dict) and result.get("md5") == digest and result.get("size") == size:
                good.append(replica.device)
            else:
                log.warning("replica %s of %s failed: %r", replica.device.name, name, result)
        if len(good) < quorum:
            await self.delete(devices, partition, name)
            raise QuorumError(f"{len(good)} of {len(replicas)} replicas stored the object (quorum {quorum})")
        bad = [r.device for r in replicas if r.device not in good]
        if bad:
            await self.delete(bad, partition, name)
        return Written(digest, sha.hexdigest(), size, tuple(good))

    async def _send(self, replica: _Replica, path: str, headers: dict[str, str]) -> dict[str, Any]:
        resp = await self.http.put(replica.device.url + path, headers=headers, content=replica.body())
        if resp.status_code != 201:
            raise OSError(f"{replica.device.name}: PUT answered {resp.status_code} {resp.text[:200]}")
        data: dict[str, Any] = resp.json()
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
            request = self.http.build_request("GET", device.url + path, headers=headers)
            try:
                resp = await self.http.send(request, stream=True)
            except httpx.HTTPError as err:
                errors.append(f"{device.name}: {err!r}")
                continue
            if resp.status_code not in (200, 206) or resp.headers.get("x-overcast-md5") != expected_md5:
                errors.append(f"{device.name}: {resp.status_code} md5={resp.headers.get('x-overcast-md5')}")
                await resp.aclose()
                continue
            return self._stream(resp)
        raise ReplicaUnavailable("; ".join(errors) or "no replicas")

    @staticmethod
    async def _stream(resp: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.aiter_raw():
                yield chunk
        finally:
            await resp.aclose()

    async def delete(self, devices: Sequence[Device], partition: int, name: str) -> int:
        """Best effort; the number of devices that confirmed."""
        path = self._path(partition, name)

        async def one(device: Device) -> bool:
            try:
                resp = await self.http.delete(device.url + path, headers=self._headers("DELETE", path))
                return resp.status_code in (200, 204, 404)
            except httpx.HTTPError:
                return False

        done = await asyncio.gather(*(one(d) for d in devices))
        return sum(done)

    async def aclose(self) -> None:
        await self.http.aclose()
