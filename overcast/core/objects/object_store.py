"""S3 objects: bytes on the object nodes (placed by the ring, written at quorum), metadata in the
database (one transaction, committed only after the quorum write).

Every PUT writes a new data object under a fresh name, so a failed or concurrent PUT never
damages the bytes a committed row points at; the replaced data is deleted after the commit.
A multipart object (see ``multipart.py``) is a row whose ``data_name`` names a manifest: its
``ObjectPart`` rows, one data object per part, read back to back.

Every change to a key takes that key's lock first (:func:`lock_key`), so that conditional writes
(``If-Match`` / ``If-None-Match``) are decided atomically with the commit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import AWSError, NotFound, ServiceUnavailable
from ..models import ObjectPart, StoredObject
from .buckets import BucketStore
from .replicas import QuorumError, ReplicaClient, ReplicaUnavailable, Written
from .ring import Ring

if TYPE_CHECKING:
    from .multipart import MultipartUploads

MAX_KEY_BYTES = 1024
MAX_PUT_BYTES = 5 * 1024**3


class NoSuchKey(NotFound):
    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.", extra={"Key": key})


class PreconditionFailed(AWSError):
    code = "PreconditionFailed"
    status = 412

    def __init__(self, condition: str) -> None:
        super().__init__("At least one of the pre-conditions you specified did not hold",
                         extra={"Condition": condition})


class ChecksumSource(Protocol):
    """A flexible checksum to keep with an object (``algorithm`` like ``CRC32``, base64 ``value``); read
    once the body was stored, so a streamed payload's checksum can be computed as it passes."""

    @property
    def algorithm(self) -> str | None: ...

    @property
    def value(self) -> str | None: ...


@dataclass(frozen=True)
class StoredChecksum:
    algorithm: str | None
    value: str | None


@dataclass(frozen=True)
class PartRef:
    """One part of a multipart object: its bytes are the data object ``data_name``."""

    data_name: str
    size: int
    md5: str                     # hex, unquoted


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str                    # quoted, as S3 shows it
    content_type: str
    last_modified: datetime
    data_name: str               # the data object, or for a multipart object the name of its manifest
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    parts_count: int | None = None           # None: a simple (single PUT) object
    parts: tuple[PartRef, ...] = ()          # a multipart object's parts in order (``head`` loads them)
    checksum_algorithm: str | None = None    # the flexible checksum of a simple object (``CRC32``…)
    checksum_value: str | None = None        # base64, as S3 shows it
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def checksum(self) -> StoredChecksum:
        return StoredChecksum(self.checksum_algorithm, self.checksum_value)


@dataclass(frozen=True)
class Listing:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str | None      # the last key or common prefix returned when truncated


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _info(row: StoredObject, parts: Sequence[PartRef] = ()) -> ObjectInfo:
    return ObjectInfo(row.key, row.size, row.etag, row.content_type, aware(row.last_modified), row.data_name,
                      json.loads(row.metadata_json), json.loads(row.headers_json), row.parts_count, tuple(parts),
                      row.checksum_algorithm, row.checksum_value, json.loads(row.tags_json or "{}"))


def check_key(key: str) -> None:
    if not key:
        raise AWSError("The specified key is empty.", code="InvalidArgument")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise AWSError("Your key is too long", code="KeyTooLongError")


def after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            return "".join(chars) + chr(last + 1)
    return None


