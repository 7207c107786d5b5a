"""Render ``docs/api-coverage.md``: every operation of every served service and whether Overcast
does it, from the dispatch tables checked against the botocore models.

``python -m overcast.gateway.coverage > docs/api-coverage.md``; a test fails when the file is stale.
"""

from __future__ import annotations

import sys

from .services import default_services

TITLES = {"ec2": "EC2 (incl. VPC and EBS)", "sts": "STS", "cloudformation": "CloudFormation", "s3": "S3"}


def render() -> str:
    services = default_services()
    out = ["# API coverage", "",
           "Generated from the dispatch tables against botocore's service models "
           "(`python -m overcast.gateway.coverage > docs/api-coverage.md`; `tests/test_api_coverage_doc.py` "
           "fails when this file is stale).", "",
           "*supported*: implemented and tested; *partial*: implemented with the limits noted; "
           "*not yet*: answers `UnsupportedOperation` (EC2) or `NotImplemented` (others), never a fake success.", "",
           "| service | supported | partial | not yet | total |", "|---|---:|---:|---:|---:|"]
    sections = []
    for name, svc in services.items():
        ops = sorted(svc.model.operation_names)
        partial = getattr(svc.handlers, "partial", {})
        done = [o for o in ops if o in svc.handlers and o not in partial]
        part = [o for o in ops if o in partial]
        out.append(f"| {TITLES.get(name, name)} | {len(done)} | {len(part)} | {len(ops) - len(done) - len(part)} "
                   f"| {len(ops)} |")
        section = ["", f"## {TITLES.get(name, name)} (API {svc.model.api_version})", "",
                   "| operation | status | notes |", "|---|---|---|"]
        for op in ops:
            if op in partial:
                section.append(f"| {op} | partial | {partial[op]} |")
            elif op in svc.handlers:
                section.append(f"| {op} | supported | |")
            else:
                section.append(f"| {op} | not yet | |")
        sections += section
    return "\n".join(out + sections) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
