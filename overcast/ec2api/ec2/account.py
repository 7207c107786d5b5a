"""DescribeAccountAttributes."""

from __future__ import annotations

from typing import Any

from overcast.core import limits
from overcast.core.context import RequestContext
from overcast.ec2api.registry import EC2


@EC2.handles("DescribeAccountAttributes")
def describe_account_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    attributes = limits.account_attributes(ctx.cloud, ctx.account_id)
    wanted = params.get("AttributeNames")
    if wanted:
        attributes = {k: v for k, v in attributes.items() if k in wanted}
    return {"AccountAttributes": [{"AttributeName": name, "AttributeValues": [{"AttributeValue": v} for v in values]}
                                  for name, values in attributes.items()]}
