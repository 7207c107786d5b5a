"""CreateTags, DeleteTags, DescribeTags."""

from __future__ import annotations

from typing import Any

from overcast.core.context import RequestContext
from overcast.core.filters import apply_filters
from overcast.core.pagination import paginate
from overcast.ec2api.registry import EC2

TAG_FILTERS = {
    "key": lambda t: t.key,
    "value": lambda t: t.value,
    "resource-id": lambda t: t.resource_id,
    "resource-type": lambda t: t.resource_type,
}


@EC2.handles("CreateTags")
def create_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.cloud.tags.create(ctx.account_id, params["Resources"], params["Tags"])
    return {}


@EC2.handles("DeleteTags")
def delete_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.cloud.tags.delete(ctx.account_id, params["Resources"], params.get("Tags"))
    return {}


@EC2.handles("DescribeTags")
def describe_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = ctx.cloud.tags.describe(ctx.account_id)
    filters = []
    for flt in params.get("Filters") or []:
        if flt.get("Name", "").startswith("tag:"):
            # tag:<key> on DescribeTags means: rows with that key and one of the values
            filters.append({"Name": "key", "Values": [flt["Name"][4:]]})
            filters.append({"Name": "value", "Values": flt.get("Values") or []})
        else:
            filters.append(flt)
    rows = apply_filters(rows, filters, TAG_FILTERS)
    page, token = paginate(rows, params.get("MaxResults"), params.get("NextToken"), "DescribeTags")
    return {"Tags": [{"Key": t.key, "Value": t.value, "ResourceId": t.resource_id, "ResourceType": t.resource_type}
                     for t in page], "NextToken": token}
