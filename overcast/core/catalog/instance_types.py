"""EC2 instance-type catalog: what DescribeInstanceTypes answers, as pure data.

Every entry of :data:`INSTANCE_TYPES` is a dict keyed exactly by the members of botocore's
``InstanceTypeInfo`` output shape (nested structures keyed by their member names), with
Python values of the types botocore uses (bool, int, float, str, list, dict).  The figures
are the ones AWS publishes for those types (us-east-1); per family they are produced by
small builders from a compact per-size table instead of being written out one by one.

:data:`FILTERS` maps each DescribeInstanceTypes filter name to a getter that renders the
entry's value the way AWS compares filter values (see :func:`render`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FILTERS", "INSTANCE_TYPES", "get", "names", "render", "size_rank", "sort_key"]

# --------------------------------------------------------------------------- ordering

_NAMED_SIZES = ("nano", "micro", "small", "medium", "large", "xlarge")


def size_rank(size: str) -> tuple[int, int]:
    """Order sizes nano < micro < small < medium < large < xlarge < 2xlarge < ... < metal."""
    if size in _NAMED_SIZES:
        return (_NAMED_SIZES.index(size), 0)
    match = re.fullmatch(r"(\d+)xlarge", size)
    if match:
        return (len(_NAMED_SIZES), int(match.group(1)))
    return (len(_NAMED_SIZES) + 1, 0)


def sort_key(name: str) -> tuple[str, tuple[int, int], str]:
    """Catalog order: by family, then by size order."""
    family, _, size = name.partition(".")
    return (family, size_rank(size), size)


# --------------------------------------------------------------------------- builders

_GIB = 1024
_HIBERNATION_MAX_MIB = 150 * _GIB  # AWS: On-Demand hibernation needs < 150 GiB of RAM.
_CONNTRACK = {"DefaultTcpEstablishedTimeout": 432000, "DefaultUdpTimeout": 30, "DefaultUdpStreamTimeout": 180}

# (MaximumNetworkInterfaces, Ipv4AddressesPerInterface) for a Nitro size; families override a few.
_ENIS: dict[str, tuple[int, int]] = {
    "nano": (2, 2), "micro": (2, 2), "small": (3, 4), "medium": (3, 6), "large": (3, 10),
    "xlarge": (4, 15), "2xlarge": (4, 15), "4xlarge": (8, 30), "8xlarge": (8, 30), "9xlarge": (8, 30),
    "12xlarge": (8, 30), "16xlarge": (15, 50), "18xlarge": (15, 50), "24xlarge": (15, 50),
    "32xlarge": (15, 50), "48xlarge": (15, 50),
}  # fmt: skip
_GRAVITON_ENIS = {"medium": (2, 4)}
_BURSTABLE_ENIS = {"large": (3, 12)}
_BURSTABLE_MIB = {
    "nano": 512, "micro": 1024, "small": 2048, "medium": 4096,
    "large": 8192, "xlarge": 16384, "2xlarge": 32768,
}  # fmt: skip
# Flexible ENA queues (6th generation Intel): MaximumEnaQueueCount per size.
_FLEX_MAX_QUEUES = {"large": 6, "xlarge": 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 64, "12xlarge": 64}

# One size of a family: (size, EBS baseline Mbps, EBS max Mbps, baseline IOPS, max IOPS,
# NetworkPerformance, baseline Gbps[, overrides merged last into the built dict]).
Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Family:
    name: str
    manufacturer: str
    clock_ghz: float
    rows: tuple[Row, ...]
    arm: bool = False
    gib_per_vcpu: int = 4
    cores: str | None = "even"  # ValidCores rule: "even", "even1" (xlarge gets [1, 2]), "all" or None.
    hibernation: bool = True
    enclaves: bool = True
    current: bool = True
    dedicated_hosts: bool = True
    burstable: bool = False
    ena_queues: int | None = 8  # DefaultEnaQueueCountPerInterface; None: min(vCPUs, 8).
    srd_min_vcpus: int | None = None  # ENA Express (ENA SRD) from this many vCPUs up.
    efa_size: str | None = None
    in_transit_encryption: bool = False
    flexible_queues: bool = False
    phc: bool = False
    secondary_ipv4: bool = False
    ebs_attachments: Mapping[str, int] | None = None  # "dedicated" EBS attachment limits per size.
    enis: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    hypervisor: str = "nitro"
    nitro_tpm: bool = True


def _vcpus(size: str) -> int:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    match = re.fullmatch(r"(\d*)xlarge", size)
    if not match:
        raise ValueError(f"no vCPU rule for size {size!r}")
    return 4 * int(match.group(1) or 1)


def _valid_cores(rule: str | None, cores: int) -> list[int] | None:
    if rule is None:
        return None
    if rule == "all":
        return list(range(1, cores + 1))
    if cores == 1:
        return [1]
    if cores == 2:
        return [1, 2] if rule == "even1" else [2]
    return list(range(2, cores + 1, 2))


def _peak_gbps(performance: str, baseline: float) -> float:
    match = re.search(r"([\d.]+) Gigabit", performance)
    return float(match.group(1)) if match else baseline


def _merge(target: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Deep-merge ``overrides`` into ``target``; lists of structures merge element by element."""
    for key, value in overrides.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge(current, value)
        elif (
            isinstance(value, list) and value and isinstance(current, list) and isinstance(value[0], Mapping)
        ):
            for item, patch in zip(current, value, strict=True):
                _merge(item, patch)
        else:
            target[key] = copy.deepcopy(value)


