"""CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation."""

from __future__ import annotations

from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError

from .access import account_for, account_of
from .acl import creation_documents
from .registry import S3


@S3.handles("CreateBucket")
def create_bucket(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_of(ctx)
    constraint = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
    region = constraint or "us-east-1"
    if ctx.cloud.config.region(region) is None or constraint == "us-east-1":
        raise AWSError("The specified location-constraint is not valid", code="InvalidLocationConstraint")
    if region != ctx.region and (constraint or ctx.region != "us-east-1"):
        raise AWSError(f"The {region} location constraint is incompatible for the region specific endpoint this "
                       "request was sent to.", code="IllegalLocationConstraintException")
    documents = creation_documents(params, account)   # x-amz-acl, x-amz-grant-*, x-amz-object-ownership
    bucket = ctx.cloud.buckets.create(account, params["Bucket"], region)
    for kind, document in documents.items():
        ctx.cloud.buckets.put_config(account, bucket.name, kind, document)
    return {"Location": f"/{bucket.name}", "BucketArn": f"arn:aws:s3:::{bucket.name}"}


@S3.handles("HeadBucket")
def head_bucket(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = ctx.cloud.buckets.get(account_for(ctx, params), params["Bucket"])
    return {"BucketRegion": bucket.region, "BucketArn": f"arn:aws:s3:::{bucket.name}"}


@S3.handles("DeleteBucket")
def delete_bucket(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.cloud.buckets.delete(account_for(ctx, params), params["Bucket"])
    return {}


@S3.handles("ListBuckets", partial="no MaxBuckets/ContinuationToken paging yet")
def list_buckets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = account_of(ctx)
    buckets = ctx.cloud.buckets.list(account)
    prefix = params.get("Prefix")
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    return {"Buckets": [{"Name": b.name, "CreationDate": b.created_at, "BucketRegion": b.region} for b in buckets],
            "Owner": {"ID": account, "DisplayName": account}}


@S3.handles("GetBucketLocation")
def get_bucket_location(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = ctx.cloud.buckets.get(account_for(ctx, params), params["Bucket"])
    return {"LocationConstraint": None if bucket.region == "us-east-1" else bucket.region}
