"""aws-chunked decoding (SigV4 streaming uploads), S3 flexible checksums and the payload layer that joins
them: AWS's published example, bodies framed by botocore's own AwsChunkedWrapper, every split point."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import random
import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime

import pytest
from botocore import httpchecksum

from overcast.core.errors import AWSError
from overcast.gateway import aws_chunked, payload, sigv4
from overcast.s3api import checksums

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE, STAMP, REGION = "20130524", "20130524T000000Z", "us-east-1"
SCOPE = f"{DATE}/{REGION}/s3/aws4_request"
KEY = sigv4.signing_key(SECRET, DATE, REGION, "s3")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


# -- an independent encoder, written from the SigV4 streaming spec ------------------------------------

def _hmac(string_to_sign: str) -> str:
    return hmac.new(KEY, string_to_sign.encode(), hashlib.sha256).hexdigest()


def encode_signed(data: bytes, chunk: int, trailer: tuple[str, str] | None = None, seed: str = SEED) -> bytes:
    empty = hashlib.sha256(b"").hexdigest()
    out, previous = [], seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        previous = _hmac(f"AWS4-HMAC-SHA256-PAYLOAD\n{STAMP}\n{SCOPE}\n{previous}\n{empty}\n"
                         f"{hashlib.sha256(piece).hexdigest()}")
        out.append(f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
                   + (b"\r\n" if piece else b""))
    if trailer is not None:
        line = f"{trailer[0]}:{trailer[1]}\n"
        signature = _hmac(f"AWS4-HMAC-SHA256-TRAILER\n{STAMP}\n{SCOPE}\n{previous}\n"
                          f"{hashlib.sha256(line.encode()).hexdigest()}")
        out.append(f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{signature}\r\n".encode())
    out.append(b"\r\n")
    return b"".join(out)


def signer(seed: str = SEED) -> aws_chunked.ChunkSigner:
    return aws_chunked.ChunkSigner(KEY, STAMP, SCOPE, seed)


def run(decoder: aws_chunked.Decoder, parts: Iterable[bytes]) -> bytes:
    out = b"".join(piece for part in parts for piece in decoder.feed(part))
    decoder.finish()
    return out


def random_splits(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randrange(1, 40))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def code_of(err: pytest.ExceptionInfo[AWSError]) -> str:
    return err.value.code


# -- AWS's published example (sigv4-streaming: 65 KiB of 'a' in a 64 KiB and a 1 KiB chunk) -------------

def test_aws_documented_example_decodes() -> None:
    body = encode_signed(b"a" * 66560, 65536)
    assert b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" in body
    assert b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" in body
    assert b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n" in body
    decoder = aws_chunked.Decoder(signer=signer(), decoded_length=66560)
    assert run(decoder, [body]) == b"a" * 66560


# -- every split point / random splits ---------------------------------------------------------------

def _small_signed() -> tuple[bytes, bytes, str]:
    data = bytes(range(256)) * 40 + b"tail"          # 10244 bytes: one 8 KiB chunk and a short last one
    value = checksums.compute("CRC32C", data)
    return data, encode_signed(data, 8192, ("x-amz-checksum-crc32c", value)), value


def test_signed_trailer_every_split_point() -> None:
    data, body, value = _small_signed()
    for cut in range(len(body) + 1):
        decoder = aws_chunked.Decoder(signer=signer(), trailer="x-amz-checksum-crc32c", signed_trailer=True,
                                      decoded_length=len(data))
        assert run(decoder, [body[:cut], body[cut:]]) == data, cut
        assert decoder.trailers == {"x-amz-checksum-crc32c": value}


def test_byte_at_a_time_and_random_splits() -> None:
    data, body, _ = _small_signed()
    decoder = aws_chunked.Decoder(signer=signer(), trailer="x-amz-checksum-crc32c", signed_trailer=True)
    assert run(decoder, [body[i:i + 1] for i in range(len(body))]) == data
    rng = random.Random(7)
    for _ in range(200):
        decoder = aws_chunked.Decoder(signer=signer(), trailer="x-amz-checksum-crc32c", signed_trailer=True)
        assert run(decoder, random_splits(body, rng)) == data


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_botocore_unsigned_trailer_framing(algorithm: str) -> None:
    """The exact bytes botocore sends for STREAMING-UNSIGNED-PAYLOAD-TRAILER (its own wrapper)."""
    rng = random.Random(algorithm)
    data = rng.randbytes(3 * 1024 * 1024 + 17)
    cls = _BOTOCORE.get(algorithm)
    if cls is None:           # CRC32C/CRC64NVME need awscrt in botocore: frame with ours
        name = checksums.header_name(algorithm)
        body = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (data[:1 << 20], data[1 << 20:]))
        body += f"0\r\n{name}:{checksums.compute(algorithm, data)}\r\n\r\n".encode()
    else:
        wrapper = httpchecksum.AwsChunkedWrapper(io.BytesIO(data), checksum_cls=cls,
                                                 checksum_name=checksums.header_name(algorithm))
        body = wrapper.read()
    trailer = checksums.header_name(algorithm)
    for parts in ([body], random_splits(body, rng)):
        decoder = aws_chunked.Decoder(trailer=trailer, decoded_length=len(data))
        assert run(decoder, parts) == data
        assert decoder.trailers[trailer] == checksums.compute(algorithm, data)


# -- refusals ----------------------------------------------------------------------------------------

def _refused(body: bytes, **options: object) -> str:
    options.setdefault("signer", signer())
    decoder = aws_chunked.Decoder(**options)  # type: ignore[arg-type]
    with pytest.raises(AWSError) as err:
        run(decoder, [body])
    return code_of(err)


def test_corrupted_chunk_data_or_signature() -> None:
    data, body, _ = _small_signed()
    flipped = bytearray(body)
    flipped[body.index(b"\r\n") + 100] ^= 1
    assert _refused(bytes(flipped)) == "SignatureDoesNotMatch"
    wrong_sig = body.replace(body[body.index(b"=") + 1:body.index(b"=") + 3], b"00", 1)
    assert _refused(wrong_sig) == "SignatureDoesNotMatch"
    other_seed = encode_signed(data, 8192, seed="0" * 64)
    assert _refused(other_seed) == "SignatureDoesNotMatch"


def test_signature_error_is_403_with_string_to_sign() -> None:
    body = encode_signed(b"x" * 10, 8192, seed="1" * 64)
    decoder = aws_chunked.Decoder(signer=signer())
    with pytest.raises(AWSError) as err:
        run(decoder, [body])
    assert err.value.status == 403 and err.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


def test_trailer_refusals() -> None:
    data, body, value = _small_signed()
    opts = {"trailer": "x-amz-checksum-crc32c", "signed_trailer": True}
    tampered = body.replace(value.encode(), checksums.compute("CRC32C", b"other").encode())
    assert _refused(tampered, **opts) == "SignatureDoesNotMatch"
    assert _refused(body, trailer="x-amz-checksum-crc32", signed_trailer=True) == "MalformedTrailerError"
    assert _refused(body) == "MalformedTrailerError"                     # no trailer announced
    no_trailer = encode_signed(data, 8192)
    assert _refused(no_trailer, **opts) == "MalformedTrailerError"     # announced, never sent
    unsigned = body[:body.index(b"x-amz-trailer-signature")] + b"\r\n"
    assert _refused(unsigned, **opts) == "MalformedTrailerError"


def test_framing_refusals() -> None:
    data, body, _ = _small_signed()
    assert _refused(body[:-5], trailer="x-amz-checksum-crc32c", signed_trailer=True) == "IncompleteBody"
    assert _refused(body[:5000]) == "IncompleteBody"
    assert _refused(b"zz;chunk-signature=" + b"0" * 64 + b"\r\n") == "IncompleteBody"
    assert _refused(b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n") == "IncompleteBody"   # signed without signatures
    assert _refused(b"x" * 5000) == "IncompleteBody"                                   # no line end in sight
    big = f"{aws_chunked.MAX_CHUNK_SIZE + 1:x};chunk-signature={'0' * 64}\r\n".encode()
    assert _refused(big) == "InvalidChunkSizeError"
    small_first = encode_signed(b"y" * 9000, 100)
    assert _refused(small_first) == "InvalidChunkSizeError"
    plain = encode_signed(data, 8192)
    assert _refused(plain + b"junk") == "IncompleteBody"
    missing_crlf = plain.replace(b"\r\n", b"\n", 2)
    assert _refused(missing_crlf) == "IncompleteBody"
    assert _refused(plain, decoded_length=len(data) + 1) == "IncompleteBody"
    assert _refused(plain, decoded_length=len(data) - 1) == "IncompleteBody"


def test_unsigned_small_chunks_and_missing_final_blank_line() -> None:
    body = b"3\r\nabc\r\n1\r\nd\r\n0\r\nx-amz-checksum-crc32:" + checksums.compute("CRC32", b"abcd").encode() + b"\r\n"
    decoder = aws_chunked.Decoder(trailer="x-amz-checksum-crc32")
    assert run(decoder, [body]) == b"abcd"


# -- checksums agree with botocore's and with the definitions ----------------------------------------

_BOTOCORE = {"CRC32": httpchecksum.Crc32Checksum, "SHA1": httpchecksum.Sha1Checksum,
             "SHA256": httpchecksum.Sha256Checksum, "SHA512": httpchecksum.Sha512Checksum}


def _reference_crc(data: bytes, poly: int, width: int) -> int:
    """Bit-at-a-time reflected CRC with all-ones init and final xor (CRC-32C, CRC-64/NVME)."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ mask


