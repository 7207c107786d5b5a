"""The object ring: placement rules, balance, minimal movement, and the saved form."""

from __future__ import annotations

import hashlib
import itertools
import os
import struct
from collections import Counter
from pathlib import Path

import pytest

from overcast.core.objects.ring import Device, Ring
from overcast.core.objects.ring_builder import RingBuilder


def build(n: int, zones: int, replicas: int = 3, power: int = 10, weights: list[float] | None = None) -> RingBuilder:
    builder = RingBuilder(power, replicas)
    for i in range(n):
        builder.add_device(f"node{i}", f"http://127.0.0.1:{8900 + i}", f"z{i % zones}",
                           weights[i] if weights else 1.0)
    return builder


def ids(ring: Ring, part: int) -> set[int]:
    return {d.id for d in ring.primaries(part)}


def counts(ring: Ring) -> Counter[str]:
    return Counter(d.name for part in range(ring.partition_count) for d in ring.primaries(part))


def moved(old: Ring, new: Ring) -> int:
    return sum(len(ids(old, p) - ids(new, p)) for p in range(old.partition_count))


def check_placement(ring: Ring) -> None:
    live = [d for d in ring.devices if d.weight > 0]
    zone_sizes = Counter(d.zone for d in live)
    assert ring.replicas == min(ring.wanted_replicas, len(live))
    for part in range(ring.partition_count):
        devices = ring.primaries(part)
        assert len(devices) == ring.replicas
        assert len({d.id for d in devices}) == ring.replicas, f"partition {part}: a device twice"
        held = Counter(d.zone for d in devices)
        if len(zone_sizes) >= ring.replicas:
            assert max(held.values()) == 1, f"partition {part}: zones {held}"
        for a, b in itertools.permutations(zone_sizes, 2):   # no move between zones would even it out
            assert not (held[a] >= held[b] + 2 and held[b] < zone_sizes[b]), f"partition {part}: {held}"


def test_partition_is_the_top_bits_of_md5() -> None:
    ring = build(3, 3, power=10).rebalance()
    for name in ("bucket/key", "ünïcode/ key", "", "a" * 1024):
        top = struct.unpack_from(">I", hashlib.md5(name.encode()).digest())[0]
        assert ring.partition(name) == top >> 22
    assert build(2, 2, power=0).rebalance().partition("x") == 0


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("zones", [1, 2, 3, 4])
@pytest.mark.parametrize("n", range(1, 9))
def test_placement_rules(n: int, zones: int, replicas: int) -> None:
    check_placement(build(n, zones, replicas, power=8).rebalance())


@pytest.mark.parametrize("weights", [[1, 2, 3, 4, 5], [0.5, 1, 1, 1, 4, 2], [3, 1, 1], [1, 1, 1, 1, 0]])
@pytest.mark.parametrize("zones", [1, 2, 3])
def test_placement_rules_with_weights(weights: list[float], zones: int) -> None:
    check_placement(build(len(weights), zones, weights=weights, power=8).rebalance())


@pytest.mark.parametrize("n,zones", [(n, n) for n in range(3, 9)] + [(n, 1) for n in range(3, 9)]
                         + [(4, 2), (6, 2), (6, 3), (8, 2), (8, 4), (5, 2), (7, 2)])
def test_equal_weights_balance_within_one(n: int, zones: int) -> None:
    ring = build(n, zones).rebalance()
    ideal = 1024 * 3 / n
    assert all(abs(c - ideal) < 1 for c in counts(ring).values()), counts(ring)
    assert sum(counts(ring).values()) == 3 * 1024


def test_weights_set_the_share() -> None:
    weights = [1.0, 2, 3, 4, 5, 6, 7, 8]
    ring = build(8, 8, weights=weights).rebalance()
    got = counts(ring)
    for i, w in enumerate(weights):
        assert abs(got[f"node{i}"] - 3 * 1024 * w / sum(weights)) < 1
    # a device cannot hold a partition twice: a heavy device is capped at every partition
    heavy = counts(build(4, 4, weights=[10, 1, 1, 1]).rebalance())
    assert heavy["node0"] == 1024 and all(heavy[f"node{i}"] in (682, 683) for i in (1, 2, 3))


