"""Multipart uploads and multipart objects in the store, on three real object node processes and
each database backend (parts of 1 KiB minimum here instead of 5 MiB)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from test_objectnode_server import SECRET, Node, write_secret

from overcast.core.db import Database
from overcast.core.errors import AWSError
from overcast.core.identity import Identity
from overcast.core.models import UploadedPart
from overcast.core.objects.buckets import BucketStore
from overcast.core.objects.multipart import MultipartUploads, multipart_etag, multipart_references
from overcast.core.objects.object_store import ObjectInfo, ObjectStore
from overcast.core.objects.replicas import ReplicaClient
from overcast.core.objects.ring import Ring
from overcast.core.objects.ring_builder import RingBuilder
from overcast.core.objects.sweeper import any_of, stored_object_references
from overcast.core.secretbox import SecretBox

T = TypeVar("T")
MIN = 1024


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    base = tmp_path_factory.mktemp("mpnodes")
    secret = write_secret(base / "secret")
    running = [Node(base / f"n{i}", secret).start() for i in range(3)]
    yield running
    for node in running:
        node.stop()


@pytest.fixture(scope="module")
def ring(nodes: list[Node]) -> Ring:
    builder = RingBuilder(6, 3)
    for i, node in enumerate(nodes):
        builder.add_device(f"n{i}", node.url, f"z{i}")
    return builder.rebalance()


class World:
    def __init__(self, db: Database, ring: Ring, nodes: list[Node]) -> None:
        self.db, self.ring_, self.nodes = db, ring, nodes
        self.account, _ = Identity(db, SecretBox.ephemeral()).create_account("owner")
        self.other, _ = Identity(db, SecretBox.ephemeral()).create_account("other")
        self.buckets = BucketStore(db)
        self.buckets.create(self.account, "bkt", "us-east-1")

    def run(self, make: Callable[[ObjectStore, MultipartUploads], Awaitable[T]]) -> T:
        async def go() -> T:
            replicas = ReplicaClient(SECRET)
            store = ObjectStore(self.db, self.buckets, lambda: self.ring_, replicas)
            try:
                return await make(store, MultipartUploads(store, min_part_size=MIN))
            finally:
                await replicas.aclose()
        return asyncio.run(go())

    def data_files(self, payload: bytes) -> list[Path]:
        digest = hashlib.sha256(payload).digest()
        return [p for n in self.nodes for p in (n.root / "objects").rglob("*.data")
                if p.stat().st_size == len(payload) and hashlib.sha256(p.read_bytes()).digest() == digest]


@pytest.fixture
def world(database: Database, ring: Ring, nodes: list[Node]) -> World:
    return World(database, ring, nodes)


async def body(data: bytes, chunk: int = 700) -> AsyncIterator[bytes]:
    for i in range(0, len(data), chunk):
        yield data[i:i + chunk]


async def read(store: ObjectStore, info: ObjectInfo, byte_range: tuple[int, int] | None = None) -> bytes:
    return b"".join([c async for c in await store.open(info, byte_range)])


def code_of(call: Callable[[], Any]) -> str:
    with pytest.raises(AWSError) as err:
        call()
    return err.value.code


async def upload(mp: MultipartUploads, acct: str, key: str, parts: dict[int, bytes]) -> tuple[str, dict[int, str]]:
    up = mp.create(acct, "bkt", key, initiator_arn="arn:aws:iam::1:user/u", content_type="text/x-test",
                   metadata={"color": "red"}, headers={"CacheControl": "no-cache"})
    etags = {}
    for number, data in parts.items():
        etags[number] = (await mp.upload_part(acct, "bkt", key, up.upload_id, number, body(data),
                                              size=len(data))).etag
    return up.upload_id, etags


def test_upload_complete_read_back(world: World) -> None:
    p1, p2, p3, stray = os.urandom(MIN + 5), os.urandom(MIN * 2), os.urandom(10), os.urandom(MIN)
    first_p2 = os.urandom(MIN + 1)

    async def go(store: ObjectStore, mp: MultipartUploads) -> None:
        uid, etags = await upload(mp, world.account, "dir/big", {1: p1, 2: first_p2, 3: p3, 4: stray})
        assert len(world.data_files(first_p2)) == 3
        again = await mp.upload_part(world.account, "bkt", "dir/big", uid, 2, body(p2), size=len(p2))
        assert again.etag == f'"{hashlib.md5(p2).hexdigest()}"'
        assert world.data_files(first_p2) == [], "a replaced part's data is deleted"
        page = mp.list_parts(world.account, "bkt", "dir/big", uid, max_parts=2)
        assert [p.part_number for p in page.parts] == [1, 2] and page.truncated and page.next_marker == 2
        page = mp.list_parts(world.account, "bkt", "dir/big", uid, marker=2, max_parts=2)
        assert [(p.part_number, p.size) for p in page.parts] == [(3, 10), (4, MIN)] and not page.truncated
        info = await mp.complete(world.account, "bkt", "dir/big", uid,
                                 [(1, etags[1]), (2, again.etag.strip('"')), (3, etags[3])])
        md5s = [hashlib.md5(p).hexdigest() for p in (p1, p2, p3)]
        assert info.etag == multipart_etag(md5s) and info.etag.endswith('-3"') and info.parts_count == 3
        whole = p1 + p2 + p3
        head = store.head(world.account, "bkt", "dir/big")
        assert (head.size, head.etag, head.content_type, head.metadata, head.headers) == \
               (len(whole), info.etag, "text/x-test", {"color": "red"}, {"CacheControl": "no-cache"})
        assert await read(store, head) == whole
        for lo, hi in ((0, 9), (MIN, MIN + 20), (len(p1) - 3, len(p1) + len(p2) + 2), (len(whole) - 1, len(whole) - 1)):
            assert await read(store, head, (lo, hi)) == whole[lo:hi + 1], (lo, hi)
        listed = store.list(world.account, "bkt")
        assert await read(store, listed.objects[0]) == whole       # a listed info has no parts loaded
        assert store.part_range(head, 2) == (len(p1), len(p1) + len(p2) - 1)
        assert store.part_range(listed.objects[0], 3) == (len(whole) - 10, len(whole) - 1)
        assert code_of(lambda: store.part_range(head, 4)) == "InvalidPartNumber"
        for part in (p1, p2, p3):
            assert len({f.relative_to(world.nodes[0].root.parent).parts[0] for f in world.data_files(part)}) == 3
        assert world.data_files(stray) == [], "parts left out of the completion are deleted"
        assert code_of(lambda: mp.list_parts(world.account, "bkt", "dir/big", uid)) == "NoSuchUpload"
        await store.delete(world.account, "bkt", "dir/big")
        assert all(world.data_files(p) == [] for p in (p1, p2, p3))

    world.run(go)


def test_completion_errors(world: World) -> None:
    small, big = os.urandom(MIN - 1), os.urandom(MIN)

    async def go(store: ObjectStore, mp: MultipartUploads) -> None:
        uid, etags = await upload(mp, world.account, "k", {1: small, 2: big, 3: big})
        complete = mp.complete

        async def code(parts: list[tuple[int, str | None]], key: str = "k", upload_id: str = uid) -> str:
            with pytest.raises(AWSError) as err:
                await complete(world.account, "bkt", key, upload_id, parts)
            return err.value.code

        assert await code([]) == "MalformedXML"
        assert await code([(2, etags[2]), (1, etags[1])]) == "InvalidPartOrder"
        assert await code([(2, etags[2]), (2, etags[2])]) == "InvalidPartOrder"
        assert await code([(2, etags[2]), (5, etags[2])]) == "InvalidPart"
        assert await code([(2, '"' + "0" * 32 + '"')]) == "InvalidPart"
        assert await code([(2, None)]) == "InvalidPart"
        assert await code([(1, etags[1]), (2, etags[2])]) == "EntityTooSmall"
        assert await code([(2, etags[2])], key="other") == "NoSuchUpload"
        assert await code([(2, etags[2])], upload_id="nope") == "NoSuchUpload"
        for bad in (0, 10001):
            with pytest.raises(AWSError) as err:
                await mp.upload_part(world.account, "bkt", "k", uid, bad, body(b"x"), size=1)
            assert err.value.code == "InvalidArgument"
        with pytest.raises(AWSError) as err:
            await mp.upload_part(world.account, "bkt", "k", "nope", 1, body(b"x"), size=1)
        assert err.value.code == "NoSuchUpload"
        with pytest.raises(AWSError) as err:
            await mp.abort(world.account, "bkt", "k", "nope")
        assert err.value.code == "NoSuchUpload"
        with pytest.raises(AWSError) as err:
            await mp.upload_part(world.other, "bkt", "k", uid, 1, body(b"x"), size=1)
        assert err.value.code == "AccessDenied"
        info = await mp.complete(world.account, "bkt", "k", uid, [(1, etags[1])])    # the last part may be small
        assert info.size == len(small) and await read(store, info) == small

    world.run(go)


def test_abort_deletes_the_parts(world: World) -> None:
    a, b = os.urandom(MIN + 7), os.urandom(33)

    async def go(store: ObjectStore, mp: MultipartUploads) -> None:
        uid, _ = await upload(mp, world.account, "gone", {1: a, 2: b})
        assert len(world.data_files(a)) == 3
        await mp.abort(world.account, "bkt", "gone", uid)
        assert world.data_files(a) == [] and world.data_files(b) == []
        assert mp.list_uploads(world.account, "bkt").uploads == []

    world.run(go)


def test_overwrites_and_conditional_writes(world: World) -> None:
    simple, part = os.urandom(500), os.urandom(MIN + 3)

    async def go(store: ObjectStore, mp: MultipartUploads) -> None:
        put = await store.put(world.account, "bkt", "k", body(simple), size=len(simple), content_type=None)
        uid, etags = await upload(mp, world.account, "k", {1: part})
        with pytest.raises(AWSError) as err:
            await mp.complete(world.account, "bkt", "k", uid, [(1, etags[1])], if_none_match="*")
        assert (err.value.code, err.value.status) == ("PreconditionFailed", 412)
        with pytest.raises(AWSError) as err:
            await mp.complete(world.account, "bkt", "k", uid, [(1, etags[1])], if_match='"0123"')
        assert err.value.code == "PreconditionFailed"
        done = await mp.complete(world.account, "bkt", "k", uid, [(1, etags[1])], if_match=put.etag)
        assert world.data_files(simple) == [], "the replaced simple object's data is deleted"
        assert await read(store, store.head(world.account, "bkt", "k")) == part
        with pytest.raises(AWSError) as err:
            await store.put(world.account, "bkt", "k", body(b"x"), size=1, content_type=None, if_none_match="*")
        assert err.value.code == "PreconditionFailed"
        with pytest.raises(AWSError) as err:
            await store.put(world.account, "bkt", "new", body(b"x"), size=1, content_type=None, if_match=done.etag)
        assert (err.value.code, err.value.status) == ("NoSuchKey", 404)
        await store.put(world.account, "bkt", "new", body(b"x"), size=1, content_type=None, if_none_match="*")
        await store.put(world.account, "bkt", "k", body(simple), size=len(simple), content_type=None,
                        if_match=done.etag)
        assert world.data_files(part) == [], "a multipart object replaced by a PUT loses its parts' data"
        assert await read(store, store.head(world.account, "bkt", "k")) == simple

    world.run(go)


def test_list_uploads_paging(world: World) -> None:
    keys = ["a/1", "a/2", "b", "b", "c/x/1", "d"]

    async def go(store: ObjectStore, mp: MultipartUploads) -> None:
        ids = [mp.create(world.account, "bkt", k, initiator_arn="arn", content_type=None).upload_id for k in keys]
        everything = mp.list_uploads(world.account, "bkt")
        assert [(u.key, u.upload_id) for u in everything.uploads] == list(zip(keys, ids, strict=True))
        seen, key_marker, id_marker = [], "", ""
        while True:
            page = mp.list_uploads(world.account, "bkt", key_marker=key_marker, upload_id_marker=id_marker,
                                   max_uploads=2)
            seen += [u.upload_id for u in page.uploads]
            if not page.truncated:
                break
            key_marker, id_marker = page.next_key_marker or "", page.next_upload_id_marker or ""
        assert seen == ids
        top = mp.list_uploads(world.account, "bkt", delimiter="/")
        assert top.common_prefixes == ["a/", "c/"] and [u.key for u in top.uploads] == ["b", "b", "d"]
        page = mp.list_uploads(world.account, "bkt", delimiter="/", max_uploads=1)
        assert page.common_prefixes == ["a/"] and page.truncated and page.next_key_marker == "a/"
        page = mp.list_uploads(world.account, "bkt", delimiter="/", key_marker="a/", max_uploads=2)
        assert [u.key for u in page.uploads] == ["b", "b"] and page.next_upload_id_marker == ids[3]
        assert [u.key for u in mp.list_uploads(world.account, "bkt", prefix="c/").uploads] == ["c/x/1"]
        assert [u.key for u in mp.list_uploads(world.account, "bkt", key_marker="b").uploads] == ["c/x/1", "d"]
        after = mp.list_uploads(world.account, "bkt", key_marker="b", upload_id_marker=ids[2])
        assert [u.upload_id for u in after.uploads] == ids[3:]
        assert code_of(lambda: mp.list_uploads(world.other, "bkt")) == "AccessDenied"

    world.run(go)


def test_reads_fail_over_per_part(world: World) -> None:
    parts = {n: os.urandom(MIN + n) for n in (1, 2, 3)}
    whole = b"".join(parts.values())

    async def setup(store: ObjectStore, mp: MultipartUploads) -> None:
        uid, etags = await upload(mp, world.account, "failover", parts)
        await mp.complete(world.account, "bkt", "failover", uid, sorted(etags.items()))

    async def check(store: ObjectStore, mp: MultipartUploads) -> None:
        info = store.head(world.account, "bkt", "failover")
        assert await read(store, info) == whole
        assert await read(store, info, (MIN, 2 * MIN + 5)) == whole[MIN:2 * MIN + 6]

    world.run(setup)
    world.nodes[0].stop()
    try:
        world.run(check)
    finally:
        world.nodes[0].start()


def test_part_data_is_referenced_for_the_sweeper(world: World) -> None:
    async def go(store: ObjectStore, mp: MultipartUploads) -> tuple[set[str], set[str]]:
        uid, etags = await upload(mp, world.account, "refs", {1: b"a" * MIN, 2: b"b"})
        with world.db.session() as s:
            pending = set(s.scalars(select(UploadedPart.data_name)))
        await mp.complete(world.account, "bkt", "refs", uid, sorted(etags.items()))
        return pending, {p.data_name for p in store.head(world.account, "bkt", "refs").parts}

    pending, completed = world.run(go)
    assert pending == completed and len(completed) == 2
    referenced = any_of(stored_object_references(world.db), multipart_references(world.db))
    assert referenced([*completed, "not-a-name"]) == completed
