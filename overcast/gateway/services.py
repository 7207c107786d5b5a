"""The services this endpoint serves: botocore model, protocol codec and handler table for each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from .codecs.query_family import Ec2Protocol, QueryProtocol
from .codecs.rest_xml import RestXmlProtocol

Handler = Callable[[Any, dict[str, Any]], Any]


@dataclass
class Service:
    name: str                       # botocore service name ("ec2", "sts", …)
    model: ServiceModel
    protocol: Any                   # Ec2Protocol | QueryProtocol | RestXmlProtocol
    handlers: dict[str, Handler] = field(default_factory=dict)
    global_service: bool = False    # STS and IAM answer in every region

    @property
    def signing_name(self) -> str:
        return self.model.signing_name or self.model.endpoint_prefix


@cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


# Root elements of rest-xml answers that the models leave unnamed (what S3 really sends).
ROOT_TAGS = {"s3": {"CreateMultipartUpload": "InitiateMultipartUploadResult", "ListBuckets": "ListAllMyBucketsResult", "ListObjects": "ListBucketResult",
                    "ListObjectsV2": "ListBucketResult", "ListObjectVersions": "ListVersionsResult",
                    "GetBucketLocation": "LocationConstraint", "ListMultipartUploads": "ListMultipartUploadsResult",
                    "ListParts": "ListPartsResult", "GetObjectAcl": "AccessControlPolicy",
                    "GetBucketAcl": "AccessControlPolicy", "GetObjectTagging": "Tagging",
                    "GetBucketTagging": "Tagging", "DeleteObjects": "DeleteResult",
                    "GetBucketVersioning": "VersioningConfiguration", "GetBucketCors": "CORSConfiguration"}}


def protocol_for(model: ServiceModel) -> Any:
    kind = model.metadata["protocol"]
    if kind == "ec2":
        return Ec2Protocol(f"http://ec2.amazonaws.com/doc/{model.api_version}/")
    if kind == "query":
        ns = model.metadata.get("xmlNamespace") or f"https://{model.endpoint_prefix}.amazonaws.com/doc/{model.api_version}/"
        return QueryProtocol(ns)
    if kind == "rest-xml":
        return RestXmlProtocol(model, ROOT_TAGS.get(model.service_name))
    raise ValueError(f"protocol {kind} is not supported")


def build(handler_tables: dict[str, dict[str, Handler]]) -> dict[str, Service]:
    services = {}
    for name, handlers in handler_tables.items():
        model = service_model(name)
        services[name] = Service(name, model, protocol_for(model), handlers,
                                 global_service=name in ("sts", "iam"))
    return services


def default_services() -> dict[str, Service]:
    """Every service Overcast serves, with its handlers."""
    from overcast.ec2api import registry as query_family
    from overcast.s3api import registry as s3

    return build({**query_family.tables(), **s3.tables()})