def test_a_zone_holds_at_most_one_replica_so_a_crowded_zone_gets_less() -> None:
    got = counts(build(4, 3).rebalance())          # z0: node0 and node3; z1: node1; z2: node2
    assert got["node0"] + got["node3"] == 1024 and got["node1"] == got["node2"] == 1024


def test_weight_zero_holds_nothing() -> None:
    builder = build(4, 4)
    builder.rebalance()
    builder.set_weight("node3", 0)
    ring = builder.rebalance()
    assert "node3" not in counts(ring) and ring.device("node3") is not None
    check_placement(ring)


def test_deterministic() -> None:
    def run() -> list[str]:
        builder, rings = build(5, 3, weights=[1, 2, 1, 1, 3]), []
        rings.append(builder.rebalance().to_json())
        builder.add_device("extra", "http://x", "z9")
        rings.append(builder.rebalance().to_json())
        builder.remove_device("node1")
        rings.append(builder.rebalance().to_json())
        return rings
    assert run() == run()


def test_rebalance_without_changes_moves_nothing() -> None:
    builder = build(6, 3)
    first = builder.rebalance()
    second = builder.rebalance()
    assert second.assignment == first.assignment and second.version == first.version + 1


@pytest.mark.parametrize("zoned", [True, False])
@pytest.mark.parametrize("n", range(3, 8))
def test_adding_a_device_moves_only_its_share(n: int, zoned: bool) -> None:
    builder = build(n, n if zoned else 1)
    before = builder.rebalance()
    builder.add_device("new", "http://new", f"z{n}" if zoned else "z0")
    after = builder.rebalance()
    check_placement(after)
    share = counts(after)["new"]
    assert abs(share - 3 * 1024 / (n + 1)) < 1
    assert moved(before, after) == share            # every move lands on the new device
    if n == 3:
        assert moved(before, after) == 768          # a quarter of the 3072 partition-replicas


def test_adding_a_device_in_an_existing_zone_moves_little() -> None:
    builder = build(6, 3)
    before = builder.rebalance()
    builder.add_device("new", "http://new", "z1")
    after = builder.rebalance()
    check_placement(after)
    assert moved(before, after) <= counts(after)["new"] * 1.05


@pytest.mark.parametrize("n,zones", [(n, n) for n in range(4, 9)] + [(n, 1) for n in range(4, 9)] + [(6, 3), (8, 4)])
def test_removing_a_device_moves_only_its_replicas(n: int, zones: int) -> None:
    builder = build(n, zones)
    before = builder.rebalance()
    gone = builder.remove_device("node2")
    after = builder.rebalance()
    check_placement(after)
    for part in range(1024):
        assert ids(before, part) - {gone.id} <= ids(after, part)
    assert moved(before, after) == counts(before)["node2"]
    if (n, zones) == (6, 3):    # z2 keeps one device, which now takes every partition's z2 replica
        assert counts(after)["node5"] == 1024
    else:
        assert all(abs(c - 3 * 1024 / (n - 1)) < 1 for c in counts(after).values())


@pytest.mark.parametrize("zones", [1, 8])
def test_each_device_shares_partitions_with_every_other(zones: int) -> None:
    """So that when a device fails, every other device takes part in restoring its replicas."""
    ring = build(8, zones).rebalance()
    for device in ring.devices:
        peers = Counter(other.id for part in ring.partitions_of(device.id)
                        for other in ring.primaries(part) if other.id != device.id)
        assert len(peers) == 7 and min(peers.values()) > 20, peers


def test_replicas_capped_by_devices_and_grow_with_them(tmp_path: Path) -> None:
    builder = RingBuilder(8, 3)
    builder.add_device("a", "http://a", "z1")
    one = builder.rebalance()
    assert one.replicas == 1 and one.wanted_replicas == 3
    one.save(tmp_path / "ring.json")
    builder = RingBuilder.from_ring(Ring.load(tmp_path / "ring.json"))
    builder.add_device("b", "http://b", "z2")
    two = builder.rebalance()
    assert two.replicas == 2 and moved(one, two) == 0
    builder.add_device("c", "http://c", "z3")
    three = builder.rebalance()
    assert three.replicas == 3 and moved(two, three) == 0
    builder.add_device("d", "http://d", "z4")
    assert builder.rebalance().replicas == 3
    for name in "bcd":
        builder.remove_device(name)
    back = builder.rebalance()
    assert back.replicas == 1 and all(ring.primaries(p)[0].name == "a" for ring in (back,) for p in range(256))


