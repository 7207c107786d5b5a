"""Configuration of one Overcast installation: where state lives, regions and zones, endpoint.

Read from ``<data-dir>/overcast.toml`` when present; every key has a default so that a fresh
data directory just works.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Zone:
    name: str          # us-east-1a
    zone_id: str       # use1-az1
    region: str


@dataclass(frozen=True)
class Region:
    name: str
    zones: tuple[Zone, ...]

    @property
    def zone_names(self) -> list[str]:
        return [z.name for z in self.zones]


_REGION_CODES = {"us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
                 "eu-west-1": "euw1", "eu-central-1": "euc1", "ap-southeast-1": "apse1"}


def make_region(name: str, letters: str = "abc") -> Region:
    code = _REGION_CODES.get(name, name.replace("-", "")[:5])
    zones = tuple(Zone(f"{name}{letter}", f"{code}-az{i}", name) for i, letter in enumerate(letters, 1))
    return Region(name, zones)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8773
    default_region: str = "us-east-1"
    regions: tuple[Region, ...] = field(default_factory=lambda: (make_region("us-east-1"),))
    domain: str = "localhost"          # S3 virtual hosts: <bucket>.s3.<domain>
    max_clock_skew_seconds: int = 900
    object_nodes: int = 1              # object node processes `overcast up` runs (one per disk/dir)
    object_replicas: int = 3           # capped at the number of nodes
    object_node_port: int = 0          # first node's port (default: gateway port + 1)
    replicator_interval: float = 30    # seconds between passes of the object loops (0: off)
    sweeper_interval: float = 300
    sweeper_grace: float = 3600        # unreferenced replica data younger than this is kept
    auditor_interval: float = 300      # run by each object node
    auditor_bytes_per_second: int = 10 * 1024 * 1024

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'overcast.db'}"

    def region(self, name: str) -> Region | None:
        for region in self.regions:
            if region.name == name:
                return region
        return None

    def zone(self, name: str) -> Zone | None:
        for region in self.regions:
            for zone in region.zones:
                if zone.name == name:
                    return zone
        return None


def load(data_dir: Path, **overrides: Any) -> Config:
    """Config from ``data_dir/overcast.toml`` (if any), then ``overrides`` (non-None values win)."""
    values: dict[str, Any] = {}
    path = data_dir / "overcast.toml"
    if path.exists():
        raw = tomllib.loads(path.read_text())
        for key in ("database_url", "host", "port", "default_region", "domain", "max_clock_skew_seconds",
                    "object_nodes", "object_replicas", "object_node_port", "replicator_interval",
                    "sweeper_interval", "sweeper_grace", "auditor_interval", "auditor_bytes_per_second"):
            if key in raw:
                values[key] = raw[key]
        if "regions" in raw:
            values["regions"] = tuple(make_region(name, spec.get("zones", "abc"))
                                      for name, spec in raw["regions"].items())
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = Config(data_dir=data_dir, **values)
    if config.region(config.default_region) is None:
        raise ValueError(f"default region {config.default_region} is not among the configured regions")
    return config
