"""EC2 handlers, one module per resource family."""

from . import account, instance_types, key_pairs, regions, tags  # noqa: F401