def test_no_devices_places_nothing() -> None:
    ring = RingBuilder(4, 3).rebalance()
    assert ring.replicas == 0 and ring.get_nodes("k")[1] == [] and list(ring.handoffs(0)) == []


def test_get_nodes_is_stable() -> None:
    ring = build(5, 5).rebalance()
    part, nodes = ring.get_nodes("bucket/photo.jpg")
    assert ring.get_nodes("bucket/photo.jpg") == (part, nodes) and nodes == ring.primaries(part)
    assert Ring.from_json(ring.to_json()).get_nodes("bucket/photo.jpg") == (part, nodes)
    assert len({d.zone for d in nodes}) == 3


def test_handoffs_are_the_other_devices_distinct_zones_first() -> None:
    ring = build(8, 4).rebalance()
    for part in range(0, 1024, 37):
        primaries = ring.primaries(part)
        handoffs = list(ring.handoffs(part))
        assert handoffs == list(ring.handoffs(part))
        assert {d.id for d in handoffs} == {d.id for d in ring.devices} - {d.id for d in primaries}
        assert len(handoffs) == len(set(handoffs))
        unused = {d.zone for d in ring.devices} - {d.zone for d in primaries}
        assert {d.zone for d in handoffs[:len(unused)]} == unused
    assert len({tuple(d.id for d in ring.handoffs(p)) for p in range(64)}) > 1   # spread, not one order


def test_json_round_trip() -> None:
    builder = build(5, 3, weights=[1, 2, 1, 1, 0.5])
    builder.rebalance()
    builder.set_url("node1", "http://10.0.0.2:8901")
    ring = builder.rebalance()
    again = Ring.from_json(ring.to_json())
    assert again == ring and again.to_json() == ring.to_json() and again.version == 2
    assert again.device("node1") == Device(1, "node1", "http://10.0.0.2:8901", "z1", 2.0)
    continued = RingBuilder.from_ring(again).rebalance()
    assert continued.assignment == ring.assignment and continued.version == 3


@pytest.mark.parametrize("text", ["", "[]", '{"format": 1}', '{"format": 99}'])
def test_from_json_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        Ring.from_json(text)


def test_inconsistent_ring_rejected() -> None:
    ring = build(3, 3, power=2).rebalance()
    bad = ring.to_json().replace('"assignment":[[', '"assignment":[[7,')
    with pytest.raises(ValueError):
        Ring.from_json(bad)


def test_save_replaces_the_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "object.ring"
    builder = build(3, 3)
    first = builder.rebalance()
    first.save(path)
    builder.add_device("node3", "http://n3", "z3")
    second = builder.rebalance()
    second.save(path)
    assert Ring.load(path) == second and os.listdir(tmp_path) == ["object.ring"]

    def crash(src: object, dst: object) -> None:
        raise OSError("disk went away")
    monkeypatch.setattr(os, "replace", crash)
    builder.add_device("node4", "http://n4", "z4")
    with pytest.raises(OSError):
        builder.rebalance().save(path)
    assert Ring.load(path) == second and os.listdir(tmp_path) == ["object.ring"]


def test_builder_errors() -> None:
    builder = build(2, 2)
    with pytest.raises(ValueError):
        builder.add_device("node0", "http://dup", "z1")
    with pytest.raises(ValueError):
        builder.add_device("neg", "http://neg", "z1", weight=-1)
    with pytest.raises(KeyError):
        builder.remove_device("nope")
    with pytest.raises(ValueError):
        RingBuilder(33)
    with pytest.raises(ValueError):
        RingBuilder(10, 0)


def test_device_ids_are_not_reused_by_a_builder() -> None:
    builder = build(3, 3)
    builder.rebalance()
    builder.remove_device("node2")
    assert builder.add_device("node9", "http://n9", "z2").id == 3
    ring = builder.rebalance()
    assert RingBuilder.from_ring(ring).add_device("node10", "http://n10", "z1").id == 4
