"""Who may call: SigV4 in headers and presigned URLs, clocks, unknown and wrong keys, and STS
temporary credentials (GetSessionToken, AssumeRole), all against the live server."""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from helpers import Account, Overcast, client_clock, error_of, form_post, http

UNKNOWN_KEY = "AKIA" + "Z" * 16
SKEW = 20 * 60


def _sts_temporary(overcast: Overcast, creds: dict[str, Any], token: str | None = None, service: str = "ec2") -> Any:
    return overcast.client(service, access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                           token=creds["SessionToken"] if token is None else token)


# --- long-term keys ------------------------------------------------------------------------------------

def test_wrong_secret(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2", secret="x" * 40)
    sts = overcast.client("sts", secret="x" * 40)
    assert error_of(ec2.describe_regions)[:2] == ("AuthFailure", 401)
    assert error_of(sts.get_caller_identity)[:2] == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key(overcast: Overcast) -> None:
    ec2 = overcast.client("ec2", access_key=UNKNOWN_KEY)
    sts = overcast.client("sts", access_key=UNKNOWN_KEY)
    assert error_of(ec2.describe_regions)[:2] == ("AuthFailure", 401)
    assert error_of(sts.get_caller_identity)[:2] == ("InvalidClientTokenId", 403)


def test_unsigned_request_gets_an_error_botocore_can_parse(overcast: Overcast) -> None:
    resp = form_post(overcast.endpoint, "ec2", {"Action": "DescribeRegions"})
    assert resp.status == 401
    error = resp.parsed("ec2", "DescribeRegions")
    assert error["Error"]["Code"] == "AuthFailure"
    assert error["Error"]["Message"]
    assert error["ResponseMetadata"]["RequestId"]
    resp = form_post(overcast.endpoint, "sts", {"Action": "GetCallerIdentity"})
    assert resp.status == 403
    assert resp.parsed("sts", "GetCallerIdentity")["Error"]["Code"] == "MissingAuthenticationToken"


# --- presigned URLs ---------------------------------------------------------------------------------------

def test_presigned_urls(overcast: Overcast) -> None:
    """botocore signs query-protocol URLs for the operation's method (POST) unless told ``HttpMethod``;
    like AWS, the server checks the signature against the method actually used (boto/boto3#756)."""
    sts, ec2 = overcast.client("sts"), overcast.client("ec2")
    for method in ("GET", "POST"):
        sts_url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300, HttpMethod=method)
        ec2_url = ec2.generate_presigned_url("describe_regions", ExpiresIn=300, HttpMethod=method)
        assert "X-Amz-Signature=" in sts_url and "X-Amz-Signature=" in ec2_url
        got = http(method, sts_url)
        assert got.status == 200, got.body
        assert got.parsed("sts", "GetCallerIdentity")["Account"] == overcast.account_id
        got = http(method, ec2_url)
        assert got.status == 200, got.body
        assert "us-east-1" in [r["RegionName"] for r in got.parsed("ec2", "DescribeRegions")["Regions"]]
    # botocore's default is POST
    assert http("POST", ec2.generate_presigned_url("describe_regions", ExpiresIn=300)).status == 200
    # the signature covers the method and the query
    wrong_method = http("GET", ec2.generate_presigned_url("describe_regions", ExpiresIn=300, HttpMethod="POST"))
    assert wrong_method.parsed("ec2", "DescribeRegions")["Error"]["Code"] == "AuthFailure"
    ec2_url = ec2.generate_presigned_url("describe_regions", ExpiresIn=300, HttpMethod="GET")
    tampered = http("GET", ec2_url.replace("Action=DescribeRegions", "Action=DescribeAvailabilityZones"))
    assert tampered.parsed("ec2", "DescribeAvailabilityZones")["Error"]["Code"] == "AuthFailure"


def test_presigned_urls_expire(overcast: Overcast) -> None:
    sts_url = overcast.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=1, HttpMethod="GET")
    ec2_url = overcast.client("ec2").generate_presigned_url("describe_regions", ExpiresIn=1, HttpMethod="GET")
    time.sleep(2.1)
    ec2 = http("GET", ec2_url)
    assert ec2.status == 400
    assert ec2.parsed("ec2", "DescribeRegions")["Error"]["Code"] == "RequestExpired"
    sts = http("GET", sts_url)
    assert sts.status >= 400
    assert sts.parsed("sts", "GetCallerIdentity")["Error"]["Code"] == "RequestExpired"


# --- clocks -----------------------------------------------------------------------------------------------

def test_skewed_client_clock(overcast: Overcast) -> None:
    ec2, sts = overcast.client("ec2"), overcast.client("sts")
    for offset in (-SKEW, SKEW):
        with client_clock(offset):
            code, status, message = error_of(ec2.describe_regions)
            assert (code, status) == ("RequestExpired", 400), (offset, message)
            assert error_of(sts.get_caller_identity)[:2] == ("SignatureDoesNotMatch", 403)
    with client_clock(-120):   # a couple of minutes off is within the allowed skew
        assert ec2.describe_regions()["Regions"]
    assert sts.get_caller_identity()["Account"] == overcast.account_id


