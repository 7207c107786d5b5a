"""STS handlers."""

from . import handlers  # noqa: F401
