"""Bucket CORS: Put/Get/DeleteBucketCors, the rules' validation and matching, the ``OPTIONS`` preflight
and the CORS headers of actual requests.

The configuration is the bucket's ``cors`` document, in the shape of PutBucketCors's
``CORSConfiguration`` (``{"CORSRules": [{"AllowedOrigins": [...], ...}]}``).  The gateway knows
nothing of CORS: it calls two hooks of the S3 table, ``preflight`` for an ``OPTIONS`` request and
``response_headers`` for the extra headers of every answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from overcast.core.context import RequestContext
from overcast.core.errors import AWSError, NotFound

from .access import account_for
from .registry import S3

KIND = "cors"
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100
MAX_ID = 255
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
               "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
               "whitelisted by the resource's CORS spec.")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
Rule = Mapping[str, Any]


# -- rules ------------------------------------------------------------------------------------------

def _invalid(message: str) -> AWSError:
    return AWSError(message, code="InvalidRequest")


def check_rules(config: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """S3's validation of a CORS configuration; the rules as they are stored."""
    rules = list((config or {}).get("CORSRules") or [])
    if not rules:
        raise AWSError("The XML you provided was not well-formed or did not validate against our published schema",
                       code="MalformedXML")
    if len(rules) > MAX_RULES:
        raise _invalid(f"The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules.")
    out = []
    for rule in rules:
        methods, origins = rule.get("AllowedMethods") or [], rule.get("AllowedOrigins") or []
        if not methods or not origins:
            raise AWSError("The XML you provided was not well-formed or did not validate against our published "
                           "schema", code="MalformedXML")
        for method in methods:
            if method not in METHODS:
                raise _invalid(f"Found unsupported HTTP method in CORS config. Unsupported method is {method}")
        for origin in origins:
            if origin.count("*") > 1:
                raise _invalid(f'AllowedOrigin "{origin}" can not have more than one wildcard.')
        for header in rule.get("AllowedHeaders") or []:
            if header.count("*") > 1:
                raise _invalid(f'AllowedHeader "{header}" can not have more than one wildcard.')
        for header in rule.get("ExposeHeaders") or []:
            if "*" in header:
                raise _invalid(f'ExposeHeader "{header}" contains wildcard. We currently do not support wildcard '
                               "for ExposeHeader.")
        if len(rule.get("ID") or "") > MAX_ID:
            raise _invalid(f"The ID of a CORS rule must be at most {MAX_ID} characters long.")
        max_age = rule.get("MaxAgeSeconds")
        if max_age is not None and max_age < 0:
            raise AWSError("The XML you provided was not well-formed or did not validate against our published "
                           "schema", code="MalformedXML")
        out.append({name: rule[name] for name in ("ID", "AllowedHeaders", "AllowedMethods", "AllowedOrigins",
                                                  "ExposeHeaders", "MaxAgeSeconds") if rule.get(name) is not None})
    return out


def wildcard_match(pattern: str, value: str) -> bool:
    """``pattern`` with at most one ``*`` (any run of characters, possibly empty) against ``value``."""
    if "*" not in pattern:
        return pattern == value
    head, _, tail = pattern.partition("*")
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def split_headers(header: str | None) -> list[str]:
    """``Access-Control-Request-Headers: X-Amz-Date, content-type`` → lowercase names."""
    return [h.strip().lower() for h in (header or "").split(",") if h.strip()]


def rule_allows(rule: Rule, origin: str, method: str, headers: Sequence[str] = ()) -> bool:
    if method not in (rule.get("AllowedMethods") or ()):
        return False
    if not any(wildcard_match(o, origin) for o in rule.get("AllowedOrigins") or ()):
        return False
    allowed = [h.lower() for h in rule.get("AllowedHeaders") or ()]
    return all(any(wildcard_match(a, h.lower()) for a in allowed) for h in headers)


def matching_rule(rules: Sequence[Rule], origin: str, method: str, headers: Sequence[str] = ()) -> Rule | None:
    """The first rule that allows the request (S3 evaluates them in order)."""
    for rule in rules:
        if rule_allows(rule, origin, method, headers):
            return rule
    return None