# --- STS temporary credentials ---------------------------------------------------------------------------

def test_session_token_credentials(overcast: Overcast) -> None:
    creds = overcast.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    left = (creds["Expiration"] - datetime.now(UTC)).total_seconds()
    assert 850 <= left <= 910, creds["Expiration"]
    assert "us-east-1" in [r["RegionName"] for r in _sts_temporary(overcast, creds).describe_regions()["Regions"]]
    identity = _sts_temporary(overcast, creds, service="sts").get_caller_identity()
    assert identity["Account"] == overcast.account_id
    assert identity["Arn"] == f"arn:aws:iam::{overcast.account_id}:user/admin"
    # the session token is part of the credential
    assert error_of(_sts_temporary(overcast, creds, token="not-the-token").describe_regions)[0] == "AuthFailure"
    assert error_of(_sts_temporary(overcast, creds, token="not-the-token", service="sts")
                    .get_caller_identity)[0] == "InvalidClientTokenId"
    no_token = overcast.client("ec2", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
    assert error_of(no_token.describe_regions)[0] == "AuthFailure"
    # session credentials cannot mint more session credentials
    assert error_of(_sts_temporary(overcast, creds, service="sts").get_session_token)[0] == "AccessDenied"


def test_assume_role_in_own_account(overcast: Overcast) -> None:
    session = f"compat-{uuid.uuid4().hex[:8]}"
    resp = overcast.client("sts").assume_role(RoleArn=f"arn:aws:iam::{overcast.account_id}:role/test",
                                              RoleSessionName=session, DurationSeconds=900)
    arn = f"arn:aws:sts::{overcast.account_id}:assumed-role/test/{session}"
    assert resp["AssumedRoleUser"]["Arn"] == arn
    assert resp["AssumedRoleUser"]["AssumedRoleId"].endswith(f":{session}")
    creds = resp["Credentials"]
    identity = _sts_temporary(overcast, creds, service="sts").get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == (overcast.account_id, arn)
    assert identity["UserId"] == resp["AssumedRoleUser"]["AssumedRoleId"]
    assert _sts_temporary(overcast, creds).describe_availability_zones()["AvailabilityZones"]
    assert error_of(_sts_temporary(overcast, creds, token="not-the-token").describe_regions)[0] == "AuthFailure"


def test_assume_role_in_another_account_is_denied(overcast: Overcast, second_account: Account) -> None:
    code, status, _ = error_of(overcast.client("sts").assume_role,
                               RoleArn=f"arn:aws:iam::{second_account.account_id}:role/test",
                               RoleSessionName="intruder")
    assert (code, status) == ("AccessDenied", 403)
    theirs = overcast.client_for(second_account, "sts")
    assert error_of(theirs.assume_role, RoleArn=f"arn:aws:iam::{overcast.account_id}:role/test",
                    RoleSessionName="intruder")[0] == "AccessDenied"


def _expire(overcast: Overcast, access_key_id: str) -> None:
    """Move a credential's expiry into the past, in the server's own database."""
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(overcast.data_dir / "overcast.db", timeout=10) as db:
        changed = db.execute("UPDATE access_keys SET expires_at = ? WHERE id = ?", (past, access_key_id)).rowcount
    db.close()
    assert changed == 1, f"no access key {access_key_id} in the database"


def test_expired_temporary_credentials_are_refused(overcast: Overcast) -> None:
    """Expiry is enforced by the server: a credential past its expiry (set in the database before
    its first use, so the server has not cached it) is refused by EC2 and STS alike."""
    sts = overcast.client("sts")
    session = sts.get_session_token(DurationSeconds=900)["Credentials"]
    role = sts.assume_role(RoleArn=f"arn:aws:iam::{overcast.account_id}:role/test", RoleSessionName="expiring",
                           DurationSeconds=900)["Credentials"]
    for creds in (session, role):
        assert 850 <= (creds["Expiration"] - datetime.now(UTC)).total_seconds() <= 910
        _expire(overcast, creds["AccessKeyId"])
        code, status, message = error_of(_sts_temporary(overcast, creds).describe_regions)
        assert (code, status) == ("RequestExpired", 400), message
        code, status, message = error_of(_sts_temporary(overcast, creds, service="sts").get_caller_identity)
        assert (code, status) == ("ExpiredToken", 403), message


def test_errors_are_client_errors_not_crashes(overcast: Overcast) -> None:
    """A garbage Authorization header is an auth error, never a 500."""
    resp = http("POST", overcast.endpoint + "/", b"Action=DescribeRegions&Version=2016-11-15", {
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": "AWS4-HMAC-SHA256 garbage",
        "X-Amz-Date": "20200101T000000Z"})
    assert 400 <= resp.status < 500, resp.body
    try:
        overcast.client("ec2", access_key="short").describe_regions()
    except ClientError as err:
        assert err.response["Error"]["Code"] == "AuthFailure"
    else:
        raise AssertionError("a malformed access key must be refused")
