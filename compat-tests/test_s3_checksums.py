"""S3 request payload wire details through the real ``overcast up``: flexible checksums in headers and
trailers, and SigV4 streaming (aws-chunked) uploads, signed and unsigned.

boto3 sends checksums in a header over http and in an aws-chunked trailer over https; the trailer tests
flip exactly that one decision (``request_algorithm["in"]``) in a ``before-call`` hook, so the framing,
headers and signature are botocore's own.  botocore has no signed-chunk encoder: those requests are
signed by botocore's S3SigV4Auth (seed signature) and chunked here from the SigV4 streaming spec.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import os
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlparse

import botocore.auth
import pytest
import xxhash
from botocore import httpchecksum
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from helpers import REGION, Overcast, RawResponse

BUCKET = "checksums"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CRC32C_POLY, _CRC64NVME_POLY = 0x82F63B78, 0x9A6C9329AC4BC9B5


def _crc(data: bytes, poly: int, width: int) -> int:
    """Reflected CRC, bit at a time (the definition; independent of the server's library)."""
    mask = (1 << width) - 1
    crc = mask
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def checksum(algorithm: str, data: bytes) -> str:
    if algorithm == "CRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    if algorithm == "CRC32C":
        return b64(_crc(data, _CRC32C_POLY, 32).to_bytes(4, "big"))
    if algorithm == "CRC64NVME":
        return b64(_crc(data, _CRC64NVME_POLY, 64).to_bytes(8, "big"))
    if algorithm.startswith("XXHASH"):   # the xxhash package: botocore's own source for these is awscrt
        new = {"XXHASH64": xxhash.xxh64, "XXHASH3": xxhash.xxh3_64, "XXHASH128": xxhash.xxh3_128}[algorithm]
        return b64(new(data).digest())
    return b64(hashlib.new(algorithm.lower(), data).digest())


@pytest.fixture(scope="module")
def s3(overcast: Overcast) -> Any:
    client = overcast.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _sent_headers(client: Any) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        seen.append({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    client.meta.events.register("before-send.s3.PutObject", record)
    return seen


def _absent(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as err:
        return bool(err.response["ResponseMetadata"]["HTTPStatusCode"] == 404)
    return False


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    error = err.value.response["Error"]
    return error["Code"], error.get("Message", ""), err.value.response["ResponseMetadata"]["HTTPStatusCode"]


# -- checksum headers (what boto3 sends over http) --------------------------------------------------

def test_default_put_sends_crc32_and_it_is_verified(overcast: Overcast, s3: Any) -> None:
    client = overcast.client("s3")          # botocore 1.44: request_checksum_calculation=when_supported
    sent = _sent_headers(client)
    data = os.urandom(100_000)
    client.put_object(Bucket=BUCKET, Key="default", Body=data)
    assert sent[-1]["x-amz-checksum-crc32"] == checksum("CRC32", data)
    assert sent[-1]["x-amz-sdk-checksum-algorithm"] == "CRC32"
    assert s3.get_object(Bucket=BUCKET, Key="default")["Body"].read() == data


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256", "SHA512"])
def test_explicit_algorithm(overcast: Overcast, s3: Any, algorithm: str) -> None:
    client = overcast.client("s3")
    sent = _sent_headers(client)
    data = os.urandom(70_001)
    client.put_object(Bucket=BUCKET, Key=f"explicit-{algorithm}", Body=data, ChecksumAlgorithm=algorithm)
    assert sent[-1][f"x-amz-checksum-{algorithm.lower()}"] == checksum(algorithm, data)
    assert s3.get_object(Bucket=BUCKET, Key=f"explicit-{algorithm}")["Body"].read() == data


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5",
                                       "XXHASH64", "XXHASH3", "XXHASH128"])
def test_precomputed_value_header_checked(s3: Any, algorithm: str) -> None:
    """botocore needs awscrt to compute CRC32C/CRC64NVME itself; a value given by the caller is sent as is."""
    data = os.urandom(4096)
    key = f"value-{algorithm}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, **{f"Checksum{algorithm}": checksum(algorithm, data)})
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    wrong = checksum(algorithm, data + b"!")
    code, message, status = _error(s3.put_object, Bucket=BUCKET, Key=key + "-wrong", Body=data,
                                   **{f"Checksum{algorithm}": wrong})
    assert (code, message, status) == ("BadDigest", f"The {algorithm} you specified did not match the calculated "
                                                    "checksum.", 400)
    assert _absent(s3, key + "-wrong")


def test_malformed_and_conflicting_checksum_headers(s3: Any) -> None:
    code, message, _ = _error(s3.put_object, Bucket=BUCKET, Key="bad", Body=b"x", ChecksumCRC32="bad")
    assert (code, message) == ("InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.")
    code, message, _ = _error(s3.put_object, Bucket=BUCKET, Key="bad", Body=b"x", ChecksumAlgorithm="SHA1",
                              ChecksumCRC32=checksum("CRC32", b"x"))
    assert code == "InvalidRequest"
    assert _absent(s3, "bad")


# -- unsigned trailers: boto3's own aws-chunked framing -------------------------------------------------

def _trailer_client(overcast: Overcast) -> Any:
    client = overcast.client("s3")

    def as_over_https(params: dict[str, Any], **_: Any) -> None:
        algorithm = params["context"].get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    client.meta.events.register("before-call.s3.PutObject", as_over_https)
    return client


@pytest.mark.parametrize("algorithm", [None, "CRC32", "SHA1", "SHA256", "SHA512"])
def test_boto3_unsigned_trailer(overcast: Overcast, s3: Any, algorithm: str | None) -> None:
    client = _trailer_client(overcast)
    sent = _sent_headers(client)
    data = os.urandom(2 * 1024 * 1024 + 123)             # three aws-chunked chunks of botocore's 1 MiB
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    key = f"trailer-{algorithm}"
    client.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="text/x-test", **extra)
    headers = sent[-1]
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["content-encoding"] == "aws-chunked" and headers["transfer-encoding"] == "chunked"
    assert headers["x-amz-trailer"] == f"x-amz-checksum-{(algorithm or 'CRC32').lower()}"
    assert headers["x-amz-decoded-content-length"] == str(len(data))
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == data and got["ContentLength"] == len(data)
    assert "ContentEncoding" not in got and got["ContentType"] == "text/x-test"
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_boto3_trailer_keeps_a_real_content_encoding(overcast: Overcast, s3: Any) -> None:
    _trailer_client(overcast).put_object(Bucket=BUCKET, Key="gz", Body=b"\x1f\x8b fake", ContentEncoding="gzip")
    assert s3.head_object(Bucket=BUCKET, Key="gz")["ContentEncoding"] == "gzip"


# -- raw requests signed by botocore, framed per the spec ----------------------------------------------

class _LiteralPayload(botocore.auth.S3SigV4Auth):
    def __init__(self, credentials: Credentials, literal: str) -> None:
        super().__init__(credentials, "s3", REGION)
        self.literal = literal

    def payload(self, request: Any) -> str:
        return self.literal


def _send(overcast: Overcast, key: str, body: bytes, content_sha256: str, headers: dict[str, str],
          chunker: Callable[[str, str, str], bytes] | None = None) -> RawResponse:
    """PUT ``body`` (already framed unless ``chunker`` frames it from the seed signature)."""
    url = f"{overcast.endpoint}/{BUCKET}/{quote(key)}"
    request = AWSRequest(method="PUT", url=url, headers=headers)
    _LiteralPayload(Credentials(overcast.access_key, overcast.secret), content_sha256).add_auth(request)
    if chunker is not None:
        seed = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
        body = chunker(seed, str(request.headers["X-Amz-Date"]), str(request.headers["X-Amz-Date"])[:8])
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        sent = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        sent["Content-Length"] = str(len(body))
        conn.request("PUT", parts.path, body=body, headers=sent)
        response = conn.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def _error_code(response: RawResponse) -> str:
    return str(response.parsed("s3", "PutObject")["Error"]["Code"])


def _chunk_unsigned(data: bytes, trailer: str, value: str, size: int = 65536) -> bytes:
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    return (b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces)
            + f"0\r\n{trailer}:{value}\r\n\r\n".encode())


