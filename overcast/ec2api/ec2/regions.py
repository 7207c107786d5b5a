"""DescribeRegions, DescribeAvailabilityZones."""

from __future__ import annotations

from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import InvalidParameterValue
from overcast.core.filters import apply_filters
from overcast.ec2api.registry import EC2

REGION_FILTERS = {
    "endpoint": lambda r: r["Endpoint"],
    "region-name": lambda r: r["RegionName"],
    "opt-in-status": lambda r: r["OptInStatus"],
}
ZONE_FILTERS = {
    "group-name": lambda z: z["GroupName"],
    "message": lambda z: [m["Message"] for m in z["Messages"]],
    "opt-in-status": lambda z: z["OptInStatus"],
    "parent-zone-id": lambda z: z.get("ParentZoneId"),
    "parent-zone-name": lambda z: z.get("ParentZoneName"),
    "region-name": lambda z: z["RegionName"],
    "state": lambda z: z["State"],
    "zone-id": lambda z: z["ZoneId"],
    "zone-name": lambda z: z["ZoneName"],
    "zone-type": lambda z: z["ZoneType"],
    "network-border-group": lambda z: z["NetworkBorderGroup"],
}


@EC2.handles("DescribeRegions")
def describe_regions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    config = ctx.cloud.config
    regions = [{"RegionName": r.name, "Endpoint": config.endpoint.split("://", 1)[-1],
                "OptInStatus": "opt-in-not-required"} for r in config.regions]
    names = params.get("RegionNames")
    if names:
        unknown = [n for n in names if config.region(n) is None]
        if unknown:
            raise InvalidParameterValue(f"Invalid region: {unknown[0]}")
        regions = [r for r in regions if r["RegionName"] in names]
    return {"Regions": apply_filters(regions, params.get("Filters"), REGION_FILTERS)}


@EC2.handles("DescribeAvailabilityZones")
def describe_availability_zones(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    region = ctx.cloud.config.region(ctx.region)
    assert region is not None
    zones = [{"ZoneName": z.name, "ZoneId": z.zone_id, "State": "available", "OptInStatus": "opt-in-not-required",
              "Messages": [], "RegionName": region.name, "GroupName": region.name,
              "NetworkBorderGroup": region.name, "ZoneType": "availability-zone", "GroupLongName": region.name}
             for z in region.zones]
    names, zone_ids = params.get("ZoneNames"), params.get("ZoneIds")
    for wanted, key in ((names, "ZoneName"), (zone_ids, "ZoneId")):
        if wanted:
            known = {z[key] for z in zones}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise InvalidParameterValue(f"The zone '{missing[0]}' does not exist.")
    if names or zone_ids:
        zones = [z for z in zones if z["ZoneName"] in (names or []) or z["ZoneId"] in (zone_ids or [])]
    return {"AvailabilityZones": apply_filters(zones, params.get("Filters"), ZONE_FILTERS)}
