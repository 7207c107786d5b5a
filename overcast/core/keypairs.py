"""EC2 key pairs: create (RSA, ED25519; PEM or PuTTY), import, describe, delete.

Only the public half is stored.  Fingerprints follow AWS: a created RSA key shows the SHA-1 of
its PKCS#8 DER private key, an imported RSA key the MD5 of its DER SubjectPublicKeyInfo, and an
ED25519 key (created or imported) the base64 SHA-256 of its OpenSSH public key blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import ids, resources, tags
from .db import Database
from .errors import AWSError, InvalidParameterValue, MissingParameter, NotFound
from .filters import apply_filters
from .models import KeyPair

RESOURCE_TYPE = "key-pair"
KEY_TYPES = ("rsa", "ed25519")
KEY_FORMATS = ("pem", "ppk")
RSA_BITS = 2048
MIN_RSA_BITS, MAX_RSA_BITS = 1024, 16384

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class KeyPairInfo:
    id: str
    name: str
    key_type: str
    fingerprint: str
    public_key: str
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)


# -- key material ------------------------------------------------------------------------------------

def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def openssh_blob(key: PublicKey) -> bytes:
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def openssh_line(key: PublicKey, comment: str) -> str:
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}"


def ed25519_fingerprint(key: ed25519.Ed25519PublicKey) -> str:
    return base64.b64encode(hashlib.sha256(openssh_blob(key)).digest()).decode()


def created_fingerprint(key: PrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ed25519_fingerprint(key.public_key())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return _colon_hex(hashlib.sha1(der).digest())


def imported_fingerprint(key: PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ed25519_fingerprint(key)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _colon_hex(hashlib.md5(der).digest())


def pem_material(key: PrivateKey) -> str:
    """RSA as PKCS#1 (``BEGIN RSA PRIVATE KEY``, no trailing newline, as AWS sends it); ED25519 in
    the OpenSSH private key format (with its final newline, which ``ssh`` needs)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption()).decode().rstrip("\n")
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode()


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ssh_mpint(value: int) -> bytes:
    return _ssh_string(value.to_bytes(value.bit_length() // 8 + 1, "big") if value else b"")


def _base64_lines(data: bytes) -> list[str]:
    text = base64.b64encode(data).decode()
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def ppk_material(key: PrivateKey, comment: str) -> str:
    """An unencrypted PuTTY private key file, version 2 (readable by every PuTTY since 0.52)."""
    public = openssh_blob(key.public_key())
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm = "ssh-rsa"
        nums = key.private_numbers()
        private = b"".join(_ssh_mpint(n) for n in (nums.d, nums.p, nums.q, nums.iqmp))
    else:
        algorithm = "ssh-ed25519"
        private = _ssh_string(key.private_bytes_raw())
    mac_key = hashlib.sha1(b"putty-private-key-file-mac-key").digest()
    signed = b"".join(_ssh_string(part) for part in (algorithm.encode(), b"none", comment.encode(), public, private))
    public_lines, private_lines = _base64_lines(public), _base64_lines(private)
    return "\r\n".join([f"PuTTY-User-Key-File-2: {algorithm}", "Encryption: none", f"Comment: {comment}",
                        f"Public-Lines: {len(public_lines)}", *public_lines,
                        f"Private-Lines: {len(private_lines)}", *private_lines,
                        f"Private-MAC: {hmac.new(mac_key, signed, hashlib.sha1).hexdigest()}"]) + "\r\n"


def generate(key_type: str) -> PrivateKey:
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


# -- public key import -------------------------------------------------------------------------------

def _format_error() -> AWSError:
    return AWSError("Key is not in valid OpenSSH public key format", code="InvalidKeyPair.Format")


def _rfc4716_blob(text: str) -> bytes:
    body: list[str] = []
    continued = False
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line.startswith("---- END SSH2 PUBLIC KEY"):
            return base64.b64decode("".join(body), validate=True)
        if continued or re.match(r"^[\x21-\x39\x3b-\x7e]{1,64}:", line):    # header (may continue with "\")
            continued = line.endswith("\\")
        elif line:
            body.append(line)
    raise ValueError("no END line")


def parse_public_key(material: bytes) -> PublicKey:
    """An RSA or ED25519 public key in OpenSSH, RFC 4716, PEM or base64 DER form."""
    try:
        text = material.decode("ascii").strip()
        key: Any
        if text.startswith("---- BEGIN SSH2 PUBLIC KEY ----"):
            blob = _rfc4716_blob(text)
            algorithm = blob[4:4 + struct.unpack(">I", blob[:4])[0]].decode("ascii")
            key = serialization.load_ssh_public_key(f"{algorithm} {base64.b64encode(blob).decode()}".encode())
        elif text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        elif "\n" not in text and " " in text:
            fields = text.split()
            key = serialization.load_ssh_public_key(" ".join(fields[:2]).encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, UnsupportedAlgorithm, UnicodeDecodeError, binascii.Error, struct.error, IndexError):
        raise _format_error() from None
    if isinstance(key, rsa.RSAPublicKey) and MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise _format_error()


# -- validation ----------------------------------------------------------------------------------------

def validate_name(name: str | None) -> str:
    if not name:
        raise MissingParameter("The request must contain the parameter KeyName")
    if len(name) > 255:
        raise InvalidParameterValue(f"Value ({name[:32]}…) for parameter keyName is invalid. "
                                    "Length exceeds maximum of 255.")
    if not name.isascii():
        raise InvalidParameterValue(f"Value ({name}) for parameter keyName is invalid. "
                                    "Character sets beyond ASCII are not supported.")
    return name


def _not_found(what: str) -> NotFound:
    return NotFound(f"The key pair '{what}' does not exist", code="InvalidKeyPair.NotFound")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _info(row: KeyPair, tag_map: Mapping[str, str]) -> KeyPairInfo:
    return KeyPairInfo(row.id, row.name, row.key_type, row.fingerprint, row.public_key, _aware(row.created_at),
                       dict(tag_map))


FILTERS = {
    "key-pair-id": lambda k: k.id,
    "key-name": lambda k: k.name,
    "fingerprint": lambda k: k.fingerprint,
    "key-type": lambda k: k.key_type,
}


def _exists(session: Session, account_id: str, resource_id: str) -> bool:
    return session.scalar(select(KeyPair.id).where(KeyPair.account_id == account_id,
                                                   KeyPair.id == resource_id)) is not None


resources.register(resources.ResourceKind("key", RESOURCE_TYPE, "InvalidKeyPair.NotFound", _exists))


# -- the store -----------------------------------------------------------------------------------------

class KeyPairStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, name: str, key_type: str | None = None, key_format: str | None = None,
               tag_specifications: Sequence[Mapping[str, Any]] | None = None) -> tuple[KeyPairInfo, str]:
        """A new key pair and its private key material (returned once, never stored)."""
        name = validate_name(name)
        key_type, key_format = key_type or "rsa", key_format or "pem"
        if key_type not in KEY_TYPES:
            raise InvalidParameterValue(f"Value ({key_type}) for parameter keyType is invalid.")
        if key_format not in KEY_FORMATS:
            raise InvalidParameterValue(f"Value ({key_format}) for parameter keyFormat is invalid.")
        tags.check_specifications(tag_specifications, [RESOURCE_TYPE])
        self._check_free(account_id, name)
        key = generate(key_type)
        material = pem_material(key) if key_format == "pem" else ppk_material(key, name)
        info = self._insert(account_id, name, key_type, created_fingerprint(key),
                            openssh_line(key.public_key(), name), tag_specifications)
        return info, material

    def import_key(self, account_id: str, name: str, public_key_material: bytes,
                   tag_specifications: Sequence[Mapping[str, Any]] | None = None) -> KeyPairInfo:
        name = validate_name(name)
        tags.check_specifications(tag_specifications, [RESOURCE_TYPE])
        key = parse_public_key(public_key_material)
        key_type = "rsa" if isinstance(key, rsa.RSAPublicKey) else "ed25519"
        return self._insert(account_id, name, key_type, imported_fingerprint(key), openssh_line(key, name),
                            tag_specifications)

    def describe(self, account_id: str, names: Sequence[str] | None = None, key_pair_ids: Sequence[str] | None = None,
                 filters: Sequence[Mapping[str, Any]] | None = None) -> list[KeyPairInfo]:
        with self.db.session() as s:
            rows = list(s.scalars(select(KeyPair).where(KeyPair.account_id == account_id).order_by(KeyPair.name)))
            tag_maps = tags.of(s, account_id, [r.id for r in rows])
        items = [_info(r, tag_maps[r.id]) for r in rows]
        if names:
            known = {k.name for k in items}
            for name in names:
                if name not in known:
                    raise _not_found(name)
            items = [k for k in items if k.name in set(names)]
        if key_pair_ids:
            known = {k.id for k in items}
            for key_pair_id in key_pair_ids:
                if key_pair_id not in known:
                    raise _not_found(key_pair_id)
            items = [k for k in items if k.id in set(key_pair_ids)]
        return apply_filters(items, filters, FILTERS, tags_of=lambda k: k.tags)

    def delete(self, account_id: str, name: str | None = None, key_pair_id: str | None = None) -> str | None:
        """Delete by id (must exist) or by name (a missing name is not an error, as on AWS).
        Returns the id of the deleted key pair, if any."""
        if not name and not key_pair_id:
            raise MissingParameter("The request must contain the parameter KeyName or KeyPairId")
        with self.db.session() as s:
            query = select(KeyPair).where(KeyPair.account_id == account_id)
            if key_pair_id:
                row = s.scalar(query.where(KeyPair.id == key_pair_id))
                if row is None or (name and row.name != name):
                    raise _not_found(key_pair_id)
            else:
                row = s.scalar(query.where(KeyPair.name == name))
                if row is None:
                    return None
            tags.drop_all(s, account_id, row.id)
            s.delete(row)
            return row.id

    # -- internals -----------------------------------------------------------------------------------
    def _check_free(self, account_id: str, name: str) -> None:
        with self.db.session() as s:
            if s.scalar(select(KeyPair.id).where(KeyPair.account_id == account_id, KeyPair.name == name)):
                raise self._duplicate(name)

    @staticmethod
    def _duplicate(name: str) -> AWSError:
        return AWSError(f"The keypair '{name}' already exists.", code="InvalidKeyPair.Duplicate")

    def _insert(self, account_id: str, name: str, key_type: str, fingerprint: str, public_key: str,
                tag_specifications: Sequence[Mapping[str, Any]] | None) -> KeyPairInfo:
        row = KeyPair(id=ids.resource_id("key-pair"), account_id=account_id, name=name, key_type=key_type,
                      fingerprint=fingerprint, public_key=public_key, created_at=datetime.now(UTC))
        try:
            with self.db.session() as s:
                if s.scalar(select(KeyPair.id).where(KeyPair.account_id == account_id, KeyPair.name == name)):
                    raise self._duplicate(name)
                s.add(row)
                s.flush()
                applied = tags.apply_specifications(s, account_id, RESOURCE_TYPE, row.id, tag_specifications)
        except IntegrityError:
            raise self._duplicate(name) from None
        return _info(row, applied)
