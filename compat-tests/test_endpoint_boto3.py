"""The endpoint as boto3 sees it: identity, regions and zones, account attributes, instance types,
tags, and the errors a client must be able to tell apart.  Everything goes to the live server."""

from __future__ import annotations

import math
import uuid
from typing import Any

from botocore.exceptions import ClientError
from helpers import Overcast, error_of, form_post


def _names(pages: Any) -> list[str]:
    return [t["InstanceType"] for page in pages for t in page["InstanceTypes"]]


def _all_instance_types(ec2: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return [t for page in ec2.get_paginator("describe_instance_types").paginate(**kwargs)
            for t in page["InstanceTypes"]]


# --- identity, regions, zones, account ---------------------------------------------------------------

def test_get_caller_identity_is_the_admin_user(overcast: Overcast) -> None:
    resp = overcast.client("sts").get_caller_identity()
    assert resp["Account"] == overcast.account_id
    assert len(resp["Account"]) == 12 and resp["Account"].isdigit()
    assert resp["Arn"] == f"arn:aws:iam::{overcast.account_id}:user/admin"
    assert resp["UserId"]
    assert resp["ResponseMetadata"]["RequestId"]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_describe_regions(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    regions = ec2.describe_regions()["Regions"]
    by_name = {r["RegionName"]: r for r in regions}
    assert "us-east-1" in by_name
    assert by_name["us-east-1"]["OptInStatus"] == "opt-in-not-required"
    assert by_name["us-east-1"]["Endpoint"]
    only = ec2.describe_regions(RegionNames=["us-east-1"])["Regions"]
    assert [r["RegionName"] for r in only] == ["us-east-1"]
    filtered = ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["us-east-*"]}])["Regions"]
    assert "us-east-1" in [r["RegionName"] for r in filtered]
    assert ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["nowhere-1"]}])["Regions"] == []


def test_describe_availability_zones(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"]) for z in zones] == [
        ("us-east-1a", "use1-az1"), ("us-east-1b", "use1-az2"), ("us-east-1c", "use1-az3")]
    for zone in zones:
        assert zone["State"] == "available"
        assert zone["RegionName"] == "us-east-1"
        assert zone["ZoneType"] == "availability-zone"
    by_id = ec2.describe_availability_zones(ZoneIds=["use1-az2"])["AvailabilityZones"]
    assert [z["ZoneName"] for z in by_id] == ["us-east-1b"]
    by_filter = ec2.describe_availability_zones(
        Filters=[{"Name": "zone-name", "Values": ["us-east-1a", "us-east-1c"]}])["AvailabilityZones"]
    assert [z["ZoneId"] for z in by_filter] == ["use1-az1", "use1-az3"]


def test_describe_account_attributes(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["supported-platforms"] == ["VPC"]
    assert len(attrs["default-vpc"]) == 1
    assert attrs["default-vpc"][0] == "none" or attrs["default-vpc"][0].startswith("vpc-")
    assert int(attrs["max-instances"][0]) > 0
    assert int(attrs["max-elastic-ips"][0]) > 0
    assert int(attrs["vpc-max-security-groups-per-interface"][0]) > 0
    one = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in one] == ["default-vpc"]
    # AWS answers for attributes beyond the two its model's enum lists
    more = ec2.describe_account_attributes(AttributeNames=["max-instances", "max-elastic-ips"])["AccountAttributes"]
    assert sorted(a["AttributeName"] for a in more) == ["max-elastic-ips", "max-instances"]


# --- instance types ------------------------------------------------------------------------------------

