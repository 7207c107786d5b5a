"""Who may touch a bucket.  Until bucket policies and ACLs exist: only its owner, never anonymous."""

from __future__ import annotations

from overcast.core.context import RequestContext
from overcast.core.errors import AccessDenied


def account_of(ctx: RequestContext) -> str:
    if ctx.caller is None:
        raise AccessDenied("Access Denied")
    return ctx.caller.account_id
