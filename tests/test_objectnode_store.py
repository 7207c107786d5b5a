"""The object node's on-disk replica store: checksums, layout, validation, and crash atomicity."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.hostagents.objectnode.store import (
    InvalidReplicaName,
    ObjectStore,
    SizeMismatch,
    check_name,
    parse_partition,
)


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "node")


def read_all(store: ObjectStore, partition: int, name: str) -> bytes | None:
    reader = store.open(partition, name)
    if reader is None:
        return None
    with reader:
        return b"".join(reader.chunks())


def test_layout_is_created(store: ObjectStore) -> None:
    for sub in ("tmp", "objects", "quarantine"):
        assert (store.root / sub).is_dir()


@pytest.mark.parametrize("body", [b"", b"x", os.urandom(1024), os.urandom(3 * 1024 * 1024 + 7)],
                         ids=["0B", "1B", "1KiB", "3MiB+7"])
def test_put_records_checksums_and_reads_back(store: ObjectStore, body: bytes) -> None:
    info = store.put(7, "obj-1", body)
    assert (info.md5, info.sha256, info.size) == (hashlib.md5(body).hexdigest(),
                                                   hashlib.sha256(body).hexdigest(), len(body))
    assert read_all(store, 7, "obj-1") == body
    assert store.stat(7, "obj-1") == info
    meta = json.loads((store.objects_dir / "7" / "obj-1.meta").read_text())
    assert {k: meta[k] for k in ("md5", "sha256", "size")} == info.to_json()
    assert meta["created"] == info.created
    assert (store.objects_dir / "7" / "obj-1.data").read_bytes() == body
    assert list(store.tmp_dir.iterdir()) == []


def test_chunked_writer_and_ranges(store: ObjectStore) -> None:
    body = os.urandom(2 * 1024 * 1024 + 123)
    with store.writer(3, "big") as writer:
        for i in range(0, len(body), 65536):
            writer.write(body[i:i + 65536])
        info = writer.commit()
    assert info.sha256 == hashlib.sha256(body).hexdigest()
    with store.open(3, "big") as reader:  # type: ignore[union-attr]
        assert reader.read(10, 5) == body[10:15]
        assert b"".join(reader.chunks(1000, 1_500_000, chunk_size=100_000)) == body[1000:1_500_000]
        assert all(len(c) <= 100_000 for c in reader.chunks(0, None, chunk_size=100_000))
        assert b"".join(reader.chunks(len(body) - 3)) == body[-3:]


def test_expected_size_mismatch_keeps_nothing(store: ObjectStore) -> None:
    with pytest.raises(SizeMismatch):
        store.put(1, "short", b"abc", expect_size=4)
    assert store.open(1, "short") is None
    assert list(store.tmp_dir.iterdir()) == []
    assert not (store.objects_dir / "1" / "short.data").exists()
    assert store.put(1, "exact", b"abcd", expect_size=4).size == 4


def test_aborted_writer_keeps_nothing(store: ObjectStore) -> None:
    writer = store.writer(1, "gone")
    writer.write(b"partial")
    assert len(list(store.tmp_dir.iterdir())) == 1
    writer.abort()
    assert list(store.tmp_dir.iterdir()) == []
    assert store.open(1, "gone") is None
    with store.writer(1, "gone2") as w:     # leaving the block without commit aborts
        w.write(b"x")
    assert list(store.tmp_dir.iterdir()) == [] and store.open(1, "gone2") is None


def test_overwrite_replaces_data_and_meta(store: ObjectStore) -> None:
    store.put(2, "k", b"old contents")
    info = store.put(2, "k", b"new")
    assert read_all(store, 2, "k") == b"new"
    assert store.stat(2, "k") == info
    assert store.list_partition(2) == {"k": info}


def test_delete_is_idempotent(store: ObjectStore) -> None:
    store.put(4, "d", b"bytes")
    assert store.delete(4, "d") is True
    assert store.open(4, "d") is None
    assert store.delete(4, "d") is False
    assert store.delete(99, "never") is False
    assert list((store.objects_dir / "4").iterdir()) == []


@pytest.mark.parametrize("name", ["", "a/b", "a b", "x" * 201, "caf\u00e9", "a%2Fb", "a\nb", "a\x00"])
def test_bad_names_are_rejected(store: ObjectStore, name: str) -> None:
    with pytest.raises(InvalidReplicaName):
        check_name(name)
    with pytest.raises(InvalidReplicaName):
        store.put(1, name, b"x")
    with pytest.raises(InvalidReplicaName):
        store.open(1, name)


@pytest.mark.parametrize("partition", ["-1", "x", "1.5", "", "12345678901", " 1", -1])
def test_bad_partitions_are_rejected(store: ObjectStore, partition: Any) -> None:
    with pytest.raises(InvalidReplicaName):
        parse_partition(partition)
    with pytest.raises(InvalidReplicaName):
        store.put(partition, "ok", b"x")


def test_good_names(store: ObjectStore) -> None:
    for name in ("a", "A-Z_0.9", "x" * 200, "..", ".", "name.meta", "name.data"):
        store.put("0012", name, name.encode())
    assert store.list_partition(12).keys() == {"a", "A-Z_0.9", "x" * 200, "..", ".", "name.meta", "name.data"}
    assert read_all(store, 12, "name.meta") == b"name.meta"
    assert read_all(store, 12, "..") == b".."


def test_data_without_meta_and_meta_without_data_are_ignored(store: ObjectStore) -> None:
    pdir = store.objects_dir / "5"
    pdir.mkdir()
    (pdir / "orphan.data").write_bytes(b"no meta")
    store.put(5, "lonely", b"meta only")
    (pdir / "lonely.data").unlink()
    assert store.open(5, "orphan") is None
    assert store.open(5, "lonely") is None
    assert store.list_partition(5) == {}


def test_listing(store: ObjectStore) -> None:
    assert store.partitions() == []
    a = store.put(1, "a", b"A")
    b = store.put(1, "b", b"BB")
    store.put(30, "c", b"C")
    store.put(9, "gone", b"x")
    store.delete(9, "gone")
    assert store.partitions() == [1, 30]
    assert store.list_partition(1) == {"a": a, "b": b}
    assert store.list_partition(1234) == {}


def test_quarantine_moves_the_replica(store: ObjectStore) -> None:
    store.put(6, "rot", b"bits")
    moved = store.quarantine(6, "rot")
    assert moved is not None and moved.read_bytes() == b"bits"
    assert moved.parent == store.quarantine_dir / "6"
    assert Path(str(moved)[: -len(".data")] + ".meta").exists()
    assert store.open(6, "rot") is None and store.list_partition(6) == {}
    assert store.quarantine(6, "rot") is None


def test_remove_stale_tmp(store: ObjectStore) -> None:
    old, fresh = store.tmp_dir / "old", store.tmp_dir / "fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.remove_stale_tmp() == 1
    assert not old.exists() and fresh.exists()


def test_copied_data_directory_still_reads(tmp_path: Path) -> None:
    """Inodes are a hint: a root copied elsewhere (new inodes) still serves its replicas."""
    store = ObjectStore(tmp_path / "a")
    store.put(1, "k", b"first")
    store.put(1, "k", b"second!")
    shutil.copytree(store.root, tmp_path / "b")
    copy = ObjectStore(tmp_path / "b")
    assert read_all(copy, 1, "k") == b"second!"


class Crash(BaseException):
    """The process died here."""


class CrashInjector:
    """Counts the store's durability-relevant syscalls; from the n-th on, each one "kills the process"."""

    CALLS = ("write", "fdatasync", "fsync", "replace", "unlink", "rename")

    def __init__(self, monkeypatch: pytest.MonkeyPatch, crash_at: int | None) -> None:
        self.count = 0
        self.crash_at = crash_at
        self.crashed = False
        for call in self.CALLS:
            monkeypatch.setattr(os, call, self._wrap(getattr(os, call)))

    def _wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.crashed or (self.crash_at is not None and self.count >= self.crash_at):
                self.crashed = True
                raise Crash()
            self.count += 1
            return real(*args, **kwargs)
        return call


