"""S3 flexible checksums: the five algorithms, their header names, base64 values, and the rules S3
applies to the checksum headers of an upload.

Values are the big-endian digest in base64, as botocore.httpchecksum renders them (CRC32 ``NjowIA==``).
CRC32 comes from zlib, SHA*/MD5 from hashlib, CRC32C and CRC64NVME from ``anycrc`` and the xxHashes from
``xxhash`` (C, several GB/s; chosen over ``awscrt``, botocore's source for them, because installing that
switches every botocore client in the process to the CRT signers).  No HTTP here: the gateway's payload layer feeds the bytes and raises these errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anycrc
import xxhash

from overcast.core.errors import AWSError

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3",
              "XXHASH128")
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "SHA512": 64, "MD5": 16,
                "XXHASH64": 8, "XXHASH3": 8, "XXHASH128": 16}
HEADER_PREFIX = "x-amz-checksum-"
SDK_ALGORITHM_HEADER = "x-amz-sdk-checksum-algorithm"
TRAILER_HEADER = "x-amz-trailer"
DEFAULT_ALGORITHM = "CRC64NVME"   # what S3 computes for an upload that names none
# x-amz-checksum-* headers that carry no value to check (GetObject/HeadObject, CreateMultipartUpload)
_NOT_VALUES = frozenset({"x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"})
_CRC32C = anycrc.Model("CRC32-ISCSI")
_CRC64NVME = anycrc.Model("CRC64-NVME")
_CRCS: dict[str, Callable[[Any, int], int]] = {
    "CRC32": zlib.crc32,
    "CRC32C": lambda data, value: int(_CRC32C.calc(data, value)),
    "CRC64NVME": lambda data, value: int(_CRC64NVME.calc(data, value)),
}


_HASHES: dict[str, Callable[[str], Any]] = {
    "XXHASH64": lambda _: xxhash.xxh64(), "XXHASH3": lambda _: xxhash.xxh3_64(),
    "XXHASH128": lambda _: xxhash.xxh3_128(),
}


def header_name(algorithm: str) -> str:
    """``CRC32`` → ``x-amz-checksum-crc32``."""
    return HEADER_PREFIX + algorithm.lower()


def algorithm_of(header: str) -> str | None:
    """``x-amz-checksum-crc32`` → ``CRC32``; None for any other name."""
    name = header.lower()
    if not name.startswith(HEADER_PREFIX):
        return None
    algorithm = name[len(HEADER_PREFIX):].upper()
    return algorithm if algorithm in DIGEST_SIZES else None


class Hasher:
    """One algorithm, fed incrementally."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in DIGEST_SIZES:
            raise ValueError(f"unknown checksum algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._crc = _CRCS.get(algorithm)
        self._value = 0
        self._hash = None if self._crc is not None else _HASHES.get(algorithm, hashlib.new)(algorithm.lower())

    def update(self, data: bytes | memoryview) -> None:
        if self._crc is not None:
            self._value = self._crc(data, self._value)
        else:
            assert self._hash is not None
            self._hash.update(data)

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._value.to_bytes(DIGEST_SIZES[self.algorithm], "big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def compute(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data``."""
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.b64digest()


def is_valid_value(algorithm: str, value: str) -> bool:
    """Whether ``value`` is canonical base64 of a digest of the algorithm's size."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == DIGEST_SIZES[algorithm] and base64.b64encode(raw).decode("ascii") == value


# -- S3's errors ----------------------------------------------------------------------------------------

def bad_digest(algorithm: str) -> AWSError:
    return AWSError(f"The {algorithm} you specified did not match the calculated checksum.", code="BadDigest")


def invalid_value(header: str, trailing: bool = False) -> AWSError:
    where = "trailing header" if trailing else "header"
    return AWSError(f"Value for {header.lower()} {where} is invalid.", code="InvalidRequest")


def _invalid_request(message: str) -> AWSError:
    return AWSError(message, code="InvalidRequest")


MULTIPLE = "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
UNKNOWN_HEADER = "The algorithm type you specified in x-amz-checksum- header is invalid."
UNSUPPORTED_TRAILER = "The value specified in the x-amz-trailer header is not supported"
UNSUPPORTED_ALGORITHM = ("Checksum algorithm provided is unsupported. Please try again with any of the valid "
                         f"types: [{', '.join(ALGORITHMS)}]")
SDK_MISMATCH = "Value for x-amz-sdk-checksum-algorithm header is invalid."


# -- what a request declares ----------------------------------------------------------------------------

@dataclass
class PayloadChecksum:
    """The checksum of one request payload, as the handler sees it (``checksums.of(ctx.body)``).

    ``algorithm`` is the one the client named (value header, ``x-amz-trailer`` or
    ``x-amz-sdk-checksum-algorithm``; ``declared`` is then true) or :data:`DEFAULT_ALGORITHM`.
    ``expected`` is the client's value (a header at once; a trailer once the body was read).
    ``value`` is the checksum computed over the decoded bytes: set only when the body was read to its
    end and matched ``expected`` (when there was one) — otherwise reading the body raised."""

    algorithm: str | None = None
    declared: bool = False
    expected: str | None = None
    trailer: str | None = None       # the trailing header the client announced (x-amz-trailer)
    value: str | None = None

    @property
    def header(self) -> str | None:
        return header_name(self.algorithm) if self.algorithm else None

    def output(self) -> dict[str, str]:
        """Output members for PutObject/UploadPart (``ChecksumCRC32``…, ``ChecksumType``) once verified;
        empty when the client declared nothing."""
        if not self.declared or self.algorithm is None or self.value is None:
            return {}
        return {f"Checksum{self.algorithm}": self.value, "ChecksumType": "FULL_OBJECT"}


def declared(headers: Mapping[str, str], *, trailers_allowed: bool, default: str | None = DEFAULT_ALGORITHM
             ) -> PayloadChecksum:
    """What the request's headers (lowercase names) declare, checked with S3's rules (InvalidRequest)."""
    values = [(name, value) for name, value in headers.items()
              if name.startswith(HEADER_PREFIX) and name not in _NOT_VALUES]
    trailer = headers.get(TRAILER_HEADER, "").strip().lower() if trailers_allowed else ""
    sdk = headers.get(SDK_ALGORITHM_HEADER, "").strip().upper()
    if len(values) + bool(trailer) > 1:
        raise _invalid_request(MULTIPLE)
    if sdk and sdk not in DIGEST_SIZES:
        raise _invalid_request(UNSUPPORTED_ALGORITHM)
    out = PayloadChecksum()
    if values:
        name, value = values[0]
        algorithm = algorithm_of(name)
        if algorithm is None:
            raise _invalid_request(UNKNOWN_HEADER)
        if not is_valid_value(algorithm, value.strip()):
            raise invalid_value(name)
        out.algorithm, out.expected = algorithm, value.strip()
    elif trailer:
        algorithm = algorithm_of(trailer)
        if algorithm is None:
            raise _invalid_request(UNSUPPORTED_TRAILER)
        out.algorithm, out.trailer = algorithm, trailer
    if out.algorithm is not None:
        if sdk and sdk != out.algorithm:
            raise _invalid_request(SDK_MISMATCH)
        out.declared = True
    elif sdk:   # S3 itself refuses this; accepted here: the named algorithm is computed
        out.algorithm, out.declared = sdk, True
    else:
        out.algorithm = default
    return out


def of(body: object) -> PayloadChecksum | None:
    """The :class:`PayloadChecksum` of a handler's ``ctx.body`` (None for bodies without one)."""
    found = getattr(body, "checksum", None)
    return found if isinstance(found, PayloadChecksum) else None


def verify_whole(headers: Mapping[str, str], body: bytes) -> PayloadChecksum:
    """For bodies read whole (PutBucketTagging, DeleteObjects…): check a declared checksum at once."""
    checksum = declared(headers, trailers_allowed=False, default=None)
    if checksum.algorithm is not None:
        computed = compute(checksum.algorithm, body)
        if checksum.expected is not None and computed != checksum.expected:
            raise bad_digest(checksum.algorithm)
        checksum.value = computed
    return checksum
