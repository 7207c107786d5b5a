"""EC2 handlers, one module per resource family."""

from . import account, instance_types, regions, tags  # noqa: F401