def _steps(tmp_path: Path, action: Callable[[ObjectStore], object], setup: Callable[[ObjectStore], object]) -> int:
    store = ObjectStore(tmp_path / "count")
    setup(store)
    with pytest.MonkeyPatch.context() as mp:
        injector = CrashInjector(mp, None)
        action(store)
    return injector.count


def _crash_runs(tmp_path: Path, setup: Callable[[ObjectStore], object],
                action: Callable[[ObjectStore], object]) -> Iterator[ObjectStore]:
    """For every step of ``action``: run it on a fresh store, crash there, reopen the root."""
    total = _steps(tmp_path, action, setup)
    assert total > 3
    for crash_at in range(total + 1):
        root = tmp_path / f"crash{crash_at}"
        setup(ObjectStore(root))
        with pytest.MonkeyPatch.context() as mp:
            CrashInjector(mp, crash_at)
            try:
                action(ObjectStore(root))
            except Crash:
                assert crash_at < total
            else:
                assert crash_at == total
        yield ObjectStore(root)


NEW = b"the new body, longer than the old"
OLD = b"the old body"


def _state(store: ObjectStore) -> bytes | None:
    body = read_all(store, 8, "obj")
    info = store.stat(8, "obj")
    listed = store.list_partition(8).get("obj")
    assert info == listed
    if body is not None:
        assert info is not None and info.md5 == hashlib.md5(body).hexdigest() and info.size == len(body)
    return body


