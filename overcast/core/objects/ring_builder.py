"""The object ring, write side: add and remove devices, then ``rebalance()`` into a new ``Ring``.

Rebalancing is deterministic and starts from the previous assignment, so it moves as little as it
can: every still-valid replica stays; replicas on removed devices, extra replicas (fewer devices
than wanted replicas) and replicas breaking the zone rule are dropped; the gaps go to the most
underweight eligible device; then replicas move from devices above their quota to devices below
it, preferring replicas placed in this very rebalance (so a removal only moves the removed
device's replicas when balance allows).

Placement rules: the replicas of a partition are on distinct devices, and spread over zones as
evenly as the devices allow — distinct zones whenever there are at least ``replicas`` zones.
Devices of weight 0 hold nothing.  Quotas follow the weights, capped by those rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TypeVar

from .ring import Device, Ring

K = TypeVar("K", str, int)


class RingBuilder:
    def __init__(self, partition_power: int = 10, replicas: int = 3) -> None:
        if not 0 <= partition_power <= 32:
            raise ValueError(f"partition power {partition_power} is not in 0..32")
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.partition_power = partition_power
        self.replicas = replicas
        self._devices: dict[int, Device] = {}
        self._assignment: list[list[int]] = []    # previous ring: partition → device ids by replica
        self._version = 0
        self._next_id = 0

    @classmethod
    def from_ring(cls, ring: Ring) -> RingBuilder:
        builder = cls(ring.partition_power, ring.wanted_replicas)
        builder._devices = {d.id: d for d in ring.devices}
        builder._assignment = [[row[p] for row in ring.assignment] for p in range(ring.partition_count)]
        builder._version = ring.version
        builder._next_id = max(builder._devices, default=-1) + 1
        return builder

    @property
    def devices(self) -> tuple[Device, ...]:
        return tuple(sorted(self._devices.values(), key=lambda d: d.id))

    def add_device(self, name: str, url: str, zone: str, weight: float = 1.0) -> Device:
        if any(d.name == name for d in self._devices.values()):
            raise ValueError(f"device {name!r} is already in the ring")
        device = Device(self._next_id, name, url, zone, _checked(weight))
        self._devices[device.id] = device
        self._next_id += 1
        return device

    def _named(self, name: str) -> Device:
        for device in self._devices.values():
            if device.name == name:
                return device
        raise KeyError(f"no device {name!r} in the ring")

    def remove_device(self, name: str) -> Device:
        return self._devices.pop(self._named(name).id)

    def set_url(self, name: str, url: str) -> Device:
        device = self._named(name)
        self._devices[device.id] = updated = replace(device, url=url)
        return updated

    def set_weight(self, name: str, weight: float) -> Device:
        device = self._named(name)
        self._devices[device.id] = updated = replace(device, weight=_checked(weight))
        return updated

    def rebalance(self) -> Ring:
        """A new ring (version + 1) placing every partition, moving as few replicas as it can."""
        eligible = {i: d for i, d in self._devices.items() if d.weight > 0}
        replicas = min(self.replicas, len(eligible))
        slots = _Placement(1 << self.partition_power, replicas, eligible, self._assignment).run()
        self._assignment = slots
        self._version += 1
        rows = tuple(tuple(slots[p][r] for p in range(len(slots))) for r in range(replicas))
        return Ring(self.partition_power, replicas, self._version, self.devices, rows, self.replicas)


def _checked(weight: float) -> float:
    if not weight >= 0 or math.isinf(weight):
        raise ValueError(f"weight must be a finite number >= 0, not {weight!r}")
    return float(weight)


def _zone_bounds(sizes: Mapping[str, int], replicas: int) -> dict[str, tuple[int, int]]:
    """Per partition, how few and how many replicas each zone holds: as even as the zones' device
    counts allow (with at least ``replicas`` zones: 0 or 1 each)."""
    level = 0
    while sum(min(n, level) for n in sizes.values()) < replicas:
        level += 1
    return {z: (min(n, level - 1), min(n, level)) for z, n in sizes.items()}


def _fill(total: float, weights: Mapping[K, float], lo: Mapping[K, float], hi: Mapping[K, float]) -> dict[K, float]:
    """Share ``total`` in proportion to ``weights``, each share clamped to [lo, hi] (water filling)."""
    def shares(level: float) -> dict[K, float]:
        return {k: min(hi[k], max(lo[k], level * w)) for k, w in weights.items()}
    low, high = 0.0, 1.0
    while sum(shares(high).values()) < total and high < 1e30:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if sum(shares(mid).values()) < total else (low, mid)
    return shares(high)


def _round(targets: Mapping[K, float], total: int) -> dict[K, int]:
    """Integers summing to ``total``, each the floor or ceiling of its target (largest remainder)."""
    quotas = {k: math.floor(v + 1e-9) for k, v in targets.items()}
    extra = total - sum(quotas.values())
    for k in sorted(targets, key=lambda k: (quotas[k] - targets[k], k))[:max(extra, 0)]:
        quotas[k] += 1
    return quotas


def _mix(a: int, b: int) -> int:
    """A cheap, stable 32-bit hash of two integers (a per-partition order of devices)."""
    x = (a * 0x9E3779B1 + (b + 1) * 0x85EBCA77) & 0xFFFFFFFF
    x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    return x ^ (x >> 12)


class _Placement:
    def __init__(self, partitions: int, replicas: int, devices: Mapping[int, Device],
                 previous: list[list[int]]) -> None:
        self.partitions, self.replicas = partitions, replicas
        self.devices = sorted(devices)
        self.zone = {i: d.zone for i, d in devices.items()}
        self.bounds = _zone_bounds(Counter(self.zone.values()), replicas)
        self.quota = self._quotas(devices)
        self.count: Counter[int] = Counter()
        self.held: dict[int, set[int]] = {i: set() for i in self.devices}
        self.new: set[tuple[int, int]] = set()        # (partition, device) placed by this rebalance
        self.slots = self._keep(previous)

    def _quotas(self, devices: Mapping[int, Device]) -> dict[int, int]:
        total = self.partitions * self.replicas
        zones = sorted(self.bounds)
        weight = {z: sum(d.weight for d in devices.values() if d.zone == z) for z in zones}
        share = _fill(total, weight, {z: self.bounds[z][0] * self.partitions for z in zones},
                      {z: self.bounds[z][1] * self.partitions for z in zones})
        quota: dict[int, int] = {}
        for zone, zone_quota in _round(share, total).items():
            members = {i: d.weight for i, d in devices.items() if d.zone == zone}
            zero = dict.fromkeys(members, 0.0)
            cap = dict.fromkeys(members, float(self.partitions))
            quota.update(_round(_fill(zone_quota, members, zero, cap), zone_quota))
        return quota

    def _zones(self, slots: Iterable[int | None]) -> Counter[str]:
        return Counter(self.zone[d] for d in slots if d is not None)

    def _place(self, part: int, slot: int, device: int, *, new: bool = True) -> None:
        self.slots[part][slot] = device
        self.count[device] += 1
        self.held[device].add(part)
        if new:
            self.new.add((part, device))

    def _unplace(self, part: int, slot: int) -> None:
        device = self.slots[part][slot]
        assert device is not None
        self.slots[part][slot] = None
        self.count[device] -= 1
        self.held[device].discard(part)
        self.new.discard((part, device))

    def _keep(self, previous: list[list[int]]) -> list[list[int | None]]:
        """The previous assignment minus replicas that are no longer valid, gaps as ``None``."""
        self.slots = []
        for part in range(self.partitions):
            old = previous[part] if part < len(previous) else []
            self.slots.append([None] * max(len(old), self.replicas))
            for slot, device in enumerate(old):
                if device in self.zone and device not in self.slots[part]:
                    self._place(part, slot, device, new=False)
        for part, slots in enumerate(self.slots):
            while (zones := self._violation(slots)) is not None:
                present = [(s, d) for s, d in enumerate(slots) if d is not None and self.zone[d] in zones]
                victim = max(present, key=lambda sd: (self.count[sd[1]] - self.quota[sd[1]], sd[1]))
                self._unplace(part, victim[0])
            while len(slots) > self.replicas:
                slots.remove(None)
        return self.slots

    def _violation(self, slots: list[int | None]) -> set[str] | None:
        """The zones to drop a replica from, if ``slots`` cannot be completed within the rules."""
        held = self._zones(slots)
        over = {z for z, n in held.items() if n > self.bounds[z][1]}
        if over:
            return over
        needed = sum(max(held[z], lo) for z, (lo, _) in self.bounds.items())
        if sum(held.values()) > self.replicas or needed > self.replicas:
            return {z for z, n in held.items() if n > self.bounds[z][0]}
        return None

    def run(self) -> list[list[int]]:
        for part, slots in enumerate(self.slots):
            for slot in range(self.replicas):
                if slots[slot] is None:
                    self._place(part, slot, self._choose(part, slots))
        self._balance()
        return [[d for d in slots if d is not None] for slots in self.slots]

    def _choose(self, part: int, slots: list[int | None]) -> int:
        """The device for a gap: a zone still below its minimum first, then the most underweight
        devices (to within ``grain``, shuffled per partition so that each device shares partitions
        with many others), then the zone holding fewest replicas of the partition."""
        held = self._zones(slots)
        candidates = [d for d in self.devices
                      if d not in slots and held[self.zone[d]] < self.bounds[self.zone[d]][1]]
        grain = max(1, self.partitions >> 6)
        return min(candidates, key=lambda d: (held[self.zone[d]] >= self.bounds[self.zone[d]][0],
                                              (self.count[d] - self.quota[d]) // grain,
                                              held[self.zone[d]], _mix(part, d), d))

    def _balance(self) -> None:
        """Move replicas from devices above quota to devices below it: first only replicas placed by
        this rebalance, then any; directly when possible, else along a chain of devices."""
        for only_new in (True, False):
            while self._direct(only_new) or self._chain(only_new):
                pass

    def _direct(self, only_new: bool) -> bool:
        progress = False
        over = sorted((d for d in self.devices if self.count[d] > self.quota[d]),
                      key=lambda d: (self.quota[d] - self.count[d], d))
        under = sorted((d for d in self.devices if self.count[d] < self.quota[d]),
                       key=lambda d: (self.count[d] - self.quota[d], d))
        for src in over:
            for dst in under:
                wanted = min(self.count[src] - self.quota[src], self.quota[dst] - self.count[dst])
                if wanted > 0:
                    for part in sorted(self._movable(src, dst, only_new))[:wanted]:
                        self._move(part[-1], src, dst)
                        progress = True
        return progress

    def _chain(self, only_new: bool) -> bool:
        """One replica-move along the shortest chain from a device above quota to one below it
        (each device on the way gives one replica and takes one, so only the ends change)."""
        for src in sorted(d for d in self.devices if self.count[d] > self.quota[d]):
            via: dict[int, tuple[int, int]] = {}     # device → (previous device, partition moved in)
            frontier = [src]
            while frontier:
                step = []
                for dev in frontier:
                    for nxt in self.devices:
                        if nxt == src or nxt in via:
                            continue
                        part = next(self._movable(dev, nxt, only_new), None)
                        if part is None:
                            continue
                        via[nxt] = (dev, part[-1])
                        if self.count[nxt] < self.quota[nxt]:
                            path = [nxt]
                            while path[-1] != src:
                                path.append(via[path[-1]][0])
                            # the last hop first, so each device gives before it takes
                            return all(self._move(via[dst][1], via[dst][0], dst) for dst in path[:-1])
                        step.append(nxt)
                frontier = step
        return False

    def _movable(self, src: int, dst: int, only_new: bool) -> Iterator[tuple[bool, int, int]]:
        """Partitions whose replica on ``src`` may move to ``dst``, as sort keys (new ones first,
        then those whose zone on ``dst`` holds fewest replicas of it)."""
        for part in self.held[src] - self.held[dst]:
            new = (part, src) in self.new
            if only_new and not new:
                continue
            spread = self._spread(part, src, dst)
            if spread is not None:
                yield (not new, spread, part)

    def _spread(self, part: int, src: int, dst: int) -> int | None:
        """How many replicas of ``part`` the zone of ``dst`` would hold after the move (None: not allowed)."""
        zsrc, zdst = self.zone[src], self.zone[dst]
        if zsrc == zdst:
            return 0
        held = self._zones(self.slots[part])
        if held[zsrc] - 1 < self.bounds[zsrc][0] or held[zdst] + 1 > self.bounds[zdst][1]:
            return None
        return held[zdst] + 1

    def _move(self, part: int, src: int, dst: int) -> bool:
        slots = self.slots[part]
        if src not in slots or dst in slots or self._spread(part, src, dst) is None:
            return False
        slot = slots.index(src)
        self._unplace(part, slot)
        self._place(part, slot, dst)
        return True
