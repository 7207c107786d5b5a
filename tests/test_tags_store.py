"""The tag store (CreateTags/DeleteTags/DescribeTags semantics) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from overcast.core import resources, tags
from overcast.core.db import Database
from overcast.core.errors import InvalidParameterValue, LimitExceeded, NotFound
from overcast.core.identity import Identity
from overcast.core.models import Tag
from overcast.core.tags import MAX_TAGS_PER_RESOURCE, TagStore

THING_A = "tst-0123456789abcdef0"
THING_B = "tst-00000000000000001"
MISSING = "tst-ffffffffffffffff0"
EXISTING: set[tuple[str, str]] = set()       # (account id, resource id)


def _exists(_session: Session, account_id: str, resource_id: str) -> bool:
    return (account_id, resource_id) in EXISTING


@pytest.fixture(autouse=True)
def thing_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[resources.ResourceKind]:
    kind = resources.ResourceKind(prefix="tst", type_name="test-thing", not_found_code="InvalidTestThingID.NotFound",
                                  exists=_exists)
    monkeypatch.setitem(resources._KINDS, "tst", kind)
    EXISTING.clear()
    yield kind
    EXISTING.clear()


@pytest.fixture
def accounts(identity: Identity) -> tuple[str, str]:
    a, _ = identity.create_account("team-a")
    b, _ = identity.create_account("team-b")
    EXISTING.update({(a, THING_A), (a, THING_B), (b, THING_B)})
    return a, b


def tags_of(store: TagStore, account_id: str, resource_id: str | None = None) -> dict[str, str]:
    return {t.key: t.value for t in store.describe(account_id) if resource_id in (None, t.resource_id)}


def kv(**tags: str | None) -> list[dict[str, Any]]:
    return [{"Key": k} if v is None else {"Key": k, "Value": v} for k, v in tags.items()]


# -- create / overwrite / delete -------------------------------------------------------------------

def test_create_and_overwrite(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    tag_store.create(a, [THING_A, THING_B], kv(Name="web", env="prod", empty=None))
    assert tags_of(tag_store, a, THING_A) == {"Name": "web", "env": "prod", "empty": ""}
    assert tags_of(tag_store, a, THING_B) == {"Name": "web", "env": "prod", "empty": ""}
    tag_store.create(a, [THING_A], kv(env="dev", empty="now-set"))
    assert tags_of(tag_store, a, THING_A) == {"Name": "web", "env": "dev", "empty": "now-set"}
    assert tags_of(tag_store, a, THING_B)["env"] == "prod"
    rows = tag_store.describe(a)
    assert [(r.resource_id, r.key) for r in rows] == sorted((r.resource_id, r.key) for r in rows)
    assert {r.resource_type for r in rows} == {"test-thing"}


def test_a_repeated_key_in_one_call_keeps_the_last_value(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    tag_store.create(a, [THING_A], [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert tags_of(tag_store, a, THING_A) == {"k": "2"}


def test_delete_by_key_by_key_and_value_and_all(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    tag_store.create(a, [THING_A], kv(a="1", b="2", c="3", d="", e="5"))
    tag_store.delete(a, [THING_A], kv(a=None))                 # key only: whatever the value
    tag_store.delete(a, [THING_A], kv(b="wrong", c="3"))       # key and value: only if it matches
    tag_store.delete(a, [THING_A], kv(d="", e=""))             # "" matches only an empty value
    tag_store.delete(a, [THING_A], kv(nope=None))              # absent keys are fine
    assert tags_of(tag_store, a, THING_A) == {"b": "2", "e": "5"}
    tag_store.delete(a, [THING_A], None)                       # no tags: all of them
    assert tags_of(tag_store, a, THING_A) == {}


def test_delete_with_an_empty_list_deletes_all(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    tag_store.create(a, [THING_A, THING_B], kv(x="1", y="2"))
    tag_store.delete(a, [THING_A], [])
    assert tags_of(tag_store, a, THING_A) == {}
    assert tags_of(tag_store, a, THING_B) == {"x": "1", "y": "2"}


# -- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tags", [
    [{"Key": "", "Value": "v"}],
    [{"Value": "v"}],
    [{"Key": "k" * 129, "Value": "v"}],
    [{"Key": "k", "Value": "v" * 257}],
    [{"Key": "aws:name", "Value": "v"}],
    [{"Key": "AWS:Name", "Value": "v"}],
    [{"Key": "fine", "Value": "v"}, {"Key": "aws:bad", "Value": "v"}],
], ids=["empty-key", "no-key", "long-key", "long-value", "aws-prefix", "aws-prefix-upper", "one-bad"])
def test_invalid_tags(tag_store: TagStore, accounts: tuple[str, str], tags: list[dict[str, str]]) -> None:
    a, _ = accounts
    with pytest.raises(InvalidParameterValue) as err:
        tag_store.create(a, [THING_A], tags)
    assert err.value.code == "InvalidParameterValue"
    assert tags_of(tag_store, a) == {}


def test_longest_key_and_value_are_accepted(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    tag_store.create(a, [THING_A], [{"Key": "k" * 128, "Value": "v" * 256}, {"Key": "ünï", "Value": "värde"}])
    assert tags_of(tag_store, a, THING_A) == {"k" * 128: "v" * 256, "ünï": "värde"}


def test_fifty_tags_per_resource(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    fifty = [{"Key": f"k{i}", "Value": str(i)} for i in range(MAX_TAGS_PER_RESOURCE)]
    assert MAX_TAGS_PER_RESOURCE == 50
    tag_store.create(a, [THING_A], fifty[:30])
    tag_store.create(a, [THING_A], fifty)                       # 20 new + 30 overwritten = 50
    tag_store.create(a, [THING_A], [{"Key": "k0", "Value": "changed"}])
    with pytest.raises(LimitExceeded) as err:
        tag_store.create(a, [THING_B, THING_A], [{"Key": "one-too-many", "Value": ""}])
    assert err.value.code == "TagLimitExceeded"
    assert len(tags_of(tag_store, a, THING_A)) == 50
    assert tags_of(tag_store, a, THING_B) == {}                 # the whole call is undone


# -- resource ids ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rid", ["nope-0123456789abcdef0", "tst0123", "tst-", "tst-XYZ", "", "-0123"])
def test_unknown_id_forms_are_invalid_ids(tag_store: TagStore, accounts: tuple[str, str], rid: str) -> None:
    a, _ = accounts
    for call in (lambda: tag_store.create(a, [rid], kv(k="v")), lambda: tag_store.delete(a, [rid], None)):
        with pytest.raises(InvalidParameterValue) as err:
            call()
        assert err.value.code == "InvalidID"


def test_missing_resources_are_not_found(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    with pytest.raises(NotFound) as err:
        tag_store.create(a, [THING_A, MISSING], kv(k="v"))
    assert err.value.code == "InvalidTestThingID.NotFound"
    assert MISSING in err.value.message
    assert tags_of(tag_store, a) == {}                          # nothing tagged
    with pytest.raises(NotFound):
        tag_store.delete(a, [MISSING], None)


def test_accounts_are_isolated(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, b = accounts
    tag_store.create(a, [THING_A, THING_B], kv(owner="a"))
    tag_store.create(b, [THING_B], kv(owner="b"))
    with pytest.raises(NotFound):                               # b cannot see a's resource
        tag_store.create(b, [THING_A], kv(owner="b"))
    with pytest.raises(NotFound):
        tag_store.delete(b, [THING_A], None)
    assert {(t.resource_id, t.value) for t in tag_store.describe(a)} == {(THING_A, "a"), (THING_B, "a")}
    assert {(t.resource_id, t.value) for t in tag_store.describe(b)} == {(THING_B, "b")}
    tag_store.delete(b, [THING_B], None)
    assert tags_of(tag_store, a, THING_B) == {"owner": "a"}


def test_concurrent_creates_of_the_same_new_key(tag_store: TagStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def create(n: int) -> None:
        start.wait()
        try:
            tag_store.create(a, [THING_A], [{"Key": "race", "Value": str(n)}])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert tags_of(tag_store, a, THING_A)["race"] in {str(n) for n in range(6)}


def test_put_refreshes_rows_already_loaded_in_the_session(database: Database, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    with database.session() as s:
        tags.put(s, a, THING_A, "test-thing", [("k", "1")])
        row = s.get(Tag, (a, THING_A, "k"))
        assert row is not None and row.value == "1"
        tags.put(s, a, THING_A, "test-thing", [("k", "2")])
        assert row.value == "2"
        assert tags.of(s, a, [THING_A, THING_B]) == {THING_A: {"k": "2"}, THING_B: {}}
