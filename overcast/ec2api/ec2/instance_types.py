"""DescribeInstanceTypes, DescribeInstanceTypeOfferings (from the catalog of real types)."""

from __future__ import annotations

from typing import Any

from overcast.core.catalog import instance_types as catalog
from overcast.core.context import RequestContext
from overcast.core.errors import InvalidParameterValue
from overcast.core.filters import apply_filters
from overcast.core.pagination import paginate
from overcast.ec2api.registry import EC2


@EC2.handles("DescribeInstanceTypes")
def describe_instance_types(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = list(catalog.INSTANCE_TYPES)
    wanted = params.get("InstanceTypes")
    if wanted:
        unknown = [name for name in wanted if catalog.get(name) is None]
        if unknown:
            raise InvalidParameterValue(f"The following supplied instance types do not exist: [{', '.join(unknown)}]",
                                        code="InvalidInstanceType")
        items = [i for i in items if i["InstanceType"] in wanted]
    items = apply_filters(items, params.get("Filters"), catalog.FILTERS)
    page, token = paginate(items, params.get("MaxResults"), params.get("NextToken"), "DescribeInstanceTypes",
                           default_page=100)
    return {"InstanceTypes": page, "NextToken": token}


OFFERING_FILTERS = {
    "instance-type": lambda o: o["InstanceType"],
    "location": lambda o: o["Location"],
}


@EC2.handles("DescribeInstanceTypeOfferings")
def describe_instance_type_offerings(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    region = ctx.cloud.config.region(ctx.region)
    assert region is not None
    location_type = params.get("LocationType") or "region"
    if location_type == "region":
        locations = [region.name]
    elif location_type == "availability-zone":
        locations = region.zone_names
    else:
        locations = [z.zone_id for z in region.zones]
    offerings = [{"InstanceType": name, "LocationType": location_type, "Location": loc}
                 for loc in locations for name in catalog.names()]
    offerings = apply_filters(offerings, params.get("Filters"), OFFERING_FILTERS)
    page, token = paginate(offerings, params.get("MaxResults"), params.get("NextToken"),
                           f"DescribeInstanceTypeOfferings/{location_type}", default_page=1000)
    return {"InstanceTypeOfferings": page, "NextToken": token}