def test_check_values() -> None:
    assert checksums.compute("CRC32", b"123456789") == base64.b64encode(bytes.fromhex("cbf43926")).decode()
    assert checksums.compute("CRC32C", b"123456789") == base64.b64encode(bytes.fromhex("e3069283")).decode()
    assert checksums.compute("CRC64NVME", b"123456789") == \
        base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()
    assert checksums.compute("CRC32", b"hello\n") == "NjowIA=="
    empty = {"XXHASH64": "ef46db3751d8e999", "XXHASH3": "2d06800538d394c2",
             "XXHASH128": "99aa06d3014798d86001c324468d497f", "MD5": hashlib.md5(b"").hexdigest()}
    for algorithm, digest in empty.items():
        assert checksums.compute(algorithm, b"") == base64.b64encode(bytes.fromhex(digest)).decode(), algorithm


@pytest.mark.parametrize("size", [0, 1, 7, 64, 1000, 65537])
def test_algorithms_match_botocore_and_reference(size: int) -> None:
    data = random.Random(size).randbytes(size)
    for algorithm, cls in _BOTOCORE.items():
        assert checksums.compute(algorithm, data) == cls().handle(io.BytesIO(data)), algorithm
    small = data[:1000]
    assert checksums.compute("CRC32C", small) == base64.b64encode(
        _reference_crc(small, 0x82F63B78, 32).to_bytes(4, "big")).decode()
    assert checksums.compute("CRC64NVME", small) == base64.b64encode(
        _reference_crc(small, 0x9A6C9329AC4BC9B5, 64).to_bytes(8, "big")).decode()
    assert zlib.crc32(small) == _reference_crc(small, 0xEDB88320, 32)
    for algorithm in checksums.ALGORITHMS:      # incremental == whole, at any split
        hasher = checksums.Hasher(algorithm)
        cut = size // 3
        hasher.update(data[:cut])
        hasher.update(memoryview(data)[cut:])
        assert hasher.b64digest() == checksums.compute(algorithm, data)