def lock_key(session: Session, bucket_id: int, key: str) -> None:
    """Serialize the transactions that change ``key`` (until this one ends).  PostgreSQL: a
    transaction-level advisory lock on the key; SQLite: take the database's write lock now, so
    that what this transaction reads next is what it commits against."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"{bucket_id}/{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})
    else:
        session.execute(text("UPDATE buckets SET region = region WHERE id = :b"), {"b": bucket_id})


def _etags(header: str) -> set[str]:
    return {item.strip().strip('"') for item in header.split(",") if item.strip()}


def check_conditions(current: StoredObject | None, key: str, if_match: str | None, if_none_match: str | None) -> None:
    """Conditional writes against the object at the key now (call with the key locked)."""
    if if_none_match is not None and current is not None:
        wanted = _etags(if_none_match)
        if "*" in wanted or current.etag.strip('"') in wanted:
            raise PreconditionFailed("If-None-Match")
    if if_match is not None:
        if current is None:
            raise NoSuchKey(key)
        wanted = _etags(if_match)
        if "*" not in wanted and current.etag.strip('"') not in wanted:
            raise PreconditionFailed("If-Match")


def remove_object(session: Session, row: StoredObject) -> list[str]:
    """Delete an object's rows (a multipart object's manifest too); the data names to delete
    from the nodes once the transaction committed."""
    names = [row.data_name]
    if row.parts_count is not None:
        names = list(session.scalars(select(ObjectPart.data_name).where(ObjectPart.manifest == row.data_name)))
        session.execute(delete(ObjectPart).where(ObjectPart.manifest == row.data_name))
    session.delete(row)
    session.flush()
    return names


def manifest(session: Session, name: str) -> list[PartRef]:
    rows = session.scalars(select(ObjectPart).where(ObjectPart.manifest == name).order_by(ObjectPart.part_number))
    return [PartRef(p.data_name, p.size, p.md5) for p in rows]


class ObjectStore:
    def __init__(self, db: Database, buckets: BucketStore, ring: Callable[[], Ring], replicas: ReplicaClient) -> None:
        self.db = db
        self.buckets = buckets
        self.ring = ring
        self.replicas = replicas

    @cached_property
    def multipart(self) -> MultipartUploads:
        from .multipart import MultipartUploads

        return MultipartUploads(self)

    # -- data objects on the nodes --------------------------------------------------------------------
    async def write_data(self, body: AsyncIterator[bytes], size: int | None,
                         content_md5: str | None = None) -> tuple[str, Written]:
        """Store ``body`` at quorum under a fresh name (checked against ``Content-MD5``)."""
        name = uuid.uuid4().hex
        partition, devices = self.ring().get_nodes(name)
        try:
            written = await self.replicas.put(devices, partition, name, body, len(devices) // 2 + 1,
                                              expect_size=size)
        except QuorumError as err:
            raise ServiceUnavailable(f"Please reduce your request rate. ({err})", code="SlowDown") from None
        if content_md5 is not None:
            try:
                wanted = base64.b64decode(content_md5, validate=True).hex()
            except ValueError:
                wanted = ""
            if wanted != written.md5:
                await self.delete_data([name])
                raise AWSError("The Content-MD5 you specified did not match what we received.", code="BadDigest")
        return name, written

    async def delete_data(self, names: Sequence[str]) -> None:
        async def one(name: str) -> None:
            partition, devices = self.ring().get_nodes(name)
            await self.replicas.delete(devices, partition, name)

        await asyncio.gather(*(one(n) for n in names))

    # -- writes ---------------------------------------------------------------------------------------
    async def put(self, account_id: str, bucket: str, key: str, body: AsyncIterator[bytes], *,
                  size: int | None, content_type: str | None, metadata: dict[str, str] | None = None,
                  headers: dict[str, str] | None = None, content_md5: str | None = None,
                  if_match: str | None = None, if_none_match: str | None = None,
                  checksum: ChecksumSource | None = None, tags: dict[str, str] | None = None) -> ObjectInfo:
        """``checksum`` is read after the body was stored (its value is kept when set)."""
        check_key(key)
        if size is not None and size > MAX_PUT_BYTES:
            raise AWSError("Your proposed upload exceeds the maximum allowed size", code="EntityTooLarge")
        info = await asyncio.to_thread(self.buckets.get, account_id, bucket)
        if if_match is not None or if_none_match is not None:   # fail early; decided again at the commit
            await asyncio.to_thread(self._check_now, info.id, key, if_match, if_none_match)
        name, written = await self.write_data(body, size, content_md5)
        row = StoredObject(bucket_id=info.id, key=key, size=written.size, etag=f'"{written.md5}"',
                           content_type=content_type or "binary/octet-stream",
                           headers_json=json.dumps(headers or {}), metadata_json=json.dumps(metadata or {}),
                           data_name=name, last_modified=datetime.now(UTC), parts_count=None,
                           tags_json=json.dumps(tags) if tags else None)
        if checksum is not None and checksum.algorithm and checksum.value:
            row.checksum_algorithm, row.checksum_value = checksum.algorithm, checksum.value
        try:
            replaced = await asyncio.to_thread(self.commit, info.id, row, [], if_match, if_none_match)
        except BaseException:
            await self.delete_data([name])
            raise
        await self.delete_data(replaced)
        return _info(row)

    def _check_now(self, bucket_id: int, key: str, if_match: str | None, if_none_match: str | None) -> None:
        with self.db.session() as s:
            check_conditions(s.get(StoredObject, (bucket_id, key)), key, if_match, if_none_match)

    def commit(self, bucket_id: int, row: StoredObject, parts: Sequence[ObjectPart], if_match: str | None,
               if_none_match: str | None, before: Callable[[Session], list[str]] | None = None) -> list[str]:
        """Put ``row`` (and its manifest ``parts``) at its key in one transaction; the data names
        that are no longer referenced.  ``before`` runs first in the same transaction, key locked."""
        with self.db.session() as s:
            lock_key(s, bucket_id, row.key)
            garbage = before(s) if before is not None else []
            old = s.get(StoredObject, (bucket_id, row.key))
            check_conditions(old, row.key, if_match, if_none_match)
            if old is not None:
                garbage += remove_object(s, old)
            s.add(row)
            s.add_all(parts)
            return garbage

    async def delete(self, account_id: str, bucket: str, key: str) -> None:
        """Idempotent, like S3: deleting a missing key succeeds."""
        await self.delete_data(await asyncio.to_thread(self._delete_row, account_id, bucket, key))

    def _delete_row(self, account_id: str, bucket: str, key: str) -> list[str]:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            lock_key(s, info.id, key)
            row = s.get(StoredObject, (info.id, key))
            return remove_object(s, row) if row is not None else []

    def set_tags(self, account_id: str, bucket: str, key: str, tags: dict[str, str] | None) -> None:
        """Replace the object's tags (None or empty: remove them); ``NoSuchKey`` when there is no object."""
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            lock_key(s, info.id, key)
            row = s.get(StoredObject, (info.id, key))
            if row is None:
                raise NoSuchKey(key)
            row.tags_json = json.dumps(tags) if tags else None

    def set_headers(self, account_id: str, bucket: str, key: str, changes: dict[str, str | None]) -> None:
        """Change stored headers of an object (a None value removes one); ``NoSuchKey`` when there is none."""
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            lock_key(s, info.id, key)
            row = s.get(StoredObject, (info.id, key))
            if row is None:
                raise NoSuchKey(key)
            headers = json.loads(row.headers_json)
            for name, value in changes.items():
                if value is None:
                    headers.pop(name, None)
                else:
                    headers[name] = value
            row.headers_json = json.dumps(headers)

    # -- reads ----------------------------------------------------------------------------------------
    async def open(self, info: ObjectInfo, byte_range: tuple[int, int] | None = None) -> AsyncIterator[bytes]:
        """The object's bytes (``byte_range`` inclusive); a multipart object's parts are read one
        after the other, each from the first replica that answers."""
        if info.parts_count is None:
            return await self._open_data(info.data_name, info.etag.strip('"'), byte_range)
        parts = list(info.parts) or await asyncio.to_thread(self._manifest, info.data_name)
        first, last = byte_range if byte_range is not None else (0, info.size - 1)
        pieces: list[tuple[PartRef, tuple[int, int] | None]] = []
        offset = 0
        for part in parts:
            start, end = offset, offset + part.size - 1
            offset += part.size
            if part.size == 0 or end < first or start > last:
                continue
            lo, hi = max(first, start) - start, min(last, end) - start
            pieces.append((part, None if (lo, hi) == (0, part.size - 1) else (lo, hi)))
        if not pieces:
            return _nothing()
        head = await self._open_data(pieces[0][0].data_name, pieces[0][0].md5, pieces[0][1])
        return self._chain(head, pieces[1:])

    async def _chain(self, head: AsyncIterator[bytes],
                     rest: list[tuple[PartRef, tuple[int, int] | None]]) -> AsyncIterator[bytes]:
        async for chunk in head:
            yield chunk
        for part, sub in rest:
            async for chunk in await self._open_data(part.data_name, part.md5, sub):
                yield chunk

    async def _open_data(self, name: str, md5: str, byte_range: tuple[int, int] | None) -> AsyncIterator[bytes]:
        partition, devices = self.ring().get_nodes(name)
        try:
            return await self.replicas.get(devices, partition, name, md5, byte_range)
        except ReplicaUnavailable as err:
            raise ServiceUnavailable(f"No replica of the object could be read ({err})") from None

    def _manifest(self, name: str) -> list[PartRef]:
        with self.db.session() as s:
            return manifest(s, name)

    def part_range(self, info: ObjectInfo, part_number: int) -> tuple[int, int]:
        """The inclusive byte range of part ``part_number`` (a simple object has one part)."""
        parts = info.parts if info.parts_count is None or info.parts else tuple(self._manifest(info.data_name))
        sizes = [p.size for p in parts] if info.parts_count is not None else [info.size]
        if not 1 <= part_number <= len(sizes):
            raise AWSError("The requested partnumber is not satisfiable", code="InvalidPartNumber", status=416,
                           extra={"PartNumberRequested": str(part_number), "ActualPartCount": str(len(sizes))})
        start = sum(sizes[: part_number - 1])
        return start, start + sizes[part_number - 1] - 1

    def head(self, account_id: str, bucket: str, key: str) -> ObjectInfo:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            row = s.get(StoredObject, (info.id, key))
            if row is None:
                raise NoSuchKey(key)
            return _info(row, manifest(s, row.data_name) if row.parts_count is not None else ())

    def list(self, account_id: str, bucket: str, *, prefix: str = "", delimiter: str = "", after: str = "",
             max_keys: int = 1000) -> Listing:
        """Keys in UTF-8 byte order after ``after``, grouped by ``delimiter`` into common prefixes."""
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        upper = after_prefix(prefix) if prefix else None
        cursor, inclusive = (after, False) if after >= prefix and after else (prefix, True)
        batch = max(max_keys, 1) + 1
        # plain column rows (no ORM entities); JSON decoded only when not the empty object
        columns = (StoredObject.key, StoredObject.size, StoredObject.etag, StoredObject.content_type,
                   StoredObject.last_modified, StoredObject.data_name, StoredObject.metadata_json,
                   StoredObject.headers_json, StoredObject.parts_count, StoredObject.checksum_algorithm,
                   StoredObject.checksum_value, StoredObject.tags_json)

        def decoded(text: str | None) -> dict[str, str]:
            return {} if not text or text == "{}" else dict(json.loads(text))

        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            while True:
                query = select(*columns).where(StoredObject.bucket_id == info.id)
                query = query.where(StoredObject.key >= cursor if inclusive else StoredObject.key > cursor)
                if upper is not None:
                    query = query.where(StoredObject.key < upper)
                rows = s.execute(query.order_by(StoredObject.key).limit(batch)).all()
                regrouped = False
                for row in rows:
                    rest = row.key[len(prefix):]
                    cut = rest.find(delimiter) if delimiter else -1
                    common = prefix + rest[: cut + len(delimiter)] if cut >= 0 else None
                    if len(objects) + len(prefixes) >= max_keys:
                        return Listing(objects, prefixes, True, last)
                    if common is not None:
                        prefixes.append(common)
                        last = common
                        following = after_prefix(common)
                        if following is None:
                            return Listing(objects, prefixes, False, None)
                        cursor, inclusive, regrouped = following, True, True
                        break
                    objects.append(ObjectInfo(
                        key=row.key, size=row.size, etag=row.etag, content_type=row.content_type,
                        last_modified=aware(row.last_modified), data_name=row.data_name,
                        metadata=decoded(row.metadata_json), headers=decoded(row.headers_json),
                        parts_count=row.parts_count, checksum_algorithm=row.checksum_algorithm,
                        checksum_value=row.checksum_value, tags=decoded(row.tags_json)))
                    last = cursor = row.key
                    inclusive = False
                if not regrouped and len(rows) < batch:
                    return Listing(objects, prefixes, False, None)


async def _nothing() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""