def _signed_chunker(overcast: Overcast, data: bytes, size: int, trailer: tuple[str, str] | None = None,
                    corrupt: str = "") -> Callable[[str, str, str], bytes]:
    def frame(seed: str, stamp: str, date: str) -> bytes:
        k = f"AWS4{overcast.secret}".encode()
        for part in (date, REGION, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        scope = f"{date}/{REGION}/s3/aws4_request"
        out, previous = [], seed
        for piece in [data[i:i + size] for i in range(0, len(data), size)] + [b""]:
            sts = (f"AWS4-HMAC-SHA256-PAYLOAD\n{stamp}\n{scope}\n{previous}\n{EMPTY_SHA256}\n"
                   f"{hashlib.sha256(piece).hexdigest()}")
            previous = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            sent = piece[:-1] + bytes([piece[-1] ^ 1]) if corrupt == "data" and piece else piece
            out.append(f"{len(piece):x};chunk-signature={previous}\r\n".encode() + sent + (b"\r\n" if piece else b""))
        if trailer is not None:
            line = f"{trailer[0]}:{trailer[1]}\n"
            sts = (f"AWS4-HMAC-SHA256-TRAILER\n{stamp}\n{scope}\n{previous}\n"
                   f"{hashlib.sha256(line.encode()).hexdigest()}")
            signature = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            if corrupt == "trailer-signature":
                signature = "0" * 64
            out.append(f"{line[:-1]}\r\nx-amz-trailer-signature:{signature}\r\n".encode())
        out.append(b"\r\n")
        return b"".join(out)
    return frame


def _streaming_headers(data: bytes, **extra: str) -> dict[str, str]:
    return {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data)), **extra}


