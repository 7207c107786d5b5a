"""Conditional request headers as S3 evaluates them (overcast.s3api.conditions): tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from overcast.s3api.conditions import (
    Conditions,
    NotModified,
    PreconditionFailed,
    check_copy_source,
    check_read,
    etag_matches,
    etags,
    evaluate,
)

ETAG = '"9e107d9d372bb6826bd81d3542a419d6"'
BARE = ETAG.strip('"')
OTHER = '"0123456789abcdef0123456789abcdef"'
MODIFIED = datetime(2025, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)   # fractions: the header has none
BEFORE = MODIFIED - timedelta(hours=1)
AFTER = MODIFIED + timedelta(hours=1)
SAME = MODIFIED.replace(microsecond=0)                          # what a client echoes from Last-Modified


@pytest.mark.parametrize(("header", "want"), [
    (ETAG, [BARE]),
    (BARE, [BARE]),
    (f"{OTHER}, {ETAG}", [OTHER.strip('"'), BARE]),
    (f'W/{ETAG}', [BARE]),
    ("*", ["*"]),
    (" , ", []),
])
def test_etags_are_parsed_with_or_without_quotes(header: str, want: list[str]) -> None:
    assert etags(header) == want


@pytest.mark.parametrize(("header", "want"), [
    (ETAG, True), (BARE, True), ("*", True), (f"{OTHER},{ETAG}", True), (f"{OTHER} ,{BARE}", True),
    (OTHER, False), ("", False), (BARE.upper(), False), (f'"{BARE}-2"', False),
])
def test_etag_matches(header: str, want: bool) -> None:
    assert etag_matches(header, ETAG) is want


CASES = [
    # (if_match, if_none_match, if_modified_since, if_unmodified_since) -> (status, condition)
    ((None, None, None, None), (200, None)),
    ((ETAG, None, None, None), (200, None)),
    ((BARE, None, None, None), (200, None)),
    (("*", None, None, None), (200, None)),
    ((OTHER, None, None, None), (412, "If-Match")),
    ((None, ETAG, None, None), (304, "If-None-Match")),
    ((None, "*", None, None), (304, "If-None-Match")),
    ((None, OTHER, None, None), (200, None)),
    ((None, None, BEFORE, None), (200, None)),
    ((None, None, SAME, None), (304, "If-Modified-Since")),
    ((None, None, AFTER, None), (304, "If-Modified-Since")),
    ((None, None, None, AFTER), (200, None)),
    ((None, None, None, SAME), (200, None)),
    ((None, None, None, BEFORE), (412, "If-Unmodified-Since")),
    # S3: If-Match true and If-Unmodified-Since false -> 200
    ((ETAG, None, None, BEFORE), (200, None)),
    ((OTHER, None, None, AFTER), (412, "If-Match")),
    # S3: If-None-Match false and If-Modified-Since true -> 304
    ((None, ETAG, BEFORE, None), (304, "If-None-Match")),
    # If-None-Match true: If-Modified-Since is not looked at
    ((None, OTHER, AFTER, None), (200, None)),
    # the 412 conditions come first
    ((OTHER, ETAG, None, None), (412, "If-Match")),
    ((None, ETAG, None, BEFORE), (412, "If-Unmodified-Since")),
    ((ETAG, ETAG, None, None), (304, "If-None-Match")),
    ((ETAG, OTHER, AFTER, BEFORE), (200, None)),
]


@pytest.mark.parametrize(("given", "want"), CASES)
def test_evaluate(given: tuple[str | None, str | None, datetime | None, datetime | None],
                  want: tuple[int, str | None]) -> None:
    verdict = evaluate(Conditions(*given), ETAG, MODIFIED)
    assert (verdict.status, verdict.condition) == want


def test_naive_dates_are_utc() -> None:
    naive = SAME.replace(tzinfo=None)
    assert evaluate(Conditions(if_modified_since=naive), ETAG, MODIFIED).status == 304
    assert evaluate(Conditions(if_unmodified_since=BEFORE.replace(tzinfo=None)), ETAG, MODIFIED).status == 412


def test_check_read_raises_304_with_validators_and_412_with_condition() -> None:
    with pytest.raises(NotModified) as not_modified:
        check_read(Conditions(if_none_match=ETAG), ETAG, MODIFIED)
    assert not_modified.value.status == 304
    assert not_modified.value.headers == {"etag": ETAG, "last-modified": "Sat, 01 Mar 2025 12:00:00 GMT"}
    with pytest.raises(PreconditionFailed) as failed:
        check_read(Conditions(if_match=OTHER), ETAG, MODIFIED)
    assert (failed.value.code, failed.value.status) == ("PreconditionFailed", 412)
    assert failed.value.extra == {"Condition": "If-Match"}
    check_read(Conditions(), ETAG, MODIFIED)


@pytest.mark.parametrize(("given", "want"), [(g, w) for g, w in CASES])
def test_copy_source_failures_are_all_412(given: tuple[str | None, str | None, datetime | None, datetime | None],
                                          want: tuple[int, str | None]) -> None:
    cond = Conditions(*given)
    if want[0] == 200:
        check_copy_source(cond, ETAG, MODIFIED)
        return
    with pytest.raises(PreconditionFailed) as failed:
        check_copy_source(cond, ETAG, MODIFIED)
    assert failed.value.extra == {"Condition": f"x-amz-copy-source-{want[1]}"}


def test_conditions_from_params() -> None:
    get = Conditions.of_request({"IfMatch": ETAG, "IfModifiedSince": BEFORE, "Bucket": "b"})
    assert get == Conditions(ETAG, None, BEFORE, None) and get
    copy = Conditions.of_copy_source({"CopySourceIfNoneMatch": "*", "CopySourceIfUnmodifiedSince": AFTER,
                                      "IfMatch": OTHER})
    assert copy == Conditions(None, "*", None, AFTER)
    assert not Conditions.of_request({"Bucket": "b", "Key": "k"})
