"""Key pairs: the store against SQLite, then the API through the real gateway with boto3."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import shutil
import socket
import sqlite3
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from overcast.core import resources
from overcast.core.cloud import Cloud
from overcast.core.config import Config
from overcast.core.db import Database
from overcast.core.errors import AWSError
from overcast.core.identity import Identity
from overcast.core.keypairs import KeyPairStore
from overcast.core.secretbox import SecretBox
from overcast.core.tags import TagStore
from overcast.gateway.app import create_app


def _tool(name: str) -> str:
    """Independent checkers; the install step (Makefile DEB_TEST) provides them — missing is a failure."""
    path = shutil.which(name)
    assert path, f"{name} is missing: `make install` must install it"
    return path


SSH_KEYGEN = "ssh-keygen"
OPENSSL = "openssl"
PUTTYGEN = "puttygen"


# -- independent computations ------------------------------------------------------------------------

def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_blob(line: str) -> bytes:
    return base64.b64decode(line.split()[1])


def sha256_b64(line: str) -> str:
    return base64.b64encode(hashlib.sha256(ssh_blob(line)).digest()).decode()


def openssh_pub(key: Any) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def read_ssh_strings(data: bytes) -> list[bytes]:
    out = []
    while data:
        (n,) = struct.unpack(">I", data[:4])
        out.append(data[4:4 + n])
        data = data[4 + n:]
    return out


def parse_ppk(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    fields: dict[str, Any] = {}
    i = 0
    while i < len(lines):
        name, _, value = lines[i].partition(": ")
        i += 1
        if name in ("Public-Lines", "Private-Lines"):
            count = int(value)
            fields[name] = base64.b64decode("".join(lines[i:i + count]))
            i += count
        else:
            fields[name] = value
    return fields


# -- the store (on SQLite and PostgreSQL: ``database`` and ``identity`` come from conftest) ------------

@pytest.fixture
def account(identity: Identity) -> str:
    return identity.create_account("alice")[0]


@pytest.fixture
def store(database: Database) -> KeyPairStore:
    return KeyPairStore(database)


def code_of(exc: pytest.ExceptionInfo[AWSError]) -> str:
    return exc.value.code


def test_create_rsa_pem(store: KeyPairStore, account: str, tmp_path: Path) -> None:
    info, material = store.create(account, "web")
    assert info.id.startswith("key-") and len(info.id) == 21
    assert info.key_type == "rsa"
    assert material.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert material.endswith("-----END RSA PRIVATE KEY-----")
    key = serialization.load_pem_private_key(material.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    assert info.fingerprint == colon_hex(hashlib.sha1(pkcs8).digest())
    assert info.public_key == f"{openssh_pub(key.public_key())} web"
    if _tool(SSH_KEYGEN):
        path = tmp_path / "web.pem"
        path.write_text(material)
        path.chmod(0o600)
        out = subprocess.run([SSH_KEYGEN, "-y", "-f", str(path)], capture_output=True, text=True, check=True)
        assert out.stdout.split()[:2] == info.public_key.split()[:2]


def test_create_ed25519_pem(store: KeyPairStore, account: str, tmp_path: Path) -> None:
    info, material = store.create(account, "ed", "ed25519", "pem")
    assert info.key_type == "ed25519"
    assert material.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    key = serialization.load_ssh_private_key(material.encode(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert info.public_key == f"{openssh_pub(key.public_key())} ed"
    assert info.fingerprint == sha256_b64(info.public_key)
    assert len(info.fingerprint) == 44 and info.fingerprint.endswith("=")
    if _tool(SSH_KEYGEN):
        path = tmp_path / "ed.pem"
        path.write_text(material)
        path.chmod(0o600)
        out = subprocess.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(path)], capture_output=True, text=True,
                             check=True)
        assert out.stdout.split()[1] == "SHA256:" + info.fingerprint.rstrip("=")


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_create_ppk(store: KeyPairStore, account: str, tmp_path: Path, key_type: str) -> None:
    info, material = store.create(account, "putty", key_type, "ppk")
    ppk = parse_ppk(material)
    algorithm = "ssh-rsa" if key_type == "rsa" else "ssh-ed25519"
    assert ppk["PuTTY-User-Key-File-2"] == algorithm
    assert ppk["Encryption"] == "none" and ppk["Comment"] == "putty"
    assert ppk["Public-Lines"] == ssh_blob(info.public_key)
    mac_key = hashlib.sha1(b"putty-private-key-file-mac-key").digest()
    signed = b"".join(struct.pack(">I", len(p)) + p for p in
                      (algorithm.encode(), b"none", b"putty", ppk["Public-Lines"], ppk["Private-Lines"]))
    assert ppk["Private-MAC"] == hmac.new(mac_key, signed, hashlib.sha1).hexdigest()
    private = read_ssh_strings(ppk["Private-Lines"])
    if key_type == "rsa":
        d, p, q, iqmp = (int.from_bytes(x, "big") for x in private)
        e, n = (int.from_bytes(x, "big") for x in read_ssh_strings(ppk["Public-Lines"])[1:])
        assert p * q == n and (e * d) % math.lcm(p - 1, q - 1) == 1
        assert (iqmp * q) % p == 1
    else:
        seed = ed25519.Ed25519PrivateKey.from_private_bytes(private[0])
        assert openssh_pub(seed.public_key()) == " ".join(info.public_key.split()[:2])
    if _tool(PUTTYGEN):
        path = tmp_path / "k.ppk"
        path.write_text(material)
        out = subprocess.run([PUTTYGEN, str(path), "-O", "public-openssh", "-o", str(tmp_path / "k.pub")],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert (tmp_path / "k.pub").read_text().split() == info.public_key.split()


def test_import_rsa_fingerprint_is_md5_of_der_public_key(store: KeyPairStore, account: str, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    line = openssh_pub(key.public_key()) + " me@laptop"
    info = store.import_key(account, "imported", line.encode() + b"\n")
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    assert info.key_type == "rsa"
    assert info.fingerprint == colon_hex(hashlib.md5(spki).digest())
    assert info.public_key == f"{openssh_pub(key.public_key())} imported"
    if _tool(SSH_KEYGEN) and _tool(OPENSSL):
        # AWS's own recipe: the PKCS#8 (SubjectPublicKeyInfo) DER of the key, through `openssl md5 -c`
        pub = tmp_path / "k.pub"
        pub.write_text(line + "\n")
        pem = subprocess.run([SSH_KEYGEN, "-e", "-m", "PKCS8", "-f", str(pub)], capture_output=True, check=True).stdout
        der = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True,
                             check=True).stdout
        md5 = subprocess.run([OPENSSL, "md5", "-c"], input=der, capture_output=True, check=True).stdout
        assert md5.decode().split()[-1] == info.fingerprint


def test_import_ed25519(store: KeyPairStore, account: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    info = store.import_key(account, "ed", openssh_pub(key.public_key()).encode())
    assert info.key_type == "ed25519"
    assert info.fingerprint == sha256_b64(openssh_pub(key.public_key()))


def rfc4716(line: str) -> bytes:
    body = base64.b64encode(ssh_blob(line)).decode()
    rows = [body[i:i + 70] for i in range(0, len(body), 70)]
    return "\n".join(["---- BEGIN SSH2 PUBLIC KEY ----", 'Comment: "a very long comment that \\',
                      'continues here"', *rows, "---- END SSH2 PUBLIC KEY ----", ""]).encode()


@pytest.mark.parametrize("form", ["rfc4716", "spki-pem", "pkcs1-pem", "der-base64"])
def test_import_other_formats(store: KeyPairStore, account: str, form: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    material = {
        "rfc4716": lambda: rfc4716(openssh_pub(key)),
        "spki-pem": lambda: key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs1-pem": lambda: key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "der-base64": lambda: base64.b64encode(key.public_bytes(serialization.Encoding.DER,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)),
    }[form]()
    info = store.import_key(account, form, material)
    assert info.public_key.split()[:2] == openssh_pub(key).split()


def test_import_rfc4716_ed25519(store: KeyPairStore, account: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    info = store.import_key(account, "ed", rfc4716(openssh_pub(key)))
    assert info.key_type == "ed25519" and info.fingerprint == sha256_b64(openssh_pub(key))


@pytest.mark.parametrize("material", [
    b"garbage", b"", b"ssh-rsa AAAAnotbase64!!", b"ssh-rsa AAAAB3NzaC1yc2E=", b"\xff\xfe",
    b"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
])
def test_import_garbage(store: KeyPairStore, account: str, material: bytes) -> None:
    with pytest.raises(AWSError) as exc:
        store.import_key(account, "bad", material)
    assert code_of(exc) == "InvalidKeyPair.Format"
    assert exc.value.message == "Key is not in valid OpenSSH public key format"


def test_import_ecdsa_is_refused(store: KeyPairStore, account: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(AWSError) as exc:
        store.import_key(account, "ec", openssh_pub(key).encode())
    assert code_of(exc) == "InvalidKeyPair.Format"


def test_duplicate_names(store: KeyPairStore, account: str, identity: Identity) -> None:
    store.create(account, "dup", "ed25519")
    with pytest.raises(AWSError) as exc:
        store.create(account, "dup")
    assert code_of(exc) == "InvalidKeyPair.Duplicate" and exc.value.message == "The keypair 'dup' already exists."
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(AWSError) as exc:
        store.import_key(account, "dup", openssh_pub(key).encode())
    assert code_of(exc) == "InvalidKeyPair.Duplicate"
    other = identity.create_account("bob")[0]
    store.create(other, "dup", "ed25519")          # the same name in another account is fine


@pytest.mark.parametrize(("name", "code"), [
    ("", "MissingParameter"), ("x" * 256, "InvalidParameterValue"), ("clé", "InvalidParameterValue"),
])
def test_bad_names(store: KeyPairStore, account: str, name: str, code: str) -> None:
    with pytest.raises(AWSError) as exc:
        store.create(account, name, "ed25519")
    assert code_of(exc) == code


def test_long_and_odd_ascii_names(store: KeyPairStore, account: str) -> None:
    for name in ("x" * 255, "a b/c:d@e!~"):
        info, _ = store.create(account, name, "ed25519")
        assert store.describe(account, names=[name])[0].id == info.id


def test_describe_and_filters(store: KeyPairStore, account: str) -> None:
    a, _ = store.create(account, "a", "ed25519", tag_specifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "prod"}]}])
    b, _ = store.create(account, "b", "rsa")
    assert a.tags == {"env": "prod"}
    assert [k.name for k in store.describe(account)] == ["a", "b"]
    assert [k.id for k in store.describe(account, names=["b"])] == [b.id]
    assert [k.id for k in store.describe(account, key_pair_ids=[a.id])] == [a.id]
    assert store.describe(account, key_pair_ids=[a.id])[0].tags == {"env": "prod"}

    def names(filters: list[dict[str, Any]]) -> list[str]:
        return [k.name for k in store.describe(account, filters=filters)]

    assert names([{"Name": "key-type", "Values": ["rsa"]}]) == ["b"]
    assert names([{"Name": "key-name", "Values": ["?"]}]) == ["a", "b"]
    assert names([{"Name": "key-pair-id", "Values": [b.id]}]) == ["b"]
    assert names([{"Name": "fingerprint", "Values": [a.fingerprint]}]) == ["a"]
    assert names([{"Name": "tag:env", "Values": ["prod"]}]) == ["a"]
    assert names([{"Name": "tag-key", "Values": ["env"]}]) == ["a"]
    assert names([{"Name": "tag-value", "Values": ["pr*"]}]) == ["a"]
    with pytest.raises(AWSError) as exc:
        store.describe(account, filters=[{"Name": "color", "Values": ["x"]}])
    assert code_of(exc) == "InvalidParameterValue"
    with pytest.raises(AWSError) as exc:
        store.describe(account, names=["a", "nope"])
    assert code_of(exc) == "InvalidKeyPair.NotFound" and exc.value.message == "The key pair 'nope' does not exist"
    with pytest.raises(AWSError) as exc:
        store.describe(account, key_pair_ids=["key-0123456789abcdef0"])
    assert code_of(exc) == "InvalidKeyPair.NotFound"


def test_tag_specifications(store: KeyPairStore, account: str) -> None:
    with pytest.raises(AWSError) as exc:
        store.create(account, "k", "ed25519", tag_specifications=[{"ResourceType": "instance", "Tags": []}])
    assert code_of(exc) == "InvalidParameterValue"
    with pytest.raises(AWSError):
        store.create(account, "k", "ed25519", tag_specifications=[
            {"ResourceType": "key-pair", "Tags": [{"Key": "aws:x", "Value": "1"}]}])
    assert store.describe(account) == []        # nothing half-created


def test_delete(store: KeyPairStore, account: str, database: Database) -> None:
    a, _ = store.create(account, "a", "ed25519", tag_specifications=[{"Tags": [{"Key": "k", "Value": "v"}]}])
    b, _ = store.create(account, "b", "ed25519")
    assert store.delete(account, name="a") == a.id
    assert store.delete(account, name="a") is None          # idempotent by name, as on AWS
    assert TagStore(database).describe(account) == []              # its tags went with it
    with pytest.raises(AWSError) as exc:
        store.delete(account, key_pair_id=a.id)
    assert code_of(exc) == "InvalidKeyPair.NotFound"
    with pytest.raises(AWSError) as exc:
        store.delete(account)
    assert code_of(exc) == "MissingParameter"
    assert store.delete(account, key_pair_id=b.id) == b.id
    assert store.describe(account) == []


def test_accounts_are_isolated(store: KeyPairStore, account: str, identity: Identity) -> None:
    a, _ = store.create(account, "mine", "ed25519")
    other = identity.create_account("mallory")[0]
    assert store.describe(other) == []
    with pytest.raises(AWSError):
        store.describe(other, key_pair_ids=[a.id])
    with pytest.raises(AWSError):
        store.delete(other, key_pair_id=a.id)
    assert store.delete(other, name="mine") is None
    assert [k.id for k in store.describe(account)] == [a.id]


def test_tags_on_key_pair_ids(store: KeyPairStore, account: str, database: Database, identity: Identity) -> None:
    a, _ = store.create(account, "a", "ed25519")
    tag_store = TagStore(database)
    tag_store.create(account, [a.id], [{"Key": "team", "Value": "infra"}])
    assert [(t.resource_id, t.resource_type, t.key) for t in tag_store.describe(account)] == \
        [(a.id, "key-pair", "team")]
    assert store.describe(account)[0].tags == {"team": "infra"}
    other = identity.create_account("eve")[0]
    with pytest.raises(AWSError) as exc:
        tag_store.create(other, [a.id], [{"Key": "x", "Value": "y"}])
    assert code_of(exc) == "InvalidKeyPair.NotFound"
    assert resources.kind_of(a.id).type_name == "key-pair"


def test_private_key_is_never_stored(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.upgrade()
    account = Identity(db, SecretBox.ephemeral()).create_account("alice")[0]
    _, material = KeyPairStore(db).create(account, "secret")
    secret_line = material.splitlines()[5]
    db.dispose()
    con = sqlite3.connect(tmp_path / "state.db")
    try:
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    assert secret_line not in dump
    for path in tmp_path.glob("state.db*"):
        assert secret_line.encode() not in path.read_bytes()


# -- the API, through the real gateway ----------------------------------------------------------------

class Server:
    def __init__(self, cloud: Cloud) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(cloud), log_level="warning", lifespan="off", ws="none", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("overcast")
    cloud = Cloud.open(Config(data_dir=data_dir))
    admin, creds = cloud.bootstrap()
    other, other_creds = cloud.identity.create_account("other")
    with Server(cloud) as server:
        def client(c: Any) -> Any:
            return boto3.client("ec2", region_name="us-east-1", endpoint_url=server.endpoint,
                                aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
                                config=BotoConfig(retries={"max_attempts": 1}))
        yield {"ec2": client(creds), "other": client(other_creds), "cloud": cloud}
    cloud.close()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_api_create_describe_delete(api: dict[str, Any]) -> None:
    ec2 = api["ec2"]
    out = ec2.create_key_pair(KeyName="api-rsa", TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "test"}]}])
    assert out["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert out["KeyPairId"].startswith("key-") and out["KeyName"] == "api-rsa"
    assert out["Tags"] == [{"Key": "env", "Value": "test"}]
    key = serialization.load_pem_private_key(out["KeyMaterial"].encode(), None)
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    assert out["KeyFingerprint"] == colon_hex(hashlib.sha1(pkcs8).digest())

    ed = ec2.create_key_pair(KeyName="api-ed", KeyType="ed25519")
    assert ed["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "Tags" not in ed or ed["Tags"] == []
    ppk = ec2.create_key_pair(KeyName="api-ppk", KeyType="ed25519", KeyFormat="ppk")
    assert ppk["KeyMaterial"].startswith("PuTTY-User-Key-File-2: ssh-ed25519")

    pairs = ec2.describe_key_pairs(KeyNames=["api-rsa", "api-ed"])["KeyPairs"]
    assert {p["KeyName"]: p["KeyType"] for p in pairs} == {"api-rsa": "rsa", "api-ed": "ed25519"}
    assert all("PublicKey" not in p for p in pairs)
    rsa_pair = next(p for p in pairs if p["KeyName"] == "api-rsa")
    assert rsa_pair["KeyFingerprint"] == out["KeyFingerprint"]
    assert rsa_pair["Tags"] == [{"Key": "env", "Value": "test"}]
    assert rsa_pair["CreateTime"].tzinfo is not None
    with_pub = ec2.describe_key_pairs(KeyPairIds=[ed["KeyPairId"]], IncludePublicKey=True)["KeyPairs"]
    assert with_pub[0]["PublicKey"].startswith("ssh-ed25519 ") and with_pub[0]["PublicKey"].endswith(" api-ed")
    assert with_pub[0]["KeyFingerprint"] == sha256_b64(with_pub[0]["PublicKey"])

    by_tag = ec2.describe_key_pairs(Filters=[{"Name": "tag:env", "Values": ["test"]}])["KeyPairs"]
    assert [p["KeyName"] for p in by_tag] == ["api-rsa"]
    by_type = ec2.describe_key_pairs(Filters=[{"Name": "key-type", "Values": ["ed25519"]},
                                              {"Name": "key-name", "Values": ["api-*"]}])["KeyPairs"]
    assert sorted(p["KeyName"] for p in by_type) == ["api-ed", "api-ppk"]

    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="api-rsa")
    assert error_code(exc) == "InvalidKeyPair.Duplicate"
    assert exc.value.response["Error"]["Message"] == "The keypair 'api-rsa' already exists."

    deleted = ec2.delete_key_pair(KeyName="api-rsa")
    assert deleted["Return"] is True and deleted["KeyPairId"] == out["KeyPairId"]
    again = ec2.delete_key_pair(KeyName="api-rsa")
    assert again["Return"] is True and "KeyPairId" not in again
    assert ec2.delete_key_pair(KeyPairId=ed["KeyPairId"])["KeyPairId"] == ed["KeyPairId"]
    ec2.delete_key_pair(KeyName="api-ppk")
    with pytest.raises(ClientError) as exc:
        ec2.describe_key_pairs(KeyNames=["api-rsa"])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    assert exc.value.response["Error"]["Message"] == "The key pair 'api-rsa' does not exist"
    with pytest.raises(ClientError) as exc:
        ec2.delete_key_pair(KeyPairId=ed["KeyPairId"])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    assert api["cloud"].tags.describe(api["cloud"].identity.accounts()[0][0]) == []


def test_api_import(api: dict[str, Any]) -> None:
    ec2 = api["ec2"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    out = ec2.import_key_pair(KeyName="imp", PublicKeyMaterial=openssh_pub(key).encode(), TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "src", "Value": "laptop"}]}])
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert out["KeyFingerprint"] == colon_hex(hashlib.md5(spki).digest())
    assert out["Tags"] == [{"Key": "src", "Value": "laptop"}]
    assert "KeyMaterial" not in out
    described = ec2.describe_key_pairs(KeyNames=["imp"], IncludePublicKey=True)["KeyPairs"][0]
    assert described["PublicKey"] == f"{openssh_pub(key)} imp"
    assert described["KeyType"] == "rsa"

    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    out = ec2.import_key_pair(KeyName="imp-ed", PublicKeyMaterial=(openssh_pub(ed) + " me@host\n").encode())
    assert out["KeyFingerprint"] == sha256_b64(openssh_pub(ed))

    with pytest.raises(ClientError) as exc:
        ec2.import_key_pair(KeyName="junk", PublicKeyMaterial=b"not a key")
    assert error_code(exc) == "InvalidKeyPair.Format"
    assert exc.value.response["Error"]["Message"] == "Key is not in valid OpenSSH public key format"
    with pytest.raises(ClientError) as exc:
        ec2.import_key_pair(KeyName="imp", PublicKeyMaterial=openssh_pub(ed).encode())
    assert error_code(exc) == "InvalidKeyPair.Duplicate"
    ec2.delete_key_pair(KeyName="imp")
    ec2.delete_key_pair(KeyName="imp-ed")


def test_api_tags_on_key_pairs(api: dict[str, Any]) -> None:
    ec2 = api["ec2"]
    kp = ec2.create_key_pair(KeyName="tagged", KeyType="ed25519")
    ec2.create_tags(Resources=[kp["KeyPairId"]], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [kp["KeyPairId"]]}])["Tags"]
    assert [(t["Key"], t["ResourceType"]) for t in tags] == [("a", "key-pair"), ("b", "key-pair")]
    ec2.delete_tags(Resources=[kp["KeyPairId"]], Tags=[{"Key": "a"}])
    described = ec2.describe_key_pairs(KeyPairIds=[kp["KeyPairId"]])["KeyPairs"][0]
    assert described["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        ec2.create_tags(Resources=["key-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "1"}])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    ec2.delete_key_pair(KeyPairId=kp["KeyPairId"])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [kp["KeyPairId"]]}])["Tags"] == []


def test_api_accounts_are_isolated(api: dict[str, Any]) -> None:
    ec2, other = api["ec2"], api["other"]
    mine = ec2.create_key_pair(KeyName="shared-name", KeyType="ed25519")
    theirs = other.create_key_pair(KeyName="shared-name", KeyType="ed25519")
    assert mine["KeyPairId"] != theirs["KeyPairId"]
    assert [p["KeyPairId"] for p in other.describe_key_pairs()["KeyPairs"]] == [theirs["KeyPairId"]]
    with pytest.raises(ClientError) as exc:
        other.describe_key_pairs(KeyPairIds=[mine["KeyPairId"]])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    with pytest.raises(ClientError) as exc:
        other.create_tags(Resources=[mine["KeyPairId"]], Tags=[{"Key": "x", "Value": "y"}])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    with pytest.raises(ClientError) as exc:
        other.delete_key_pair(KeyPairId=mine["KeyPairId"])
    assert error_code(exc) == "InvalidKeyPair.NotFound"
    other.delete_key_pair(KeyName="shared-name")
    assert [p["KeyPairId"] for p in ec2.describe_key_pairs(KeyNames=["shared-name"])["KeyPairs"]] == \
        [mine["KeyPairId"]]
    ec2.delete_key_pair(KeyName="shared-name")


def test_api_validation_errors(api: dict[str, Any]) -> None:
    ec2 = api["ec2"]
    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="x" * 256)
    assert error_code(exc) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="bad", KeyType="dsa")
    assert error_code(exc) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        ec2.delete_key_pair()
    assert error_code(exc) == "MissingParameter"
    with pytest.raises(ClientError) as exc:
        ec2.describe_key_pairs(Filters=[{"Name": "bogus", "Values": ["1"]}])
    assert error_code(exc) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="dry", DryRun=True)
    assert error_code(exc) == "DryRunOperation"
    assert ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["dry"]}])["KeyPairs"] == []
