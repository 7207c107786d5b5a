"""Incremental decoder of ``Content-Encoding: aws-chunked`` request bodies (SigV4 streaming uploads).

Framing (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and -trailers.html)::

    hex-size[;chunk-signature=SIG]\\r\\n DATA \\r\\n   … repeated …
    0[;chunk-signature=SIG]\\r\\n
    [name:value\\r\\n … ][x-amz-trailer-signature:SIG\\r\\n]
    \\r\\n

Signed chunks chain: each chunk's signature signs ``AWS4-HMAC-SHA256-PAYLOAD``, the request time, the
scope, the previous signature (the Authorization header's for the first), the empty-string hash and the
chunk data's hash; the trailer signature signs ``AWS4-HMAC-SHA256-TRAILER`` with the last chunk signature
and the hash of the trailing headers (``name:value\\n`` each).

:class:`Decoder` is a push parser: :meth:`Decoder.feed` takes bytes split anywhere and returns the data
bytes they complete; it never holds more than one header line (bounded) — chunk data is passed on as it
arrives and its signature checked when the chunk ends (a mismatch raises before the stream can end, so
nothing is committed).  :func:`decode` runs it over an async byte stream.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from typing import Any

from overcast.core.errors import AWSError

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_CHUNK_SIZE = 16 * 1024 * 1024
MIN_SIGNED_CHUNK = 8192          # every signed chunk but the last must be at least this long
MAX_LINE = 4096                  # a chunk header or trailer line
MAX_TRAILER_BYTES = 16 * 1024
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}").fullmatch
_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch
_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your key "
             "and signing method.")


def incomplete() -> AWSError:
    return AWSError("The request body terminated unexpectedly", code="IncompleteBody")


def malformed(detail: str) -> AWSError:
    return AWSError(f"The aws-chunked request body is malformed: {detail}.", code="IncompleteBody")


def malformed_trailer() -> AWSError:
    return AWSError("The request contained trailing data that was not well-formed or did not conform to our "
                    "published schema.", code="MalformedTrailerError")


def length_mismatch() -> AWSError:
    return AWSError("You did not provide the number of bytes specified by the Content-Length HTTP header.",
                    code="IncompleteBody")


def signature_mismatch(string_to_sign: str) -> AWSError:
    return AWSError(_MISMATCH, code="SignatureDoesNotMatch", status=403,
                    extra={"StringToSign": string_to_sign})


class ChunkSigner:
    """The signature chain of one streaming upload."""

    def __init__(self, signing_key: bytes, amz_date: str, scope: str, seed_signature: str) -> None:
        self.key = signing_key
        self.prefix = f"{amz_date}\n{scope}\n"
        self.previous = seed_signature.lower()

    def _sign(self, string_to_sign: str, given: str) -> None:
        expected = hmac.new(self.key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given.lower()):
            raise signature_mismatch(string_to_sign)
        self.previous = expected

    def check_chunk(self, data_sha256: str, given: str) -> None:
        self._sign(f"AWS4-HMAC-SHA256-PAYLOAD\n{self.prefix}{self.previous}\n{EMPTY_SHA256}\n{data_sha256}", given)

    def check_trailer(self, canonical_trailers: bytes, given: str) -> None:
        digest = hashlib.sha256(canonical_trailers).hexdigest()
        self._sign(f"AWS4-HMAC-SHA256-TRAILER\n{self.prefix}{self.previous}\n{digest}", given)


class Decoder:
    """``signer``: verify chunk (and trailer) signatures; None for STREAMING-UNSIGNED-PAYLOAD-TRAILER.
    ``trailer``: the trailing header announced by x-amz-trailer (None: no trailer may come).
    ``signed_trailer``: the trailer carries x-amz-trailer-signature (…-PAYLOAD-TRAILER).
    ``decoded_length``: x-amz-decoded-content-length, checked when given."""

    def __init__(self, *, signer: ChunkSigner | None = None, trailer: str | None = None,
                 signed_trailer: bool = False, decoded_length: int | None = None,
                 max_chunk: int = MAX_CHUNK_SIZE) -> None:
        self.signer = signer
        self.trailer = trailer
        self.signed_trailer = signed_trailer
        self.decoded_length = decoded_length
        self.max_chunk = max_chunk
        self.trailers: dict[str, str] = {}      # the trailing headers, once the body ended
        self.decoded = 0                        # payload bytes returned so far
        self._state = "header"                  # header, data, data_end, trailer, done
        self._line = bytearray()
        self._remaining = 0                     # data bytes left in the chunk, or CRLF bytes after it
        self._chunk_signature = ""
        self._chunk_hash: Any = None
        self._small_chunk_seen = False
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_bytes = 0

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> list[bytes]:
        """The payload bytes completed by ``data``; raises :class:`AWSError` on bad framing or signatures."""
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == "data":
                take = min(self._remaining, end - pos)
                piece = data if take == end else bytes(view[pos:pos + take])
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                self._count(take)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state, self._remaining = "data_end", 2
            elif state == "data_end":
                expected = b"\r\n"[2 - self._remaining]
                if data[pos] != expected:
                    raise malformed("chunk data is not followed by CRLF")
                pos += 1
                self._remaining -= 1
                if self._remaining == 0:
                    self._end_chunk()
            elif state == "done":
                raise malformed("data after the final chunk")
            else:                                     # header or trailer: collect one line
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                self._line += view[pos:stop]
                pos = stop
                if len(self._line) > MAX_LINE:
                    raise malformed_trailer() if state == "trailer" else malformed("chunk header too long")
                if newline >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    if state == "header":
                        self._header_line(line)
                    else:
                        self._trailer_line(line)
        return out

    def finish(self) -> None:
        """The stream ended: raise unless it ended where the encoding may end."""
        if self._state == "trailer" and not self._line:
            self._end_trailers()        # tolerate a missing final blank line
        if self._state != "done":
            raise incomplete()

    # -- pieces ------------------------------------------------------------------------------------------
    def _count(self, n: int) -> None:
        self.decoded += n
        if self.decoded_length is not None and self.decoded > self.decoded_length:
            raise length_mismatch()

    def _header_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise malformed("chunk header line does not end with CRLF")
        size_text, _, extensions = line[:-2].partition(b";")
        if not _SIZE(size_text.strip()):
            raise malformed("chunk size is not hexadecimal")
        size = int(size_text, 16)
        if size > self.max_chunk:
            raise AWSError(f"Chunk size {size} exceeds the maximum of {self.max_chunk} bytes.",
                           code="InvalidChunkSizeError")
        if self.signer is not None:
            name, _, signature = extensions.decode("latin-1").partition("=")
            if name.strip() != "chunk-signature" or not _HEX64(signature.strip().lower()):
                raise malformed("chunk-signature missing")
            self._chunk_signature = signature.strip()
            if size and self._small_chunk_seen:
                raise AWSError("Only the last chunk is allowed to have a size less than 8192 bytes",
                               code="InvalidChunkSizeError")
            self._small_chunk_seen = size < MIN_SIGNED_CHUNK
            self._chunk_hash = hashlib.sha256()
        if size:
            self._state, self._remaining = "data", size
            return
        if self.signer is not None:
            self.signer.check_chunk(EMPTY_SHA256, self._chunk_signature)
        self._state = "trailer"

    def _end_chunk(self) -> None:
        if self.signer is not None and self._chunk_hash is not None:
            self.signer.check_chunk(self._chunk_hash.hexdigest(), self._chunk_signature)
        self._chunk_hash = None
        self._state = "header"

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line)
        if self._trailer_bytes > MAX_TRAILER_BYTES:
            raise malformed_trailer()
        text = line.rstrip(b"\r\n").decode("latin-1")
        if not text:
            self._end_trailers()
            return
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise malformed_trailer()
        self._trailer_lines.append((name.strip().lower(), value.strip()))

    def _end_trailers(self) -> None:
        lines = self._trailer_lines
        signature = None
        if lines and lines[-1][0] == TRAILER_SIGNATURE:
            signature = lines.pop()[1]
        for name, value in lines:
            if name != self.trailer or name in self.trailers:
                raise malformed_trailer()
            self.trailers[name] = value
        if self.trailer is not None and self.trailer not in self.trailers:
            raise malformed_trailer()
        if self.signed_trailer and self.signer is not None:
            if signature is not None:
                canonical = "".join(f"{name}:{value}\n" for name, value in lines).encode("latin-1")
                self.signer.check_trailer(canonical, signature)
            elif lines:
                raise malformed_trailer()
        elif signature is not None:
            raise malformed_trailer()
        if self.decoded_length is not None and self.decoded != self.decoded_length:
            raise length_mismatch()
        self._state = "done"


async def decode(source: AsyncIterator[bytes], decoder: Decoder) -> AsyncIterator[bytes]:
    """The payload of an aws-chunked ``source``; raises at the point the encoding goes wrong."""
    async for data in source:
        for piece in decoder.feed(data):
            yield piece
    decoder.finish()