def _build(fam: _Family, row: Row, vcpus: int, mem_mib: int) -> dict[str, Any]:
    size, ebs_base, ebs_max, iops_base, iops_max, performance, base_gbps, *rest = row
    nitro = fam.hypervisor == "nitro"
    threads = 1 if fam.arm or not nitro else 2  # Graviton cores and t2 (Xen) vCPUs are single-threaded
    cores = vcpus // threads
    enis, ipv4 = {**_ENIS, **fam.enis}[size]
    vcpu_info: dict[str, Any] = {
        "DefaultVCpus": vcpus,
        "DefaultCores": cores,
        "DefaultThreadsPerCore": threads,
    }
    valid = _valid_cores(fam.cores, cores) if vcpus > 1 else None
    if valid is not None:
        vcpu_info["ValidCores"] = valid
        vcpu_info["ValidThreadsPerCore"] = [1] if threads == 1 else [1, 2]
    ebs: dict[str, Any] = {
        "EbsOptimizedSupport": "default" if nitro else "unsupported",
        "EncryptionSupport": "supported",
    }
    if ebs_base is not None:
        ebs["EbsOptimizedInfo"] = {
            "BaselineBandwidthInMbps": ebs_base,
            "BaselineThroughputInMBps": ebs_base / 8,
            "BaselineIops": iops_base,
            "MaximumBandwidthInMbps": ebs_max,
            "MaximumThroughputInMBps": ebs_max / 8,
            "MaximumIops": iops_max,
        }
    ebs["NvmeSupport"] = "required" if nitro else "unsupported"
    if fam.ebs_attachments:
        ebs.update(MaximumEbsAttachments=fam.ebs_attachments[size], AttachmentLimitType="dedicated")
    else:
        ebs.update(MaximumEbsAttachments=27 if nitro else 40, AttachmentLimitType="shared")
    card: dict[str, Any] = {
        "NetworkCardIndex": 0,
        "NetworkPerformance": performance,
        "MaximumNetworkInterfaces": enis,
        "BaselineBandwidthInGbps": float(base_gbps),
        "PeakBandwidthInGbps": _peak_gbps(performance, base_gbps),
        "DefaultEnaQueueCountPerInterface": fam.ena_queues or min(vcpus, 8),
    }
    if fam.flexible_queues:
        card.update(
            AdditionalFlexibleNetworkInterfaces=0,
            MaximumEnaQueueCount=_FLEX_MAX_QUEUES.get(size, 120),
            MaximumEnaQueueCountPerInterface=min(vcpus, 32),
        )
    efa = size == fam.efa_size
    network: dict[str, Any] = {
        "NetworkPerformance": performance,
        "MaximumNetworkInterfaces": enis,
        "MaximumNetworkCards": 1,
        "DefaultNetworkCardIndex": 0,
        "NetworkCards": [card],
        "Ipv4AddressesPerInterface": ipv4,
        "Ipv6AddressesPerInterface": ipv4,
        "Ipv6Supported": True,
        "EnaSupport": "required" if nitro else "unsupported",
        "EfaSupported": efa,
        **({"EfaInfo": {"MaximumEfaInterfaces": 1}} if efa else {}),
        "EncryptionInTransitSupported": fam.in_transit_encryption,
        "EnaSrdSupported": fam.srd_min_vcpus is not None and vcpus >= fam.srd_min_vcpus,
        "FlexibleEnaQueuesSupport": "supported" if fam.flexible_queues else "unsupported",
        "ConnectionTrackingConfiguration": dict(_CONNTRACK),
        "SecondaryNetworkSupported": False,
        **({"Ipv4AddressesPerSecondaryInterface": 0} if fam.secondary_ipv4 else {}),
    }
    placement = ["partition", "spread"] if fam.burstable else ["cluster", "partition", "spread"]
    boot_modes = ["uefi"] if fam.arm else (["legacy-bios", "uefi"] if nitro else ["legacy-bios"])
    enclaves = fam.enclaves and vcpus >= (2 if fam.arm else 4)  # x86 needs 4 vCPUs, Graviton 2
    info: dict[str, Any] = {
        "InstanceType": f"{fam.name}.{size}",
        "CurrentGeneration": fam.current,
        "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"],
        "BareMetal": False,
        "Hypervisor": fam.hypervisor,
        "ProcessorInfo": {
            "SupportedArchitectures": ["arm64" if fam.arm else "x86_64"],
            "SustainedClockSpeedInGhz": fam.clock_ghz,
            "Manufacturer": fam.manufacturer,
        },
        "VCpuInfo": vcpu_info,
        "MemoryInfo": {"SizeInMiB": mem_mib},
        "InstanceStorageSupported": False,
        "EbsInfo": ebs,
        "NetworkInfo": network,
        "PlacementGroupInfo": {"SupportedStrategies": placement},
        "HibernationSupported": fam.hibernation and mem_mib < _HIBERNATION_MAX_MIB,
        "BurstablePerformanceSupported": fam.burstable,
        "DedicatedHostsSupported": fam.dedicated_hosts,
        "AutoRecoverySupported": True,
        "SupportedBootModes": boot_modes,
        "NitroEnclavesSupport": "supported" if enclaves else "unsupported",
        "NitroTpmSupport": "supported" if fam.nitro_tpm else "unsupported",
        "PhcSupport": "supported" if fam.phc else "unsupported",
        "RebootMigrationSupport": "supported",
    }
    if info["NitroTpmSupport"] == "supported":
        info["NitroTpmInfo"] = {"SupportedVersions": ["2.0"]}
    for overrides in rest:
        _merge(info, overrides)
    return info


