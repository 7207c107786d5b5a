"""Which service a request is for: SigV4 credential scope, then ``Action``/``Version``, then S3.

S3 is the fallback, addressed path-style (``/bucket/key``) or virtual-hosted-style
(``bucket.s3.<domain>``).
"""

from __future__ import annotations

from .services import Service


class Router:
    def __init__(self, services: dict[str, Service], domain: str) -> None:
        self.services = services
        self.domain = domain.lower()
        self.by_signing_name = {svc.signing_name: svc for svc in services.values()}
        self.by_version: dict[str, Service] = {}
        self.by_action: dict[str, Service] = {}
        for svc in services.values():
            if svc.model.metadata["protocol"] in ("ec2", "query"):
                self.by_version.setdefault(svc.model.api_version, svc)
                for op in svc.model.operation_names:
                    self.by_action.setdefault(op, svc)

    def by_scope(self, signing_name: str) -> Service | None:
        return self.by_signing_name.get(signing_name)

    @staticmethod
    def scope_hint(authorization: str, query: list[tuple[str, str]]) -> str:
        """The service named in a credential scope, even when the rest of the signature is unusable."""
        credentials = [v for k, v in query if k == "X-Amz-Credential"]
        if "Credential=" in authorization:
            credentials.append(authorization.split("Credential=", 1)[1].split(",", 1)[0].strip())
        for credential in credentials:
            parts = credential.split("/")
            if len(parts) >= 5:
                return parts[-2]
        return ""

    def by_params(self, pairs: list[tuple[str, str]]) -> Service | None:
        """The service any ``Version`` names, else the one any ``Action`` names (duplicates all count)."""
        for name, table in (("Version", self.by_version), ("Action", self.by_action)):
            for key, value in pairs:
                if key == name and value in table:
                    return table[value]
        return None

    @property
    def s3(self) -> Service | None:
        return self.services.get("s3")

    def bucket_from_host(self, host: str) -> str | None:
        """``mybucket.s3.localhost:8773`` → ``mybucket`` (None for path-style hosts)."""
        name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
        for suffix in (f".s3.{self.domain}", ".s3.amazonaws.com"):
            if name.endswith(suffix) and len(name) > len(suffix):
                bucket = name[: -len(suffix)]
                # s3.<region>.<domain> style: bucket.s3.us-east-1.localhost is not matched here
                return bucket
        marker = ".s3."
        if marker in name and name.endswith("." + self.domain):
            bucket = name.split(marker, 1)[0]
            return bucket or None
        return None
