"""The on-disk replica store of one object node (one disk / data directory); no HTTP here.

Layout under ``root``::

    tmp/<uuid>                        bodies being received, and their metadata before commit
    objects/<partition>/<name>.data   the bytes of a replica
    objects/<partition>/<name>.meta   its sidecar JSON: md5, sha256, size, created, ino
    quarantine/<partition>/<name>.<stamp>.data|.meta   replicas the auditor set aside

A write goes to ``tmp/``, is fsynced, its ``.meta`` is written, fsynced and renamed into place,
then the ``.data`` is renamed next to it and the directory fsynced.  So a ``.data`` always has its
``.meta``; a ``.meta`` without ``.data`` (or a ``.data`` without ``.meta``) is ignored.

Overwrites stay atomic without a journal: the new ``.meta`` also carries the record of the data it
replaces (``previous``), each record naming the inode of its data file.  A crash between the two
renames leaves the new ``.meta`` beside the old ``.data``, which still resolves to the old record;
after the second rename the new record matches.  Readers open the data first, then pick the
record whose inode and size match it, so they never need a lock.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("overcast.objectnode")

CHUNK_SIZE = 1024 * 1024
STALE_TMP_SECONDS = 3600
NAME_RE = re.compile(r"[0-9a-zA-Z._-]{1,200}")
PARTITION_RE = re.compile(r"[0-9]{1,10}")
_LOCK_STRIPES = 64
_OPEN_ATTEMPTS = 4


class InvalidReplicaName(ValueError):
    """A partition or object name that the node does not accept."""


class SizeMismatch(ValueError):
    """The body's length differs from the size the client announced."""


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidReplicaName(f"invalid object name {name[:80]!r}")
    return name


