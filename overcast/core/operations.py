"""Operation tables: which function serves which API operation of a service.

The API layers (``ec2api``, ``s3api``) fill one table per service with
``@TABLE.handles("DescribeRegions")``; the gateway dispatches through them.  A handler is
``fn(ctx: RequestContext, params: dict) -> dict`` keyed by the operation's member names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, dict[str, Any]], Any]


class OperationTable(dict[str, Handler]):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.partial: dict[str, str] = {}     # operation -> what is missing (shown in docs/api-coverage.md)

    def handles(self, operation: str, partial: str | None = None) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if operation in self:
                raise ValueError(f"{self.service}:{operation} registered twice")
            self[operation] = fn
            if partial:
                self.partial[operation] = partial
            return fn
        return register
