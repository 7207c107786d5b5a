"""The sweeper against real object node processes and a real database: replica data no metadata
refers to is removed after the grace period, everything referenced stays."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pytest
from test_replicator import SECRET, NodeProcess, held, placed, ring_of, start_nodes

from overcast.core.db import Database
from overcast.core.identity import Identity
from overcast.core.models import StoredObject
from overcast.core.objects.buckets import BucketStore
from overcast.core.objects.loops import NodeClient
from overcast.core.objects.sweeper import QUERY_BATCH, Sweeper, any_of, stored_object_references
from overcast.core.secretbox import SecretBox


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    nodes = start_nodes(tmp_path_factory.mktemp("sweeping"), 3)
    yield nodes
    for node in nodes:
        assert node.stop() == 0


@pytest.fixture
def nodes(processes: list[NodeProcess]) -> Iterator[dict[str, NodeProcess]]:
    for node in processes:
        node.wipe()
    yield {n.name: n for n in processes}


@pytest.fixture
def client() -> Iterator[NodeClient]:
    nodes = NodeClient(SECRET)
    yield nodes
    nodes.close()


class References:
    """A reference check over a set of names, recording what it was asked."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = set(names)
        self.asked: list[set[str]] = []

    def __call__(self, names: Iterable[str]) -> set[str]:
        self.asked.append(set(names))
        return self.names & self.asked[-1]


def test_unreferenced_data_is_removed_everywhere(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(nodes.values())
    kept, partition, primaries, _ = placed(ring, nodes)
    orphan, orphan_part, orphan_nodes, _ = placed(ring, nodes)
    for node in primaries:
        node.store.put(partition, kept, b"kept")
    for node in orphan_nodes[:2]:                       # an upload that died before its commit
        node.store.put(orphan_part, orphan, b"orphan")
    refs = References({kept})
    stats = Sweeper(lambda: ring, client, refs, grace=0).run_once()
    assert (stats.removed, stats.orphans, stats.failed, stats.unreachable) == (2, 2, 0, 0)
    assert stats.replicas == 5
    assert all(held(node, partition, kept) == b"kept" for node in primaries)
    assert all(held(node, orphan_part, orphan) is None for node in nodes.values())
    assert all(len(asked) <= 2 for asked in refs.asked)    # one batch per partition
    assert Sweeper(lambda: ring, client, refs, grace=0).run_once().removed == 0


def test_grace_period_keeps_young_data(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    ring = ring_of(nodes.values())
    orphan, partition, primaries, _ = placed(ring, nodes)
    primaries[0].store.put(partition, orphan, b"in flight")
    now = time.time()
    young = Sweeper(lambda: ring, client, References(), grace=3600, clock=lambda: now).run_once()
    assert (young.orphans, young.removed) == (1, 0)
    assert held(primaries[0], partition, orphan) == b"in flight"
    later = Sweeper(lambda: ring, client, References(), grace=3600, clock=lambda: now + 3601).run_once()
    assert later.removed == 1
    assert held(primaries[0], partition, orphan) is None


def test_an_unreachable_node_does_not_stop_the_sweep(nodes: dict[str, NodeProcess], client: NodeClient) -> None:
    probe = ring_of(nodes.values())
    orphan, partition, primaries, _ = placed(probe, nodes)
    ring = ring_of(nodes.values(), down={primaries[2].name})
    for node in primaries:
        node.store.put(partition, orphan, b"deleted object")      # its delete reached no node
    stats = Sweeper(lambda: ring, client, References(), grace=0).run_once()
    assert (stats.removed, stats.unreachable) == (2, 1)
    assert held(primaries[2], partition, orphan) == b"deleted object"   # swept when it is back
    assert Sweeper(lambda: probe, client, References(), grace=0).run_once().removed == 1
    assert held(primaries[2], partition, orphan) is None


def _bucket(database: Database, box: SecretBox) -> int:
    account_id, _ = Identity(database, box).create_account(f"sweep-{uuid.uuid4().hex[:8]}")
    return BucketStore(database).create(account_id, f"sweep-{uuid.uuid4().hex[:8]}", "us-east-1").id


def _row(bucket_id: int, key: str, data_name: str) -> StoredObject:
    return StoredObject(bucket_id=bucket_id, key=key, size=1, etag='"x"', content_type="binary/octet-stream",
                        headers_json=json.dumps({}), metadata_json=json.dumps({}), data_name=data_name,
                        last_modified=datetime.now(UTC))


def test_stored_object_references(database: Database, box: SecretBox) -> None:
    bucket_id = _bucket(database, box)
    names = [uuid.uuid4().hex for _ in range(QUERY_BATCH * 2 + 7)]
    live = set(names[::3])
    with database.session() as s:
        s.add_all(_row(bucket_id, f"k{i}", name) for i, name in enumerate(sorted(live)))
    referenced = stored_object_references(database)
    assert referenced(iter(names)) == live
    assert referenced([]) == set()
    assert referenced(["nothing-here"]) == set()


def test_any_of_is_the_union_and_asks_only_for_the_rest() -> None:
    first, second = References({"a"}), References({"b", "a"})
    assert any_of(first, second)(["a", "b", "c"]) == {"a", "b"}
    assert second.asked == [{"b", "c"}]
    assert any_of(first, second)(["a"]) == {"a"} and len(second.asked) == 1


def test_sweeper_with_the_database(nodes: dict[str, NodeProcess], client: NodeClient, database: Database,
                                   box: SecretBox) -> None:
    ring = ring_of(nodes.values())
    bucket_id = _bucket(database, box)
    kept, kept_part, kept_nodes, _ = placed(ring, nodes)
    gone, gone_part, gone_nodes, _ = placed(ring, nodes)
    with database.session() as s:
        s.add(_row(bucket_id, "kept", kept))
    for name, part, where in ((kept, kept_part, kept_nodes), (gone, gone_part, gone_nodes)):
        for node in where:
            node.store.put(part, name, os.urandom(100))
    stats = Sweeper(lambda: ring, client, stored_object_references(database), grace=0).run_once()
    assert stats.removed == 3
    assert all(held(node, kept_part, kept) is not None for node in kept_nodes)
    assert all(held(node, gone_part, gone) is None for node in gone_nodes)
