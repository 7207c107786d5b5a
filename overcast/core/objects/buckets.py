"""S3 buckets: names (global, as in S3), owners, regions."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import AccessDenied, AWSError, NotFound
from ..models import Bucket, BucketConfig, StoredObject

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")


class NoSuchBucket(NotFound):
    code = "NoSuchBucket"
    status = 404

    def __init__(self, name: str) -> None:
        super().__init__("The specified bucket does not exist", extra={"BucketName": name})


@dataclass(frozen=True)
class BucketInfo:
    id: int
    name: str
    account_id: str
    region: str
    created_at: datetime


def check_name(name: str) -> None:
    bad = (not _NAME.match(name) or ".." in name or ".-" in name or "-." in name
           or name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")))
    if not bad:
        try:
            ipaddress.IPv4Address(name)
            bad = True
        except ValueError:
            pass
    if bad:
        raise AWSError("The specified bucket is not valid.", code="InvalidBucketName", extra={"BucketName": name})


def _info(row: Bucket) -> BucketInfo:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return BucketInfo(row.id, row.name, row.account_id, row.region, created)


class BucketStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, name: str, region: str) -> BucketInfo:
        check_name(name)
        try:
            with self.db.session() as s:
                existing = s.scalar(select(Bucket).where(Bucket.name == name))
                if existing is not None:
                    raise self._exists(existing, account_id)
                row = Bucket(name=name, account_id=account_id, region=region, created_at=datetime.now(UTC))
                s.add(row)
                s.flush()
                return _info(row)
        except IntegrityError:
            with self.db.session() as s:
                existing = s.scalar(select(Bucket).where(Bucket.name == name))
            if existing is None:
                raise
            raise self._exists(existing, account_id) from None

    @staticmethod
    def _exists(existing: Bucket, account_id: str) -> AWSError:
        if existing.account_id == account_id:
            return AWSError("Your previous request to create the named bucket succeeded and you already own it.",
                            code="BucketAlreadyOwnedByYou", status=409)
        return AWSError("The requested bucket name is not available. The bucket namespace is shared by all users "
                        "of the system. Please select a different name and try again.", code="BucketAlreadyExists",
                        status=409)

    def get(self, account_id: str, name: str, session: Session | None = None) -> BucketInfo:
        """The bucket if ``account_id`` owns it; ``NoSuchBucket`` / ``AccessDenied`` otherwise."""
        if session is None:
            with self.db.session() as s:
                return self.get(account_id, name, s)
        row = session.scalar(select(Bucket).where(Bucket.name == name))
        if row is None:
            raise NoSuchBucket(name)
        if row.account_id != account_id:
            raise AccessDenied("Access Denied")
        return _info(row)

    def list(self, account_id: str) -> list[BucketInfo]:
        with self.db.session() as s:
            return [_info(b) for b in s.scalars(select(Bucket).where(Bucket.account_id == account_id)
                                                .order_by(Bucket.name))]

    def delete(self, account_id: str, name: str) -> None:
        with self.db.session() as s:
            bucket = self.get(account_id, name, s)
            count = s.scalar(select(func.count()).select_from(StoredObject)
                             .where(StoredObject.bucket_id == bucket.id))
            if count:
                raise AWSError("The bucket you tried to delete is not empty", code="BucketNotEmpty", status=409,
                               extra={"BucketName": name})
            row = s.get(Bucket, bucket.id)
            s.delete(row)

    # -- configuration documents (tagging, cors, policy, acl, versioning, lifecycle…) -----------------
    def get_config(self, account_id: str, name: str, kind: str) -> Any | None:
        """The ``kind`` document of a bucket the caller owns, or None when it has none."""
        with self.db.session() as s:
            bucket = self.get(account_id, name, s)
            row = s.get(BucketConfig, (bucket.id, kind))
            return json.loads(row.document) if row is not None else None

    def config_of(self, bucket: BucketInfo, kind: str) -> Any | None:
        """The ``kind`` document of ``bucket`` whoever asks (for access decisions: policy, acl…)."""
        with self.db.session() as s:
            row = s.get(BucketConfig, (bucket.id, kind))
            return json.loads(row.document) if row is not None else None

    def put_config(self, account_id: str, name: str, kind: str, document: Any) -> None:
        with self.db.session() as s:
            bucket = self.get(account_id, name, s)
            row = s.get(BucketConfig, (bucket.id, kind))
            text = json.dumps(document, default=str)
            if row is None:
                s.add(BucketConfig(bucket_id=bucket.id, kind=kind, document=text, updated_at=datetime.now(UTC)))
            else:
                row.document, row.updated_at = text, datetime.now(UTC)

    def delete_config(self, account_id: str, name: str, kind: str) -> bool:
        with self.db.session() as s:
            bucket = self.get(account_id, name, s)
            row = s.get(BucketConfig, (bucket.id, kind))
            if row is None:
                return False
            s.delete(row)
            return True

    def lookup(self, name: str) -> BucketInfo:
        """The bucket by name whoever owns it (``NoSuchBucket``); access is decided by the caller."""
        with self.db.session() as s:
            row = s.scalar(select(Bucket).where(Bucket.name == name))
            if row is None:
                raise NoSuchBucket(name)
            return _info(row)

    def access_state(self, name: str, kinds: tuple[str, ...]) -> tuple[BucketInfo, dict[str, Any]]:
        """The bucket by name (``NoSuchBucket``) and its ``kinds`` documents that exist, in one session:
        what an access decision reads (policy, acl, public-access-block, ownership-controls)."""
        with self.db.session() as s:
            row = s.scalar(select(Bucket).where(Bucket.name == name))
            if row is None:
                raise NoSuchBucket(name)
            docs = {c.kind: json.loads(c.document) for c in
                    s.scalars(select(BucketConfig).where(BucketConfig.bucket_id == row.id,
                                                         BucketConfig.kind.in_(kinds)))}
            return _info(row), docs
