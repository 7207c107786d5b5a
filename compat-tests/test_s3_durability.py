"""S3 durability with three real object nodes and the real background loops of ``overcast up``
(replicator, sweeper, node auditors; every 2 s here, see ``helpers.OVERCAST_TOML``):

* kill -9 a node in the middle of 100 concurrent uploads: every acknowledged upload reads back
  intact, the others failed with a clean S3 error; the supervisor restarts the node and the
  replicator brings every object back to three replicas on disk;
* flip a byte in a replica on disk: the node's auditor quarantines it, the replicator restores a
  good copy, and GETs return the right bytes;
* replica data without a metadata row (an upload that died before its commit, a delete that
  missed a node) is swept after the grace period; data that is referenced stays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import struct
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers import OBJECT_NODES, Overcast

BUCKET = "durability"
UPLOADS = 100


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


# -- the object nodes as the tests see them: processes, ports and files ------------------------------------

def node_root(overcast: Overcast, node: str) -> Path:
    return (overcast.data_dir / "objectnodes" / node).resolve()


def node_pids(overcast: Overcast, node: str) -> list[int]:
    """The pids of the object node processes serving ``node`` (found through /proc)."""
    root = str(node_root(overcast, node))
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if "overcast.hostagents.objectnode" in words and "--root" in words:
            given = words[words.index("--root") + 1] if words.index("--root") + 1 < len(words) else ""
            if given and Path(given).resolve() == Path(root):
                found.append(int(entry.name))
    return found


def node_healthy(overcast: Overcast, index: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{overcast.process.port + index}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def replicas_by_digest(overcast: Overcast) -> Counter[bytes]:
    """How many replica files (in the nodes' ``objects/``, not quarantine) hold each content."""
    counts: Counter[bytes] = Counter()
    for index in range(1, OBJECT_NODES + 1):
        for path in (node_root(overcast, f"node{index}") / "objects").glob("*/*.data"):
            try:
                counts[hashlib.sha256(path.read_bytes()).digest()] += 1
            except FileNotFoundError:
                continue
    return counts


def replica_files(overcast: Overcast, payload: bytes) -> list[Path]:
    digest = hashlib.sha256(payload).digest()
    return [path for index in range(1, OBJECT_NODES + 1)
            for path in (node_root(overcast, f"node{index}") / "objects").glob("*/*.data")
            if path.stat().st_size == len(payload) and hashlib.sha256(path.read_bytes()).digest() == digest]


def ring(overcast: Overcast) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((overcast.data_dir / "ring.json").read_text())
    return doc


def first_primary(overcast: Overcast, partition: int) -> str:
    """The node a GET of data in ``partition`` reads first."""
    doc = ring(overcast)
    device = doc["assignment"][0][partition]
    return str(next(d["name"] for d in doc["devices"] if d["id"] == device))


def partition_of(overcast: Overcast, name: str) -> int:
    power = int(ring(overcast)["partition_power"])
    return int(struct.unpack_from(">I", hashlib.md5(name.encode()).digest())[0] >> (32 - power))


def node_put(overcast: Overcast, index: int, partition: int, name: str, body: bytes) -> None:
    """Write a replica straight to a node over its internal protocol (signed with the node key)."""
    secret = (overcast.data_dir / "objectnode.key").read_bytes().strip()
    path = f"/v1/objects/{partition}/{name}"
    date = str(int(time.time()))
    signature = hmac.new(secret, f"PUT\n{path}\n{date}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"http://127.0.0.1:{overcast.process.port + index}{path}", data=body,
                                     method="PUT", headers={"X-Overcast-Date": date, "X-Overcast-Auth": signature})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> Any:
    client = overcast.client("s3", max_pool_connections=32)
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    return client


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


# -- (a) kill -9 during uploads ----------------------------------------------------------------------------

def test_kill_9_during_uploads_then_replicator_restores_three_copies(overcast: Overcast, s3: Any) -> None:
    payloads = {f"upload/{i:03d}": os.urandom(1024 * (1 + i % 64)) for i in range(UPLOADS)}
    acknowledged: dict[str, str] = {}
    failed: dict[str, BaseException] = {}
    lock = threading.Lock()

    def upload(key: str) -> None:
        try:
            etag = s3.put_object(Bucket=BUCKET, Key=key, Body=payloads[key])["ETag"]
        except BaseException as err:  # noqa: BLE001 — every failure is judged below
            with lock:
                failed[key] = err
            return
        with lock:
            acknowledged[key] = etag

    victim = "node2"
    [old_pid] = node_pids(overcast, victim)
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(upload, key) for key in payloads]
        wait_until(lambda: len(acknowledged) + len(failed) >= UPLOADS // 4, 30, "the first uploads")
        os.kill(old_pid, signal.SIGKILL)
        done_at_kill = len(acknowledged) + len(failed)
        for future in futures:
            future.result()
    assert done_at_kill < UPLOADS, "every upload finished before the kill: nothing was in flight"
    for key, err in failed.items():
        assert isinstance(err, ClientError), f"{key} failed without a clean S3 error: {err!r}"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 503, (key, err.response)
        assert err.response["Error"]["Code"] in ("SlowDown", "ServiceUnavailable"), (key, err.response)
    assert len(acknowledged) >= UPLOADS // 2, f"only {len(acknowledged)} uploads succeeded with two nodes up"
    for key, etag in acknowledged.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)
        assert got["Body"].read() == payloads[key], key
        assert got["ETag"] == etag == f'"{hashlib.md5(payloads[key]).hexdigest()}"'

    # the supervisor brings the node back …
    index = int(victim.removeprefix("node"))
    wait_until(lambda: [p for p in node_pids(overcast, victim) if p != old_pid] and node_healthy(overcast, index),
               20, f"the supervisor to restart {victim}")
    # … and the replicator gives every acknowledged object its three replicas again
    wanted = {hashlib.sha256(payloads[key]).digest() for key in acknowledged}

    def three_copies() -> bool:
        counts = replicas_by_digest(overcast)
        return all(counts[d] == OBJECT_NODES for d in wanted)

    wait_until(three_copies, 30, "three replicas of every acknowledged upload")
    for key in list(acknowledged)[:10]:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == payloads[key]


