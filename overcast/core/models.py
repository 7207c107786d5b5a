"""Database tables.  One class per table; resource families add theirs here (with a migration)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Principal(Base):
    """An IAM identity: ``user`` (long-term keys) or ``role`` (assumed through STS)."""

    __tablename__ = "principals"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)          # AIDA… / AROA…
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    arn: Mapped[str] = mapped_column(String(256), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccessKey(Base):
    """Long-term (``AKIA``) or temporary (``ASIA``) credentials.  The secret is encrypted at rest;
    a session token is kept only as its SHA-256."""

    __tablename__ = "access_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    secret_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="Active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    session_token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_arn: Mapped[str | None] = mapped_column(String(512), nullable=True)
    session_user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Tag(Base):
    """EC2-style tags on any resource of an account."""

    __tablename__ = "tags"
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), default="")
    resource_type: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_tags_account_key", "account_id", "key"),)


class KeyPair(Base):
    """An EC2 key pair: the public half only (a created key's private half is returned once, never kept)."""

    __tablename__ = "key_pairs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)              # key-…
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_type: Mapped[str] = mapped_column(String(16))                         # rsa | ed25519
    fingerprint: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(Text)                             # OpenSSH line
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_key_pairs_account_name"),)


# S3 keys sort by their UTF-8 bytes: PostgreSQL must compare them with the "C" collation.
ObjectKey = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class Bucket(Base):
    """An S3 bucket.  Names are global across accounts, as in S3."""

    __tablename__ = "buckets"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoredObject(Base):
    """The metadata of an S3 object; its bytes live on the object nodes under ``data_name``."""

    __tablename__ = "objects"
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(ObjectKey, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(256))
    headers_json: Mapped[str] = mapped_column(Text, default="{}")     # Content-Encoding, Cache-Control, …
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")    # x-amz-meta-*
    data_name: Mapped[str] = mapped_column(String(64), unique=True)
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A multipart object: how many parts; its parts are the ObjectPart rows whose manifest is data_name.
    parts_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Flexible checksum given at upload (algorithm name, base64 value) and object tags (JSON object).
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tags_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class ObjectPart(Base):
    """One part of a completed multipart object: ``manifest`` is the object's ``data_name``, the
    part's bytes live on the object nodes under this row's ``data_name``."""

    __tablename__ = "object_parts"
    manifest: Mapped[str] = mapped_column(String(64), primary_key=True)
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))


class MultipartUpload(Base):
    """A multipart upload in progress; ``id`` (the UploadId) sorts by creation time."""

    __tablename__ = "multipart_uploads"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(ObjectKey)
    initiator_arn: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(256))
    headers_json: Mapped[str] = mapped_column(Text, default="{}")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    initiated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_multipart_uploads_bucket_key", "bucket_id", "key", "id"),)


class UploadedPart(Base):
    """A part uploaded to a multipart upload in progress (replaced when its number is uploaded again)."""

    __tablename__ = "uploaded_parts"
    upload_id: Mapped[str] = mapped_column(ForeignKey("multipart_uploads.id", ondelete="CASCADE"),
                                           primary_key=True)
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BucketConfig(Base):
    """One configuration document of a bucket, by kind: ``tagging``, ``cors``, ``policy``, ``acl``,
    ``versioning``, ``lifecycle``, ``public-access-block``, ``ownership-controls``…  The document is
    JSON in the shape of the operation's botocore input (so handlers store and return it as is)."""

    __tablename__ = "bucket_configs"
    bucket_id: Mapped[int] = mapped_column(ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