def response_headers(rule: Rule, origin: str) -> dict[str, str]:
    """What an actual (non-preflight) request allowed by ``rule`` gets back."""
    any_origin = "*" in (rule.get("AllowedOrigins") or ())
    out = {"access-control-allow-origin": "*" if any_origin else origin,
           "access-control-allow-methods": ", ".join(rule.get("AllowedMethods") or ()),
           "vary": VARY}
    if not any_origin:
        out["access-control-allow-credentials"] = "true"
    if rule.get("ExposeHeaders"):
        out["access-control-expose-headers"] = ", ".join(rule["ExposeHeaders"])
    if rule.get("MaxAgeSeconds") is not None:
        out["access-control-max-age"] = str(rule["MaxAgeSeconds"])
    return out


def preflight_headers(rule: Rule, origin: str, headers: Sequence[str]) -> dict[str, str]:
    """The answer to a preflight allowed by ``rule``: the requested headers are echoed back."""
    out = response_headers(rule, origin)
    if headers:
        out["access-control-allow-headers"] = ", ".join(headers)
    return out


# -- the API ----------------------------------------------------------------------------------------

@S3.handles("PutBucketCors")
def put_bucket_cors(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rules = check_rules(params.get("CORSConfiguration"))
    ctx.cloud.buckets.put_config(account_for(ctx, params), params["Bucket"], KIND, {"CORSRules": rules})
    return {}


@S3.handles("GetBucketCors")
def get_bucket_cors(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    document = ctx.cloud.buckets.get_config(account_for(ctx, params), params["Bucket"], KIND)
    if not document:
        raise AWSError("The CORS configuration does not exist", code="NoSuchCORSConfiguration", status=404,
                       extra={"BucketName": params["Bucket"]})
    return {"CORSRules": document["CORSRules"]}


@S3.handles("DeleteBucketCors")
def delete_bucket_cors(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.cloud.buckets.delete_config(account_for(ctx, params), params["Bucket"], KIND)
    return {}


# -- the gateway's hooks ----------------------------------------------------------------------------

def _rules_of(ctx: RequestContext, bucket: str) -> list[Rule] | None:
    """The bucket's CORS rules whoever asks (None: no such bucket)."""
    try:
        info = ctx.cloud.buckets.lookup(bucket)
    except NotFound:
        return None
    document = ctx.cloud.buckets.config_of(info, KIND)
    return list((document or {}).get("CORSRules") or [])


def _forbidden(message: str) -> AWSError:
    return AWSError(message, code="AccessForbidden", status=403)


@S3.hook("preflight")
def preflight(ctx: RequestContext, request: dict[str, Any]) -> dict[str, str]:
    """An ``OPTIONS`` request (unsigned): ``request`` has ``Path`` (``/bucket/key``, bucket included for
    virtual-hosted requests) and ``Headers`` (lowercase names).  Answers the headers of a 200."""
    headers: Mapping[str, str] = request["Headers"]
    origin = headers.get("origin")
    if not origin:
        raise AWSError("Insufficient information. Origin request header needed.", code="BadRequest")
    method = headers.get("access-control-request-method")
    if not method:
        raise AWSError(f"Invalid Access-Control-Request-Method: {method or 'null'}", code="BadRequest")
    bucket = request["Path"].lstrip("/").split("/", 1)[0]
    if not bucket:
        raise _forbidden(NOT_ALLOWED)
    rules = _rules_of(ctx, bucket)
    if rules is None:
        raise _forbidden("CORSResponse: Bucket not found")
    wanted = split_headers(headers.get("access-control-request-headers"))
    rule = matching_rule(rules, origin, method.strip(), wanted)
    if rule is None:
        raise _forbidden(NOT_ALLOWED)
    return preflight_headers(rule, origin, wanted)


@S3.hook("response_headers")
async def cors_response_headers(ctx: RequestContext, request: dict[str, Any]) -> dict[str, str]:
    """Extra headers for the answer to an actual request: ``request`` has ``Method``, ``Headers`` and the
    operation's ``Params``.  Only a request with an ``Origin`` matching a rule of the bucket gets any."""
    origin = request["Headers"].get("origin")
    bucket = (request.get("Params") or {}).get("Bucket")
    if not origin or not isinstance(bucket, str):
        return {}
    rules = await asyncio.to_thread(_rules_of, ctx, bucket)
    rule = matching_rule(rules or [], origin, request["Method"])
    return response_headers(rule, origin) if rule is not None else {}
