"""The replicator against real object node processes: missing replicas restored from a verified
copy, corrupt sources quarantined, handoff copies moved to the primaries and then removed.

Replicas are planted and inspected on disk with the node's own :class:`ObjectStore` (the files
are the truth the nodes serve); the replicator only talks to the nodes over HTTP.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from overcast.core.objects.loops import NodeClient
from overcast.core.objects.replicator import ReplicationStats, Replicator
from overcast.core.objects.ring import Ring
from overcast.core.objects.ring_builder import RingBuilder
from overcast.hostagents.objectnode.store import ObjectStore

SECRET = b"replication-secret-for-tests"
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    """``python -m overcast.hostagents.objectnode`` over ``root`` (plus ``extra`` arguments)."""

    def __init__(self, name: str, root: Path, secret_file: Path, *extra: str) -> None:
        self.name, self.root, self.secret_file, self.extra = name, root, secret_file, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.store = ObjectStore(root)        # the same directory, read and planted by the tests

    def start(self) -> NodeProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "overcast.hostagents.objectnode", "--root", str(self.root), "--host", "127.0.0.1",
             "--port", str(self.port), "--secret-file", str(self.secret_file), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"object node {self.name} exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"object node {self.name} did not come up")

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(10)

    def wipe(self) -> None:
        for sub in ("objects", "quarantine"):
            for entry in (self.root / sub).iterdir():
                shutil.rmtree(entry)


def start_nodes(base: Path, count: int, *extra: str) -> list[NodeProcess]:
    secret_file = base / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    nodes = [NodeProcess(f"node{i}", base / f"node{i}", secret_file, *extra).start() for i in range(1, count + 1)]
    for node in nodes:
        node.wait_healthy()
    return nodes


def ring_of(nodes: Iterable[NodeProcess], down: Iterable[str] = (), power: int = 4) -> Ring:
    """A 3-replica ring over ``nodes`` (one zone each); devices named in ``down`` point at a closed port."""
    builder = RingBuilder(power, 3)
    for i, node in enumerate(nodes, 1):
        url = f"http://127.0.0.1:{free_port()}" if node.name in down else node.url
        builder.add_device(node.name, url, f"z{i}")
    return builder.rebalance()


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    nodes = start_nodes(tmp_path_factory.mktemp("replication"), 4)
    yield nodes
    for node in nodes:
        assert node.stop() == 0


@pytest.fixture
def nodes(processes: list[NodeProcess]) -> Iterator[dict[str, NodeProcess]]:
    """The four node processes, emptied for the test."""
    for node in processes:
        node.wipe()
    yield {n.name: n for n in processes}


@pytest.fixture
def client() -> Iterator[NodeClient]:
    nodes = NodeClient(SECRET)
    yield nodes
    nodes.close()


def placed(ring: Ring, nodes: dict[str, NodeProcess]) -> tuple[str, int, list[NodeProcess], list[NodeProcess]]:
    """A fresh data name, its partition, its primary nodes and the other nodes (in handoff order)."""
    name = uuid.uuid4().hex
    partition = ring.partition(name)
    primaries = [nodes[d.name] for d in ring.primaries(partition)]
    others = [nodes[d.name] for d in ring.handoffs(partition)]
    return name, partition, primaries, others


def held(node: NodeProcess, partition: int, name: str) -> bytes | None:
    reader = node.store.open(partition, name)
    if reader is None:
        return None
    with reader:
        return b"".join(reader.chunks())


def flip_byte(path: Path, offset: int = 0) -> None:
    """Damage a file in place (same inode and size: the node still trusts its record)."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))


