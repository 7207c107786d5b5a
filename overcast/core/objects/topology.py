"""Where the object nodes are: the ring file, kept in step with the configured nodes, and the
node secret.  Readers reload the ring when the file changes (``RingFile``)."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ServiceUnavailable
from .ring import Ring
from .ring_builder import RingBuilder


@dataclass(frozen=True)
class NodeSpec:
    name: str
    url: str
    zone: str
    root: Path
    port: int


def ensure_ring(path: Path, nodes: list[NodeSpec], replicas: int = 3, partition_power: int = 10) -> Ring:
    """The ring at ``path`` updated to exactly ``nodes`` (adds, removes, moves URLs; minimal movement)."""
    if path.exists():
        ring = Ring.load(path)
        builder = RingBuilder.from_ring(ring)
        current = {d.name: d for d in ring.devices}
        changed = False
        for node in nodes:
            if node.name not in current:
                builder.add_device(node.name, node.url, node.zone)
                changed = True
            elif current[node.name].url != node.url:
                builder.set_url(node.name, node.url)
                changed = True
        for name in set(current) - {n.name for n in nodes}:
            builder.remove_device(name)
            changed = True
        if not changed:
            return ring
    else:
        builder = RingBuilder(partition_power, replicas)
        for node in nodes:
            builder.add_device(node.name, node.url, node.zone)
    ring = builder.rebalance()
    ring.save(path)
    return ring


def ensure_secret(path: Path) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path


class RingFile:
    """The current ring from ``path``, reloaded when the file is replaced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._ring: Ring | None = None

    def __call__(self) -> Ring:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ServiceUnavailable("Object storage is not configured on this endpoint (no ring).") from None
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp or self._ring is None:
            with self._lock:
                self._ring, self._stamp = Ring.load(self.path), stamp
        return self._ring
