"""What a handler knows about the request it serves, and the cloud it acts on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cloud import Cloud
    from .identity import Caller


@dataclass
class RequestContext:
    cloud: Cloud
    caller: Caller | None
    region: str
    request_id: str
    operation: str = ""
    body: AsyncIterator[bytes] | None = None   # streamed request payload (S3 PutObject, UploadPart…)
    source_ip: str | None = None               # the client's address (aws:SourceIp in bucket policies)
    secure_transport: bool = False             # the request came over TLS (aws:SecureTransport)

    @property
    def account_id(self) -> str:
        if self.caller is None:
            raise RuntimeError("anonymous request has no account")
        return self.caller.account_id
