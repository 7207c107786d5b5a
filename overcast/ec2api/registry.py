"""Handler tables: one per service, filled by ``@EC2.handles("DescribeRegions")`` decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, dict[str, Any]], Any]


class HandlerTable(dict[str, Handler]):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def handles(self, operation: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if operation in self:
                raise ValueError(f"{self.service}:{operation} registered twice")
            self[operation] = fn
            return fn
        return register


EC2 = HandlerTable("ec2")
STS = HandlerTable("sts")
CLOUDFORMATION = HandlerTable("cloudformation")
S3 = HandlerTable("s3")


def handler_tables() -> dict[str, HandlerTable]:
    """Every service's table, with all handler modules imported."""
    from overcast.ec2api import cloudformation, ec2, sts  # noqa: F401  (registers handlers)
    from overcast import s3api  # noqa: F401

    return {"ec2": EC2, "sts": STS, "cloudformation": CLOUDFORMATION, "s3": S3}


def all_services() -> dict[str, Any]:
    from overcast.gateway.services import build

    return build(dict(handler_tables()))
