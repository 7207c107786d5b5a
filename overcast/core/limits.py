"""Per-account limits and the attributes ``DescribeAccountAttributes`` reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cloud import Cloud

MAX_INSTANCES = 20
MAX_ELASTIC_IPS = 5
MAX_SECURITY_GROUPS_PER_INTERFACE = 5

# The VPC family registers a lookup here when it exists: (cloud, account_id) -> "vpc-…" or None.
default_vpc_lookup: Callable[[Cloud, str], str | None] | None = None


def account_attributes(cloud: Cloud, account_id: str) -> dict[str, list[str]]:
    default_vpc = default_vpc_lookup(cloud, account_id) if default_vpc_lookup else None
    return {
        "supported-platforms": ["VPC"],
        "default-vpc": [default_vpc or "none"],
        "max-instances": [str(MAX_INSTANCES)],
        "vpc-max-security-groups-per-interface": [str(MAX_SECURITY_GROUPS_PER_INTERFACE)],
        "max-elastic-ips": [str(MAX_ELASTIC_IPS)],
        "vpc-max-elastic-ips": [str(MAX_ELASTIC_IPS)],
    }
