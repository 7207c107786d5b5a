"""Tags on EC2 resources: CreateTags, DeleteTags, DescribeTags and ``TagSpecifications``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, delete, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import resources
from .db import Database
from .errors import InvalidParameterValue, LimitExceeded
from .models import Tag

MAX_TAGS_PER_RESOURCE = 50


def validate(tags: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if key is None or key == "":
            raise InvalidParameterValue("Tag keys must not be empty", code="InvalidParameterValue")
        if len(key) > 128:
            raise InvalidParameterValue(f"Tag key exceeds the maximum length of 128 characters: {key[:20]}…")
        if value is not None and len(value) > 256:
            raise InvalidParameterValue(f"Tag value exceeds the maximum length of 256 characters for key {key}")
        if key.lower().startswith("aws:"):
            raise InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use")
        out.append((key, value or ""))
    return out


def _upsert(dialect: str, rows: list[dict[str, str]]) -> Executable:
    pk = [Tag.account_id, Tag.resource_id, Tag.key]
    if dialect == "postgresql":
        pg = postgresql.insert(Tag).values(rows)
        return pg.on_conflict_do_update(index_elements=pk, set_={"value": pg.excluded.value})
    lite = sqlite.insert(Tag).values(rows)
    return lite.on_conflict_do_update(index_elements=pk, set_={"value": lite.excluded.value})


def put(session: Session, account_id: str, resource_id: str, resource_type: str,
        tags: Iterable[tuple[str, str]]) -> None:
    values = dict(tags)             # a key given twice keeps its last value
    if values:
        # One upsert, so that concurrent calls adding the same new key both succeed (a read-then-insert
        # loses that race with a duplicate-key error).
        rows = [{"account_id": account_id, "resource_id": resource_id, "key": key, "value": value,
                 "resource_type": resource_type} for key, value in values.items()]
        session.execute(_upsert(session.get_bind().dialect.name, rows))
        for obj in list(session):   # tag rows loaded before in this session are stale now
            ident = inspect(obj).identity
            if isinstance(obj, Tag) and ident is not None and tuple(ident[:2]) == (account_id, resource_id):
                session.expire(obj)
    count = len(session.scalars(select(Tag.key).where(Tag.account_id == account_id,
                                                      Tag.resource_id == resource_id)).all())
    if count > MAX_TAGS_PER_RESOURCE:
        raise LimitExceeded(f"The maximum number of tags ({MAX_TAGS_PER_RESOURCE}) for resource {resource_id} "
                            "has been exceeded", code="TagLimitExceeded")


def apply_specifications(session: Session, account_id: str, resource_type: str, resource_id: str,
                         specs: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Apply the ``TagSpecifications`` of a create call that name ``resource_type``."""
    tags: list[tuple[str, str]] = []
    for spec in specs or []:
        if spec.get("ResourceType") in (None, resource_type):
            tags += validate(spec.get("Tags") or [])
    if tags:
        put(session, account_id, resource_id, resource_type, tags)
    return dict(tags)


def check_specifications(specs: Sequence[Mapping[str, Any]] | None, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for spec in specs or []:
        rtype = spec.get("ResourceType")
        if rtype is not None and rtype not in allowed:
            raise InvalidParameterValue(f"'{rtype}' is not a valid taggable resource type for this operation.")
        validate(spec.get("Tags") or [])


def of(session: Session, account_id: str, resource_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Tags of many resources at once: ``{resource_id: {key: value}}``."""
    out: dict[str, dict[str, str]] = {rid: {} for rid in resource_ids}
    if not resource_ids:
        return out
    rows = session.scalars(select(Tag).where(Tag.account_id == account_id, Tag.resource_id.in_(list(resource_ids))))
    for row in rows:
        out[row.resource_id][row.key] = row.value
    return out


def as_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def drop_all(session: Session, account_id: str, resource_id: str) -> None:
    session.execute(delete(Tag).where(Tag.account_id == account_id, Tag.resource_id == resource_id))


class TagStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, resource_ids: Sequence[str], tags: Sequence[Mapping[str, Any]]) -> None:
        pairs = validate(tags)
        with self.db.session() as s:
            for rid in resource_ids:
                kind = resources.require(s, account_id, rid)
                put(s, account_id, rid, kind.type_name, pairs)

    def delete(self, account_id: str, resource_ids: Sequence[str], tags: Sequence[Mapping[str, Any]] | None) -> None:
        with self.db.session() as s:
            for rid in resource_ids:
                resources.require(s, account_id, rid)
                if not tags:
                    drop_all(s, account_id, rid)
                    continue
                for tag in tags:
                    key = tag.get("Key")
                    if not key:
                        continue
                    row = s.get(Tag, (account_id, rid, key))
                    if row is not None and ("Value" not in tag or tag["Value"] is None or tag["Value"] == row.value):
                        s.delete(row)

    def describe(self, account_id: str) -> list[Tag]:
        with self.db.session() as s:
            rows = s.scalars(select(Tag).where(Tag.account_id == account_id)
                             .order_by(Tag.resource_id, Tag.key)).all()
            s.expunge_all()
            return list(rows)
