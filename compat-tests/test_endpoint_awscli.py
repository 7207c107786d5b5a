"""The endpoint as the AWS CLIs see it, unmodified: Debian's AWS CLI v2 (/usr/bin/aws, which predates
``endpoint_url`` in profiles, so it always gets ``--endpoint-url``) and PyPI's AWS CLI v1 in the venv
(which honours ``AWS_ENDPOINT_URL`` and the ``endpoint_url`` of the profile ``overcast up`` wrote).

Each CLI run is a separate process of about a second, so independent runs go in parallel."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import pytest
from helpers import AWS_V1, AWS_V2, Account, Overcast, in_parallel

CLIS = ["v1", "v2"]


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"{result.args} failed ({result.returncode}):\n{result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None


def fails_with(result: subprocess.CompletedProcess[str], code: str) -> str:
    assert result.returncode != 0, f"{result.args} should have failed:\n{result.stdout}"
    assert f"({code})" in result.stderr, f"{result.args}: expected {code}, got:\n{result.stderr}"
    return result.stderr


def test_both_clis_are_installed() -> None:
    """The CLI tests never skip: a missing CLI is a broken test environment."""
    assert AWS_V2.exists(), f"Debian's AWS CLI v2 is missing at {AWS_V2} (apt-get install awscli)"
    assert AWS_V1.exists(), f"PyPI's AWS CLI v1 is missing at {AWS_V1} (pip install -e '.[test]')"


def test_profile_written_by_overcast_up(overcast: Overcast) -> None:
    config = (overcast.home / ".aws" / "config").read_text()
    credentials = (overcast.home / ".aws" / "credentials").read_text()
    assert "[profile overcast]" in config and f"endpoint_url = {overcast.endpoint}" in config
    assert "region = us-east-1" in config
    assert overcast.access_key in credentials and overcast.secret in credentials


@pytest.mark.parametrize("cli", CLIS)
def test_identity_and_placement(overcast: Overcast, cli: str) -> None:
    admin = overcast.admin_account
    calls = {
        "identity (profile)": lambda: overcast.aws(cli, "sts", "get-caller-identity"),
        "identity (env keys)": lambda: overcast.aws(cli, "sts", "get-caller-identity", account=admin),
        "regions": lambda: overcast.aws(cli, "ec2", "describe-regions"),
        "zones": lambda: overcast.aws(cli, "ec2", "describe-availability-zones",
                                      "--filters", "Name=state,Values=available"),
        "attributes": lambda: overcast.aws(cli, "ec2", "describe-account-attributes"),
    }
    if cli == "v1":   # nothing but the profile: its endpoint_url is honoured
        calls["identity (profile only)"] = lambda: overcast.aws(cli, "sts", "get-caller-identity",
                                                                endpoint_in="profile")
    results = {name: ok(result) for name, result in in_parallel(calls).items()}
    for name in calls:
        if name.startswith("identity"):
            assert results[name]["Account"] == overcast.account_id, name
            assert results[name]["Arn"] == f"arn:aws:iam::{overcast.account_id}:user/admin", name
    assert "us-east-1" in [r["RegionName"] for r in results["regions"]["Regions"]]
    zones = results["zones"]["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"], z["State"]) for z in zones] == [
        ("us-east-1a", "use1-az1", "available"), ("us-east-1b", "use1-az2", "available"),
        ("us-east-1c", "use1-az3", "available")]
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in results["attributes"]["AccountAttributes"]}
    assert attrs["supported-platforms"] == ["VPC"]
    assert "default-vpc" in attrs and int(attrs["max-instances"][0]) > 0


@pytest.mark.parametrize("cli", CLIS)
def test_instance_types(overcast: Overcast, cli: str) -> None:
    ec2 = overcast.client("ec2")
    everything = [t["InstanceType"] for page in ec2.get_paginator("describe_instance_types").paginate()
                  for t in page["InstanceTypes"]]
    names = ("--query", "InstanceTypes[].InstanceType")
    results = in_parallel({
        # the CLI follows NextToken by itself: 5 per request, every page
        "paged": lambda: overcast.aws(cli, "ec2", "describe-instance-types", "--page-size", "5", *names),
        "arm64 with 2 vCPUs": lambda: overcast.aws(
            cli, "ec2", "describe-instance-types", "--filters",
            "Name=processor-info.supported-architecture,Values=arm64", "Name=vcpu-info.default-vcpus,Values=2"),
        "t3.*": lambda: overcast.aws(cli, "ec2", "describe-instance-types", "--filters",
                                     "Name=instance-type,Values=t3.*", *names),
        "t3.micro": lambda: overcast.aws(cli, "ec2", "describe-instance-types", "--instance-types", "t3.micro"),
    })
    paged = ok(results["paged"])
    assert len(paged) == len(set(paged)) == len(everything)
    assert paged == everything
    arm = ok(results["arm64 with 2 vCPUs"])["InstanceTypes"]
    assert arm and all("arm64" in t["ProcessorInfo"]["SupportedArchitectures"] and t["VCpuInfo"]["DefaultVCpus"] == 2
                       for t in arm)
    t3 = ok(results["t3.*"])
    assert "t3.micro" in t3 and all(name.startswith("t3.") for name in t3)
    [micro] = ok(results["t3.micro"])["InstanceTypes"]
    assert (micro["VCpuInfo"]["DefaultVCpus"], micro["MemoryInfo"]["SizeInMiB"]) == (2, 1024)
    assert micro["BurstablePerformanceSupported"] is True


@pytest.mark.parametrize("cli", CLIS)
def test_tags(overcast: Overcast, cli: str) -> None:
    ec2 = overcast.client("ec2")
    key_pair = ec2.create_key_pair(KeyName=f"cli-{cli}-{uuid.uuid4().hex[:8]}")["KeyPairId"]
    try:
        ok(overcast.aws(cli, "ec2", "create-tags", "--resources", key_pair,
                        "--tags", "Key=Name,Value=from the CLI", "Key=env,Value=prod", "Key=team,Value=blue"))
        described = ok(overcast.aws(cli, "ec2", "describe-tags", "--filters", f"Name=resource-id,Values={key_pair}",
                                    "Name=resource-type,Values=key-pair"))["Tags"]
        assert sorted((t["Key"], t["Value"], t["ResourceType"]) for t in described) == [
            ("Name", "from the CLI", "key-pair"), ("env", "prod", "key-pair"), ("team", "blue", "key-pair")]
        # env=dev does not match env=prod; team goes whatever its value
        ok(overcast.aws(cli, "ec2", "delete-tags", "--resources", key_pair, "--tags", "Key=env,Value=dev", "Key=team"))
        left = ok(overcast.aws(cli, "ec2", "describe-tags", "--filters", f"Name=resource-id,Values={key_pair}",
                               "Name=tag:env,Values=prod"))["Tags"]
        assert [(t["Key"], t["Value"]) for t in left] == [("env", "prod")]
        remaining = {t["Key"]: t["Value"] for t in ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [key_pair]}])["Tags"]}
        assert remaining == {"Name": "from the CLI", "env": "prod"}
    finally:
        ec2.delete_key_pair(KeyPairId=key_pair)


@pytest.mark.parametrize("cli", CLIS)
def test_errors(overcast: Overcast, cli: str) -> None:
    wrong = Account(overcast.account_id, overcast.access_key, "not-the-secret")
    results = in_parallel({
        "dry run": lambda: overcast.aws(cli, "ec2", "describe-regions", "--dry-run"),
        "unimplemented": lambda: overcast.aws(cli, "ec2", "describe-spot-price-history"),
        "wrong secret (ec2)": lambda: overcast.aws(cli, "ec2", "describe-regions", account=wrong),
        "wrong secret (sts)": lambda: overcast.aws(cli, "sts", "get-caller-identity", account=wrong),
        "no such key pair": lambda: overcast.aws(cli, "ec2", "create-tags", "--resources", "key-0123456789abcdef0",
                                                 "--tags", "Key=k,Value=v"),
    })
    fails_with(results["dry run"], "DryRunOperation")
    fails_with(results["unimplemented"], "UnsupportedOperation")
    fails_with(results["wrong secret (ec2)"], "AuthFailure")
    fails_with(results["wrong secret (sts)"], "SignatureDoesNotMatch")
    fails_with(results["no such key pair"], "InvalidKeyPair.NotFound")
