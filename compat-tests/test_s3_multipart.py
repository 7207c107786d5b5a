"""S3 multipart uploads through the real gateway onto three real object nodes: boto3's transfer
manager, both AWS CLIs' `s3 cp`, the low-level calls and their errors; bytes, ETags and the
replicas of every part on disk checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from helpers import OBJECT_NODES, Account, Overcast, error_of

MiB = 1024 * 1024


def _md5_of_parts(data: bytes, chunk: int) -> str:
    parts = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def _replica_nodes(overcast: Overcast, payload: bytes) -> set[str]:
    """The object nodes holding a replica file whose bytes are ``payload``."""
    digest = hashlib.sha256(payload).digest()
    root = overcast.data_dir / "objectnodes"
    return {path.relative_to(root).parts[0] for path in root.rglob("*.data")
            if path.stat().st_size == len(payload) and hashlib.sha256(path.read_bytes()).digest() == digest}


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> Any:
    client = overcast.client("s3")
    client.create_bucket(Bucket="multipart")
    return client


def test_boto3_transfer_manager_round_trip(overcast: Overcast, s3: Any, tmp_path: Path) -> None:
    data = os.urandom(21 * MiB + 12345)
    source, back = tmp_path / "up.bin", tmp_path / "down.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    key = "dir/big é+ x=y.bin"
    s3.upload_file(str(source), "multipart", key, Config=config, ExtraArgs={"ContentType": "application/x-big",
                                                                             "Metadata": {"origin": "boto3"}})
    head = s3.head_object(Bucket="multipart", Key=key)
    assert head["ETag"] == _md5_of_parts(data, 5 * MiB) and head["ETag"].endswith('-5"')
    assert head["ContentLength"] == len(data) and head["ContentType"] == "application/x-big"
    assert head["Metadata"] == {"origin": "boto3"}
    s3.download_file("multipart", key, str(back), Config=config)
    assert back.read_bytes() == data
    assert s3.get_object(Bucket="multipart", Key=key)["Body"].read() == data
    lo, hi = 5 * MiB - 100, 10 * MiB + 100                      # a range across three parts
    got = s3.get_object(Bucket="multipart", Key=key, Range=f"bytes={lo}-{hi}")
    assert got["Body"].read() == data[lo:hi + 1] and got["ContentRange"] == f"bytes {lo}-{hi}/{len(data)}"
    for i in range(0, len(data), 5 * MiB):
        assert len(_replica_nodes(overcast, data[i:i + 5 * MiB])) == OBJECT_NODES, f"part at {i}"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="multipart", Prefix="dir/")["Contents"]] == [key]
    s3.delete_object(Bucket="multipart", Key=key)
    assert not _replica_nodes(overcast, data[:5 * MiB]), "deleting a multipart object deletes its parts"


@pytest.mark.parametrize("cli", ["v1", "v2"])
def test_cli_cp_multipart(overcast: Overcast, s3: Any, tmp_path: Path, cli: str) -> None:
    data = os.urandom(40 * MiB + 7)
    source, back = tmp_path / "up.bin", tmp_path / "down.bin"
    source.write_bytes(data)
    up = overcast.aws(cli, "s3", "cp", str(source), f"s3://multipart/cli-{cli}/big.bin")
    assert up.returncode == 0, up.stderr
    head = s3.head_object(Bucket="multipart", Key=f"cli-{cli}/big.bin")
    assert head["ETag"] == _md5_of_parts(data, 8 * MiB) and head["ContentLength"] == len(data)
    down = overcast.aws(cli, "s3", "cp", f"s3://multipart/cli-{cli}/big.bin", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == data
    assert s3.list_multipart_uploads(Bucket="multipart", Prefix=f"cli-{cli}/").get("Uploads") is None


def _upload(s3: Any, key: str, parts: list[bytes]) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket="multipart", Key=key)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = s3.upload_part(Bucket="multipart", Key=key, UploadId=upload_id, PartNumber=number, Body=data)["ETag"]
        assert etag == f'"{hashlib.md5(data).hexdigest()}"'
        done.append({"PartNumber": number, "ETag": etag})
    return upload_id, done


def test_completion_errors(s3: Any) -> None:
    small, big = os.urandom(MiB), os.urandom(5 * MiB)
    upload_id, parts = _upload(s3, "errors", [small, big])

    def complete(listed: list[dict[str, Any]], **extra: Any) -> Any:
        return s3.complete_multipart_upload(Bucket="multipart", Key="errors", UploadId=upload_id,
                                            MultipartUpload={"Parts": listed}, **extra)

    assert error_of(complete, parts)[:2] == ("EntityTooSmall", 400)
    assert error_of(complete, parts[::-1])[:2] == ("InvalidPartOrder", 400)
    assert error_of(complete, [{"PartNumber": 3, "ETag": parts[1]["ETag"]}])[:2] == ("InvalidPart", 400)
    assert error_of(complete, [{"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}])[:2] == ("InvalidPart", 400)
    assert error_of(complete, [])[:2] == ("MalformedXML", 400)
    assert error_of(s3.upload_part, Bucket="multipart", Key="errors", UploadId=upload_id, PartNumber=10001,
                    Body=b"x")[:2] == ("InvalidArgument", 400)
    for call in (lambda: s3.abort_multipart_upload(Bucket="multipart", Key="errors", UploadId="nope"),
                 lambda: s3.list_parts(Bucket="multipart", Key="errors", UploadId="nope"),
                 lambda: s3.upload_part(Bucket="multipart", Key="errors", UploadId="nope", PartNumber=1, Body=b"x"),
                 lambda: s3.list_parts(Bucket="multipart", Key="other-key", UploadId=upload_id)):
        assert error_of(call)[:2] == ("NoSuchUpload", 404)
    s3.put_object(Bucket="multipart", Key="errors", Body=b"already here")
    assert error_of(complete, parts[1:], IfNoneMatch="*")[:2] == ("PreconditionFailed", 412)
    done = complete([{"PartNumber": 1, "ETag": parts[0]["ETag"]}])   # a single part may be small
    assert done["ETag"] == _md5_of_parts(small, MiB) and done["Key"] == "errors" and done["Bucket"] == "multipart"
    assert s3.get_object(Bucket="multipart", Key="errors")["Body"].read() == small
    assert error_of(complete, parts[:1])[:2] == ("NoSuchUpload", 404)


def test_list_parts_and_uploads_paging(s3: Any) -> None:
    upload_id, parts = _upload(s3, "paged", [bytes([i]) * 1000 for i in range(7)])
    listed = s3.list_parts(Bucket="multipart", Key="paged", UploadId=upload_id, MaxParts=3)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert listed["IsTruncated"] and listed["NextPartNumberMarker"] == 3 and listed["MaxParts"] == 3
    pages = s3.get_paginator("list_parts").paginate(Bucket="multipart", Key="paged", UploadId=upload_id,
                                                     PaginationConfig={"PageSize": 2})
    seen = [(p["PartNumber"], p["ETag"], p["Size"]) for page in pages for p in page.get("Parts", [])]
    assert seen == [(p["PartNumber"], p["ETag"], 1000) for p in parts]
    keys = ["up/a/1", "up/a/2", "up/b", "up/b", "up/c"]
    ids = [s3.create_multipart_upload(Bucket="multipart", Key=k)["UploadId"] for k in keys]
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket="multipart", Prefix="up/",
                                                                PaginationConfig={"PageSize": 2})
    assert [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])] == list(zip(keys, ids,
                                                                                                     strict=True))
    top = s3.list_multipart_uploads(Bucket="multipart", Prefix="up/", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["up/a/"]
    assert [u["Key"] for u in top["Uploads"]] == ["up/b", "up/b", "up/c"]
    first = top["Uploads"][0]
    assert first["Initiator"]["ID"].startswith("arn:aws:iam::") and first["StorageClass"] == "STANDARD"
    for key, upload in zip(keys, ids, strict=True):
        s3.abort_multipart_upload(Bucket="multipart", Key=key, UploadId=upload)
    s3.abort_multipart_upload(Bucket="multipart", Key="paged", UploadId=upload_id)


def test_abort_cleans_the_nodes(overcast: Overcast, s3: Any) -> None:
    data = [os.urandom(5 * MiB), os.urandom(123)]
    upload_id, _ = _upload(s3, "aborted", data)
    assert all(len(_replica_nodes(overcast, d)) == OBJECT_NODES for d in data)
    s3.abort_multipart_upload(Bucket="multipart", Key="aborted", UploadId=upload_id)
    assert all(not _replica_nodes(overcast, d) for d in data), "abort must delete every part's replicas"
    assert error_of(s3.list_parts, Bucket="multipart", Key="aborted", UploadId=upload_id)[0] == "NoSuchUpload"


def test_upload_part_copy(s3: Any) -> None:
    source = os.urandom(6 * MiB + 11)
    s3.put_object(Bucket="multipart", Key="copy-source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket="multipart", Key="copied")["UploadId"]
    first = s3.upload_part_copy(Bucket="multipart", Key="copied", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": "multipart", "Key": "copy-source"},
                                CopySourceRange=f"bytes=0-{5 * MiB - 1}")["CopyPartResult"]
    second = s3.upload_part_copy(Bucket="multipart", Key="copied", UploadId=upload_id, PartNumber=2,
                                 CopySource="multipart/copy-source")["CopyPartResult"]
    assert first["ETag"] == f'"{hashlib.md5(source[:5 * MiB]).hexdigest()}"'
    assert error_of(s3.upload_part_copy, Bucket="multipart", Key="copied", UploadId=upload_id, PartNumber=3,
                    CopySource="multipart/copy-source", CopySourceRange="bytes=9-2")[0] == "InvalidArgument"
    s3.complete_multipart_upload(Bucket="multipart", Key="copied", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]})
    assert s3.get_object(Bucket="multipart", Key="copied")["Body"].read() == source[:5 * MiB] + source


def test_other_accounts_are_denied(overcast: Overcast, s3: Any, second_account: Account) -> None:
    upload_id = s3.create_multipart_upload(Bucket="multipart", Key="mine")["UploadId"]
    other = overcast.client_for(second_account, "s3")
    for call in (lambda: other.create_multipart_upload(Bucket="multipart", Key="theirs"),
                 lambda: other.upload_part(Bucket="multipart", Key="mine", UploadId=upload_id, PartNumber=1, Body=b"x"),
                 lambda: other.list_parts(Bucket="multipart", Key="mine", UploadId=upload_id),
                 lambda: other.list_multipart_uploads(Bucket="multipart"),
                 lambda: other.abort_multipart_upload(Bucket="multipart", Key="mine", UploadId=upload_id)):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "AccessDenied"
    s3.abort_multipart_upload(Bucket="multipart", Key="mine", UploadId=upload_id)
