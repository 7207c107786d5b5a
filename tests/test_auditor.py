"""The auditor: every replica re-read and checked against its record, bad ones quarantined; rate
limited; and, end to end, a node running it (``--audit-interval``) finds a flipped byte that the
replicator then repairs from the good copies."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_replicator import SECRET, NodeProcess, flip_byte, held, placed, ring_of, start_nodes

from overcast.core.objects.loops import NodeClient
from overcast.core.objects.replicator import Replicator
from overcast.hostagents.objectnode.auditor import Auditor, RateLimiter
from overcast.hostagents.objectnode.store import ObjectStore

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "node")


def quarantined(store: ObjectStore, partition: int, name: str) -> list[Path]:
    return sorted((store.quarantine_dir / str(partition)).glob(f"{name}.*.data"))


def test_sound_replicas_pass(store: ObjectStore) -> None:
    for i in range(5):
        store.put(i % 2, f"obj{i}", os.urandom(i * 1000))
    store.put(3, "big", os.urandom(2 * MiB + 5))
    stats = Auditor(store, 0).run_once()
    assert (stats.replicas, stats.quarantined) == (6, 0)
    assert stats.bytes == sum(i * 1000 for i in range(5)) + 2 * MiB + 5


def test_flipped_byte_is_quarantined(store: ObjectStore) -> None:
    payload = os.urandom(3 * MiB)
    store.put(7, "rotten", payload)
    store.put(7, "fine", b"fine")
    flip_byte(store.data_path(7, "rotten"), 2 * MiB + 1)
    stats = Auditor(store, 0).run_once()
    assert (stats.replicas, stats.quarantined) == (2, 1)
    assert store.open(7, "rotten") is None and store.stat(7, "fine") is not None
    [moved] = quarantined(store, 7, "rotten")
    assert moved.stat().st_size == len(payload) and moved.with_suffix(".meta").exists()
    assert Auditor(store, 0).run_once().quarantined == 0


@pytest.mark.parametrize("damage", ["truncate", "extend", "lose-meta"])
def test_data_its_record_no_longer_describes_is_quarantined(store: ObjectStore, damage: str) -> None:
    store.put(1, "victim", b"0123456789")
    data = store.data_path(1, "victim")
    if damage == "truncate":
        os.truncate(data, 4)
    elif damage == "extend":
        with open(data, "ab") as fh:
            fh.write(b"more")
    else:
        store.meta_path(1, "victim").unlink()
    assert Auditor(store, 0).run_once().quarantined == 1
    assert not data.exists() and len(quarantined(store, 1, "victim")) == 1


def test_rate_limit_slows_the_pass(store: ObjectStore) -> None:
    store.put(0, "a", os.urandom(MiB))
    store.put(0, "b", os.urandom(MiB))
    started = time.monotonic()
    stats = Auditor(store, 4 * MiB).run_once()
    assert stats.bytes == 2 * MiB
    assert time.monotonic() - started >= 0.45           # 2 MiB at 4 MiB/s


def test_rate_limiter_arithmetic() -> None:
    now = [100.0]
    slept: list[float] = []

    def wait(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(1000, wait, clock=lambda: now[0])
    limiter.spent(500)
    assert slept == [0.5]
    now[0] += 0.2                                        # time spent hashing counts
    limiter.spent(500)
    assert slept == [0.5, pytest.approx(0.3)]
    now[0] += 10                                         # a long idle spell is not banked
    limiter.spent(2000)
    assert slept[-1] == pytest.approx(2.0)
    RateLimiter(0, wait).spent(10**9)                    # 0: unlimited
    assert len(slept) == 3


def test_stop_ends_a_pass_promptly(store: ObjectStore) -> None:
    for i in range(4):
        store.put(0, f"o{i}", os.urandom(MiB))
    auditor = Auditor(store, MiB)                        # would take about 4 s
    stopper = threading.Timer(0.3, auditor.stopping.set)
    stopper.start()
    started = time.monotonic()
    stats = auditor.run_once()
    assert time.monotonic() - started < 2 and stats.replicas < 4
    stopper.join()


# -- end to end: nodes running their auditor, the replicator repairing --------------------------------------

@pytest.fixture
def auditing_nodes(tmp_path: Path) -> Iterator[dict[str, NodeProcess]]:
    nodes = start_nodes(tmp_path, 3, "--audit-interval", "0.2", "--audit-bytes-per-second", "0")
    yield {n.name: n for n in nodes}
    for node in nodes:
        assert node.stop() == 0


def test_node_auditor_finds_rot_and_replicator_repairs_it(auditing_nodes: dict[str, NodeProcess]) -> None:
    ring = ring_of(auditing_nodes.values())
    name, partition, primaries, _ = placed(ring, auditing_nodes)
    payload = os.urandom(300_000)
    for node in primaries:
        node.store.put(partition, name, payload)
    victim = primaries[0]
    flip_byte(victim.store.data_path(partition, name), 123_456)
    deadline = time.monotonic() + 10
    while not quarantined(victim.store, partition, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    [moved] = quarantined(victim.store, partition, name)
    assert hashlib.md5(moved.read_bytes()).hexdigest() != hashlib.md5(payload).hexdigest()
    assert held(victim, partition, name) is None
    client = NodeClient(SECRET)
    try:
        stats = Replicator(lambda: ring, client).run_once()
    finally:
        client.close()
    assert (stats.copied, stats.quarantined) == (1, 0)
    assert all(held(node, partition, name) == payload for node in primaries)


def test_node_without_audit_interval_runs_no_auditor(tmp_path: Path) -> None:
    [node] = start_nodes(tmp_path, 1)
    try:
        name = uuid.uuid4().hex
        node.store.put(0, name, b"left alone")
        flip_byte(node.store.data_path(0, name))
        time.sleep(0.5)
        assert not quarantined(node.store, 0, name)
    finally:
        assert node.stop() == 0
