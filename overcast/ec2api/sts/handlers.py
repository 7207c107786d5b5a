"""GetCallerIdentity, GetSessionToken, AssumeRole."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import InvalidParameterValue
from overcast.core.identity import Credentials
from overcast.ec2api.registry import STS

_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}\Z")


def _credentials(creds: Credentials) -> dict[str, Any]:
    return {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token, "Expiration": creds.expiration}


def _duration(params: dict[str, Any], default: int, low: int, high: int) -> timedelta:
    seconds = params.get("DurationSeconds", default)
    if not low <= seconds <= high:
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: "
            f"Member must have value {'greater' if seconds < low else 'less'} than or equal to "
            f"{low if seconds < low else high}", code="ValidationError")
    return timedelta(seconds=seconds)


@STS.handles("GetCallerIdentity")
def get_caller_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    caller = ctx.caller
    assert caller is not None
    return {"UserId": caller.user_id, "Account": caller.account_id, "Arn": caller.arn}


@STS.handles("GetSessionToken")
def get_session_token(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    assert ctx.caller is not None
    creds = ctx.cloud.identity.session_token(ctx.caller, _duration(params, 43200, 900, 129600))
    return {"Credentials": _credentials(creds)}


@STS.handles("AssumeRole")
def assume_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    assert ctx.caller is not None
    name = params["RoleSessionName"]
    if not _SESSION_NAME.match(name):
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*", code="ValidationError")
    creds, arn, assumed_id = ctx.cloud.identity.assume_role(ctx.caller, params["RoleArn"], name,
                                                           _duration(params, 3600, 900, 43200))
    return {"Credentials": _credentials(creds), "AssumedRoleUser": {"AssumedRoleId": assumed_id, "Arn": arn},
            "PackedPolicySize": 0}
