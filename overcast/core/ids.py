"""The one place where resource identifiers are minted."""

from __future__ import annotations

import secrets
import string
import uuid

_ALNUM_UPPER = string.ascii_uppercase + string.digits
_ALNUM = string.ascii_letters + string.digits

# AWS resource id prefixes (17 hex digits after the dash, like modern AWS ids).
PREFIXES = {
    "instance": "i", "volume": "vol", "snapshot": "snap", "image": "ami", "key-pair": "key",
    "vpc": "vpc", "subnet": "subnet", "security-group": "sg", "security-group-rule": "sgr",
    "network-interface": "eni", "internet-gateway": "igw", "natgateway": "nat", "route-table": "rtb",
    "route-table-association": "rtbassoc", "network-acl": "acl", "network-acl-association": "aclassoc",
    "dhcp-options": "dopt", "elastic-ip": "eipalloc", "elastic-ip-association": "eipassoc",
    "vpc-cidr-association": "vpc-cidr-assoc", "subnet-cidr-association": "subnet-cidr-assoc",
    "reservation": "r", "network-interface-attachment": "eni-attach", "placement-group": "pg",
    "launch-template": "lt", "import-task": "import-ami", "export-task": "export-ami",
}


def resource_id(kind: str) -> str:
    """``resource_id("instance")`` → ``i-0123456789abcdef0``."""
    return f"{PREFIXES[kind]}-{secrets.token_hex(9)[:17]}"


def account_id() -> str:
    """A 12-digit account id that does not start with 0."""
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def request_id() -> str:
    return str(uuid.uuid4())


def s3_request_id() -> str:
    return secrets.token_hex(8).upper()


def _upper(n: int) -> str:
    return "".join(secrets.choice(_ALNUM_UPPER) for _ in range(n))


def access_key_id(temporary: bool = False) -> str:
    """``AKIA…`` for long-term keys, ``ASIA…`` for temporary (STS) keys; 20 characters."""
    return ("ASIA" if temporary else "AKIA") + _upper(16)


def secret_access_key() -> str:
    return "".join(secrets.choice(_ALNUM + "/+") for _ in range(40))


def session_token() -> str:
    return secrets.token_urlsafe(180)


def principal_id(kind: str) -> str:
    """IAM unique ids: ``AIDA…`` users, ``AROA…`` roles."""
    return {"user": "AIDA", "role": "AROA"}[kind] + _upper(17)


def is_resource_id(value: str, kind: str) -> bool:
    prefix = PREFIXES[kind] + "-"
    if not value.startswith(prefix):
        return False
    rest = value[len(prefix):]
    return len(rest) in (8, 17) and all(c in "0123456789abcdef" for c in rest)
