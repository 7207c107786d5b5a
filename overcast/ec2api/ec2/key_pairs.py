"""CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair."""

from __future__ import annotations

from typing import Any

from overcast.core import tags
from overcast.core.context import RequestContext
from overcast.core.keypairs import KeyPairInfo
from overcast.ec2api.registry import EC2


def _summary(info: KeyPairInfo) -> dict[str, Any]:
    return {"KeyPairId": info.id, "KeyName": info.name, "KeyFingerprint": info.fingerprint,
            "Tags": tags.as_list(info.tags)}


@EC2.handles("CreateKeyPair")
def create_key_pair(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    info, material = ctx.cloud.keypairs.create(ctx.account_id, params["KeyName"], params.get("KeyType"),
                                               params.get("KeyFormat"), params.get("TagSpecifications"))
    return {**_summary(info), "KeyMaterial": material}


@EC2.handles("ImportKeyPair")
def import_key_pair(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    info = ctx.cloud.keypairs.import_key(ctx.account_id, params["KeyName"], params["PublicKeyMaterial"],
                                         params.get("TagSpecifications"))
    return _summary(info)


@EC2.handles("DescribeKeyPairs")
def describe_key_pairs(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = ctx.cloud.keypairs.describe(ctx.account_id, params.get("KeyNames"), params.get("KeyPairIds"),
                                        params.get("Filters"))
    include_public = params.get("IncludePublicKey") is True
    return {"KeyPairs": [{**_summary(k), "KeyType": k.key_type, "CreateTime": k.created_at,
                          **({"PublicKey": k.public_key} if include_public else {})} for k in found]}


@EC2.handles("DeleteKeyPair")
def delete_key_pair(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    deleted = ctx.cloud.keypairs.delete(ctx.account_id, params.get("KeyName"), params.get("KeyPairId"))
    return {"Return": True, **({"KeyPairId": deleted} if deleted else {})}
