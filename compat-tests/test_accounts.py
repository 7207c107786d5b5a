"""Accounts: ``overcast admin create-account`` makes a tenant with its own keys; one account never sees
another's resources; state survives a Ctrl-C and a restart of ``overcast up``."""

from __future__ import annotations

import re
import uuid

import pytest
from helpers import Account, Overcast, error_of


def _listed(overcast: Overcast) -> dict[str, str]:
    """``overcast admin accounts`` as {account id: name}."""
    out = overcast.admin("accounts")
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert all(len(row) == 2 and re.fullmatch(r"\d{12}", row[0]) for row in rows), out
    return {row[0]: row[1] for row in rows}


def test_create_account_makes_a_new_account_with_its_own_keys(overcast: Overcast, second_account: Account) -> None:
    assert re.fullmatch(r"\d{12}", second_account.account_id)
    assert second_account.account_id != overcast.account_id
    assert second_account.access_key.startswith("AKIA") and second_account.access_key != overcast.access_key
    assert len(second_account.secret) >= 40
    mine = overcast.client("sts").get_caller_identity()
    theirs = overcast.client_for(second_account, "sts").get_caller_identity()
    assert (mine["Account"], mine["Arn"]) == (overcast.account_id, f"arn:aws:iam::{overcast.account_id}:user/admin")
    assert (theirs["Account"], theirs["Arn"]) == (second_account.account_id,
                                                 f"arn:aws:iam::{second_account.account_id}:user/admin")
    # --profile wrote the keys next to the admin's profile
    credentials = (overcast.home / ".aws" / "credentials").read_text()
    assert "[second]" in credentials and second_account.access_key in credentials
    assert "[overcast]" in credentials and overcast.access_key in credentials


def test_second_account_with_the_cli(overcast: Overcast, second_account: Account) -> None:
    result = overcast.aws("v1", "sts", "get-caller-identity", profile="second", endpoint_in="profile")
    assert result.returncode == 0, result.stderr
    assert f'"Account": "{second_account.account_id}"' in result.stdout


def test_accounts_lists_both(overcast: Overcast, second_account: Account) -> None:
    listed = _listed(overcast)
    assert listed[overcast.account_id] == "admin"
    assert listed[second_account.account_id] == "second"


def test_account_names_are_unique(overcast: Overcast, second_account: Account) -> None:
    before = _listed(overcast)
    result = overcast.admin_run("create-account", "second")
    assert result.returncode != 0
    assert "second" in result.stderr and "already exists" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _listed(overcast) == before


def test_account_names_are_validated(overcast: Overcast) -> None:
    result = overcast.admin_run("create-account", "no spaces allowed")
    assert result.returncode != 0
    assert "error" in result.stderr.lower() and "Traceback" not in result.stderr, result.stderr


def test_accounts_are_isolated(overcast: Overcast, second_account: Account) -> None:
    mine = overcast.client("ec2")
    theirs = overcast.client_for(second_account, "ec2")
    name = f"isolated-{uuid.uuid4().hex[:8]}"
    tag = f"owner-{uuid.uuid4().hex[:6]}"
    key_pair = mine.create_key_pair(KeyName=name, TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": tag, "Value": "admin"}]}])["KeyPairId"]
    try:
        mine.create_tags(Resources=[key_pair], Tags=[{"Key": "shared?", "Value": "no"}])
        assert {t["Key"] for t in mine.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [key_pair]}])["Tags"]} == {tag, "shared?"}

        # the other account sees nothing of it
        assert name not in [k["KeyName"] for k in theirs.describe_key_pairs()["KeyPairs"]]
        assert theirs.describe_tags(Filters=[{"Name": "resource-id", "Values": [key_pair]}])["Tags"] == []
        assert theirs.describe_tags(Filters=[{"Name": "key", "Values": [tag]}])["Tags"] == []
        assert error_of(theirs.describe_key_pairs, KeyPairIds=[key_pair])[0] == "InvalidKeyPair.NotFound"
        assert error_of(theirs.describe_key_pairs, KeyNames=[name])[0] == "InvalidKeyPair.NotFound"
        # and cannot touch it
        code, _, message = error_of(theirs.create_tags, Resources=[key_pair], Tags=[{"Key": "x", "Value": "y"}])
        assert code == "InvalidKeyPair.NotFound" and key_pair in message
        assert error_of(theirs.delete_tags, Resources=[key_pair])[0] == "InvalidKeyPair.NotFound"
        assert error_of(theirs.delete_tags, Resources=[key_pair], Tags=[{"Key": tag}])[0] == "InvalidKeyPair.NotFound"
        try:
            theirs.delete_key_pair(KeyPairId=key_pair)
        except Exception:  # noqa: BLE001 — AWS answers either way; what matters is the key pair survives
            pass

        # the owner's key pair and tags are intact
        [pair] = mine.describe_key_pairs(KeyPairIds=[key_pair])["KeyPairs"]
        assert pair["KeyName"] == name
        assert {t["Key"]: t["Value"] for t in pair["Tags"]} == {tag: "admin", "shared?": "no"}

        # the same name is free in the other account: names are per account
        other = theirs.create_key_pair(KeyName=name)["KeyPairId"]
        assert other != key_pair
        theirs.delete_key_pair(KeyPairId=other)
    finally:
        mine.delete_key_pair(KeyPairId=key_pair)


@pytest.mark.restarts_overcast
def test_state_survives_ctrl_c_and_restart(overcast: Overcast, second_account: Account) -> None:
    """Stops the shared server with SIGINT (exit 0) and starts it again on the same data directory."""
    sts = overcast.client("sts")
    session = sts.get_session_token(DurationSeconds=3600)["Credentials"]
    first_page = overcast.client("ec2").describe_instance_types(MaxResults=5)
    key_pair = overcast.client("ec2").create_key_pair(KeyName=f"persist-{uuid.uuid4().hex[:8]}")["KeyPairId"]
    admin_before = overcast.admin_account

    overcast.restart()

    assert overcast.admin_account == admin_before, "the admin keys must not change across restarts"
    assert overcast.client("sts").get_caller_identity()["Account"] == admin_before.account_id
    assert overcast.client_for(second_account, "sts").get_caller_identity()["Account"] == second_account.account_id
    listed = _listed(overcast)
    assert listed[second_account.account_id] == "second" and listed[admin_before.account_id] == "admin"
    temporary = overcast.client("ec2", access_key=session["AccessKeyId"], secret=session["SecretAccessKey"],
                                token=session["SessionToken"])
    assert temporary.describe_regions()["Regions"]
    ec2 = overcast.client("ec2")
    second_page = ec2.describe_instance_types(MaxResults=5, NextToken=first_page["NextToken"])
    assert second_page["InstanceTypes"] and not (
        {t["InstanceType"] for t in second_page["InstanceTypes"]} & {t["InstanceType"] for t in first_page["InstanceTypes"]})
    assert [k["KeyPairId"] for k in ec2.describe_key_pairs(KeyPairIds=[key_pair])["KeyPairs"]] == [key_pair]
    ec2.delete_key_pair(KeyPairId=key_pair)
    # the profile written at the second start still points at the same keys
    assert overcast.access_key in (overcast.home / ".aws" / "credentials").read_text()