def test_crash_during_first_write_leaves_nothing_or_the_object(tmp_path: Path) -> None:
    seen = [_state(s) for s in _crash_runs(tmp_path, lambda s: None, lambda s: s.put(8, "obj", NEW))]
    assert set(seen) == {None, NEW}
    assert seen[-1] == NEW and seen[0] is None


def test_crash_during_overwrite_leaves_old_or_new(tmp_path: Path) -> None:
    seen = [_state(s) for s in _crash_runs(tmp_path, lambda s: s.put(8, "obj", OLD),
                                           lambda s: s.put(8, "obj", NEW))]
    assert set(seen) == {OLD, NEW}
    first_new = seen.index(NEW)
    assert all(b == OLD for b in seen[:first_new]) and all(b == NEW for b in seen[first_new:])


def test_crash_between_meta_and_data_rename_reads_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ObjectStore(tmp_path / "n")
    store.put(8, "obj", OLD)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith(".data"):
            raise Crash()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Crash):
        store.put(8, "obj", NEW)
    monkeypatch.undo()
    meta = json.loads((store.objects_dir / "8" / "obj.meta").read_text())
    assert meta["size"] == len(NEW)           # the new .meta is in place…
    assert _state(ObjectStore(store.root)) == OLD      # …yet the old replica is what reads back
    store.put(8, "obj", NEW)
    assert _state(store) == NEW


def test_crash_during_delete_leaves_old_or_nothing(tmp_path: Path) -> None:
    seen = [_state(s) for s in _crash_runs(tmp_path, lambda s: s.put(8, "obj", OLD),
                                           lambda s: (s.delete(8, "obj"), s.put(8, "other", b"x")))]
    assert set(seen) == {OLD, None}


def test_concurrent_overwrites_and_reads_stay_consistent(store: ObjectStore) -> None:
    bodies = [bytes([i]) * (1000 + i) for i in range(8)]
    store.put(1, "hot", bodies[0])
    stop = time.monotonic() + 0.5
    errors: list[str] = []

    def writer(i: int) -> None:
        while time.monotonic() < stop:
            store.put(1, "hot", bodies[i])

    def reader() -> None:
        while time.monotonic() < stop:
            got = store.open(1, "hot")
            if got is None:
                errors.append("missing")
                continue
            with got:
                data = b"".join(got.chunks())
            if data not in bodies or hashlib.md5(data).hexdigest() != got.info.md5:
                errors.append("inconsistent")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
