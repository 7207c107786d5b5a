"""The S3 operation table, filled by ``@S3.handles("GetObject")`` decorators."""

from __future__ import annotations

from collections.abc import Callable

from overcast.core.operations import Handler, OperationTable


class HookedTable(OperationTable):
    """An operation table with request hooks besides the operations: ``hooks["preflight"]`` answers an
    HTTP ``OPTIONS`` request, ``hooks["response_headers"]`` adds headers to every successful answer
    (both called like handlers; see ``gateway/app.py``)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.hooks: dict[str, Handler] = {}

    def hook(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.hooks[name] = fn
            return fn
        return register


S3 = HookedTable("s3")


def tables() -> dict[str, OperationTable]:
    from . import acl, batch, buckets, copy, cors, listing, multipart, objects, policy, tagging  # noqa: F401  (registers)

    return {"s3": S3}
