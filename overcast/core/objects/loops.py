"""What the object-storage background loops share: the Swift-style daemon base (``run_once`` for
tests, ``run_forever`` in a thread) and a small blocking client of the object nodes' internal API
(listings, HEAD, DELETE, quarantine, streaming copies).

The loops run in threads beside the gateway (replicator, sweeper) or inside a node process
(auditor), so everything here blocks; none of it is on a request path.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import nodeauth
from .ring import Device

log = logging.getLogger("overcast.objects.loops")

CHUNK_SIZE = 1024 * 1024
EXPECT_SIZE_HEADER = "X-Overcast-Expect-Size"


class Daemon:
    """A background loop: subclasses implement :meth:`run_once` (one full pass, returning what it
    did) and check :attr:`stopping` between units of work so a stop request is honoured quickly."""

    name = "daemon"

    def __init__(self) -> None:
        self.stopping = threading.Event()

    def run_once(self) -> Any:
        raise NotImplementedError

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """Wait ``interval`` seconds, run a pass, repeat, until ``stop`` is set.  A failing pass is
        logged and retried at the next interval; the loop never dies of it."""
        self.stopping = stop
        while not stop.wait(interval):
            try:
                result = self.run_once()
            except Exception:
                log.exception("%s pass failed", self.name)
                continue
            log.debug("%s pass: %s", self.name, result)

    def start(self, interval: float) -> DaemonThread:
        """Run :meth:`run_forever` in a daemon thread; ``stop()`` the handle to end it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(stop, interval), name=f"overcast-{self.name}",
                                  daemon=True)
        thread.start()
        return DaemonThread(thread, stop)


@dataclass(frozen=True)
class DaemonThread:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


class NodeError(Exception):
    """An object node did not answer, or answered with an unexpected status."""


class CorruptReplica(Exception):
    """A replica's bytes do not match the checksum and size recorded for them."""


@dataclass(frozen=True)
class Listed:
    """One replica in a node's partition listing."""

    md5: str
    size: int


class NodeClient:
    """Blocking calls to object nodes, signed with the node secret.  Thread-safe (one httpx.Client)."""

    def __init__(self, secret: bytes, timeout: float = 30.0) -> None:
        self.secret = secret
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=3.0),
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    def _signed(self, method: str, path: str) -> dict[str, str]:
        return nodeauth.sign(self.secret, method, path)

    def _call(self, method: str, device: Device, path: str, ok: tuple[int, ...]) -> httpx.Response:
        try:
            resp = self.http.request(method, device.url + path, headers=self._signed(method, path))
        except httpx.HTTPError as err:
            raise NodeError(f"{device.name}: {method} {path}: {err!r}") from err
        if resp.status_code not in ok:
            raise NodeError(f"{device.name}: {method} {path} answered {resp.status_code} {resp.text[:200]}")
        return resp

    def partitions(self, device: Device) -> list[int]:
        """The partitions that hold data on ``device``."""
        return [int(p) for p in self._call("GET", device, "/v1/partitions", (200,)).json()]

    def listing(self, device: Device, partition: int) -> dict[str, Listed]:
        doc = self._call("GET", device, f"/v1/partitions/{partition}", (200,)).json()
        return {name: Listed(str(rec["md5"]), int(rec["size"])) for name, rec in doc.items()}

    def created(self, device: Device, partition: int, name: str) -> float | None:
        """When the replica was written (node clock), or None if the node has no such replica."""
        resp = self._call("HEAD", device, f"/v1/objects/{partition}/{name}", (200, 404))
        if resp.status_code == 404:
            return None
        return float(resp.headers["x-overcast-created"])

    def delete(self, device: Device, partition: int, name: str) -> None:
        self._call("DELETE", device, f"/v1/objects/{partition}/{name}", (200, 204, 404))

    def quarantine(self, device: Device, partition: int, name: str) -> bool:
        """Set the replica aside on its node; False if it was not there."""
        resp = self._call("POST", device, f"/v1/quarantine/{partition}/{name}", (200, 404))
        return resp.status_code == 200

    def copy(self, source: Device, target: Device, partition: int, name: str, expected: Listed) -> None:
        """Stream a replica from ``source`` to ``target``, verified end to end.

        The last chunk is held back until the whole source has been read and its md5 and size
        match ``expected``: on a mismatch the upload is cut short, so the target's node aborts it
        and never installs bad bytes (raises :class:`CorruptReplica`).  The md5 the target
        reports for what it stored is checked too.
        """
        path = f"/v1/objects/{partition}/{name}"
        try:
            with self.http.stream("GET", source.url + path, headers=self._signed("GET", path)) as got:
                if got.status_code != 200:
                    raise NodeError(f"{source.name}: GET {path} answered {got.status_code}")
                if got.headers.get("x-overcast-md5") != expected.md5:
                    raise NodeError(f"{source.name}: {name} changed (md5 {got.headers.get('x-overcast-md5')})")
                headers = {**self._signed("PUT", path), EXPECT_SIZE_HEADER: str(expected.size),
                           "Content-Length": str(expected.size)}
                resp = self.http.put(target.url + path, headers=headers,
                                     content=_verified(got.iter_raw(CHUNK_SIZE), expected, source, name))
        except httpx.HTTPError as err:
            raise NodeError(f"copy of {name} {source.name} → {target.name}: {err!r}") from err
        if resp.status_code != 201:
            raise NodeError(f"{target.name}: PUT {path} answered {resp.status_code} {resp.text[:200]}")
        stored = resp.json()
        if stored.get("md5") != expected.md5 or stored.get("size") != expected.size:
            self.delete(target, partition, name)
            raise NodeError(f"{target.name}: stored {name} as {stored}, expected {expected}")

    def close(self) -> None:
        self.http.close()


def _verified(chunks: Iterator[bytes], expected: Listed, source: Device, name: str) -> Iterator[bytes]:
    md5, size, pending = hashlib.md5(), 0, b""
    for chunk in chunks:
        if not chunk:
            continue
        md5.update(chunk)
        size += len(chunk)
        if size > expected.size:
            break
        if pending:
            yield pending
        pending = chunk
    if size != expected.size or md5.hexdigest() != expected.md5:
        raise CorruptReplica(f"{source.name}: replica {name} has md5 {md5.hexdigest()} and {size} bytes, "
                             f"its record says {expected.md5} and {expected.size}")
    if pending:
        yield pending
