"""The auditor of one object node: reads every replica, recomputes its md5 and size against its
``.meta`` record, and quarantines replicas that do not match (bit rot, truncation) or whose
metadata no longer describes their data, so the replicator restores them from a good copy.

It runs in the node process (``--audit-interval``), reading at most ``bytes_per_second`` so it
does not starve the node's clients.  A replica replaced while it was being read (the replicator
repairing it) is left alone: only the file that was actually read is quarantined.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from ...core.objects.loops import Daemon
from .store import CHUNK_SIZE, NAME_RE, ObjectStore

log = logging.getLogger("overcast.objectnode.auditor")

DEFAULT_BYTES_PER_SECOND = 10 * 1024 * 1024


@dataclass
class AuditStats:
    replicas: int = 0        # replicas read
    bytes: int = 0           # bytes read
    quarantined: int = 0     # replicas set aside


class RateLimiter:
    """Sleeps so that the bytes reported through :meth:`spent` average at most ``rate`` per second
    (0: no limit).  ``wait`` is how it sleeps (an Event's wait, so a stop ends the sleep)."""

    def __init__(self, rate: float, wait: Callable[[float], object], clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.wait = wait
        self.clock = clock
        self.start = clock()
        self.done = 0

    def spent(self, nbytes: int) -> None:
        if self.rate <= 0:
            return
        now = self.clock()
        if self.done / self.rate - (now - self.start) < -1.0:
            self.start, self.done = now, 0          # idle for a while: do not bank the unused budget
        self.done += nbytes
        ahead = self.done / self.rate - (now - self.start)
        if ahead > 0:
            self.wait(ahead)


class Auditor(Daemon):
    name = "auditor"

    def __init__(self, store: ObjectStore, bytes_per_second: float = DEFAULT_BYTES_PER_SECOND) -> None:
        super().__init__()
        self.store = store
        self.bytes_per_second = bytes_per_second

    def run_once(self) -> AuditStats:
        stats = AuditStats()
        limiter = RateLimiter(self.bytes_per_second, self.stopping.wait)
        for partition in self.store.partitions():
            for name in self._data_names(partition):
                if self.stopping.is_set():
                    return stats
                self.audit(partition, name, stats, limiter)
        return stats

    def _data_names(self, partition: int) -> list[str]:
        try:
            files = os.listdir(self.store.partition_dir(partition))
        except FileNotFoundError:
            return []
        names = (f[: -len(".data")] for f in files if f.endswith(".data"))
        return sorted(n for n in names if NAME_RE.fullmatch(n))

    def audit(self, partition: int, name: str, stats: AuditStats, limiter: RateLimiter | None = None) -> bool:
        """Check one replica; True if it is sound (or gone), False if it was quarantined."""
        reader = self.store.open(partition, name)
        if reader is None:
            # data without metadata that describes it: unreadable, so useless; set it aside
            if os.path.lexists(self.store.data_path(partition, name)):
                return not self._quarantine(partition, name, None, "no metadata matches its data", stats)
            return True
        with reader:
            inode = os.fstat(reader.fd).st_ino
            md5, size = hashlib.md5(), 0
            for chunk in reader.chunks(chunk_size=CHUNK_SIZE):
                md5.update(chunk)
                size += len(chunk)
                if limiter is not None:
                    limiter.spent(len(chunk))
                if self.stopping.is_set():
                    return True
            stats.replicas += 1
            stats.bytes += size
            if size == reader.info.size and md5.hexdigest() == reader.info.md5:
                return True
            why = f"md5 {md5.hexdigest()} / {size} bytes, recorded {reader.info.md5} / {reader.info.size}"
        return not self._quarantine(partition, name, inode, why, stats)

    def _quarantine(self, partition: int, name: str, inode: int | None, why: str, stats: AuditStats) -> bool:
        if inode is not None:
            try:
                if os.stat(self.store.data_path(partition, name)).st_ino != inode:
                    return False        # replaced while we read it (a repair): audit it next pass
            except FileNotFoundError:
                return False
        moved = self.store.quarantine(partition, name)
        if moved is None:
            return False
        stats.quarantined += 1
        log.warning("auditor: quarantined %s/%s (%s) as %s", partition, name, why, moved)
        return True