def test_missing_primary_replica_is_restored(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    name, partition, primaries, _ = placed(ring, nodes)
    payload = os.urandom(3 * MiB + 17)           # several chunks
    for node in primaries[:2]:
        node.store.put(partition, name, payload)
    replicator = Replicator(lambda: ring, client)
    stats = replicator.run_once()
    assert (stats.copied, stats.failed, stats.unreachable) == (1, 0, 0)
    assert all(held(node, partition, name) == payload for node in primaries)
    info = primaries[2].store.stat(partition, name)
    assert info is not None and info.md5 == hashlib.md5(payload).hexdigest()
    again = replicator.run_once()
    assert (again.copied, again.removed, again.failed) == (0, 0, 0)


def test_empty_replica_is_restored(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    name, partition, primaries, _ = placed(ring, nodes)
    primaries[1].store.put(partition, name, b"")
    assert Replicator(lambda: ring, client).run_once().copied == 2
    assert all(held(node, partition, name) == b"" for node in primaries)


def test_corrupt_source_is_quarantined_and_a_good_one_used(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    name, partition, primaries, _ = placed(ring, nodes)
    payload = os.urandom(200_000)
    rotten, good, missing = primaries
    for node in (rotten, good):
        node.store.put(partition, name, payload)
    flip_byte(rotten.store.data_path(partition, name), 150_000)
    replicator = Replicator(lambda: ring, client)
    stats = replicator.run_once()       # the first source is the rotten one: caught, set aside
    assert (stats.copied, stats.quarantined) == (1, 1)
    assert held(missing, partition, name) == payload
    assert held(rotten, partition, name) is None
    assert len(list((rotten.root / "quarantine" / str(partition)).glob(f"{name}.*.data"))) == 1
    assert replicator.run_once().copied == 1          # and the next pass restores the rotten one
    assert all(held(node, partition, name) == payload for node in primaries)


def test_no_good_source_copies_nothing(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    name, partition, primaries, _ = placed(ring, nodes)
    primaries[0].store.put(partition, name, b"x" * 5000)
    flip_byte(primaries[0].store.data_path(partition, name))
    stats = Replicator(lambda: ring, client).run_once()
    assert (stats.copied, stats.quarantined, stats.failed) == (0, 1, 2)
    assert all(held(node, partition, name) is None for node in primaries)
    deadline = time.monotonic() + 5           # the node drops the cut-short upload as it notices
    while list(primaries[1].root.joinpath("tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not list(primaries[1].root.joinpath("tmp").iterdir())


def test_handoff_copy_goes_to_the_primaries_then_away(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(nodes.values())
    name, partition, primaries, others = placed(ring, nodes)
    payload = os.urandom(10_000)
    others[0].store.put(partition, name, payload)       # written while the primaries were down
    primaries[0].store.put(partition, name, payload)
    stats = Replicator(lambda: ring, client).run_once()
    assert (stats.copied, stats.removed, stats.failed) == (2, 1, 0)
    assert all(held(node, partition, name) == payload for node in primaries)
    assert held(others[0], partition, name) is None


def test_handoff_kept_while_a_primary_is_unreachable(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    probe = ring_of(nodes.values())
    name, partition, primaries, others = placed(probe, nodes)
    ring = ring_of(nodes.values(), down={primaries[2].name})
    assert [d.name for d in ring.primaries(partition)] == [n.name for n in primaries]
    payload = os.urandom(1000)
    others[0].store.put(partition, name, payload)
    stats = Replicator(lambda: ring, client).run_once()
    assert (stats.copied, stats.removed, stats.unreachable) == (2, 0, 1)
    assert held(primaries[0], partition, name) == held(primaries[1], partition, name) == payload
    assert held(others[0], partition, name) == payload            # still the third copy
    live = Replicator(lambda: probe, client).run_once()           # the primary is back
    assert (live.copied, live.removed) == (1, 1)
    assert all(held(node, partition, name) == payload for node in primaries)
    assert held(others[0], partition, name) is None


def test_ring_change_moves_data_to_the_new_primary(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    old = ring_of(list(nodes.values())[:3])
    builder = RingBuilder.from_ring(old)
    builder.add_device("node4", nodes["node4"].url, "z4")
    new = builder.rebalance()
    moved = next(p for p in range(new.partition_count)
                 if {d.name for d in new.primaries(p)} != {d.name for d in old.primaries(p)})
    name = next(n for n in (uuid.uuid4().hex for _ in range(10_000)) if new.partition(n) == moved)
    payload = os.urandom(4096)
    for device in old.primaries(moved):
        nodes[device.name].store.put(moved, name, payload)
    stats = Replicator(lambda: new, client).run_once()
    assert (stats.copied, stats.removed) == (1, 1)
    assert {n for n, node in nodes.items() if held(node, moved, name) == payload} == \
           {d.name for d in new.primaries(moved)}


def test_unreferenced_names_are_left_to_the_sweeper(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    kept, partition, primaries, _ = placed(ring, nodes)
    orphan = next(n for n in (uuid.uuid4().hex for _ in range(10_000)) if ring.partition(n) == partition)
    for name in (kept, orphan):
        primaries[0].store.put(partition, name, name.encode())
    asked: list[set[str]] = []

    def referenced(names: Iterable[str]) -> set[str]:
        asked.append(set(names))
        return {kept} & asked[-1]

    assert Replicator(lambda: ring, client, referenced).run_once().copied == 2
    assert asked == [{kept, orphan}]
    assert all(held(node, partition, kept) == kept.encode() for node in primaries)
    assert [held(node, partition, orphan) for node in primaries[1:]] == [None, None]


def test_run_forever_runs_passes_until_stopped(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(list(nodes.values())[:3])
    name, partition, primaries, _ = placed(ring, nodes)
    primaries[0].store.put(partition, name, b"forever")
    loop = Replicator(lambda: ring, client).start(0.05)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(held(n, partition, name) is None for n in primaries):
            time.sleep(0.05)
        assert all(held(node, partition, name) == b"forever" for node in primaries)
    finally:
        loop.stop()
    assert not loop.thread.is_alive()


def test_a_failing_pass_does_not_end_the_loop() -> None:
    calls: list[int] = []

    class Flaky(Replicator):
        def run_once(self) -> ReplicationStats:
            calls.append(1)
            raise RuntimeError("boom")

    stop = threading.Event()
    flaky = Flaky(lambda: ring_of([]), NodeClient(SECRET))
    thread = threading.Thread(target=flaky.run_forever, args=(stop, 0.01))
    thread.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert len(calls) >= 3 and not thread.is_alive()
