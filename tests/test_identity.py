"""Accounts, keys, authentication and STS credentials on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from overcast.core.db import Database
from overcast.core.errors import AccessDenied, AuthError, Conflict, InvalidParameterValue
from overcast.core.identity import Caller, Identity
from overcast.core.models import AccessKey, Principal
from overcast.core.secretbox import SecretBox

HOUR = timedelta(hours=1)


def caller_of(identity: Identity, access_key_id: str, session_token: str | None = None) -> Caller:
    return identity.authenticate(access_key_id, session_token)[0]


# -- accounts --------------------------------------------------------------------------------------

def test_create_account(identity: Identity, database: Database) -> None:
    account_id, creds = identity.create_account("team-a")
    assert re.fullmatch(r"[1-9]\d{11}", account_id)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", creds.access_key_id)
    assert len(creds.secret_access_key) == 40
    assert creds.session_token is None and creds.expiration is None
    with database.session() as s:
        principal = s.scalars(select(Principal).where(Principal.account_id == account_id)).one()
    assert (principal.kind, principal.name) == ("user", "admin")
    assert principal.arn == f"arn:aws:iam::{account_id}:user/admin"
    assert principal.id.startswith("AIDA")
    assert identity.accounts() == [(account_id, "team-a")]
    assert identity.account_exists(account_id)
    assert not identity.account_exists("999999999999")


def test_duplicate_account_name_is_a_conflict(identity: Identity) -> None:
    identity.create_account("team-a")
    with pytest.raises(Conflict) as err:
        identity.create_account("team-a")
    assert err.value.code == "EntityAlreadyExists"
    assert len(identity.accounts()) == 1


def test_concurrent_creates_of_one_name_give_one_account_and_conflicts(identity: Identity) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        try:
            identity.create_account("racer")
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["EntityAlreadyExists"] * 5 + ["created"]
    assert [name for _, name in identity.accounts()] == ["racer"]


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/name", "quote'", "ünïcode"])
def test_invalid_account_names(identity: Identity, name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        identity.create_account(name)
    assert identity.accounts() == []


def test_ensure_account_returns_the_existing_key(identity: Identity) -> None:
    first = identity.ensure_account("admin")
    assert identity.ensure_account("admin") == first
    assert len(identity.accounts()) == 1


# -- authentication --------------------------------------------------------------------------------

def test_authenticate_a_long_term_key(identity: Identity) -> None:
    account_id, creds = identity.create_account("team-a")
    caller, secret = identity.authenticate(creds.access_key_id, None)
    assert secret == creds.secret_access_key
    assert caller.account_id == account_id
    assert caller.arn == f"arn:aws:iam::{account_id}:user/admin"
    assert caller.user_id.startswith("AIDA") and caller.user_id == caller.principal_id
    assert caller.access_key_id == creds.access_key_id
    assert not caller.temporary


@pytest.mark.parametrize("key", ["AKIAAAAAAAAAAAAAAAAA", "short", "", "A" * 200])
def test_unknown_key(identity: Identity, key: str) -> None:
    identity.create_account("team-a")
    with pytest.raises(AuthError) as err:
        identity.authenticate(key, None)
    assert err.value.kind == "unknown_key"


def test_session_token_is_required_and_checked(identity: Identity) -> None:
    _, creds = identity.create_account("team-a")
    temp = identity.session_token(caller_of(identity, creds.access_key_id), HOUR)
    assert temp.access_key_id.startswith("ASIA") and temp.session_token
    with pytest.raises(AuthError) as missing:
        identity.authenticate(temp.access_key_id, None)
    assert missing.value.kind == "token_invalid"
    with pytest.raises(AuthError) as wrong:
        identity.authenticate(temp.access_key_id, temp.session_token + "x")
    assert wrong.value.kind == "token_invalid"
    caller, secret = identity.authenticate(temp.access_key_id, temp.session_token)
    assert secret == temp.secret_access_key and caller.temporary


def test_expired_temporary_credentials(identity: Identity) -> None:
    _, creds = identity.create_account("team-a")
    temp = identity.session_token(caller_of(identity, creds.access_key_id), HOUR)
    assert temp.expiration is not None and temp.expiration.tzinfo is not None
    just_before = temp.expiration - timedelta(seconds=1)
    identity.authenticate(temp.access_key_id, temp.session_token, now=just_before)
    for later in (temp.expiration, temp.expiration + timedelta(days=1)):
        with pytest.raises(AuthError) as err:
            identity.authenticate(temp.access_key_id, temp.session_token, now=later)
        assert err.value.kind == "token_expired"
    # and once read back from the database rather than the cache
    fresh = Identity(identity.db, identity.box)
    with pytest.raises(AuthError) as err:
        fresh.authenticate(temp.access_key_id, temp.session_token, now=temp.expiration + HOUR)
    assert err.value.kind == "token_expired"
    fresh.authenticate(temp.access_key_id, temp.session_token, now=datetime.now(UTC))


def test_secrets_are_encrypted_at_rest(identity: Identity, database: Database) -> None:
    _, creds = identity.create_account("team-a")
    temp = identity.session_token(caller_of(identity, creds.access_key_id), HOUR)
    assert temp.session_token is not None
    with database.engine.connect() as conn:
        rows = [" ".join(map(str, row)) for row in conn.execute(text("SELECT * FROM access_keys"))]
    assert len(rows) == 2
    dump = "\n".join(rows)
    for secret in (creds.secret_access_key, temp.secret_access_key, temp.session_token):
        assert secret not in dump
    assert creds.access_key_id in dump
    if database.engine.dialect.name == "sqlite":
        database.dispose()          # checkpoint-free: read the main file and the WAL as they are
        path = Path(database.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert creds.access_key_id.encode() in raw
        for secret in (creds.secret_access_key, temp.secret_access_key, temp.session_token):
            assert secret.encode() not in raw


def test_another_host_key_cannot_read_the_secrets(identity: Identity, database: Database) -> None:
    _, creds = identity.create_account("team-a")
    with pytest.raises(ValueError, match="host key"):
        Identity(database, SecretBox.ephemeral()).authenticate(creds.access_key_id, None)


# -- STS -------------------------------------------------------------------------------------------

def test_session_token_from_temporary_credentials_is_denied(identity: Identity) -> None:
    _, creds = identity.create_account("team-a")
    temp = identity.session_token(caller_of(identity, creds.access_key_id), HOUR)
    with pytest.raises(AccessDenied):
        identity.session_token(caller_of(identity, temp.access_key_id, temp.session_token), HOUR)


def test_session_token_keeps_the_callers_identity(identity: Identity) -> None:
    _, creds = identity.create_account("team-a")
    user = caller_of(identity, creds.access_key_id)
    temp = identity.session_token(user, HOUR)
    caller = caller_of(identity, temp.access_key_id, temp.session_token)
    assert (caller.account_id, caller.arn, caller.user_id, caller.principal_id) == \
        (user.account_id, user.arn, user.user_id, user.principal_id)


def test_assume_role_in_the_same_account(identity: Identity, database: Database) -> None:
    account_id, creds = identity.create_account("team-a")
    user = caller_of(identity, creds.access_key_id)
    role_arn = f"arn:aws:iam::{account_id}:role/deployer"
    temp, assumed_arn, assumed_id = identity.assume_role(user, role_arn, "ci", HOUR)
    assert assumed_arn == f"arn:aws:sts::{account_id}:assumed-role/deployer/ci"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}:ci", assumed_id)
    caller = caller_of(identity, temp.access_key_id, temp.session_token)
    assert (caller.account_id, caller.arn, caller.user_id, caller.temporary) == \
        (account_id, assumed_arn, assumed_id, True)
    # the role is created once and reused
    again, _, again_id = identity.assume_role(user, role_arn, "other", HOUR)
    assert again_id.split(":")[0] == assumed_id.split(":")[0]
    with database.session() as s:
        roles = s.scalars(select(Principal).where(Principal.kind == "role")).all()
        assert [r.arn for r in roles] == [role_arn]
        assert len(s.scalars(select(AccessKey).where(AccessKey.principal_id == roles[0].id)).all()) == 2


def test_assume_role_in_another_account_is_denied(identity: Identity) -> None:
    _, creds = identity.create_account("team-a")
    other_id, _ = identity.create_account("team-b")
    with pytest.raises(AccessDenied):
        identity.assume_role(caller_of(identity, creds.access_key_id), f"arn:aws:iam::{other_id}:role/x", "s", HOUR)


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:iam::{account}:user/bob", "arn:aws:s3:::bucket",
                                 "arn:aws:iam::{account}:role/"])
def test_assume_role_with_a_malformed_arn(identity: Identity, arn: str) -> None:
    account_id, creds = identity.create_account("team-a")
    with pytest.raises(InvalidParameterValue) as err:
        identity.assume_role(caller_of(identity, creds.access_key_id), arn.format(account=account_id), "s", HOUR)
    assert err.value.code == "ValidationError"


def test_concurrent_ensure_account_agrees_on_one_account(identity: Identity) -> None:
    results: list[object] = []
    start = threading.Barrier(5)

    def ensure() -> None:
        start.wait()
        results.append(identity.ensure_account("admin"))

    threads = [threading.Thread(target=ensure) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 5 and len(set(map(repr, results))) == 1
    assert len(identity.accounts()) == 1