def parse_partition(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidReplicaName(f"invalid partition {value}")
        return value
    if not isinstance(value, str) or not PARTITION_RE.fullmatch(value):
        raise InvalidReplicaName(f"invalid partition {str(value)[:20]!r}")
    return int(value)


@dataclass(frozen=True)
class ReplicaInfo:
    md5: str
    sha256: str
    size: int
    created: float

    def to_json(self) -> dict[str, Any]:
        return {"md5": self.md5, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ReplicaInfo:
        return cls(str(record["md5"]), str(record["sha256"]), int(record["size"]), float(record["created"]))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _load_meta(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            meta = json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        log.warning("unreadable metadata %s: %s", path, err)
        return None
    return meta if isinstance(meta, dict) else None


def _resolve(meta: dict[str, Any], st: os.stat_result) -> dict[str, Any] | None:
    """The record of ``meta`` that describes the data file with status ``st``."""
    records = [meta]
    if isinstance(meta.get("previous"), dict):
        records.append(meta["previous"])
    try:
        same_size = [r for r in records if int(r["size"]) == st.st_size]
    except (KeyError, TypeError, ValueError):
        return None
    exact = [r for r in same_size if r.get("ino") == st.st_ino]
    if exact:
        return exact[0]
    # The data was copied (new inode): trust the one record whose size fits, if unambiguous.
    return same_size[0] if len(same_size) == 1 else None


class ReplicaReader:
    """An open replica: the data file's descriptor and the record that matches it."""

    def __init__(self, fd: int, info: ReplicaInfo) -> None:
        self.fd = fd
        self.info = info

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def chunks(self, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The bytes in [start, end) in chunks; stops early if the file is shorter."""
        end = self.info.size if end is None else end
        pos = start
        while pos < end:
            data = self.read(pos, min(chunk_size, end - pos))
            if not data:
                return
            pos += len(data)
            yield data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ReplicaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReplicaWriter:
    """Receives one body into ``tmp/``; :meth:`commit` makes it the replica, :meth:`abort` drops it.

    Blocking: call from a worker thread.  Not safe to share between threads.
    """

    def __init__(self, store: ObjectStore, partition: int, name: str) -> None:
        self.store = store
        self.partition = parse_partition(partition)
        self.name = check_name(name)
        self.tmp_path = store.tmp_dir / uuid.uuid4().hex
        self.size = 0
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256()
        self._fd: int | None = None
        self._done = False

    def _open(self) -> int:
        if self._done:
            raise RuntimeError("writer already committed or aborted")
        if self._fd is None:
            self._fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> None:
        fd = self._open()
        if not data:
            return
        self._md5.update(data)
        self._sha256.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def commit(self, last: bytes | bytearray = b"", expect_size: int | None = None) -> ReplicaInfo:
        """Write ``last``, check the size, and install the replica durably; aborts on any error."""
        try:
            self.write(last)
            if expect_size is not None and expect_size != self.size:
                raise SizeMismatch(f"body has {self.size} bytes, expected {expect_size}")
            fd = self._open()
            os.fdatasync(fd)
            inode = os.fstat(fd).st_ino
            os.close(fd)
            self._fd = None
            info = ReplicaInfo(self._md5.hexdigest(), self._sha256.hexdigest(), self.size, time.time())
            self.store._install(self.partition, self.name, self.tmp_path, info, inode)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return info

    def abort(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        _unlink_quietly(self.tmp_path)
        _unlink_quietly(f"{self.tmp_path}.meta")
        self._done = True

    def __enter__(self) -> ReplicaWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class ObjectStore:
    """The replicas under one root directory.  All methods block; the server runs them in threads."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.tmp_dir = self.root / "tmp"
        self.objects_dir = self.root / "objects"
        self.quarantine_dir = self.root / "quarantine"
        for path in (self.root, self.tmp_dir, self.objects_dir, self.quarantine_dir):
            self._ensure_dir(path)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    # -- paths and locks ------------------------------------------------------------------------

    @staticmethod
    def _ensure_dir(path: Path) -> None:
        try:
            os.mkdir(path)
        except FileExistsError:
            return
        _fsync_dir(path.parent)

    def _lock(self, partition: int, name: str) -> threading.Lock:
        return self._locks[hash((partition, name)) % _LOCK_STRIPES]

    def partition_dir(self, partition: int | str) -> Path:
        return self.objects_dir / str(parse_partition(partition))

    def data_path(self, partition: int, name: str) -> Path:
        return self.partition_dir(partition) / f"{check_name(name)}.data"

    def meta_path(self, partition: int, name: str) -> Path:
        return self.partition_dir(partition) / f"{check_name(name)}.meta"

    # -- writes ---------------------------------------------------------------------------------

    def writer(self, partition: int | str, name: str) -> ReplicaWriter:
        return ReplicaWriter(self, parse_partition(partition), name)

    def put(self, partition: int | str, name: str, body: bytes | Iterable[bytes],
            expect_size: int | None = None) -> ReplicaInfo:
        """Store a whole body (bytes or an iterable of chunks) in one call."""
        with self.writer(partition, name) as writer:
            chunks = [body] if isinstance(body, bytes | bytearray) else body
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit(expect_size=expect_size)

    def _install(self, partition: int, name: str, tmp_data: Path, info: ReplicaInfo, inode: int) -> None:
        record: dict[str, Any] = {"md5": info.md5, "sha256": info.sha256, "size": info.size,
                                  "created": info.created, "ino": inode}
        tmp_meta = Path(f"{tmp_data}.meta")
        with self._lock(partition, name):
            pdir = self.partition_dir(partition)
            self._ensure_dir(pdir)
            data_path, meta_path = pdir / f"{name}.data", pdir / f"{name}.meta"
            replacing = self._current_record(data_path, meta_path)
            if replacing is not None:
                record["previous"] = {k: v for k, v in replacing.items() if k != "previous"}
            fd = os.open(tmp_meta, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, json.dumps(record, sort_keys=True).encode())
                os.fdatasync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_meta, meta_path)
            if replacing is not None or os.path.lexists(data_path):
                _fsync_dir(pdir)    # the new .meta must be durable before the old .data goes
            os.replace(tmp_data, data_path)
            _fsync_dir(pdir)

    def _current_record(self, data_path: Path, meta_path: Path) -> dict[str, Any] | None:
        try:
            st = os.stat(data_path)
        except FileNotFoundError:
            return None
        meta = _load_meta(meta_path)
        return None if meta is None else _resolve(meta, st)

    def delete(self, partition: int | str, name: str) -> bool:
        """Remove a replica (data first, so a .data never lacks its .meta); True if there was one."""
        partition = parse_partition(partition)
        data_path, meta_path = self.data_path(partition, name), self.meta_path(partition, name)
        with self._lock(partition, name):
            existed = False
            for path in (data_path, meta_path):
                try:
                    os.unlink(path)
                    existed = True
                except FileNotFoundError:
                    pass
            if existed:
                _fsync_dir(data_path.parent)
        return existed

    def quarantine(self, partition: int | str, name: str) -> Path | None:
        """Move a replica's files to ``quarantine/``; the new path of its data, or None if absent."""
        partition = parse_partition(partition)
        data_path, meta_path = self.data_path(partition, name), self.meta_path(partition, name)
        target_dir = self.quarantine_dir / str(partition)
        stamp = f"{time.time():.6f}"
        with self._lock(partition, name):
            if not os.path.lexists(data_path):
                return None
            self._ensure_dir(target_dir)
            target = target_dir / f"{name}.{stamp}.data"
            os.replace(data_path, target)
            with contextlib.suppress(FileNotFoundError):
                os.replace(meta_path, target_dir / f"{name}.{stamp}.meta")
            _fsync_dir(target_dir)
            _fsync_dir(data_path.parent)
        return target

    # -- reads ----------------------------------------------------------------------------------

    def open(self, partition: int | str, name: str) -> ReplicaReader | None:
        """The replica opened for reading, or None if there is none."""
        partition = parse_partition(partition)
        data_path, meta_path = self.data_path(partition, name), self.meta_path(partition, name)
        for _ in range(_OPEN_ATTEMPTS):     # retry if a concurrent write swaps the files under us
            try:
                fd = os.open(data_path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None
            try:
                meta = _load_meta(meta_path)
                record = None if meta is None else _resolve(meta, os.fstat(fd))
            except BaseException:
                os.close(fd)
                raise
            if record is not None:
                return ReplicaReader(fd, ReplicaInfo.from_record(record))
            os.close(fd)
            if meta is None and not os.path.lexists(meta_path) and os.path.lexists(data_path):
                return None     # data without metadata: not a replica
        log.warning("replica %s/%s: metadata does not match data", partition, name)
        return None

    def stat(self, partition: int | str, name: str) -> ReplicaInfo | None:
        reader = self.open(partition, name)
        if reader is None:
            return None
        with reader:
            return reader.info

    def partitions(self) -> list[int]:
        """Partitions that hold at least one data file."""
        found = []
        with os.scandir(self.objects_dir) as entries:
            for entry in entries:
                if entry.is_dir() and PARTITION_RE.fullmatch(entry.name) and self._has_data(entry.path):
                    found.append(int(entry.name))
        return sorted(found)

    @staticmethod
    def _has_data(path: str) -> bool:
        with os.scandir(path) as entries:
            return any(e.name.endswith(".data") for e in entries)

    def list_partition(self, partition: int | str) -> dict[str, ReplicaInfo]:
        """Every replica of a partition by name (data without matching metadata left out)."""
        pdir = self.partition_dir(partition)
        replicas: dict[str, ReplicaInfo] = {}
        try:
            entries = sorted(e.name for e in os.scandir(pdir) if e.name.endswith(".data"))
        except FileNotFoundError:
            return replicas
        for filename in entries:
            name = filename[: -len(".data")]
            if not NAME_RE.fullmatch(name):
                continue
            try:
                st = os.stat(pdir / filename)
            except FileNotFoundError:
                continue
            meta = _load_meta(pdir / f"{name}.meta")
            record = None if meta is None else _resolve(meta, st)
            if record is not None:
                replicas[name] = ReplicaInfo.from_record(record)
        return replicas

    # -- housekeeping ---------------------------------------------------------------------------

    def remove_stale_tmp(self, max_age: float = STALE_TMP_SECONDS, now: float | None = None) -> int:
        """Delete files in ``tmp/`` not modified for ``max_age`` seconds; how many went."""
        cutoff = (time.time() if now is None else now) - max_age
        removed = 0
        with os.scandir(self.tmp_dir) as entries:
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        if entry.is_dir(follow_symlinks=False):
                            shutil.rmtree(entry.path, ignore_errors=True)
                        else:
                            os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free


def is_out_of_space(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)
