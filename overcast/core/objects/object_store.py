"""S3 objects: bytes on the object nodes (placed by the ring, written at quorum), metadata in the
database (one transaction, committed only after the quorum write).

Every PUT writes a new data object under a fresh name, so a failed or concurrent PUT never
damages the bytes a committed row points at; the replaced data is deleted after the commit.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from ..db import Database
from ..errors import AWSError, NotFound, ServiceUnavailable
from ..models import StoredObject
from .buckets import BucketStore
from .replicas import QuorumError, ReplicaClient, ReplicaUnavailable
from .ring import Ring

MAX_KEY_BYTES = 1024
MAX_PUT_BYTES = 5 * 1024**3


class NoSuchKey(NotFound):
    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.", extra={"Key": key})


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str                    # quoted, as S3 shows it
    content_type: str
    last_modified: datetime
    data_name: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str | None      # the last key or common prefix returned when truncated


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _info(row: StoredObject) -> ObjectInfo:
    return ObjectInfo(row.key, row.size, row.etag, row.content_type, _aware(row.last_modified), row.data_name,
                      json.loads(row.metadata_json), json.loads(row.headers_json))


def check_key(key: str) -> None:
    if not key:
        raise AWSError("The specified key is empty.", code="InvalidArgument")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise AWSError("Your key is too long", code="KeyTooLongError")


def _after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            return "".join(chars) + chr(last + 1)
    return None


class ObjectStore:
    def __init__(self, db: Database, buckets: BucketStore, ring: Callable[[], Ring], replicas: ReplicaClient) -> None:
        self.db = db
        self.buckets = buckets
        self.ring = ring
        self.replicas = replicas

    # -- data path ----------------------------------------------------------------------------------
    async def put(self, account_id: str, bucket: str, key: str, body: AsyncIterator[bytes], *,
                  size: int | None, content_type: str | None, metadata: dict[str, str] | None = None,
                  headers: dict[str, str] | None = None, content_md5: str | None = None) -> ObjectInfo:
        check_key(key)
        if size is not None and size > MAX_PUT_BYTES:
            raise AWSError("Your proposed upload exceeds the maximum allowed size", code="EntityTooLarge")
        info = await asyncio.to_thread(self.buckets.get, account_id, bucket)
        ring = self.ring()
        name = uuid.uuid4().hex
        partition, devices = ring.get_nodes(name)
        quorum = len(devices) // 2 + 1
        try:
            written = await self.replicas.put(devices, partition, name, body, quorum, expect_size=size)
        except QuorumError as err:
            raise ServiceUnavailable(f"Please reduce your request rate. ({err})", code="SlowDown") from None
        if content_md5 is not None:
            try:
                wanted = base64.b64decode(content_md5, validate=True).hex()
            except ValueError:
                wanted = ""
            if wanted != written.md5:
                await self.replicas.delete(devices, partition, name)
                raise AWSError("The Content-MD5 you specified did not match what we received.", code="BadDigest")
        now = datetime.now(UTC)
        row = StoredObject(bucket_id=info.id, key=key, size=written.size, etag=f'"{written.md5}"',
                           content_type=content_type or "binary/octet-stream",
                           headers_json=json.dumps(headers or {}), metadata_json=json.dumps(metadata or {}),
                           data_name=name, last_modified=now)
        try:
            replaced = await asyncio.to_thread(self._commit, info.id, row)
        except BaseException:
            await self.replicas.delete(devices, partition, name)
            raise
        if replaced is not None:
            await self._delete_data(replaced)
        return _info(row)

    def _commit(self, bucket_id: int, row: StoredObject) -> str | None:
        with self.db.session() as s:
            old = s.get(StoredObject, (bucket_id, row.key))
            replaced = None
            if old is not None:
                replaced = old.data_name
                s.delete(old)
                s.flush()
            s.add(row)
            return replaced

    async def _delete_data(self, data_name: str) -> None:
        partition, devices = self.ring().get_nodes(data_name)
        await self.replicas.delete(devices, partition, data_name)

    async def open(self, info: ObjectInfo, byte_range: tuple[int, int] | None = None) -> AsyncIterator[bytes]:
        partition, devices = self.ring().get_nodes(info.data_name)
        try:
            return await self.replicas.get(devices, partition, info.data_name, info.etag.strip('"'), byte_range)
        except ReplicaUnavailable as err:
            raise ServiceUnavailable(f"No replica of the object could be read ({err})") from None

    # -- metadata -----------------------------------------------------------------------------------
    def head(self, account_id: str, bucket: str, key: str) -> ObjectInfo:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            row = s.get(StoredObject, (info.id, key))
            if row is None:
                raise NoSuchKey(key)
            return _info(row)

    async def delete(self, account_id: str, bucket: str, key: str) -> None:
        """Idempotent, like S3: deleting a missing key succeeds."""
        data_name = await asyncio.to_thread(self._delete_row, account_id, bucket, key)
        if data_name is not None:
            await self._delete_data(data_name)

    def _delete_row(self, account_id: str, bucket: str, key: str) -> str | None:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            row = s.get(StoredObject, (info.id, key))
            if row is None:
                return None
            s.delete(row)
            return row.data_name

    def list(self, account_id: str, bucket: str, *, prefix: str = "", delimiter: str = "", after: str = "",
             max_keys: int = 1000) -> Listing:
        """Keys in UTF-8 byte order after ``after``, grouped by ``delimiter`` into common prefixes."""
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        upper = _after_prefix(prefix) if prefix else None
        cursor, inclusive = (after, False) if after >= prefix and after else (prefix, True)
        batch = max(max_keys, 1) + 1
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            while True:
                query = select(StoredObject).where(StoredObject.bucket_id == info.id)
                query = query.where(StoredObject.key >= cursor if inclusive else StoredObject.key > cursor)
                if upper is not None:
                    query = query.where(StoredObject.key < upper)
                rows = s.scalars(query.order_by(StoredObject.key).limit(batch)).all()
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
                        following = _after_prefix(common)
                        if following is None:
                            return Listing(objects, prefixes, False, None)
                        cursor, inclusive, regrouped = following, True, True
                        break
                    objects.append(_info(row))
                    last = cursor = row.key
                    inclusive = False
                if not regrouped and len(rows) < batch:
                    return Listing(objects, prefixes, False, None)
