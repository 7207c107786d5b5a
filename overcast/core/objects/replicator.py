"""The replicator: brings every partition back to one verified replica on each of its primaries.

A pass asks every device which partitions hold data, then for each such partition compares the
listings of its primaries and of any other device that holds data for it (a handoff: written
while a primary was down, or left behind by a ring change).  For every replica name:

* the agreed record is the (md5, size) most holders report;
* each reachable primary that lacks it (or holds a different record) gets a copy streamed from a
  holder of the agreed record, verified end to end (:meth:`NodeClient.copy`); a source whose
  bytes turn out not to match its record is quarantined on its node and the next one is tried;
* a non-primary copy is deleted once every primary holds the agreed record.

With ``referenced`` (the sweeper's reference check), names no metadata row refers to are left
alone: copying them would resurrect data of deleted objects, which is the sweeper's to remove.
Unreachable devices are skipped for the pass; nothing is deleted from a handoff while a primary
of its partition is unreachable.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .loops import CorruptReplica, Daemon, Listed, NodeClient, NodeError
from .ring import Device, Ring

log = logging.getLogger("overcast.objects.replicator")

Referenced = Callable[[Iterable[str]], set[str]]


@dataclass
class ReplicationStats:
    partitions: int = 0      # partitions examined
    copied: int = 0          # replicas written to primaries
    removed: int = 0         # handoff copies deleted
    quarantined: int = 0     # corrupt sources set aside
    failed: int = 0          # copies or deletes that did not succeed (retried next pass)
    unreachable: int = 0     # devices that did not answer


class Replicator(Daemon):
    name = "replicator"

    def __init__(self, ring: Callable[[], Ring], nodes: NodeClient, referenced: Referenced | None = None) -> None:
        super().__init__()
        self.ring = ring
        self.nodes = nodes
        self.referenced = referenced

    def run_once(self) -> ReplicationStats:
        ring = self.ring()
        stats = ReplicationStats()
        holders: dict[int, set[int]] = {}        # partition → ids of devices holding data for it
        down: set[int] = set()
        for device in ring.devices:
            try:
                for partition in self.nodes.partitions(device):
                    holders.setdefault(partition, set()).add(device.id)
            except NodeError as err:
                log.warning("replicator: %s", err)
                down.add(device.id)
        stats.unreachable = len(down)
        by_id = {d.id: d for d in ring.devices}
        for partition in sorted(holders):
            if self.stopping.is_set():
                break
            if partition >= ring.partition_count:
                continue
            self.replicate_partition(ring, partition, [by_id[i] for i in sorted(holders[partition])], down, stats)
            stats.partitions += 1
        return stats

    def replicate_partition(self, ring: Ring, partition: int, holding: list[Device], down: set[int],
                            stats: ReplicationStats) -> None:
        primaries = ring.primaries(partition)
        primary_ids = {d.id for d in primaries}
        devices = primaries + [d for d in holding if d.id not in primary_ids]
        listings: dict[int, dict[str, Listed]] = {}
        for device in devices:
            if device.id in down:
                continue
            try:
                listings[device.id] = self.nodes.listing(device, partition)
            except NodeError as err:
                log.warning("replicator: %s", err)
                down.add(device.id)
        names = set().union(*listings.values()) if listings else set()
        if self.referenced is not None and names:
            names &= self.referenced(names)
        all_primaries_up = all(d.id in listings for d in primaries)
        for name in sorted(names):
            if self.stopping.is_set():
                return
            records = Counter(listing[name] for listing in listings.values() if name in listing)
            agreed = max(records.items(), key=lambda item: (item[1], item[0].md5))[0]
            sources = [d for d in devices if listings.get(d.id, {}).get(name) == agreed]
            complete = True
            for target in primaries:
                if target.id not in listings:
                    complete = False
                elif listings[target.id].get(name) != agreed:
                    if self._restore(target, partition, name, agreed, sources, stats):
                        listings[target.id][name] = agreed
                        sources.append(target)
                    else:
                        complete = False
            if not (complete and all_primaries_up):
                continue
            for device in devices:
                if device.id not in primary_ids and name in listings.get(device.id, {}):
                    try:
                        self.nodes.delete(device, partition, name)
                        stats.removed += 1
                    except NodeError as err:
                        log.warning("replicator: %s", err)
                        stats.failed += 1

    def _restore(self, target: Device, partition: int, name: str, agreed: Listed, sources: list[Device],
                 stats: ReplicationStats) -> bool:
        """Copy ``name`` to ``target`` from the first source that yields verified bytes."""
        for source in list(sources):
            if source.id == target.id:
                continue
            try:
                self.nodes.copy(source, target, partition, name, agreed)
            except CorruptReplica as err:
                log.warning("replicator: %s; quarantining it", err)
                sources.remove(source)
                try:
                    if self.nodes.quarantine(source, partition, name):
                        stats.quarantined += 1
                except NodeError as qerr:
                    log.warning("replicator: %s", qerr)
                continue
            except NodeError as err:
                log.warning("replicator: %s", err)
                continue
            stats.copied += 1
            log.info("replicator: restored %s/%s on %s from %s", partition, name, target.name, source.name)
            return True
        stats.failed += 1
        return False