def test_describe_instance_types_filters(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    arm = _all_instance_types(ec2, Filters=[{"Name": "processor-info.supported-architecture", "Values": ["arm64"]}])
    assert arm, "no arm64 instance types"
    assert all("arm64" in t["ProcessorInfo"]["SupportedArchitectures"] for t in arm)
    two = _all_instance_types(ec2, Filters=[{"Name": "vcpu-info.default-vcpus", "Values": ["2"]}])
    assert two and all(t["VCpuInfo"]["DefaultVCpus"] == 2 for t in two)
    t3 = _all_instance_types(ec2, Filters=[{"Name": "instance-type", "Values": ["t3.*"]}])
    t3_names = {t["InstanceType"] for t in t3}
    assert "t3.micro" in t3_names and all(name.startswith("t3.") for name in t3_names)
    # filters are AND-ed, values of one filter OR-ed
    both = _all_instance_types(ec2, Filters=[
        {"Name": "processor-info.supported-architecture", "Values": ["arm64"]},
        {"Name": "vcpu-info.default-vcpus", "Values": ["2"]}])
    assert {t["InstanceType"] for t in both} == ({t["InstanceType"] for t in arm} & {t["InstanceType"] for t in two})
    either = _all_instance_types(ec2, Filters=[{"Name": "instance-type", "Values": ["t3.micro", "t3.small"]}])
    assert sorted(t["InstanceType"] for t in either) == ["t3.micro", "t3.small"]


def test_describe_instance_types_pagination_walks_every_page(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    paginator = ec2.get_paginator("describe_instance_types")
    everything = _names(paginator.paginate())
    assert len(everything) == len(set(everything)) > 5
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == math.ceil(len(everything) / 5)
    assert all(len(page["InstanceTypes"]) <= 5 for page in pages)
    assert all(len(page["InstanceTypes"]) == 5 for page in pages[:-1])
    assert _names(pages) == everything
    assert "NextToken" not in pages[-1] or not pages[-1]["NextToken"]
    # by hand, with a filter kept across pages
    seen: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 5, "Filters": [{"Name": "instance-type", "Values": ["t3.*", "t4g.*"]}]}
    while True:
        resp = ec2.describe_instance_types(**kwargs)
        seen += [t["InstanceType"] for t in resp["InstanceTypes"]]
        if not resp.get("NextToken"):
            break
        kwargs["NextToken"] = resp["NextToken"]
    assert len(seen) == len(set(seen)) > 5
    assert set(seen) == {n for n in everything if n.startswith(("t3.", "t4g."))}


def test_bad_pagination_token_is_refused(overcast: Overcast) -> None:
    code, status, _ = error_of(overcast.client("ec2").describe_instance_types, MaxResults=5, NextToken="bogus")
    assert (code, status) == ("InvalidPaginationToken", 400)


def test_t3_micro(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    [t3] = ec2.describe_instance_types(InstanceTypes=["t3.micro"])["InstanceTypes"]
    assert t3["InstanceType"] == "t3.micro"
    assert t3["VCpuInfo"]["DefaultVCpus"] == 2
    assert t3["MemoryInfo"]["SizeInMiB"] == 1024
    assert t3["BurstablePerformanceSupported"] is True
    assert "x86_64" in t3["ProcessorInfo"]["SupportedArchitectures"]
    # a real AWS type (in botocore's model) that this cloud does not offer
    code, _, message = error_of(ec2.describe_instance_types, InstanceTypes=["u-6tb1.metal"])
    assert code == "InvalidInstanceType" and "u-6tb1.metal" in message


# --- tags on key pairs -----------------------------------------------------------------------------------

def _key_pair(ec2: Any, prefix: str) -> str:
    resp = ec2.create_key_pair(KeyName=f"{prefix}-{uuid.uuid4().hex[:8]}")
    assert resp["KeyPairId"].startswith("key-")
    return str(resp["KeyPairId"])


def _tags(ec2: Any, *filters: tuple[str, list[str]]) -> list[tuple[str, str, str, str]]:
    resp = ec2.describe_tags(Filters=[{"Name": n, "Values": v} for n, v in filters])
    return sorted((t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in resp["Tags"])


def test_create_describe_delete_tags_on_key_pairs(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    tag = f"t{uuid.uuid4().hex[:6]}"   # a key prefix no other test uses: DescribeTags is account-wide
    mine = ("key", [f"{tag}-*"])
    k1, k2 = _key_pair(ec2, "tags-a"), _key_pair(ec2, "tags-b")
    try:
        ec2.create_tags(Resources=[k1, k2], Tags=[{"Key": f"{tag}-env", "Value": "prod"},
                                                  {"Key": f"{tag}-team", "Value": "blue"}])
        ec2.create_tags(Resources=[k2], Tags=[{"Key": f"{tag}-env", "Value": "dev"},  # overwrites
                                              {"Key": f"{tag}-empty", "Value": ""}])
        assert _tags(ec2, mine) == sorted([
            (k1, "key-pair", f"{tag}-env", "prod"), (k1, "key-pair", f"{tag}-team", "blue"),
            (k2, "key-pair", f"{tag}-empty", ""), (k2, "key-pair", f"{tag}-env", "dev"),
            (k2, "key-pair", f"{tag}-team", "blue")])
        assert _tags(ec2, ("key", [f"{tag}-env"])) == sorted([(k1, "key-pair", f"{tag}-env", "prod"),
                                                               (k2, "key-pair", f"{tag}-env", "dev")])
        assert _tags(ec2, mine, ("value", ["prod"])) == [(k1, "key-pair", f"{tag}-env", "prod")]
        assert [t[0] for t in _tags(ec2, ("resource-id", [k2]))] == [k2, k2, k2]
        assert len(_tags(ec2, mine, ("resource-type", ["key-pair"]))) == 5
        assert _tags(ec2, mine, ("resource-type", ["instance"])) == []
        assert _tags(ec2, (f"tag:{tag}-env", ["dev"])) == [(k2, "key-pair", f"{tag}-env", "dev")]
        # the tags come back on the resource itself
        [pair] = ec2.describe_key_pairs(KeyPairIds=[k1])["KeyPairs"]
        assert {t["Key"]: t["Value"] for t in pair["Tags"]} == {f"{tag}-env": "prod", f"{tag}-team": "blue"}

        # delete with a value: only when the value matches
        ec2.delete_tags(Resources=[k1, k2], Tags=[{"Key": f"{tag}-env", "Value": "prod"}])
        assert _tags(ec2, ("key", [f"{tag}-env"])) == [(k2, "key-pair", f"{tag}-env", "dev")]
        # an empty value deletes only a tag whose value is empty
        ec2.delete_tags(Resources=[k2], Tags=[{"Key": f"{tag}-env", "Value": ""}, {"Key": f"{tag}-empty", "Value": ""}])
        assert _tags(ec2, ("resource-id", [k2]), mine) == [(k2, "key-pair", f"{tag}-env", "dev"),
                                                            (k2, "key-pair", f"{tag}-team", "blue")]
        # without a value: whatever the value
        ec2.delete_tags(Resources=[k2], Tags=[{"Key": f"{tag}-env"}])
        assert _tags(ec2, ("resource-id", [k2]), mine) == [(k2, "key-pair", f"{tag}-team", "blue")]
        # without tags: all of them
        ec2.delete_tags(Resources=[k1])
        assert _tags(ec2, ("resource-id", [k1])) == []
    finally:
        for key_pair in (k1, k2):
            ec2.delete_key_pair(KeyPairId=key_pair)
    assert _tags(ec2, mine) == [], "the tags of a deleted key pair must go with it"


def test_tags_on_unknown_resources(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2")
    code, _, message = error_of(ec2.create_tags, Resources=["key-0123456789abcdef0"],
                                Tags=[{"Key": "k", "Value": "v"}])
    assert code == "InvalidKeyPair.NotFound" and "key-0123456789abcdef0" in message
    assert error_of(ec2.delete_tags, Resources=["key-0123456789abcdef0"])[0] == "InvalidKeyPair.NotFound"
    assert error_of(ec2.create_tags, Resources=["nonsense"], Tags=[{"Key": "k", "Value": "v"}])[0] == "InvalidID"


# --- errors a client must be able to tell apart ------------------------------------------------------------

def test_dry_run(overcast: Overcast) -> None:
    code, status, _ = error_of(overcast.client("ec2").describe_regions, DryRun=True)
    assert (code, status) == ("DryRunOperation", 412)


def test_unknown_action_is_invalid_action(overcast: Overcast) -> None:
    for service, operation in (("ec2", "DescribeRegions"), ("sts", "GetCallerIdentity")):
        resp = form_post(overcast.endpoint, service, {"Action": "DescribeUnicorns"},
                         access_key=overcast.access_key, secret=overcast.secret)
        error = resp.parsed(service, operation)["Error"]
        assert resp.status == 400
        assert error["Code"] == "InvalidAction", (service, resp.body)
        assert "DescribeUnicorns" in error["Message"]


def test_unimplemented_operation_is_unsupported(overcast: Overcast) -> None:
    code, status, message = error_of(overcast.client("ec2").describe_spot_price_history)
    assert (code, status) == ("UnsupportedOperation", 400)
    assert "DescribeSpotPriceHistory" in message


def test_missing_required_parameter(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2", parameter_validation=False)   # boto3 would refuse to send it
    code, status, message = error_of(ec2.create_tags, Resources=["key-0123456789abcdef0"])
    assert (code, status) == ("MissingParameter", 400)
    assert "Tag" in message
    code, _, _ = error_of(ec2.create_key_pair)
    assert code == "MissingParameter"


def test_every_error_carries_a_request_id(overcast: Overcast) -> None:
    try:
        overcast.client("ec2").describe_regions(DryRun=True)
    except ClientError as err:
        assert err.response["ResponseMetadata"]["RequestId"]
    else:
        raise AssertionError("DryRun must fail")
