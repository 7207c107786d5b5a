"""The EC2 instance-type catalog: botocore shape conformance, key figures, ordering and filters."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest

from overcast.core.catalog import instance_types as catalog
from overcast.core.catalog.instance_types import FILTERS, INSTANCE_TYPES, get, names, render

EC2 = botocore.session.get_session().get_service_model("ec2")
INFO_SHAPE = EC2.shape_for("InstanceTypeInfo")


def shape_errors(value: Any, shape: Any, path: str = "") -> list[str]:
    """Every way ``value`` departs from the botocore ``shape`` (empty when it conforms)."""
    kind = shape.type_name
    where = path or "<root>"
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected dict, got {type(value).__name__}"]
        errors = []
        for key, item in value.items():
            if key not in shape.members:
                errors.append(f"{where}: {key!r} is not a member of {shape.name}")
            else:
                errors += shape_errors(item, shape.members[key], f"{path}.{key}" if path else key)
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected bool, got {value!r}"]
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected int, got {value!r}"]
    if kind in ("double", "float"):
        return [] if isinstance(value, float) else [f"{where}: expected float, got {value!r}"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected str, got {value!r}"]
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            return [f"{where}: {value!r} not in enum {shape.name}"]
        return []
    return [f"{where}: unexpected shape type {kind}"]


def test_checker_catches_bad_values() -> None:
    good = {"InstanceType": "t3.micro", "VCpuInfo": {"DefaultVCpus": 2}, "ProcessorInfo": {}}
    assert shape_errors(good, INFO_SHAPE) == []
    assert shape_errors({"Bogus": 1}, INFO_SHAPE)
    assert shape_errors({"InstanceType": "t3.gigantic"}, INFO_SHAPE)
    assert shape_errors({"BareMetal": "false"}, INFO_SHAPE)
    assert shape_errors({"VCpuInfo": {"DefaultVCpus": True}}, INFO_SHAPE)
    assert shape_errors({"ProcessorInfo": {"SustainedClockSpeedInGhz": 3}}, INFO_SHAPE)
    assert shape_errors({"SupportedBootModes": "uefi"}, INFO_SHAPE)
    assert shape_errors({"NetworkInfo": {"NetworkCards": [{"Nope": 0}]}}, INFO_SHAPE)


@pytest.mark.parametrize("info", INSTANCE_TYPES, ids=lambda info: info["InstanceType"])
def test_entry_matches_botocore_shape(info: dict[str, Any]) -> None:
    assert shape_errors(info, INFO_SHAPE) == []


REQUIRED_MEMBERS = (
    "InstanceType", "CurrentGeneration", "FreeTierEligible", "SupportedUsageClasses", "SupportedRootDeviceTypes",
    "SupportedVirtualizationTypes", "BareMetal", "Hypervisor", "ProcessorInfo", "VCpuInfo", "MemoryInfo",
    "InstanceStorageSupported", "EbsInfo", "NetworkInfo", "PlacementGroupInfo", "HibernationSupported",
    "BurstablePerformanceSupported", "DedicatedHostsSupported", "AutoRecoverySupported", "SupportedBootModes",
    "NitroEnclavesSupport", "NitroTpmSupport", "PhcSupport",
)  # fmt: skip
NETWORK_MEMBERS = (
    "NetworkPerformance", "MaximumNetworkInterfaces", "MaximumNetworkCards", "DefaultNetworkCardIndex",
    "NetworkCards", "Ipv4AddressesPerInterface", "Ipv6AddressesPerInterface", "Ipv6Supported", "EnaSupport",
    "EfaSupported", "EncryptionInTransitSupported", "EnaSrdSupported",
)  # fmt: skip


@pytest.mark.parametrize("info", INSTANCE_TYPES, ids=lambda info: info["InstanceType"])
def test_entry_is_complete_and_consistent(info: dict[str, Any]) -> None:
    assert [m for m in REQUIRED_MEMBERS if m not in info] == []
    assert [m for m in NETWORK_MEMBERS if m not in info["NetworkInfo"]] == []
    processor = set(info["ProcessorInfo"])
    assert {"SupportedArchitectures", "SustainedClockSpeedInGhz", "Manufacturer"} <= processor
    assert {"EbsOptimizedSupport", "EncryptionSupport", "NvmeSupport"} <= set(info["EbsInfo"])
    vcpu = info["VCpuInfo"]
    assert vcpu["DefaultVCpus"] == vcpu["DefaultCores"] * vcpu["DefaultThreadsPerCore"]
    if "ValidCores" in vcpu:
        assert max(vcpu["ValidCores"]) == vcpu["DefaultCores"]
        assert vcpu["ValidCores"] == sorted(set(vcpu["ValidCores"]))
        assert vcpu["DefaultThreadsPerCore"] in vcpu["ValidThreadsPerCore"]
    # Nitro types are EBS-optimized by default and publish their EBS figures; Xen t2 is not.
    ebs = info["EbsInfo"]
    if info["Hypervisor"] == "nitro":
        assert ebs["EbsOptimizedSupport"] == "default" and ebs["NvmeSupport"] == "required"
        opt = ebs["EbsOptimizedInfo"]
        assert opt["BaselineBandwidthInMbps"] <= opt["MaximumBandwidthInMbps"]
        assert opt["BaselineThroughputInMBps"] == opt["BaselineBandwidthInMbps"] / 8
        assert opt["MaximumThroughputInMBps"] == opt["MaximumBandwidthInMbps"] / 8
        assert opt["BaselineIops"] <= opt["MaximumIops"]
        assert info["NetworkInfo"]["EnaSupport"] == "required"
    else:
        assert "EbsOptimizedInfo" not in ebs
    network = info["NetworkInfo"]
    (card,) = network["NetworkCards"]
    assert card["NetworkCardIndex"] == network["DefaultNetworkCardIndex"] == 0
    assert card["NetworkPerformance"] == network["NetworkPerformance"]
    assert card["MaximumNetworkInterfaces"] == network["MaximumNetworkInterfaces"]
    assert card["BaselineBandwidthInGbps"] <= card["PeakBandwidthInGbps"]
    assert network["EfaSupported"] == ("EfaInfo" in network)
    assert (info["NitroTpmSupport"] == "supported") == ("NitroTpmInfo" in info)
    assert info["BurstablePerformanceSupported"] == info["InstanceType"].startswith("t")
    assert info["HibernationSupported"] is False or info["MemoryInfo"]["SizeInMiB"] < 150 * 1024


KEY_FIGURES = {
    # name: (vCPUs, MiB, architecture)
    "t2.nano": (1, 512, "x86_64"),
    "t2.micro": (1, 1024, "x86_64"),
    "t2.medium": (2, 4096, "x86_64"),
    "t2.2xlarge": (8, 32768, "x86_64"),
    "t3.nano": (2, 512, "x86_64"),
    "t3.micro": (2, 1024, "x86_64"),
    "t3.small": (2, 2048, "x86_64"),
    "t3.large": (2, 8192, "x86_64"),
    "t3.2xlarge": (8, 32768, "x86_64"),
    "t3a.medium": (2, 4096, "x86_64"),
    "t4g.micro": (2, 1024, "arm64"),
    "t4g.xlarge": (4, 16384, "arm64"),
    "m5.large": (2, 8192, "x86_64"),
    "m5.xlarge": (4, 16384, "x86_64"),
    "m5.8xlarge": (32, 131072, "x86_64"),
    "m5.12xlarge": (48, 196608, "x86_64"),
    "m5.16xlarge": (64, 262144, "x86_64"),
    "m5.24xlarge": (96, 393216, "x86_64"),
    "m5a.4xlarge": (16, 65536, "x86_64"),
    "m6i.2xlarge": (8, 32768, "x86_64"),
    "m7i.large": (2, 8192, "x86_64"),
    "m7i.4xlarge": (16, 65536, "x86_64"),
    "c5.large": (2, 4096, "x86_64"),
    "c5.9xlarge": (36, 73728, "x86_64"),
    "c6i.xlarge": (4, 8192, "x86_64"),
    "c7g.medium": (1, 2048, "arm64"),
    "c7g.large": (2, 4096, "arm64"),
    "r5.large": (2, 16384, "x86_64"),
    "r5.4xlarge": (16, 131072, "x86_64"),
    "r6i.large": (2, 16384, "x86_64"),
    "a1.medium": (1, 2048, "arm64"),
    "a1.4xlarge": (16, 32768, "arm64"),
    "m6g.large": (2, 8192, "arm64"),
    "m6g.16xlarge": (64, 262144, "arm64"),
}


@pytest.mark.parametrize("name", sorted(KEY_FIGURES))
def test_key_figures(name: str) -> None:
    vcpus, mib, arch = KEY_FIGURES[name]
    info = get(name)
    assert info is not None
    assert info["VCpuInfo"]["DefaultVCpus"] == vcpus
    assert info["MemoryInfo"]["SizeInMiB"] == mib
    assert arch in info["ProcessorInfo"]["SupportedArchitectures"]


def test_selected_details() -> None:
    t2 = get("t2.micro")
    assert t2 is not None
    assert t2["Hypervisor"] == "xen" and t2["SupportedBootModes"] == ["legacy-bios"]
    assert t2["ProcessorInfo"]["SupportedArchitectures"] == ["i386", "x86_64"]
    assert t2["NetworkInfo"]["EnaSupport"] == "unsupported"
    t3 = get("t3.micro")
    assert t3 is not None
    assert t3["FreeTierEligible"] is True and t3["BurstablePerformanceSupported"] is True
    assert t3["VCpuInfo"]["DefaultCores"] == 1 and t3["VCpuInfo"]["DefaultThreadsPerCore"] == 2
    assert t3["NetworkInfo"]["NetworkPerformance"] == "Up to 5 Gigabit"
    assert t3["PlacementGroupInfo"]["SupportedStrategies"] == ["partition", "spread"]
    m5 = get("m5.large")
    assert m5 is not None
    assert m5["NetworkInfo"]["MaximumNetworkInterfaces"] == 3
    assert m5["NetworkInfo"]["Ipv4AddressesPerInterface"] == 10
    assert m5["EbsInfo"]["EbsOptimizedInfo"]["MaximumBandwidthInMbps"] == 4750
    c7g = get("c7g.16xlarge")
    assert c7g is not None
    assert c7g["SupportedBootModes"] == ["uefi"] and c7g["ProcessorInfo"]["Manufacturer"] == "AWS"
    assert c7g["NetworkInfo"]["EfaSupported"] is True
    assert c7g["VCpuInfo"]["DefaultThreadsPerCore"] == 1


def test_families_and_sizes() -> None:
    by_family: dict[str, list[str]] = {}
    for name in names():
        family, _, size = name.partition(".")
        by_family.setdefault(family, []).append(size)
    burstable = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"]
    for family in ("t2", "t3", "t3a", "t4g"):
        assert by_family[family] == burstable
    m5_sizes = "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge".split()
    assert by_family["m5"] == m5_sizes
    for family in ("m5a", "m6i", "m7i", "c5", "c6i", "c7g", "r5", "r6i"):
        assert {"large", "xlarge", "2xlarge", "4xlarge"} <= set(by_family[family]), family
    for family in ("a1", "m6g"):
        assert len(by_family[family]) >= 3
    for info in INSTANCE_TYPES:
        arm = info["InstanceType"].split(".")[0] in ("t4g", "c7g", "a1", "m6g")
        architectures = info["ProcessorInfo"]["SupportedArchitectures"]
        assert architectures == ["arm64"] if arm else "arm64" not in architectures


def test_names_unique_and_ordered() -> None:
    listed = names()
    assert listed == [info["InstanceType"] for info in INSTANCE_TYPES]
    assert len(listed) == len(set(listed))
    assert listed == sorted(listed, key=catalog.sort_key)
    t3 = [listed.index(f"t3.{size}") for size in ("nano", "micro", "small", "medium", "large")]
    assert t3 == sorted(t3)
    assert listed.index("m5.large") < listed.index("m5.xlarge") < listed.index("m5.2xlarge")
    assert listed.index("m5.2xlarge") < listed.index("m5.12xlarge") < listed.index("m5.24xlarge")
    assert listed.index("c5.24xlarge") < listed.index("c6i.large")
    assert catalog.size_rank("metal") > catalog.size_rank("48xlarge")


def test_get_returns_copy_and_none_for_unknown() -> None:
    assert get("t3.gigantic") is None
    assert get("") is None
    first = get("t3.micro")
    assert first is not None
    first["MemoryInfo"]["SizeInMiB"] = 1
    again = get("t3.micro")
    assert again is not None and again["MemoryInfo"]["SizeInMiB"] == 1024


def _documented_filters() -> set[str]:
    doc = EC2.operation_model("DescribeInstanceTypes").input_shape.members["Filters"].documentation
    return set(re.findall(r"<li>\s*<p>\s*<code>([a-z0-9.-]+)</code>", doc))


def test_filter_names_are_documented() -> None:
    documented = _documented_filters()
    assert len(documented) > 30
    assert sorted(set(FILTERS) - documented) == []
    wanted = {
        "auto-recovery-supported", "bare-metal", "burstable-performance-supported", "current-generation",
        "ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps", "ebs-info.ebs-optimized-info.baseline-iops",
        "ebs-info.ebs-optimized-info.baseline-throughput-in-mbps",
        "ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps", "ebs-info.ebs-optimized-info.maximum-iops",
        "ebs-info.ebs-optimized-info.maximum-throughput-in-mbps", "ebs-info.ebs-optimized-support",
        "ebs-info.encryption-support", "ebs-info.nvme-support", "free-tier-eligible", "hibernation-supported",
        "hypervisor", "instance-storage-supported", "instance-type", "memory-info.size-in-mib",
        "network-info.efa-supported", "network-info.ena-support", "network-info.encryption-in-transit-supported",
        "network-info.ipv4-addresses-per-interface", "network-info.ipv6-addresses-per-interface",
        "network-info.ipv6-supported", "network-info.maximum-network-cards",
        "network-info.maximum-network-interfaces", "network-info.network-performance",
        "processor-info.supported-architecture", "processor-info.sustained-clock-speed-in-ghz",
        "supported-boot-mode", "supported-root-device-type", "supported-usage-class",
        "supported-virtualization-type", "vcpu-info.default-cores", "vcpu-info.default-threads-per-core",
        "vcpu-info.default-vcpus", "vcpu-info.valid-cores", "vcpu-info.valid-threads-per-core",
    }  # fmt: skip
    assert sorted(wanted - set(FILTERS)) == []


@pytest.mark.parametrize("info", INSTANCE_TYPES, ids=lambda info: info["InstanceType"])
def test_every_getter_returns_strings_or_none(info: dict[str, Any]) -> None:
    for name, getter in FILTERS.items():
        value = getter(info)
        ok = (
            value is None
            or isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        )
        assert ok, (name, value)


@pytest.mark.parametrize(
    ("name", "filter_name", "expected"),
    [
        ("t3.micro", "instance-type", "t3.micro"),
        ("t3.micro", "vcpu-info.default-vcpus", "2"),
        ("t3.micro", "memory-info.size-in-mib", "1024"),
        ("t3.micro", "free-tier-eligible", "true"),
        ("t3.micro", "burstable-performance-supported", "true"),
        ("t3.micro", "bare-metal", "false"),
        ("t3.micro", "hypervisor", "nitro"),
        ("t3.micro", "supported-boot-mode", ["legacy-bios", "uefi"]),
        ("t3.micro", "vcpu-info.valid-threads-per-core", ["1", "2"]),
        ("t3.2xlarge", "vcpu-info.valid-cores", ["2", "4"]),
        ("t2.micro", "hypervisor", "xen"),
        ("t2.micro", "processor-info.supported-architecture", ["i386", "x86_64"]),
        ("t2.micro", "ebs-info.ebs-optimized-info.baseline-iops", None),
        ("t2.micro", "ebs-info.ebs-optimized-support", "unsupported"),
        ("t2.micro", "nitro-tpm-info.supported-versions", None),
        ("t2.micro", "vcpu-info.valid-cores", None),
        ("m5.large", "processor-info.sustained-clock-speed-in-ghz", "3.1"),
        ("m5.large", "ebs-info.ebs-optimized-info.baseline-throughput-in-mbps", "81.25"),
        ("m5.8xlarge", "ebs-info.ebs-optimized-info.maximum-throughput-in-mbps", "850"),
        ("m5.large", "network-info.network-performance", "Up to 10 Gigabit"),
        ("m5.large", "network-info.maximum-network-interfaces", "3"),
        ("m5.large", "current-generation", "false"),
        ("m5.large", "supported-usage-class", ["on-demand", "spot"]),
        ("m5.large", "instance-storage-info.disk.count", None),
        ("m5.large", "instance-storage-info.total-size-in-gb", None),
        ("m5.large", "nitro-tpm-info.supported-versions", ["2.0"]),
        ("c7g.large", "processor-info.supported-architecture", ["arm64"]),
        ("c7g.16xlarge", "network-info.efa-supported", "true"),
        ("c7g.16xlarge", "network-info.efa-info.maximum-efa-interfaces", "1"),
        ("c7g.large", "network-info.efa-info.maximum-efa-interfaces", None),
        ("r6i.large", "hibernation-supported", "false"),
        ("m7i.large", "ebs-info.attachment-limit-type", "dedicated"),
        ("m6i.large", "network-info.flexible-ena-queues-support", "supported"),
    ],
)
def test_filter_getters(name: str, filter_name: str, expected: object) -> None:
    info = get(name)
    assert info is not None
    assert FILTERS[filter_name](info) == expected


def test_filter_getter_on_instance_storage() -> None:
    fake = {
        "InstanceType": "m5d.large",
        "InstanceStorageInfo": {
            "TotalSizeInGB": 75,
            "Disks": [{"SizeInGB": 75, "Count": 1, "Type": "ssd"}],
            "NvmeSupport": "required",
            "EncryptionSupport": "required",
        },
    }
    assert shape_errors(fake, INFO_SHAPE) == []
    assert FILTERS["instance-storage-info.disk.count"](fake) == ["1"]
    assert FILTERS["instance-storage-info.disk.size-in-gb"](fake) == ["75"]
    assert FILTERS["instance-storage-info.disk.type"](fake) == ["ssd"]
    assert FILTERS["instance-storage-info.total-size-in-gb"](fake) == "75"
    assert FILTERS["instance-storage-info.nvme-support"](fake) == "required"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (8, "8"),
        (2.0, "2"),
        (2.5, "2.5"),
        (0.781, "0.781"),
        ("x86_64", "x86_64"),
    ],
)
def test_render(value: object, expected: str) -> None:
    assert render(value) == expected