def test_names_and_values() -> None:
    assert checksums.header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert checksums.algorithm_of("X-Amz-Checksum-Sha256") == "SHA256"
    assert checksums.algorithm_of("x-amz-checksum-md5") == "MD5"
    assert checksums.algorithm_of("x-amz-checksum-crc16") is None
    assert checksums.is_valid_value("CRC32", "NjowIA==")
    for bad in ("NjowIA=", "NjowIAA=", "bad", "", "NjowIB==", "AAAAAAAAAAA="):
        assert not checksums.is_valid_value("CRC32", bad), bad


def test_declared_rules() -> None:
    crc = checksums.compute("CRC32", b"x")
    got = checksums.declared({"x-amz-checksum-crc32": crc, "x-amz-sdk-checksum-algorithm": "CRC32"},
                             trailers_allowed=False)
    assert (got.algorithm, got.expected, got.declared) == ("CRC32", crc, True)
    trailer = checksums.declared({"x-amz-trailer": "x-amz-checksum-sha1"}, trailers_allowed=True)
    assert (trailer.algorithm, trailer.trailer) == ("SHA1", "x-amz-checksum-sha1")
    assert checksums.declared({}, trailers_allowed=False).algorithm == "CRC64NVME"
    assert not checksums.declared({}, trailers_allowed=False).declared
    assert checksums.declared({"x-amz-sdk-checksum-algorithm": "crc32c"}, trailers_allowed=False).algorithm == "CRC32C"
    assert checksums.declared({"x-amz-checksum-mode": "ENABLED"}, trailers_allowed=False).expected is None
    refusals = [
        ({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha1": "x"}, "Expecting a single x-amz-checksum- header"),
        ({"x-amz-checksum-crc32": "bad"}, "Value for x-amz-checksum-crc32 header is invalid."),
        ({"x-amz-checksum-foo": crc}, "x-amz-checksum- header is invalid"),
        ({"x-amz-checksum-md5": crc}, "Value for x-amz-checksum-md5 header is invalid."),
        ({"x-amz-checksum-crc32": crc, "x-amz-sdk-checksum-algorithm": "SHA1"},
         "Value for x-amz-sdk-checksum-algorithm header is invalid."),
        ({"x-amz-sdk-checksum-algorithm": "CRC16"}, "Checksum algorithm provided is unsupported"),
        ({"x-amz-trailer": "x-amz-meta-foo"}, "x-amz-trailer header is not supported"),
        ({"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-checksum-crc32": crc}, "Expecting a single"),
    ]
    for headers, message in refusals:
        with pytest.raises(AWSError) as err:
            checksums.declared(headers, trailers_allowed=True)
        assert err.value.code == "InvalidRequest" and message in err.value.message, headers


# -- the payload layer: what handlers get as ctx.body -------------------------------------------------

async def _source(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _auth(content_sha256: str, signature: str = SEED) -> sigv4.SigV4Auth:
    return sigv4.SigV4Auth(access_key="AKIDEXAMPLE", scope_date=DATE, region=REGION, service="s3",
                           signed_headers=("host",), signature=signature,
                           amz_date=datetime(2013, 5, 24, tzinfo=UTC), presigned=False, expires=None,
                           security_token=None, content_sha256=content_sha256)


async def _drain(body: payload.RequestBody) -> bytes:
    return b"".join([chunk async for chunk in body])


def _read(body: payload.RequestBody) -> bytes:
    return asyncio.run(_drain(body))


def _read_error(body: payload.RequestBody) -> AWSError:
    with pytest.raises(AWSError) as err:
        _read(body)
    return err.value


@pytest.mark.parametrize("algorithm", checksums.ALGORITHMS)
def test_plain_upload_checksum_header(algorithm: str) -> None:
    data = b"hello\n" * 1000
    header = checksums.header_name(algorithm)
    headers = {header: checksums.compute(algorithm, data), "content-length": str(len(data))}
    body = payload.request_body(_source([data[:10], data[10:]]), headers, _auth("UNSIGNED-PAYLOAD"))
    assert checksums.of(body) is body.checksum and body.checksum.value is None
    assert _read(body) == data and body.size == len(data)
    assert body.checksum.value == headers[header]
    assert body.checksum.output() == {f"Checksum{algorithm}": headers[header], "ChecksumType": "FULL_OBJECT"}
    headers[header] = checksums.compute(algorithm, b"other")
    err = _read_error(payload.request_body(_source([data]), headers, _auth("UNSIGNED-PAYLOAD")))
    assert (err.code, err.message) == ("BadDigest", f"The {algorithm} you specified did not match the "
                                                    "calculated checksum.")


def test_plain_upload_default_checksum_and_sha256() -> None:
    data = b"abc"
    body = payload.request_body(_source([data]), {}, _auth(hashlib.sha256(data).hexdigest()))
    assert _read(body) == data
    assert (body.checksum.algorithm, body.checksum.declared) == ("CRC64NVME", False)
    assert body.checksum.value == checksums.compute("CRC64NVME", data) and body.checksum.output() == {}
    err = _read_error(payload.request_body(_source([b"abd"]), {}, _auth(hashlib.sha256(data).hexdigest())))
    assert err.code == "XAmzContentSHA256Mismatch"


def test_streaming_signed_trailer_through_payload() -> None:
    data, body_bytes, value = _small_signed()
    headers = {"x-amz-content-sha256": payload.SIGNED_STREAMING_TRAILER, "content-encoding": "aws-chunked",
               "x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-decoded-content-length": str(len(data)),
               "content-length": str(len(body_bytes))}
    key = payload.StreamingKey(KEY)
    body = payload.request_body(_source(random_splits(body_bytes, random.Random(3))), headers,
                                _auth(payload.SIGNED_STREAMING_TRAILER), key)
    assert _read(body) == data and body.size == len(data)
    assert (body.checksum.expected, body.checksum.value) == (value, value)
    assert payload.decoded_headers(headers)["content-length"] == str(len(data))
    assert "content-encoding" not in payload.decoded_headers(headers)
    assert payload.decoded_headers({**headers, "content-encoding": "gzip,aws-chunked"})["content-encoding"] == "gzip"


def test_streaming_unsigned_trailer_checksum_refusals() -> None:
    data = b"z" * 5000
    good = checksums.compute("CRC32", data)
    headers = {"x-amz-content-sha256": payload.UNSIGNED_STREAMING_TRAILER, "x-amz-trailer": "x-amz-checksum-crc32"}

    def framed(value: str) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\nx-amz-checksum-crc32:{value}\r\n\r\n".encode()

    auth = _auth(payload.UNSIGNED_STREAMING_TRAILER)
    body = payload.request_body(_source([framed(good)]), headers, auth)
    assert _read(body) == data and body.checksum.value == good
    err = _read_error(payload.request_body(_source([framed(checksums.compute("CRC32", b"x"))]), headers, auth))
    assert (err.code, err.message) == ("BadDigest", "The CRC32 you specified did not match the calculated checksum.")
    err = _read_error(payload.request_body(_source([framed("nope")]), headers, auth))
    assert (err.code, err.message) == ("InvalidRequest", "Value for x-amz-checksum-crc32 trailing header is invalid.")


def test_signed_streaming_needs_a_key_and_a_signature() -> None:
    headers = {"x-amz-content-sha256": payload.SIGNED_STREAMING}
    with pytest.raises(AWSError) as err:
        payload.request_body(_source([]), headers, None)
    assert err.value.code == "InvalidRequest"
    body = payload.request_body(_source([encode_signed(b"q" * 100, 8192)]), headers,
                                _auth(payload.SIGNED_STREAMING, signature="2" * 64), payload.StreamingKey(KEY))
    assert _read_error(body).code == "SignatureDoesNotMatch"


def test_whole_bodies_are_checked_too() -> None:
    data = b"<Tagging/>"
    assert payload.verify_whole({"x-amz-checksum-crc32": checksums.compute("CRC32", data)}, data).value
    with pytest.raises(AWSError) as err:
        payload.verify_whole({"x-amz-checksum-crc32": checksums.compute("CRC32", b"x")}, data)
    assert err.value.code == "BadDigest"
    assert payload.verify_whole({}, data).value is None
