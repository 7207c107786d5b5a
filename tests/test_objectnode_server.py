"""The object node process, driven over HTTP: `python -m overcast.hostagents.objectnode` for real."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from overcast.core.objects import nodeauth
from overcast.hostagents.objectnode.server import parse_range

SECRET = b"node-secret-for-tests"
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    """One object node process over ``root``."""

    def __init__(self, root: Path, secret_file: Path) -> None:
        self.root, self.secret_file = root, secret_file
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Node:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "overcast.hostagents.objectnode", "--root", str(self.root),
             "--host", "127.0.0.1", "--port", str(self.port), "--secret-file", str(self.secret_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"object node exited: {self.proc.communicate()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("object node did not come up")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        finally:
            self.proc.communicate()

    def request(self, method: str, path: str, *, secret: bytes = SECRET, now: float | None = None,
                **kwargs: object) -> httpx.Response:
        headers = {**nodeauth.sign(secret, method, path, now), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def write_secret(path: Path) -> Path:
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    base = tmp_path_factory.mktemp("objectnode")
    running = Node(base / "root", write_secret(base / "secret")).start()
    yield running
    assert running.stop() == 0


def tmp_files(node: Node) -> list[str]:
    return os.listdir(node.root / "tmp")


def wait_for(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


# -- auth -----------------------------------------------------------------------------------------

def test_healthz_needs_no_auth(node: Node) -> None:
    body = httpx.get(f"{node.url}/healthz").json()
    assert body["ok"] is True and body["root"] == str(node.root.resolve()) and body["free_bytes"] > 0


@pytest.mark.parametrize("method,path", [("GET", "/v1/objects/1/x"), ("PUT", "/v1/objects/1/x"),
                                         ("DELETE", "/v1/objects/1/x"), ("GET", "/v1/partitions"),
                                         ("POST", "/v1/quarantine/1/x"), ("GET", "/v1/nothing")])
def test_requests_without_signature_are_refused(node: Node, method: str, path: str) -> None:
    resp = httpx.request(method, node.url + path, content=b"data" if method == "PUT" else None)
    assert resp.status_code == 403 and resp.json() == {"error": "auth"}


def test_signature_is_checked(node: Node) -> None:
    path = "/v1/objects/1/authed"
    assert node.request("PUT", path, content=b"x").status_code == 201
    assert node.request("GET", path, secret=b"wrong secret").status_code == 403
    assert node.request("GET", path, now=time.time() - 301).status_code == 403
    assert node.request("GET", path, now=time.time() + 400).status_code == 403
    assert node.request("GET", path, now=time.time() - 250).status_code == 200
    other = nodeauth.sign(SECRET, "GET", "/v1/objects/1/other")
    assert httpx.get(node.url + path, headers=other).status_code == 403          # another path
    assert httpx.delete(node.url + path, headers=nodeauth.sign(SECRET, "GET", path)).status_code == 403
    assert node.request("GET", path).content == b"x"                            # nothing was deleted
    bad_date = {**nodeauth.sign(SECRET, "GET", path), "X-Overcast-Date": "soon"}
    assert httpx.get(node.url + path, headers=bad_date).status_code == 403


def test_nodeauth_sign_and_verify() -> None:
    headers = nodeauth.sign(b"k", "PUT", "/v1/objects/1/a", now=1000)
    assert headers["X-Overcast-Date"] == "1000"
    assert nodeauth.verify(b"k", "PUT", "/v1/objects/1/a", headers, now=1000 + 300)
    assert nodeauth.verify(b"k", "PUT", "/v1/objects/1/a", {k.lower(): v for k, v in headers.items()}, now=1000)
    assert not nodeauth.verify(b"k", "PUT", "/v1/objects/1/a", headers, now=1000 + 301)
    assert not nodeauth.verify(b"k2", "PUT", "/v1/objects/1/a", headers, now=1000)
    assert not nodeauth.verify(b"k", "GET", "/v1/objects/1/a", headers, now=1000)
    assert not nodeauth.verify(b"k", "PUT", "/v1/objects/1/a", {}, now=1000)
    assert not nodeauth.verify(b"k", "PUT", "/v1/objects/1/a",
                               {**headers, "X-Overcast-Auth": "\u00e9" * 64}, now=1000)


# -- objects --------------------------------------------------------------------------------------

def _generated(size: int, seed: bytes) -> Iterator[bytes]:
    block = hashlib.sha256(seed).digest() * 2048      # 64 KiB, varies with the seed
    sent = 0
    while sent < size:
        chunk = block[: min(len(block), size - sent)]
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize("size", [0, 1024, 20 * MiB], ids=["0B", "1KiB", "20MiB"])
def test_put_get_head_delete_round_trip(node: Node, size: int) -> None:
    path = f"/v1/objects/17/round-{size}"
    expected = hashlib.sha256()
    md5 = hashlib.md5()
    for chunk in _generated(size, b"seed%d" % size):
        expected.update(chunk)
        md5.update(chunk)
    put = node.request("PUT", path, content=_generated(size, b"seed%d" % size))
    assert put.status_code == 201
    assert put.json() == {"md5": md5.hexdigest(), "sha256": expected.hexdigest(), "size": size}

    got = hashlib.sha256()
    headers = nodeauth.sign(SECRET, "GET", path)
    with httpx.stream("GET", node.url + path, headers=headers, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-length"] == str(size)
        assert resp.headers["x-overcast-md5"] == md5.hexdigest()
        assert resp.headers["x-overcast-sha256"] == expected.hexdigest()
        for chunk in resp.iter_raw():
            got.update(chunk)
    assert got.hexdigest() == expected.hexdigest()

    head = node.request("HEAD", path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(size) and head.headers["x-overcast-md5"] == md5.hexdigest()

    assert node.request("DELETE", path).status_code == 204
    assert node.request("GET", path).status_code == 404
    assert node.request("HEAD", path).status_code == 404
    assert node.request("DELETE", path).status_code == 204
    assert tmp_files(node) == []


def test_put_with_content_length_and_overwrite(node: Node) -> None:
    path = "/v1/objects/3/over"
    assert node.request("PUT", path, content=b"first version").status_code == 201
    assert node.request("PUT", path, content=b"second").json()["size"] == 6
    assert node.request("GET", path).content == b"second"


def test_ranges(node: Node) -> None:
    path = "/v1/objects/4/ranged"
    body = bytes(range(256)) * 40
    node.request("PUT", path, content=body)
    cases = {"bytes=0-9": (0, 10), "bytes=100-": (100, len(body)), "bytes=-16": (len(body) - 16, len(body)),
             "bytes=10000-20000": (10000, len(body)), "bytes=5-5": (5, 6), "bytes=-99999": (0, len(body))}
    for header, (start, end) in cases.items():
        resp = node.request("GET", path, headers={"Range": header})
        assert resp.status_code == 206, header
        assert resp.content == body[start:end], header
        assert resp.headers["content-range"] == f"bytes {start}-{end - 1}/{len(body)}"
        assert resp.headers["content-length"] == str(end - start)
    head = node.request("HEAD", path, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head.headers["content-length"] == "10"
    for header in ("bytes=10240-", "bytes=99999-100000", "bytes=-0"):
        resp = node.request("GET", path, headers={"Range": header})
        assert resp.status_code == 416, header
        assert resp.headers["content-range"] == f"bytes */{len(body)}"
    for header in ("bytes=9-3", "items=0-1", "bytes=0-1,4-5", "bytes=-"):
        assert node.request("GET", path, headers={"Range": header}).status_code == 400, header
    node.request("PUT", "/v1/objects/4/empty", content=b"")
    assert node.request("GET", "/v1/objects/4/empty", headers={"Range": "bytes=0-"}).status_code == 416


def test_parse_range() -> None:
    assert parse_range("bytes=0-0", 1) == (0, 1)
    assert parse_range("bytes=-1", 10) == (9, 10)
    assert parse_range("bytes=3-", 3) is None
    with pytest.raises(ValueError):
        parse_range("bytes=1-0", 10)


def test_expect_size_mismatch_keeps_nothing(node: Node) -> None:
    path = "/v1/objects/5/sized"
    short = node.request("PUT", path, content=b"12345", headers={"X-Overcast-Expect-Size": "6"})
    assert short.status_code == 400
    long = node.request("PUT", path, content=iter([b"12345", b"678"]), headers={"X-Overcast-Expect-Size": "6"})
    assert long.status_code == 400
    assert node.request("PUT", path, content=b"1", headers={"X-Overcast-Expect-Size": "x"}).status_code == 400
    assert node.request("GET", path).status_code == 404
    assert not (node.root / "objects" / "5" / "sized.data").exists()
    assert wait_for(lambda: tmp_files(node) == [])
    ok = node.request("PUT", path, content=b"123456", headers={"X-Overcast-Expect-Size": "6"})
    assert ok.status_code == 201


@pytest.mark.parametrize("length,sent", [(MiB, MiB // 2), (4 * MiB, 5 * MiB // 2)], ids=["1MiB", "4MiB"])
def test_client_abort_mid_upload_keeps_nothing(node: Node, length: int, sent: int) -> None:
    path = f"/v1/objects/6/aborted-{length}"
    headers = nodeauth.sign(SECRET, "PUT", path)
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        sock.sendall(head + b"z" * sent)
        if sent > MiB:      # bodies go to disk in 1 MiB steps: this one has started to
            assert wait_for(lambda: len(tmp_files(node)) == 1)
        else:
            time.sleep(0.2)
    assert wait_for(lambda: tmp_files(node) == [])
    assert node.request("GET", path).status_code == 404
    assert not (node.root / "objects" / "6" / f"aborted-{length}.data").exists()


@pytest.mark.parametrize("path", ["/v1/objects/x/name", "/v1/objects/-1/name", "/v1/objects/1/a%20b",
                                  "/v1/objects/1/" + "n" * 201, "/v1/objects/1/caf%C3%A9",
                                  "/v1/partitions/abc", "/v1/quarantine/1/bad%20name"])
def test_invalid_names_are_rejected(node: Node, path: str) -> None:
    method = "POST" if "quarantine" in path else "GET"
    resp = node.request(method, path)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid-name"
    assert node.request("PUT", path, content=b"x").status_code in (400, 405)


def test_unknown_route_and_method(node: Node) -> None:
    assert node.request("GET", "/v1/nowhere").status_code == 404
    assert node.request("POST", "/v1/objects/1/x").status_code == 405


def test_listing_endpoints(node: Node) -> None:
    a = node.request("PUT", "/v1/objects/40/a", content=b"aa").json()
    node.request("PUT", "/v1/objects/40/b", content=b"b")
    node.request("PUT", "/v1/objects/41/c", content=b"c")
    partitions = node.request("GET", "/v1/partitions").json()
    assert {40, 41} <= set(partitions) and partitions == sorted(partitions)
    listing = node.request("GET", "/v1/partitions/40").json()
    assert listing == {"a": {"md5": a["md5"], "size": 2}, "b": {"md5": hashlib.md5(b"b").hexdigest(), "size": 1}}
    assert node.request("GET", "/v1/partitions/999").json() == {}


def test_quarantine(node: Node) -> None:
    path = "/v1/objects/50/bad"
    node.request("PUT", path, content=b"rotten")
    resp = node.request("POST", "/v1/quarantine/50/bad")
    assert resp.status_code == 200
    moved = node.root / resp.json()["quarantined"]
    assert moved.read_bytes() == b"rotten" and moved.is_relative_to(node.root / "quarantine")
    assert node.request("GET", path).status_code == 404
    assert "bad" not in node.request("GET", "/v1/partitions/50").json()
    assert node.request("POST", "/v1/quarantine/50/bad").status_code == 404


# -- process lifecycle ----------------------------------------------------------------------------

def test_kill_9_after_201_keeps_the_object_and_restart_cleans_tmp(tmp_path: Path) -> None:
    secret_file = write_secret(tmp_path / "secret")
    first = Node(tmp_path / "root", secret_file).start()
    bodies = {f"obj{i}": os.urandom(i * 7919) for i in range(10)}
    for name, body in bodies.items():
        assert first.request("PUT", f"/v1/objects/{len(name)}/{name}", content=body).status_code == 201
    stale = tmp_path / "root" / "tmp" / "stale-upload"
    stale.write_bytes(b"left by a crash")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = Node(tmp_path / "root", secret_file).start()
    try:
        for name, body in bodies.items():
            resp = second.request("GET", f"/v1/objects/{len(name)}/{name}")
            assert resp.status_code == 200 and resp.content == body
            assert resp.headers["x-overcast-sha256"] == hashlib.sha256(body).hexdigest()
        assert not stale.exists()
    finally:
        assert second.stop(signal.SIGINT) == 0


def test_bad_secret_file_fails_to_start(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"\n")
    proc = subprocess.run([sys.executable, "-m", "overcast.hostagents.objectnode", "--root", str(tmp_path / "r"),
                           "--port", str(free_port()), "--secret-file", str(tmp_path / "empty")],
                          capture_output=True, timeout=30)
    assert proc.returncode != 0 and b"empty" in proc.stderr
