"""The sweeper: removes replica data that no committed metadata refers to, after a grace period.

Such data comes from uploads that died between the quorum write and the metadata commit, from
deletes (or overwrites) whose data delete did not reach every node, and from quorum failures whose
clean-up missed a node.  A pass walks every device's partitions; for each partition the names held
anywhere are checked in one batch against ``referenced`` (which names some metadata still uses),
and each unreferenced replica older than ``grace`` seconds (by its node's record) is deleted.

The grace period is what keeps an upload in flight safe: its replicas exist before its row is
committed, so ``grace`` must exceed the longest time between a replica landing and the commit
(the slowest replica of a PUT plus the database commit).  Tests on an idle cluster use 0.

``referenced`` is the only thing the sweeper knows about metadata.  :func:`stored_object_references`
covers plain objects (``objects.data_name``); multipart adds part data (of completed manifests and
of uploads in progress) by passing a callable that also checks its tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..models import StoredObject
from .loops import Daemon, NodeClient, NodeError
from .ring import Device, Ring

log = logging.getLogger("overcast.objects.sweeper")

DEFAULT_GRACE = 3600.0
QUERY_BATCH = 500

Referenced = Callable[[Iterable[str]], set[str]]


def stored_object_references(db: Database) -> Referenced:
    """``referenced`` for plain objects: the names among those given that ``objects.data_name`` holds."""

    def referenced(names: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(names))
        found: set[str] = set()
        with db.session() as s:
            for start in range(0, len(wanted), QUERY_BATCH):
                batch = wanted[start:start + QUERY_BATCH]
                found.update(s.scalars(select(StoredObject.data_name).where(StoredObject.data_name.in_(batch))))
        return found

    return referenced


def any_of(*checks: Referenced) -> Referenced:
    """A reference check that is the union of several (objects, multipart parts, …)."""

    def referenced(names: Iterable[str]) -> set[str]:
        pending = set(names)
        found: set[str] = set()
        for check in checks:
            if not pending:
                break
            hits = check(pending)
            found |= hits
            pending -= hits
        return found

    return referenced


@dataclass
class SweepStats:
    partitions: int = 0     # partitions examined
    replicas: int = 0       # replicas seen
    orphans: int = 0        # unreferenced replicas seen (swept or still in their grace period)
    removed: int = 0        # replicas deleted
    failed: int = 0         # node calls that failed (retried next pass)
    unreachable: int = 0    # devices that did not answer


class Sweeper(Daemon):
    name = "sweeper"

    def __init__(self, ring: Callable[[], Ring], nodes: NodeClient, referenced: Referenced,
                 grace: float = DEFAULT_GRACE, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.ring = ring
        self.nodes = nodes
        self.referenced = referenced
        self.grace = grace
        self.clock = clock

    def run_once(self) -> SweepStats:
        ring = self.ring()
        stats = SweepStats()
        holders: dict[int, list[Device]] = {}
        for device in ring.devices:
            try:
                for partition in self.nodes.partitions(device):
                    holders.setdefault(partition, []).append(device)
            except NodeError as err:
                log.warning("sweeper: %s", err)
                stats.unreachable += 1
        for partition in sorted(holders):
            if self.stopping.is_set():
                break
            self.sweep_partition(partition, holders[partition], stats)
            stats.partitions += 1
        return stats

    def sweep_partition(self, partition: int, devices: list[Device], stats: SweepStats) -> None:
        held: dict[str, list[Device]] = {}
        for device in devices:
            try:
                names = self.nodes.listing(device, partition)
            except NodeError as err:
                log.warning("sweeper: %s", err)
                stats.failed += 1
                continue
            for name in names:
                held.setdefault(name, []).append(device)
        stats.replicas += sum(len(v) for v in held.values())
        if not held:
            return
        live = self.referenced(held)
        cutoff = self.clock() - self.grace
        for name in sorted(held.keys() - live):
            for device in held[name]:
                stats.orphans += 1
                try:
                    created = self.nodes.created(device, partition, name)
                    if created is None or created > cutoff:
                        continue
                    self.nodes.delete(device, partition, name)
                except NodeError as err:
                    log.warning("sweeper: %s", err)
                    stats.failed += 1
                    continue
                stats.removed += 1
                log.info("sweeper: removed unreferenced %s/%s from %s", partition, name, device.name)
