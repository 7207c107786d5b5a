"""The object ring, read side: a pure lookup from an object name to its partition and devices.

Like Swift's ring: ``2**partition_power`` partitions, the partition of a name is the top bits of
its MD5, and ``assignment[r][p]`` is the id of the device holding replica ``r`` of partition
``p`` (Swift's ``replica2part2dev``).  A ring is immutable and versioned; ``ring_builder`` makes
new ones.  Saved as JSON, replaced atomically so a reader never sees half a ring.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1


@dataclass(frozen=True)
class Device:
    id: int
    name: str          # "node1"
    url: str           # "http://127.0.0.1:8901" — the object node serving this device
    zone: str          # "z1"
    weight: float = 1.0


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


@dataclass(frozen=True)
class Ring:
    partition_power: int
    replicas: int                                # replicas actually placed: min(wanted, devices)
    version: int
    devices: tuple[Device, ...]
    assignment: tuple[tuple[int, ...], ...]      # replica row → partition → device id
    wanted_replicas: int = 0                     # the configured count (0: same as ``replicas``)
    _by_id: dict[int, Device] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.partition_power <= 32:
            raise ValueError(f"partition power {self.partition_power} is not in 0..32")
        if not self.wanted_replicas:
            object.__setattr__(self, "wanted_replicas", self.replicas)
        by_id = {d.id: d for d in self.devices}
        if len(by_id) != len(self.devices) or len({d.name for d in self.devices}) != len(self.devices):
            raise ValueError("device ids and names must be unique")
        if len(self.assignment) != self.replicas:
            raise ValueError(f"{len(self.assignment)} replica rows for {self.replicas} replicas")
        for row in self.assignment:
            if len(row) != self.partition_count:
                raise ValueError(f"a replica row has {len(row)} partitions, not {self.partition_count}")
            if not set(row) <= by_id.keys():
                raise ValueError("the assignment names unknown devices")
        for part in range(self.partition_count if self.replicas > 1 else 0):
            if len({row[part] for row in self.assignment}) != self.replicas:
                raise ValueError(f"partition {part} has two replicas on one device")
        object.__setattr__(self, "_by_id", by_id)

    @property
    def partition_count(self) -> int:
        return 1 << self.partition_power

    def device(self, name: str) -> Device | None:
        return next((d for d in self.devices if d.name == name), None)

    def partition(self, name: str) -> int:
        digest = _md5(name.encode("utf-8"))
        return int(struct.unpack_from(">I", digest)[0] >> (32 - self.partition_power))

    def get_nodes(self, name: str) -> tuple[int, list[Device]]:
        part = self.partition(name)
        return part, self.primaries(part)

    def primaries(self, partition: int) -> list[Device]:
        return [self._by_id[row[partition]] for row in self.assignment]

    def partitions_of(self, device_id: int) -> list[int]:
        """The partitions with a primary replica on ``device_id`` (what a replicator walks)."""
        return sorted({p for row in self.assignment for p, d in enumerate(row) if d == device_id})

    def handoffs(self, partition: int) -> Iterator[Device]:
        """The non-primary devices in an order that is stable for ``partition`` and differs between
        partitions: one device of each zone the primaries do not use first, then the rest;
        devices of weight 0 come last."""
        primary_ids = {row[partition] for row in self.assignment}
        others = sorted((d for d in self.devices if d.id not in primary_ids),
                        key=lambda d: (d.weight <= 0, _md5(f"{partition}/{d.id}".encode())))
        used = {self._by_id[i].zone for i in primary_ids}
        later = []
        for dev in others:
            if dev.zone in used or dev.weight <= 0:
                later.append(dev)
            else:
                used.add(dev.zone)
                yield dev
        yield from later

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "format": FORMAT, "partition_power": self.partition_power, "replicas": self.replicas,
            "wanted_replicas": self.wanted_replicas, "version": self.version,
            "devices": [asdict(d) for d in self.devices],
            "assignment": [list(row) for row in self.assignment],
        }
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Ring:
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT:
                raise ValueError(f"unknown ring format {doc.get('format')!r}")
            return cls(
                partition_power=int(doc["partition_power"]), replicas=int(doc["replicas"]),
                version=int(doc["version"]), wanted_replicas=int(doc.get("wanted_replicas", 0)),
                devices=tuple(Device(id=int(d["id"]), name=str(d["name"]), url=str(d["url"]),
                                     zone=str(d["zone"]), weight=float(d["weight"])) for d in doc["devices"]),
                assignment=tuple(tuple(int(i) for i in row) for row in doc["assignment"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as err:
            raise ValueError(f"not a ring: {err!r}") from err

    def save(self, path: Path) -> None:
        """Write the ring to ``path`` atomically: temp file, fsync, rename over, fsync the directory."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(self):x}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(self.to_json().encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)

    @classmethod
    def load(cls, path: Path) -> Ring:
        return cls.from_json(Path(path).read_text())