# -- (b) bit rot -----------------------------------------------------------------------------------------------

def test_flipped_byte_is_quarantined_by_the_auditor_and_repaired(overcast: Overcast, s3: Any) -> None:
    payload = os.urandom(256 * 1024)
    s3.put_object(Bucket=BUCKET, Key="rot/victim", Body=payload)
    files = replica_files(overcast, payload)
    assert len(files) == OBJECT_NODES
    name, partition = files[0].stem, int(files[0].parent.name)
    served_first = first_primary(overcast, partition)          # the replica GETs read first
    [victim] = [f for f in files if f.parents[2].name == served_first]
    quarantine = victim.parents[2] / "quarantine" / str(partition)
    flip_byte(victim, 100_000)

    def rot_quarantined() -> list[Path]:
        return [q for q in quarantine.glob(f"{name}.*.data")
                if hashlib.sha256(q.read_bytes()).digest() != hashlib.sha256(payload).digest()]

    wait_until(rot_quarantined, 20, "the auditor to quarantine the damaged replica")
    wait_until(lambda: len(replica_files(overcast, payload)) == OBJECT_NODES, 20,
               "the replicator to restore the quarantined replica")
    assert victim.read_bytes() == payload
    got = s3.get_object(Bucket=BUCKET, Key="rot/victim")
    assert got["Body"].read() == payload
    assert got["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'


# -- (c) orphans ---------------------------------------------------------------------------------------------------

def test_data_without_metadata_is_swept_and_referenced_data_stays(overcast: Overcast, s3: Any) -> None:
    # an upload that died between its quorum write and its metadata commit
    orphan = uuid.uuid4().hex
    orphan_body = os.urandom(5000)
    partition = partition_of(overcast, orphan)
    for index in range(1, OBJECT_NODES + 1):
        node_put(overcast, index, partition, orphan, orphan_body)
    # a deleted object whose data delete missed one node
    deleted_body = os.urandom(6000)
    s3.put_object(Bucket=BUCKET, Key="sweep/deleted", Body=deleted_body)
    [missed, *_] = replica_files(overcast, deleted_body)
    saved = missed.with_name("saved-by-test")
    shutil.copy2(missed, saved)
    shutil.copy2(missed.with_suffix(".meta"), saved.with_suffix(".meta"))
    s3.delete_object(Bucket=BUCKET, Key="sweep/deleted")
    os.replace(saved.with_suffix(".meta"), missed.with_suffix(".meta"))
    os.replace(saved, missed)
    # and an object that is still there
    kept_body = os.urandom(7000)
    s3.put_object(Bucket=BUCKET, Key="sweep/kept", Body=kept_body)
    assert len(replica_files(overcast, orphan_body)) == OBJECT_NODES
    assert len(replica_files(overcast, deleted_body)) == 1

    wait_until(lambda: not replica_files(overcast, orphan_body) and not replica_files(overcast, deleted_body),
               30, "the sweeper to remove data no metadata refers to")
    assert len(replica_files(overcast, kept_body)) == OBJECT_NODES
    assert s3.get_object(Bucket=BUCKET, Key="sweep/kept")["Body"].read() == kept_body
