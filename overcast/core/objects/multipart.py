"""S3 multipart uploads: each part is one data object on the nodes (written at quorum like a PUT);
completing an upload commits, in one transaction, an object row whose manifest lists the parts.

Part data that stops being referenced (a part uploaded again, parts left out of the completed
list, an aborted upload, the object a completion replaces) is deleted from the nodes after the
transaction that dropped it committed.  Every change takes the key's lock (``lock_key``), so a
part upload racing a completion or an abort either lands before it or is refused and cleaned up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import AWSError, NotFound
from ..models import MultipartUpload, ObjectPart, StoredObject, UploadedPart
from .object_store import MAX_PUT_BYTES, ObjectInfo, ObjectStore, after_prefix, aware, check_key, lock_key

MIN_PART_SIZE = 5 * 1024 * 1024
# An upload's tags (``x-amz-tagging`` of CreateMultipartUpload) wait in its headers under this name
# until the completion moves them to the object.
TAGS_HEADER = "x-amz-tagging"

MAX_PARTS = 10000


class NoSuchUpload(NotFound):
    code = "NoSuchUpload"
    status = 404

    def __init__(self, upload_id: str) -> None:
        super().__init__("The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                         "been aborted or completed.", extra={"UploadId": upload_id})


@dataclass(frozen=True)
class UploadInfo:
    upload_id: str
    key: str
    initiator_arn: str
    initiated: datetime
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str                    # quoted
    last_modified: datetime


@dataclass(frozen=True)
class PartsPage:
    upload: UploadInfo
    parts: list[PartInfo]
    truncated: bool
    next_marker: int | None


@dataclass(frozen=True)
class UploadsPage:
    uploads: list[UploadInfo]
    common_prefixes: list[str]
    truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


def new_upload_id() -> str:
    """Opaque to clients; sorts by creation time (ListMultipartUploads orders a key's uploads so)."""
    return f"{time.time_ns():016x}{secrets.token_hex(16)}"


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PARTS:
        raise AWSError("Part number must be an integer between 1 and 10000, inclusive", code="InvalidArgument",
                       extra={"ArgumentName": "partNumber", "ArgumentValue": str(part_number)})


def multipart_etag(md5s: Sequence[str]) -> str:
    """S3's ETag of a multipart object: md5 of the parts' binary md5s, then ``-`` and the count."""
    digest = hashlib.md5(b"".join(bytes.fromhex(m) for m in md5s)).hexdigest()
    return f'"{digest}-{len(md5s)}"'


def _upload_info(row: MultipartUpload) -> UploadInfo:
    headers = json.loads(row.headers_json)
    headers.pop(TAGS_HEADER, None)
    return UploadInfo(row.id, row.key, row.initiator_arn, aware(row.initiated_at), row.content_type,
                      json.loads(row.metadata_json), headers)


def _part_info(row: UploadedPart) -> PartInfo:
    return PartInfo(row.part_number, row.size, f'"{row.md5}"', aware(row.last_modified))


def multipart_references(db: Database, batch: int = 500) -> Callable[[Iterable[str]], set[str]]:
    """For the sweeper and the replicator: the names among those given that hold part data, of
    completed multipart objects (``object_parts``) or of uploads in progress (``uploaded_parts``)."""

    def referenced(names: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(names))
        found: set[str] = set()
        with db.session() as s:
            for start in range(0, len(wanted), batch):
                chunk = wanted[start:start + batch]
                found.update(s.scalars(select(ObjectPart.data_name).where(ObjectPart.data_name.in_(chunk))))
                found.update(s.scalars(select(UploadedPart.data_name).where(UploadedPart.data_name.in_(chunk))))
        return found

    return referenced


class MultipartUploads:
    def __init__(self, store: ObjectStore, min_part_size: int = MIN_PART_SIZE) -> None:
        self.store = store
        self.db = store.db
        self.buckets = store.buckets
        self.min_part_size = min_part_size

    def _upload(self, s: Session, bucket_id: int, key: str, upload_id: str) -> MultipartUpload:
        row = s.get(MultipartUpload, upload_id)
        if row is None or row.bucket_id != bucket_id or row.key != key:
            raise NoSuchUpload(upload_id)
        return row

    # -- create / upload ------------------------------------------------------------------------------
    def create(self, account_id: str, bucket: str, key: str, *, initiator_arn: str, content_type: str | None,
               metadata: dict[str, str] | None = None, headers: dict[str, str] | None = None,
               tags: dict[str, str] | None = None) -> UploadInfo:
        check_key(key)
        headers = dict(headers or {})
        if tags:
            headers[TAGS_HEADER] = json.dumps(tags)
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            row = MultipartUpload(id=new_upload_id(), bucket_id=info.id, key=key, initiator_arn=initiator_arn,
                                  content_type=content_type or "binary/octet-stream",
                                  headers_json=json.dumps(headers or {}), metadata_json=json.dumps(metadata or {}),
                                  initiated_at=datetime.now(UTC))
            s.add(row)
            return _upload_info(row)

    async def upload_part(self, account_id: str, bucket: str, key: str, upload_id: str, part_number: int,
                          body: AsyncIterator[bytes], *, size: int | None,
                          content_md5: str | None = None) -> PartInfo:
        check_part_number(part_number)
        if size is not None and size > MAX_PUT_BYTES:
            raise AWSError("Your proposed upload exceeds the maximum allowed size", code="EntityTooLarge")
        bucket_id = await asyncio.to_thread(self._bucket_with_upload, account_id, bucket, key, upload_id)
        name, written = await self.store.write_data(body, size, content_md5)
        row = UploadedPart(upload_id=upload_id, part_number=part_number, data_name=name, size=written.size,
                           md5=written.md5, last_modified=datetime.now(UTC))
        try:
            replaced = await asyncio.to_thread(self._commit_part, bucket_id, key, row)
        except BaseException:
            await self.store.delete_data([name])
            raise
        await self.store.delete_data(replaced)
        return _part_info(row)

    def _bucket_with_upload(self, account_id: str, bucket: str, key: str, upload_id: str) -> int:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            self._upload(s, info.id, key, upload_id)
            return info.id

    def _commit_part(self, bucket_id: int, key: str, row: UploadedPart) -> list[str]:
        with self.db.session() as s:
            lock_key(s, bucket_id, key)
            self._upload(s, bucket_id, key, row.upload_id)
            old = s.get(UploadedPart, (row.upload_id, row.part_number))
            replaced = []
            if old is not None:
                replaced.append(old.data_name)
                s.delete(old)
                s.flush()
            s.add(row)
            return replaced

    # -- complete / abort -----------------------------------------------------------------------------
    async def complete(self, account_id: str, bucket: str, key: str, upload_id: str,
                       parts: Sequence[tuple[int, str | None]], *, if_match: str | None = None,
                       if_none_match: str | None = None) -> ObjectInfo:
        """``parts``: (part number, ETag) as the client listed them."""
        if not parts:
            raise AWSError("The XML you provided was not well-formed or did not validate against our published "
                           "schema", code="MalformedXML")
        numbers = [n for n, _ in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise AWSError("The list of parts was not in ascending order. The parts list must be specified in "
                           "order by part number.", code="InvalidPartOrder")
        for number in numbers:
            check_part_number(number)
        info = await asyncio.to_thread(self.buckets.get, account_id, bucket)
        manifest_name = uuid.uuid4().hex
        chosen: list[UploadedPart] = []
        upload: list[MultipartUpload] = []

        def before(s: Session) -> list[str]:   # in the commit transaction, key locked
            upload.append(self._upload(s, info.id, key, upload_id))
            uploaded = {p.part_number: p for p in s.scalars(select(UploadedPart)
                                                           .where(UploadedPart.upload_id == upload_id))}
            chosen.extend(self._check_parts(uploaded, parts))
            s.add_all(ObjectPart(manifest=manifest_name, part_number=p.part_number, data_name=p.data_name,
                                 size=p.size, md5=p.md5) for p in chosen)
            row.size = sum(p.size for p in chosen)
            row.etag = multipart_etag([p.md5 for p in chosen])
            row.parts_count = len(chosen)
            row.content_type = upload[0].content_type
            headers = json.loads(upload[0].headers_json)
            tags = headers.pop(TAGS_HEADER, None)
            row.headers_json, row.metadata_json = json.dumps(headers), upload[0].metadata_json
            row.tags_json = tags
            used = {p.data_name for p in chosen}
            s.execute(delete(UploadedPart).where(UploadedPart.upload_id == upload_id))
            s.delete(upload[0])
            s.flush()
            return [p.data_name for p in uploaded.values() if p.data_name not in used]

        row = StoredObject(bucket_id=info.id, key=key, size=0, etag="", content_type="", headers_json="{}",
                           metadata_json="{}", data_name=manifest_name, last_modified=datetime.now(UTC))
        garbage = await asyncio.to_thread(self.store.commit, info.id, row, [], if_match, if_none_match, before)
        await self.store.delete_data(garbage)
        return ObjectInfo(
            key, row.size, row.etag, row.content_type, aware(row.last_modified), manifest_name,
            json.loads(row.metadata_json), json.loads(row.headers_json), row.parts_count,
            tags=json.loads(row.tags_json or "{}"))

    def _check_parts(self, uploaded: dict[int, UploadedPart],
                     wanted: Sequence[tuple[int, str | None]]) -> list[UploadedPart]:
        chosen = []
        for i, (number, etag) in enumerate(wanted):
            part = uploaded.get(number)
            if part is None or etag is None or etag.strip().strip('"') != part.md5:
                raise AWSError("One or more of the specified parts could not be found.  The part may not have been "
                               "uploaded, or the specified entity tag may not match the part's entity tag.",
                               code="InvalidPart", extra={"UploadId": part.upload_id if part else "",
                                                          "PartNumber": str(number), "ETag": etag or ""})
            if i < len(wanted) - 1 and part.size < self.min_part_size:
                raise AWSError("Your proposed upload is smaller than the minimum allowed size", code="EntityTooSmall",
                               extra={"ProposedSize": str(part.size), "MinSizeAllowed": str(self.min_part_size),
                                      "PartNumber": str(number), "ETag": f'"{part.md5}"'})
            chosen.append(part)
        return chosen

    async def abort(self, account_id: str, bucket: str, key: str, upload_id: str) -> None:
        await self.store.delete_data(await asyncio.to_thread(self._abort, account_id, bucket, key, upload_id))

    def _abort(self, account_id: str, bucket: str, key: str, upload_id: str) -> list[str]:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            lock_key(s, info.id, key)
            upload = self._upload(s, info.id, key, upload_id)
            names = list(s.scalars(select(UploadedPart.data_name).where(UploadedPart.upload_id == upload_id)))
            s.execute(delete(UploadedPart).where(UploadedPart.upload_id == upload_id))
            s.delete(upload)
            return names

    # -- listings -------------------------------------------------------------------------------------
    def list_parts(self, account_id: str, bucket: str, key: str, upload_id: str, *, marker: int = 0,
                   max_parts: int = 1000) -> PartsPage:
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            upload = _upload_info(self._upload(s, info.id, key, upload_id))
            rows = list(s.scalars(select(UploadedPart).where(UploadedPart.upload_id == upload_id,
                                                             UploadedPart.part_number > marker)
                                  .order_by(UploadedPart.part_number).limit(max_parts + 1)))
        truncated = len(rows) > max_parts
        parts = [_part_info(r) for r in rows[:max_parts]]
        return PartsPage(upload, parts, truncated, parts[-1].part_number if parts else None)

    def list_uploads(self, account_id: str, bucket: str, *, prefix: str = "", delimiter: str = "",
                     key_marker: str = "", upload_id_marker: str = "", max_uploads: int = 1000) -> UploadsPage:
        """Uploads in (key, initiation) order after the markers, grouped by ``delimiter``."""
        uploads: list[UploadInfo] = []
        prefixes: list[str] = []
        upper = after_prefix(prefix) if prefix else None
        cursor = _Cursor(prefix, "", "ge")
        if key_marker:
            cursor = _Cursor(key_marker, upload_id_marker, "gt_pair" if upload_id_marker else "gt")
            if delimiter and key_marker.startswith(prefix) and key_marker.endswith(delimiter) \
                    and key_marker[len(prefix):].find(delimiter) == len(key_marker) - len(prefix) - len(delimiter):
                following = after_prefix(key_marker)     # the marker is a common prefix: skip its keys
                if following is None:
                    return self._page(uploads, prefixes, False)
                cursor = _Cursor(following, "", "ge")
        batch = max(max_uploads, 1) + 1
        with self.db.session() as s:
            info = self.buckets.get(account_id, bucket, s)
            while True:
                query = select(MultipartUpload).where(MultipartUpload.bucket_id == info.id, cursor.condition())
                if prefix:
                    query = query.where(MultipartUpload.key >= prefix)
                if upper is not None:
                    query = query.where(MultipartUpload.key < upper)
                rows = s.scalars(query.order_by(MultipartUpload.key, MultipartUpload.id).limit(batch)).all()
                regrouped = False
                for row in rows:
                    if len(uploads) + len(prefixes) >= max_uploads:
                        return self._page(uploads, prefixes, True)
                    rest = row.key[len(prefix):]
                    cut = rest.find(delimiter) if delimiter else -1
                    if cut >= 0:
                        common = prefix + rest[: cut + len(delimiter)]
                        prefixes.append(common)
                        following = after_prefix(common)
                        if following is None:
                            return self._page(uploads, prefixes, False)
                        cursor, regrouped = _Cursor(following, "", "ge"), True
                        break
                    uploads.append(_upload_info(row))
                    cursor = _Cursor(row.key, row.id, "gt_pair")
                if not regrouped and len(rows) < batch:
                    return self._page(uploads, prefixes, False)

    @staticmethod
    def _page(uploads: list[UploadInfo], prefixes: list[str], truncated: bool) -> UploadsPage:
        if not truncated:
            return UploadsPage(uploads, prefixes, False, None, None)
        last_upload = uploads[-1] if uploads else None
        last_prefix = prefixes[-1] if prefixes else None
        if last_prefix is not None and (last_upload is None or last_prefix > last_upload.key):
            return UploadsPage(uploads, prefixes, True, last_prefix, None)
        assert last_upload is not None
        return UploadsPage(uploads, prefixes, True, last_upload.key, last_upload.upload_id)


@dataclass(frozen=True)
class _Cursor:
    """Where a listing of uploads resumes: ``ge`` keys >= key, ``gt`` keys > key, ``gt_pair``
    (key, upload id) > (key, upload_id)."""

    key: str
    upload_id: str
    mode: str

    def condition(self) -> ColumnElement[bool]:
        if self.mode == "ge":
            return MultipartUpload.key >= self.key
        if self.mode == "gt":
            return MultipartUpload.key > self.key
        return or_(MultipartUpload.key > self.key,
                   and_(MultipartUpload.key == self.key, MultipartUpload.id > self.upload_id))
