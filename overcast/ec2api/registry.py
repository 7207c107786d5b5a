"""Operation tables of the Query-family services, filled by ``@EC2.handles("Op")`` decorators."""

from __future__ import annotations

from overcast.core.operations import OperationTable

EC2 = OperationTable("ec2")
STS = OperationTable("sts")
CLOUDFORMATION = OperationTable("cloudformation")


def tables() -> dict[str, OperationTable]:
    """Every Query-family table, with all handler modules imported."""
    from overcast.ec2api import cloudformation, ec2, sts  # noqa: F401  (registers handlers)

    return {"ec2": EC2, "sts": STS, "cloudformation": CLOUDFORMATION}