def _family(fam: _Family) -> list[dict[str, Any]]:
    """Fixed-performance family: vCPUs follow the size, memory is a fixed GiB per vCPU."""
    out = []
    for row in fam.rows:
        vcpus = _vcpus(row[0])
        out.append(_build(fam, row, vcpus, vcpus * fam.gib_per_vcpu * _GIB))
    return out


def _burstable(
    fam: _Family, vcpus: Mapping[str, int], free_tier: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """T family: vCPUs and memory come from the burstable size tables."""
    out = []
    for row in fam.rows:
        size = row[0]
        info = _build(fam, row, vcpus[size], _BURSTABLE_MIB[size])
        info["FreeTierEligible"] = size in free_tier
        out.append(info)
    return out


def _unlimited_t_rows(ebs_baselines: tuple[int, ...]) -> tuple[Row, ...]:
    """t3/t3a/t4g: EBS bursts to 2085 Mbps (to 2780 from large up), network up to 5 Gigabit."""
    rows = []
    for i, (size, baseline) in enumerate(zip(_BURSTABLE_MIB, ebs_baselines, strict=True)):
        small = i < 4
        rows.append((size, baseline, 2085 if small else 2780, min(250 << i, 4000), 11800 if small else 15700,
                     "Up to 5 Gigabit", 0.032 * (1 << i)))  # fmt: skip
    return tuple(rows)


def _even_cores(first: int, last: int, step: int = 2) -> dict[str, Any]:
    return {"VCpuInfo": {"ValidCores": list(range(first, last + 1, step))}}


_T3_VCPUS = dict.fromkeys(_BURSTABLE_MIB, 2) | {"xlarge": 4, "2xlarge": 8}
_T2_VCPUS = {"nano": 1, "micro": 1, "small": 1, "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8}
_T3_EBS = (43, 87, 174, 347, 695, 695, 695)
_T3A_EBS = (45, 90, 175, 350, 695, 695, 695)
_I386 = {"ProcessorInfo": {"SupportedArchitectures": ["i386", "x86_64"]}}
_NO_DEDICATED_HOSTS = {"DedicatedHostsSupported": False}
_CASCADE_LAKE = {"ProcessorInfo": {"SustainedClockSpeedInGhz": 3.6}}  # c5.12xlarge and c5.24xlarge


def _t2_row(size: str, base_gbps: float, clock: float, *extra: dict[str, Any]) -> Row:
    performance = "Moderate" if size in ("xlarge", "2xlarge") else "Low to Moderate"
    peak = 0.512 if size == "nano" else 1.024  # t2 bursts to ~1 Gbps whatever the label says
    return (size, None, None, None, None, performance, base_gbps,
            {"ProcessorInfo": {"SustainedClockSpeedInGhz": clock}},
            {"NetworkInfo": {"NetworkCards": [{"PeakBandwidthInGbps": peak}]}}, *extra)  # fmt: skip


def _t2() -> list[dict[str, Any]]:
    rows = (
        _t2_row("nano", 0.032, 2.4, _I386, {"SupportedUsageClasses": ["on-demand"]}),
        _t2_row("micro", 0.064, 2.5, _I386),
        _t2_row("small", 0.128, 2.5, _I386),
        _t2_row("medium", 0.256, 2.3, _I386),
        _t2_row("large", 0.512, 2.3),
        _t2_row("xlarge", 0.75, 2.3),
        _t2_row("2xlarge", 1.0, 2.3),
    )
    fam = _Family("t2", "Intel", 2.3, rows, cores=None, enclaves=False, dedicated_hosts=False, burstable=True,
                  ena_queues=1, enis={"large": (3, 12), "xlarge": (3, 15), "2xlarge": (3, 15)},
                  hypervisor="xen", nitro_tpm=False)  # fmt: skip
    return _burstable(fam, _T2_VCPUS)


# Sizes shared by m5 and r5: (size, EBS base/max Mbps, base/max IOPS, network, baseline Gbps).
_M5_ROWS: tuple[Row, ...] = (
    ("large", 650, 4750, 3600, 18750, "Up to 10 Gigabit", 0.75),
    ("xlarge", 1150, 4750, 6000, 18750, "Up to 10 Gigabit", 1.25),
    ("2xlarge", 2300, 4750, 12000, 18750, "Up to 10 Gigabit", 2.5),
    ("4xlarge", 4750, 4750, 18750, 18750, "Up to 10 Gigabit", 5.0),
    ("8xlarge", 6800, 6800, 30000, 30000, "10 Gigabit", 10.0),
    ("12xlarge", 9500, 9500, 40000, 40000, "12 Gigabit", 12.0),
    ("16xlarge", 13600, 13600, 60000, 60000, "20 Gigabit", 20.0),
    ("24xlarge", 19000, 19000, 80000, 80000, "25 Gigabit", 25.0, _even_cores(4, 48)),
)
_M5A_ROWS: tuple[Row, ...] = (
    ("large", 650, 2880, 3600, 16000, "Up to 10 Gigabit", 0.75),
    ("xlarge", 1085, 2880, 6000, 16000, "Up to 10 Gigabit", 1.25),
    ("2xlarge", 1580, 2880, 8333, 16000, "Up to 10 Gigabit", 2.5),
    ("4xlarge", 2880, 2880, 16000, 16000, "Up to 10 Gigabit", 5.0),
    ("8xlarge", 4750, 4750, 20000, 20000, "Up to 10 Gigabit", 7.5, _even_cores(4, 16)),
    ("12xlarge", 6780, 6780, 30000, 30000, "10 Gigabit", 10.0, _even_cores(6, 24, 6)),
    ("16xlarge", 9500, 9500, 40000, 40000, "12 Gigabit", 12.0, _even_cores(8, 32)),
    ("24xlarge", 13750, 13750, 60000, 60000, "20 Gigabit", 20.0,
     {"VCpuInfo": {"ValidCores": [12, 18, 24, 36, 48]}}),
)  # fmt: skip
_C5_ROWS: tuple[Row, ...] = (
    ("large", 650, 4750, 4000, 20000, "Up to 10 Gigabit", 0.75),
    ("xlarge", 1150, 4750, 6000, 20000, "Up to 10 Gigabit", 1.25),
    ("2xlarge", 2300, 4750, 10000, 20000, "Up to 10 Gigabit", 2.5),
    ("4xlarge", 4750, 4750, 20000, 20000, "Up to 10 Gigabit", 5.0),
    ("9xlarge", 9500, 9500, 40000, 40000, "12 Gigabit", 12.0),
    ("12xlarge", 9500, 9500, 40000, 40000, "12 Gigabit", 12.0, _CASCADE_LAKE),
    ("18xlarge", 19000, 19000, 80000, 80000, "25 Gigabit", 25.0, _even_cores(4, 36)),
    ("24xlarge", 19000, 19000, 80000, 80000, "25 Gigabit", 25.0, _CASCADE_LAKE, _NO_DEDICATED_HOSTS),
)  # fmt: skip
# Sizes shared by the 6th/7th generation Intel families (m6i, c6i, r6i and, up to 24xlarge, m7i).
_ICE_LAKE_ROWS: tuple[Row, ...] = (
    ("large", 650, 10000, 3600, 40000, "Up to 12.5 Gigabit", 0.781),
    ("xlarge", 1250, 10000, 6000, 40000, "Up to 12.5 Gigabit", 1.562),
    ("2xlarge", 2500, 10000, 12000, 40000, "Up to 12.5 Gigabit", 3.125),
    ("4xlarge", 5000, 10000, 20000, 40000, "Up to 12.5 Gigabit", 6.25),
    ("8xlarge", 10000, 10000, 40000, 40000, "12.5 Gigabit", 12.5),
    ("12xlarge", 15000, 15000, 60000, 60000, "18.75 Gigabit", 18.75),
    ("16xlarge", 20000, 20000, 80000, 80000, "25 Gigabit", 25.0),
    ("24xlarge", 30000, 30000, 120000, 120000, "37.5 Gigabit", 37.5),
    ("32xlarge", 40000, 40000, 160000, 160000, "50 Gigabit", 50.0),
)
_M7I_ROWS: tuple[Row, ...] = (
    *_ICE_LAKE_ROWS[:-2],
    (*_ICE_LAKE_ROWS[-2], _NO_DEDICATED_HOSTS),
    ("48xlarge", 40000, 40000, 240000, 240000, "50 Gigabit", 50.0, _even_cores(4, 96), _NO_DEDICATED_HOSTS,
     {"NetworkInfo": {"NetworkCards": [{"DefaultEnaQueueCountPerInterface": 16}]}}),
)  # fmt: skip
_M7I_EBS_ATTACHMENTS = dict.fromkeys(("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge"), 32) | {
    "16xlarge": 48, "24xlarge": 64, "48xlarge": 128,
}  # fmt: skip
_C7G_ROWS: tuple[Row, ...] = (
    ("medium", 315, 10000, 2500, 40000, "Up to 12.5 Gigabit", 0.52),
    ("large", 630, 10000, 3600, 40000, "Up to 12.5 Gigabit", 0.937),
    ("xlarge", 1250, 10000, 6000, 40000, "Up to 12.5 Gigabit", 1.876),
    ("2xlarge", 2500, 10000, 12000, 40000, "Up to 15 Gigabit", 3.75),
    ("4xlarge", 5000, 10000, 20000, 40000, "Up to 15 Gigabit", 7.5),
    ("8xlarge", 10000, 10000, 40000, 40000, "15 Gigabit", 15.0),
    ("12xlarge", 15000, 15000, 60000, 60000, "22.5 Gigabit", 22.5),
    ("16xlarge", 20000, 20000, 80000, 80000, "30 Gigabit", 30.0),
)
_A1_ROWS: tuple[Row, ...] = (
    ("medium", 300, 3500, 2500, 20000, "Up to 10 Gigabit", 0.5),
    ("large", 525, 3500, 4000, 20000, "Up to 10 Gigabit", 0.75),
    ("xlarge", 800, 3500, 6000, 20000, "Up to 10 Gigabit", 1.25),
    ("2xlarge", 1750, 3500, 10000, 20000, "Up to 10 Gigabit", 2.5),
    ("4xlarge", 3500, 3500, 20000, 20000, "Up to 10 Gigabit", 5.0),
)
_M6G_ROWS: tuple[Row, ...] = (
    ("medium", 315, 4750, 2500, 20000, "Up to 10 Gigabit", 0.5),
    ("large", 630, 4750, 3600, 20000, "Up to 10 Gigabit", 0.75),
    ("xlarge", 1188, 4750, 6000, 20000, "Up to 10 Gigabit", 1.25),
    ("2xlarge", 2375, 4750, 12000, 20000, "Up to 10 Gigabit", 2.5),
    ("4xlarge", 4750, 4750, 20000, 20000, "Up to 10 Gigabit", 5.0),
    ("8xlarge", 9500, 9500, 40000, 40000, "12 Gigabit", 12.0),
    ("12xlarge", 14250, 14250, 50000, 50000, "20 Gigabit", 20.0),
    ("16xlarge", 19000, 19000, 80000, 80000, "25 Gigabit", 25.0),
)


def _ice_lake(name: str, gib_per_vcpu: int, *, current: bool, hibernation: bool = True) -> _Family:
    return _Family(name, "Intel", 3.5, _ICE_LAKE_ROWS, gib_per_vcpu=gib_per_vcpu, cores="even1",
                   current=current, hibernation=hibernation, ena_queues=None, srd_min_vcpus=32,
                   efa_size="32xlarge", in_transit_encryption=True, flexible_queues=True)  # fmt: skip


def _build_catalog() -> tuple[dict[str, Any], ...]:
    graviton: dict[str, Any] = {"arm": True, "manufacturer": "AWS", "cores": "all", "enis": _GRAVITON_ENIS}
    t_common: dict[str, Any] = {"burstable": True, "enclaves": False, "enis": _BURSTABLE_ENIS}
    t3a: dict[str, Any] = {**t_common, "dedicated_hosts": False, "enis": {**_BURSTABLE_ENIS, "small": (2, 4)}}
    entries = [
        *_t2(),
        *_burstable(_Family("t3", "Intel", 2.5, _unlimited_t_rows(_T3_EBS), ena_queues=None, **t_common),
                    _T3_VCPUS, free_tier=("micro", "small")),
        *_burstable(_Family("t3a", "AMD", 2.2, _unlimited_t_rows(_T3A_EBS), **t3a), _T3_VCPUS),
        *_burstable(_Family("t4g", "AWS", 2.5, _unlimited_t_rows(_T3_EBS), arm=True, cores="all",
                            ena_queues=None, dedicated_hosts=False, **t_common),
                    _T3_VCPUS, free_tier=("micro", "small")),
        *_family(_Family("m5", "Intel", 3.1, _M5_ROWS, current=False)),
        *_family(_Family("m5a", "AMD", 2.5, _M5A_ROWS, dedicated_hosts=False)),
        *_family(_ice_lake("m6i", 4, current=False)),
        *_family(_Family("m7i", "Intel", 3.2, _M7I_ROWS, cores="all", ena_queues=None, srd_min_vcpus=48,
                         efa_size="48xlarge", in_transit_encryption=True, phc=True, secondary_ipv4=True,
                         ebs_attachments=_M7I_EBS_ATTACHMENTS)),
        *_family(_Family("c5", "Intel", 3.4, _C5_ROWS, gib_per_vcpu=2, current=False)),
        *_family(_ice_lake("c6i", 2, current=True)),
        *_family(_Family("c7g", clock_ghz=2.6, rows=_C7G_ROWS, gib_per_vcpu=2, ena_queues=None,
                         srd_min_vcpus=48, efa_size="16xlarge", in_transit_encryption=True,
                         secondary_ipv4=True, **graviton)),
        *_family(_Family("r5", "Intel", 3.1, _M5_ROWS, gib_per_vcpu=8, current=False)),
        *_family(_ice_lake("r6i", 8, current=False, hibernation=False)),
        *_family(_Family("a1", clock_ghz=2.3, rows=_A1_ROWS, gib_per_vcpu=2, current=False, hibernation=False,
                         enclaves=False, nitro_tpm=False, **{**graviton, "cores": None})),
        *_family(_Family("m6g", clock_ghz=2.5, rows=_M6G_ROWS, **graviton)),
    ]  # fmt: skip
    entries.sort(key=lambda info: sort_key(info["InstanceType"]))
    return tuple(entries)


INSTANCE_TYPES: tuple[dict[str, Any], ...] = _build_catalog()
_BY_NAME: dict[str, dict[str, Any]] = {info["InstanceType"]: info for info in INSTANCE_TYPES}


def get(name: str) -> dict[str, Any] | None:
    """A deep copy of the catalog entry for ``name`` (e.g. ``"t3.micro"``), or None if unknown."""
    info = _BY_NAME.get(name)
    return copy.deepcopy(info) if info is not None else None


def names() -> list[str]:
    """Every instance type name, in catalog order (family, then size)."""
    return [info["InstanceType"] for info in INSTANCE_TYPES]


# --------------------------------------------------------------------------- filters


def render(value: Any) -> str:
    """A scalar the way AWS compares filter values: "true"/"false", "8", "2.5", "x86_64"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dig(info: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = info
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _field(*path: str) -> Callable[[dict[str, Any]], str | list[str] | None]:
    """Getter for the member at ``path``: a string, a list of strings for lists, None when absent."""

    def getter(info: dict[str, Any]) -> str | list[str] | None:
        value = _dig(info, path)
        if value is None:
            return None
        if isinstance(value, list):
            return [render(item) for item in value]
        return render(value)

    return getter


def _each(list_path: tuple[str, ...], *path: str) -> Callable[[dict[str, Any]], list[str] | None]:
    """Getter for the member at ``path`` of every structure in the list at ``list_path``."""

    def getter(info: dict[str, Any]) -> list[str] | None:
        items = _dig(info, list_path)
        if not items:
            return None
        values = [_dig(item, path) for item in items]
        return [render(value) for value in values if value is not None] or None

    return getter


_EBS_OPT = ("EbsInfo", "EbsOptimizedInfo")
_DISKS = ("InstanceStorageInfo", "Disks")

FILTERS: dict[str, Callable[[dict[str, Any]], object]] = {
    "auto-recovery-supported": _field("AutoRecoverySupported"),
    "bare-metal": _field("BareMetal"),
    "burstable-performance-supported": _field("BurstablePerformanceSupported"),
    "current-generation": _field("CurrentGeneration"),
    "dedicated-hosts-supported": _field("DedicatedHostsSupported"),
    "ebs-info.attachment-limit-type": _field("EbsInfo", "AttachmentLimitType"),
    "ebs-info.maximum-ebs-attachments": _field("EbsInfo", "MaximumEbsAttachments"),
    "ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps": _field(*_EBS_OPT, "BaselineBandwidthInMbps"),
    "ebs-info.ebs-optimized-info.baseline-iops": _field(*_EBS_OPT, "BaselineIops"),
    "ebs-info.ebs-optimized-info.baseline-throughput-in-mbps": _field(*_EBS_OPT, "BaselineThroughputInMBps"),
    "ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps": _field(*_EBS_OPT, "MaximumBandwidthInMbps"),
    "ebs-info.ebs-optimized-info.maximum-iops": _field(*_EBS_OPT, "MaximumIops"),
    "ebs-info.ebs-optimized-info.maximum-throughput-in-mbps": _field(*_EBS_OPT, "MaximumThroughputInMBps"),
    "ebs-info.ebs-optimized-support": _field("EbsInfo", "EbsOptimizedSupport"),
    "ebs-info.encryption-support": _field("EbsInfo", "EncryptionSupport"),
    "ebs-info.nvme-support": _field("EbsInfo", "NvmeSupport"),
    "free-tier-eligible": _field("FreeTierEligible"),
    "hibernation-supported": _field("HibernationSupported"),
    "hypervisor": _field("Hypervisor"),
    "instance-storage-info.disk.count": _each(_DISKS, "Count"),
    "instance-storage-info.disk.size-in-gb": _each(_DISKS, "SizeInGB"),
    "instance-storage-info.disk.type": _each(_DISKS, "Type"),
    "instance-storage-info.encryption-support": _field("InstanceStorageInfo", "EncryptionSupport"),
    "instance-storage-info.nvme-support": _field("InstanceStorageInfo", "NvmeSupport"),
    "instance-storage-info.total-size-in-gb": _field("InstanceStorageInfo", "TotalSizeInGB"),
    "instance-storage-supported": _field("InstanceStorageSupported"),
    "instance-type": _field("InstanceType"),
    "memory-info.size-in-mib": _field("MemoryInfo", "SizeInMiB"),
    "network-info.bandwidth-weightings": _field("NetworkInfo", "BandwidthWeightings"),
    "network-info.efa-info.maximum-efa-interfaces": _field("NetworkInfo", "EfaInfo", "MaximumEfaInterfaces"),
    "network-info.efa-supported": _field("NetworkInfo", "EfaSupported"),
    "network-info.ena-support": _field("NetworkInfo", "EnaSupport"),
    "network-info.encryption-in-transit-supported": _field("NetworkInfo", "EncryptionInTransitSupported"),
    "network-info.flexible-ena-queues-support": _field("NetworkInfo", "FlexibleEnaQueuesSupport"),
    "network-info.ipv4-addresses-per-interface": _field("NetworkInfo", "Ipv4AddressesPerInterface"),
    "network-info.ipv6-addresses-per-interface": _field("NetworkInfo", "Ipv6AddressesPerInterface"),
    "network-info.ipv6-supported": _field("NetworkInfo", "Ipv6Supported"),
    "network-info.maximum-network-cards": _field("NetworkInfo", "MaximumNetworkCards"),
    "network-info.maximum-network-interfaces": _field("NetworkInfo", "MaximumNetworkInterfaces"),
    "network-info.network-performance": _field("NetworkInfo", "NetworkPerformance"),
    "nitro-enclaves-support": _field("NitroEnclavesSupport"),
    "nitro-tpm-support": _field("NitroTpmSupport"),
    "nitro-tpm-info.supported-versions": _field("NitroTpmInfo", "SupportedVersions"),
    "processor-info.supported-architecture": _field("ProcessorInfo", "SupportedArchitectures"),
    "processor-info.supported-features": _field("ProcessorInfo", "SupportedFeatures"),
    "processor-info.sustained-clock-speed-in-ghz": _field("ProcessorInfo", "SustainedClockSpeedInGhz"),
    "reboot-migration-support": _field("RebootMigrationSupport"),
    "supported-boot-mode": _field("SupportedBootModes"),
    "supported-root-device-type": _field("SupportedRootDeviceTypes"),
    "supported-usage-class": _field("SupportedUsageClasses"),
    "supported-virtualization-type": _field("SupportedVirtualizationTypes"),
    "vcpu-info.default-cores": _field("VCpuInfo", "DefaultCores"),
    "vcpu-info.default-threads-per-core": _field("VCpuInfo", "DefaultThreadsPerCore"),
    "vcpu-info.default-vcpus": _field("VCpuInfo", "DefaultVCpus"),
    "vcpu-info.valid-cores": _field("VCpuInfo", "ValidCores"),
    "vcpu-info.valid-threads-per-core": _field("VCpuInfo", "ValidThreadsPerCore"),
}
