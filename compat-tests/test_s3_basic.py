"""S3, the thin real path: buckets and objects through the real gateway onto three real object
nodes, driven by boto3 and both AWS CLIs; bytes, replicas on disk and isolation checked."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from helpers import OBJECT_NODES, Account, Overcast


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _replica_files(overcast: Overcast, payload: bytes) -> list[Path]:
    """Every replica file on disk whose bytes are ``payload``."""
    digest = hashlib.sha256(payload).digest()
    found = []
    for path in (overcast.data_dir / "objectnodes").rglob("*.data"):
        if path.stat().st_size == len(payload) and hashlib.sha256(path.read_bytes()).digest() == digest:
            found.append(path)
    return found


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> object:
    return overcast.client("s3")


def test_bucket_lifecycle(overcast: Overcast, s3: object, second_account: Account) -> None:
    s3.create_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    s3.head_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]  # type: ignore[attr-defined]
    assert "lifecycle" in names
    assert s3.get_bucket_location(Bucket="lifecycle")["LocationConstraint"] is None  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    assert _code(err) == "BucketAlreadyOwnedByYou"
    other = overcast.client_for(second_account, "s3")
    with pytest.raises(ClientError) as err:
        other.create_bucket(Bucket="lifecycle")
    assert _code(err) == "BucketAlreadyExists"
    for bad in ("UPPER", "a", "has_underscore", "192.168.1.1", "ends-", "x" * 64):
        with pytest.raises(ClientError) as err:
            s3.create_bucket(Bucket=bad)  # type: ignore[attr-defined]
        assert _code(err) == "InvalidBucketName", bad
    s3.delete_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket="lifecycle")  # type: ignore[attr-defined]
    assert _code(err) == "NoSuchBucket"


@pytest.mark.parametrize("size", [0, 1, 1024, 5 * 1024 * 1024 + 3])
def test_put_get_bytes_and_three_replicas(overcast: Overcast, s3: object, size: int) -> None:
    bucket = "bytes"
    try:
        s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    except ClientError as err:
        assert err.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    payload = os.urandom(size)
    key = f"dir/obj-{size} é+ x=y%"
    put = s3.put_object(Bucket=bucket, Key=key, Body=payload, ContentType="application/x-test",  # type: ignore[attr-defined]
                        Metadata={"color": "blue"}, CacheControl="max-age=60")
    assert put["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    assert got["Body"].read() == payload
    assert got["ContentLength"] == size and got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue"} and got["CacheControl"] == "max-age=60"
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    assert head["ContentLength"] == size and head["ETag"] == put["ETag"]
    if size:
        replicas = _replica_files(overcast, payload)
        assert len({p.relative_to(overcast.data_dir / "objectnodes").parts[0] for p in replicas}) == OBJECT_NODES, \
            replicas


def test_ranges(s3: object) -> None:
    s3.create_bucket(Bucket="ranges")  # type: ignore[attr-defined]
    payload = bytes(range(256)) * 40
    s3.put_object(Bucket="ranges", Key="k", Body=payload)  # type: ignore[attr-defined]
    for header, want in (("bytes=0-9", payload[:10]), ("bytes=100-", payload[100:]), ("bytes=-7", payload[-7:]),
                         ("bytes=10000-99999", payload[10000:])):
        got = s3.get_object(Bucket="ranges", Key="k", Range=header)  # type: ignore[attr-defined]
        assert got["Body"].read() == want, header
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"].endswith(f"/{len(payload)}")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="ranges", Key="k", Range="bytes=20000-")  # type: ignore[attr-defined]
    assert _code(err) == "InvalidRange"


def test_overwrite_delete_and_errors(overcast: Overcast, s3: object) -> None:
    s3.create_bucket(Bucket="errors")  # type: ignore[attr-defined]
    s3.put_object(Bucket="errors", Key="k", Body=b"first version")  # type: ignore[attr-defined]
    s3.put_object(Bucket="errors", Key="k", Body=b"second")  # type: ignore[attr-defined]
    assert s3.get_object(Bucket="errors", Key="k")["Body"].read() == b"second"  # type: ignore[attr-defined]
    assert not _replica_files(overcast, b"first version"), "replaced data must be deleted from the nodes"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="errors", Key="missing")  # type: ignore[attr-defined]
    assert _code(err) == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")  # type: ignore[attr-defined]
    assert _code(err) == "NoSuchBucket"
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket="errors", Key="md5", Body=b"abc",  # type: ignore[attr-defined]
                      ContentMD5=base64.b64encode(hashlib.md5(b"xyz").digest()).decode())
    assert _code(err) == "BadDigest"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket="errors", Key="md5")  # type: ignore[attr-defined]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket="errors")  # type: ignore[attr-defined]
    assert _code(err) == "BucketNotEmpty"
    s3.delete_object(Bucket="errors", Key="k")  # type: ignore[attr-defined]
    s3.delete_object(Bucket="errors", Key="k")  # type: ignore[attr-defined]  (idempotent)
    assert not _replica_files(overcast, b"second")
    s3.delete_bucket(Bucket="errors")  # type: ignore[attr-defined]


def test_listing(s3: object) -> None:
    s3.create_bucket(Bucket="listing")  # type: ignore[attr-defined]
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "é/5", "a+b", "a b"]
    for key in keys:
        s3.put_object(Bucket="listing", Key=key, Body=key.encode())  # type: ignore[attr-defined]
    everything = [o["Key"] for o in s3.list_objects_v2(Bucket="listing")["Contents"]]  # type: ignore[attr-defined]
    assert everything == sorted(keys, key=lambda k: k.encode())
    top = s3.list_objects_v2(Bucket="listing", Delimiter="/")  # type: ignore[attr-defined]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "é/"]
    assert [o["Key"] for o in top["Contents"]] == ["a b", "a+b", "c"]
    under_a = s3.list_objects_v2(Bucket="listing", Prefix="a/", Delimiter="/")  # type: ignore[attr-defined]
    assert [o["Key"] for o in under_a["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in under_a["CommonPrefixes"]] == ["a/b/"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="listing",  # type: ignore[attr-defined]
                                                          PaginationConfig={"PageSize": 3})
    paged = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert paged == everything
    v1 = s3.get_paginator("list_objects").paginate(Bucket="listing",  # type: ignore[attr-defined]
                                                    PaginationConfig={"PageSize": 2})
    assert [o["Key"] for page in v1 for o in page.get("Contents", [])] == everything
    after = s3.list_objects_v2(Bucket="listing", StartAfter="b/4")  # type: ignore[attr-defined]
    assert [o["Key"] for o in after["Contents"]] == ["c", "é/5"]


def test_other_accounts_are_denied(overcast: Overcast, s3: object, second_account: Account) -> None:
    s3.create_bucket(Bucket="private-a")  # type: ignore[attr-defined]
    s3.put_object(Bucket="private-a", Key="secret", Body=b"mine")  # type: ignore[attr-defined]
    other = overcast.client_for(second_account, "s3")
    for call in (lambda: other.get_object(Bucket="private-a", Key="secret"),
                 lambda: other.list_objects_v2(Bucket="private-a"),
                 lambda: other.put_object(Bucket="private-a", Key="x", Body=b"theirs"),
                 lambda: other.delete_object(Bucket="private-a", Key="secret"),
                 lambda: other.delete_bucket(Bucket="private-a")):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "AccessDenied"
    assert "private-a" not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    assert s3.get_object(Bucket="private-a", Key="secret")["Body"].read() == b"mine"  # type: ignore[attr-defined]


@pytest.mark.parametrize("cli", ["v1", "v2"])
def test_cli_cp_ls_rm(overcast: Overcast, s3: object, tmp_path: Path, cli: str) -> None:
    bucket = f"cli-{cli}"
    made = overcast.aws(cli, "s3", "mb", f"s3://{bucket}")
    assert made.returncode == 0, made.stderr
    source = tmp_path / "up.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    up = overcast.aws(cli, "s3", "cp", str(source), f"s3://{bucket}/dir/up.bin")
    assert up.returncode == 0, up.stderr
    listed = overcast.aws(cli, "s3", "ls", f"s3://{bucket}/dir/")
    assert listed.returncode == 0 and "up.bin" in listed.stdout, listed.stderr
    back = tmp_path / "down.bin"
    down = overcast.aws(cli, "s3", "cp", f"s3://{bucket}/dir/up.bin", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == source.read_bytes()
    removed = overcast.aws(cli, "s3", "rm", "--recursive", f"s3://{bucket}/")
    assert removed.returncode == 0, removed.stderr
    gone = overcast.aws(cli, "s3", "rb", f"s3://{bucket}")
    assert gone.returncode == 0, gone.stderr