def test_signed_streaming_upload(overcast: Overcast, s3: Any) -> None:
    data = os.urandom(3 * 65536 + 1000)
    response = _send(overcast, "signed", b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", _streaming_headers(data),
                     _signed_chunker(overcast, data, 65536))
    assert response.status == 200, response.body
    assert {k.lower(): v for k, v in response.headers.items()}["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=BUCKET, Key="signed")
    assert got["Body"].read() == data and "ContentEncoding" not in got


def test_signed_streaming_corrupted_chunk_is_refused(overcast: Overcast, s3: Any) -> None:
    data = os.urandom(3 * 65536)
    response = _send(overcast, "signed-bad", b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", _streaming_headers(data),
                     _signed_chunker(overcast, data, 65536, corrupt="data"))
    assert (response.status, _error_code(response)) == (403, "SignatureDoesNotMatch")
    assert _absent(s3, "signed-bad")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_signed_streaming_with_signed_trailer(overcast: Overcast, s3: Any, algorithm: str) -> None:
    data = os.urandom(65536 + 77)
    name = f"x-amz-checksum-{algorithm.lower()}"
    headers = _streaming_headers(data, **{"X-Amz-Trailer": name})
    key = f"signed-trailer-{algorithm}"
    response = _send(overcast, key, b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", headers,
                     _signed_chunker(overcast, data, 65536, (name, checksum(algorithm, data))))
    assert response.status == 200, response.body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    bad = _send(overcast, key + "-bad", b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", headers,
                _signed_chunker(overcast, data, 65536, (name, checksum(algorithm, data + b"?"))))
    assert (bad.status, _error_code(bad)) == (400, "BadDigest")
    forged = _send(overcast, key + "-forged", b"", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", headers,
                   _signed_chunker(overcast, data, 65536, (name, checksum(algorithm, data)),
                                   corrupt="trailer-signature"))
    assert (forged.status, _error_code(forged)) == (403, "SignatureDoesNotMatch")
    assert _absent(s3, key + "-bad") and _absent(s3, key + "-forged")


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME", "XXHASH3"])
def test_unsigned_trailer_crt_algorithms(overcast: Overcast, s3: Any, algorithm: str) -> None:
    data = os.urandom(200_000)
    name = f"x-amz-checksum-{algorithm.lower()}"
    headers = _streaming_headers(data, **{"X-Amz-Trailer": name, "X-Amz-Sdk-Checksum-Algorithm": algorithm})
    key = f"unsigned-{algorithm}"
    body = _chunk_unsigned(data, name, checksum(algorithm, data))
    assert _send(overcast, key, body, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", headers).status == 200
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data


def test_unsigned_trailer_refusals(overcast: Overcast, s3: Any) -> None:
    data = os.urandom(150_000)
    headers = _streaming_headers(data, **{"X-Amz-Trailer": "x-amz-checksum-crc32"})
    wrapper = httpchecksum.AwsChunkedWrapper(io.BytesIO(data), checksum_cls=httpchecksum.Crc32Checksum,
                                             checksum_name="x-amz-checksum-crc32", chunk_size=65536)
    body = wrapper.read()
    good = checksum("CRC32", data).encode()
    cases = {
        "wrong-value": (body.replace(good, checksum("CRC32", b"no").encode()), "BadDigest"),
        "bad-value": (body.replace(good, b"!!"), "InvalidRequest"),
        "other-trailer": (body.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-sha1:"), "MalformedTrailerError"),
        "corrupt-data": (body[:1000] + bytes([body[1000] ^ 1]) + body[1001:], "BadDigest"),
        "truncated": (body[:-40], "IncompleteBody"),
    }
    for name, (sent, code) in cases.items():
        response = _send(overcast, f"refused-{name}", sent, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", headers)
        assert (response.status, _error_code(response)) == (400, code), name
        assert _absent(s3, f"refused-{name}"), name
    short = _streaming_headers(data[:-1], **{"X-Amz-Trailer": "x-amz-checksum-crc32"})
    response = _send(overcast, "refused-length", body, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", short)
    assert (response.status, _error_code(response)) == (400, "IncompleteBody")
    assert _send(overcast, "accepted", body, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", headers).status == 200
    assert s3.get_object(Bucket=BUCKET, Key="accepted")["Body"].read() == data


# -- the Debian AWS CLI v2 computes CRC32C itself (bundled awscrt) --------------------------------------

def test_aws_cli_v2_crc32c(overcast: Overcast, s3: Any, tmp_path: Any) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    account = overcast.admin_account
    result = overcast.aws("v2", "s3api", "put-object", "--bucket", BUCKET, "--key", "cli-crc32c", "--body", str(path),
                          "--checksum-algorithm", "CRC32C", account=account)
    assert result.returncode == 0, result.stderr
    assert s3.get_object(Bucket=BUCKET, Key="cli-crc32c")["Body"].read() == data
    result = overcast.aws("v2", "s3api", "put-object", "--bucket", BUCKET, "--key", "cli-crc32c-bad", "--body",
                          str(path), "--checksum-crc32-c", checksum("CRC32C", b"other"), account=account)
    assert result.returncode != 0 and "BadDigest" in result.stderr, result.stderr
    assert _absent(s3, "cli-crc32c-bad")
