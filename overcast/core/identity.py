"""Accounts, principals and access keys; who is calling.

Long-term keys belong to an IAM user (``admin`` for each account); temporary keys come from
STS (``GetSessionToken``, ``AssumeRole``) and are only valid with their session token and
before they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import ids
from .db import Database
from .errors import AccessDenied, AuthError, Conflict, InvalidParameterValue
from .models import AccessKey, Account, Principal
from .secretbox import SecretBox

ADMIN_ACCOUNT = "admin"
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Caller:
    """The authenticated identity of a request."""

    account_id: str
    arn: str
    user_id: str
    access_key_id: str
    principal_id: str
    temporary: bool = False


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: datetime | None = None


@dataclass(frozen=True)
class _KeyRecord:
    caller: Caller
    secret: str
    status: str
    expires_at: datetime | None
    token_sha256: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Identity:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self._cache: dict[str, tuple[float, _KeyRecord | None]] = {}
        self._lock = threading.Lock()

    # -- accounts --------------------------------------------------------------------------------
    def create_account(self, name: str) -> tuple[str, Credentials]:
        if not name or len(name) > 64 or not all((c.isascii() and c.isalnum()) or c in "-_." for c in name):
            raise InvalidParameterValue("Account names are 1-64 letters, digits, '-', '_' or '.'")
        exists = Conflict(f"An account named {name} already exists", code="EntityAlreadyExists")
        try:
            with self.db.session() as s:
                if s.scalar(select(Account).where(Account.name == name)) is not None:
                    raise exists
                account_id = ids.account_id()
                while s.get(Account, account_id) is not None:
                    account_id = ids.account_id()
                s.add(Account(id=account_id, name=name, created_at=_now()))
                user = Principal(id=ids.principal_id("user"), account_id=account_id, kind="user", name="admin",
                                 arn=f"arn:aws:iam::{account_id}:user/admin", created_at=_now())
                s.add(user)
                s.flush()
                creds = self._add_key(s, account_id, user.id)
        except IntegrityError:
            # A concurrent create of the same name won the race (the check above saw nothing yet).
            with self.db.session() as s:
                if s.scalar(select(Account.id).where(Account.name == name)) is not None:
                    raise exists from None
            raise
        return account_id, creds

    def ensure_account(self, name: str) -> tuple[str, Credentials]:
        """The account called ``name`` and its first active key, created if missing."""
        found = self._first_key(name)
        if found is not None:
            return found
        try:
            return self.create_account(name)
        except Conflict:            # created concurrently (another controller starting up)
            found = self._first_key(name)
            if found is None:
                raise
            return found

    def _first_key(self, name: str) -> tuple[str, Credentials] | None:
        with self.db.session() as s:
            account = s.scalar(select(Account).where(Account.name == name))
            if account is None:
                return None
            key = s.scalar(select(AccessKey).where(AccessKey.account_id == account.id,
                                                   AccessKey.expires_at.is_(None),
                                                   AccessKey.status == "Active").order_by(AccessKey.created_at))
            return None if key is None else (account.id, Credentials(key.id, self.box.open(key.secret_enc)))

    def accounts(self) -> list[tuple[str, str]]:
        with self.db.session() as s:
            return [(a.id, a.name) for a in s.scalars(select(Account).order_by(Account.created_at))]

    def account_exists(self, account_id: str) -> bool:
        with self.db.session() as s:
            return s.get(Account, account_id) is not None

    def _add_key(self, s, account_id: str, principal_id: str, *, temporary: bool = False,  # type: ignore[no-untyped-def]
                 expires_at: datetime | None = None, session_arn: str | None = None,
                 session_user_id: str | None = None) -> Credentials:
        key_id = ids.access_key_id(temporary)
        secret = ids.secret_access_key()
        token = ids.session_token() if temporary else None
        s.add(AccessKey(id=key_id, account_id=account_id, principal_id=principal_id, secret_enc=self.box.seal(secret),
                        status="Active", created_at=_now(), expires_at=expires_at,
                        session_token_sha256=hashlib.sha256(token.encode()).hexdigest() if token else None,
                        session_arn=session_arn, session_user_id=session_user_id))
        return Credentials(key_id, secret, token, expires_at)

    # -- authentication ----------------------------------------------------------------------------
    def _record(self, access_key_id: str) -> _KeyRecord | None:
        now = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        record = None
        with self.db.session() as s:
            key = s.get(AccessKey, access_key_id)
            if key is not None:
                principal = s.get(Principal, key.principal_id)
                assert principal is not None
                caller = Caller(account_id=key.account_id, arn=key.session_arn or principal.arn,
                                user_id=key.session_user_id or principal.id, access_key_id=key.id,
                                principal_id=principal.id, temporary=key.expires_at is not None)
                record = _KeyRecord(caller, self.box.open(key.secret_enc), key.status, _aware(key.expires_at),
                                    key.session_token_sha256)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (now + CACHE_SECONDS, record)
        return record

    def authenticate(self, access_key_id: str, session_token: str | None,
                     now: datetime | None = None) -> tuple[Caller, str]:
        """The caller and secret for a key, or :class:`AuthError` (``unknown_key``, ``token_*``)."""
        record = self._record(access_key_id) if 16 <= len(access_key_id) <= 128 else None
        if record is None or record.status != "Active":
            raise AuthError("unknown_key", "The security token included in the request is invalid.")
        if record.token_sha256 is not None:
            if not session_token:
                raise AuthError("token_invalid", "The security token included in the request is invalid.")
            digest = hashlib.sha256(session_token.encode()).hexdigest()
            if not hmac.compare_digest(digest, record.token_sha256):
                raise AuthError("token_invalid", "The security token included in the request is invalid.")
        if record.expires_at is not None and (now or _now()) >= record.expires_at:
            raise AuthError("token_expired", "The security token included in the request is expired")
        return record.caller, record.secret

    def forget(self, access_key_id: str) -> None:
        with self._lock:
            self._cache.pop(access_key_id, None)

    # -- STS -----------------------------------------------------------------------------------------
    def session_token(self, caller: Caller, duration: timedelta) -> Credentials:
        if caller.temporary:
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        with self.db.session() as s:
            return self._add_key(s, caller.account_id, caller.principal_id, temporary=True,
                                 expires_at=_now() + duration, session_arn=caller.arn, session_user_id=caller.user_id)

    def assume_role(self, caller: Caller, role_arn: str, session_name: str,
                    duration: timedelta) -> tuple[Credentials, str, str]:
        """Temporary credentials for ``role_arn``; returns (credentials, assumed-role ARN, assumed-role id).

        Roles are minimal for now: a role in the caller's own account is created on first use;
        roles in other accounts cannot be assumed (no trust policies yet)."""
        parts = role_arn.split(":")
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
            raise InvalidParameterValue(f"{role_arn} is invalid", code="ValidationError")
        account_id, role_name = parts[4], parts[5].split("/")[-1]
        if account_id != caller.account_id:
            raise AccessDenied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
        if not role_name:
            raise InvalidParameterValue(f"{role_arn} is invalid", code="ValidationError")
        with self.db.session() as s:
            role = s.scalar(select(Principal).where(Principal.account_id == account_id, Principal.kind == "role",
                                                    Principal.name == role_name))
            if role is None:
                role = Principal(id=ids.principal_id("role"), account_id=account_id, kind="role", name=role_name,
                                 arn=f"arn:aws:iam::{account_id}:{parts[5]}", created_at=_now())
                s.add(role)
                s.flush()
            assumed_arn = f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"
            assumed_id = f"{role.id}:{session_name}"
            creds = self._add_key(s, account_id, role.id, temporary=True, expires_at=_now() + duration,
                                  session_arn=assumed_arn, session_user_id=assumed_id)
        return creds, assumed_arn, assumed_id
