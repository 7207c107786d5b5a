"""The S3 operation table, filled by ``@S3.handles("GetObject")`` decorators."""

from __future__ import annotations

from overcast.core.operations import OperationTable

S3 = OperationTable("s3")


def tables() -> dict[str, OperationTable]:
    from . import batch, buckets, copy, listing, multipart, objects  # noqa: F401  (registers handlers)

    return {"s3": S3}
