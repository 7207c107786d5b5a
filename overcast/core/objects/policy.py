"""S3 bucket policies: validation (:func:`parse`) and evaluation (:func:`evaluate`).

Pure: no database, no HTTP.  A policy is the JSON document of PutBucketPolicy; a request is a
:class:`Principal` (``account`` None: anonymous), an ``s3:`` action, a resource ARN
(``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key``) and a context of condition keys
(``aws:SourceIp``, ``aws:SecureTransport``, ``s3:prefix``…; a value may be a list).

Evaluation follows IAM: an explicit Deny wins, otherwise any Allow allows, otherwise "none"
(the caller then decides from ownership and ACLs).  Condition semantics: operators are ANDed,
keys of one operator are ANDed, values of one key are ORed; a key absent from the context fails
positive operators and satisfies negated ones (``StringNotEquals``, ``NotIpAddress``…); the
``IfExists`` suffix makes an absent key pass; ``Null`` tests presence; ``ForAnyValue:`` /
``ForAllValues:`` qualify multi-valued keys.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from ..errors import AWSError

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
Decision = Literal["allow", "deny", "none"]
ContextValue = str | Sequence[str]

_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
                   "Condition"}
_ACCOUNT = re.compile(r"\d{12}\Z")
_IAM_ARN = re.compile(r"arn:aws:iam::(\d{12}):(root|user/.+|role/.+|group/.+)\Z")
_STS_ARN = re.compile(r"arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.+\Z")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# Condition keys that restrict a wildcard principal to known callers (a policy using them is not public).
RESTRICTING_KEYS = {"aws:sourceip", "aws:principalaccount", "aws:principalarn", "aws:principalorgid",
                    "aws:sourceaccount", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:userid",
                    "aws:sourceowner", "aws:principalorgpaths", "s3:dataaccesspointaccount"}


class MalformedPolicy(AWSError):
    code = "MalformedPolicy"
    status = 400


@dataclass(frozen=True)
class Principal:
    """Who asks: ``account`` (None: anonymous) and the caller's ARN (``arn:aws:iam::A:root``, a user,
    or an ``arn:aws:sts::A:assumed-role/R/S`` session)."""

    account: str | None
    arn: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.account is None


# -- matching helpers ---------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = ["(?s)"] if not ignore_case else ["(?si)"]
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z")


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character."""
    return _glob(pattern, ignore_case).match(value) is not None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def substitute(pattern: str, context: Mapping[str, ContextValue]) -> str:
    """Policy variables ``${aws:username}``…, ``${*}`` ``${?}`` ``${$}``; an unknown one matches nothing."""
    if "${" not in pattern:
        return pattern

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("*", "?", "$"):
            return "\x00" + name if name != "$" else "$"
        default = None
        if ", " in name:                           # ${aws:username, 'default'}
            name, _, rest = name.partition(", ")
            default = rest.strip().strip("'")
        value = _lookup(context, name)
        if value is None or not isinstance(value, str):
            return default if default is not None else "\x01"   # matches nothing
        return value.replace("*", "\x00*").replace("?", "\x00?")

    return _VARIABLE.sub(one, pattern)


def _literal_glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Like :func:`glob_match`, where ``\\x00`` marks the next wildcard as a literal character."""
    if "\x00" not in pattern and "\x01" not in pattern:
        return glob_match(pattern, value, ignore_case=ignore_case)
    if "\x01" in pattern:
        return False
    regex = ["(?si)" if ignore_case else "(?s)"]
    escaped = False
    for ch in pattern:
        if ch == "\x00":
            escaped = True
            continue
        if not escaped and ch == "*":
            regex.append(".*")
        elif not escaped and ch == "?":
            regex.append(".")
        else:
            regex.append(re.escape(ch))
        escaped = False
    return re.match("".join(regex) + r"\Z", value) is not None


def _lookup(context: Mapping[str, ContextValue], key: str) -> ContextValue | None:
    """Condition keys are case-insensitive (the tag part of ``…Tag/<key>`` is not)."""
    if key in context:
        return context[key]
    lowered = key.lower()
    prefix, slash, rest = key.partition("/")
    for name, value in context.items():
        if slash:
            p, _, r = name.partition("/")
            if p.lower() == prefix.lower() and r == rest:
                return value
        elif name.lower() == lowered:
            return value
    return None


def principal_matches(spec: Any, who: Principal) -> bool:
    """``"*"``, ``{"AWS": …}`` (``*``, account ids, ``arn:aws:iam::A:root``, user/role ARNs) or
    ``{"CanonicalUser": …}`` (an account id here)."""
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in _list(values):
            if kind == "AWS":
                if value == "*":
                    return True
                if who.account is None:
                    continue
                if value == who.account or value == f"arn:aws:iam::{who.account}:root":
                    return True
                if who.arn is not None and _arn_matches(value, who.arn):
                    return True
            elif kind == "CanonicalUser" and who.account is not None and value == who.account:
                return True
    return False


def _arn_matches(spec: str, arn: str) -> bool:
    if spec == arn:
        return True
    session = _STS_ARN.match(arn)             # a role's session acts as the role
    return session is not None and spec == f"arn:aws:iam::{session.group(1)}:role/{session.group(2)}"


# -- conditions ---------------------------------------------------------------------------------------
def _ip_match(pattern: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in ipaddress.ip_network(pattern.strip(), strict=False)
    except ValueError:
        return False


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _date(text: str) -> datetime | None:
    try:
        if re.fullmatch(r"\d+", text.strip()):
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _compare(kind: str, policy_value: str, value: str, context: Mapping[str, ContextValue]) -> bool:
    """One policy value against one request value, for the positive operator ``kind``."""
    if kind == "StringEquals":
        return substitute(policy_value, context).replace("\x00", "") == value
    if kind == "StringEqualsIgnoreCase":
        return substitute(policy_value, context).replace("\x00", "").lower() == value.lower()
    if kind in ("StringLike", "ArnLike"):
        return _literal_glob(substitute(policy_value, context), value)
    if kind == "ArnEquals":
        return policy_value == value
    if kind == "Bool":
        return policy_value.lower() == value.lower()
    if kind == "IpAddress":
        return _ip_match(policy_value, value)
    if kind == "BinaryEquals":
        return policy_value == value
    if kind.startswith("Numeric"):
        a, b = _number(value), _number(policy_value)
        return a is not None and b is not None and _ORDER[kind[len("Numeric"):]](a, b)
    if kind.startswith("Date"):
        x, y = _date(value), _date(policy_value)
        return x is not None and y is not None and _ORDER[kind[len("Date"):]](x, y)
    raise AssertionError(kind)


_ORDER: dict[str, Any] = {"Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
                          "LessThanEquals": lambda a, b: a <= b, "GreaterThan": lambda a, b: a > b,
                          "GreaterThanEquals": lambda a, b: a >= b}
# Negated operator -> the positive one it negates.
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
            "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "IpAddress",
             "BinaryEquals"} | {f"{t}{o}" for t in ("Numeric", "Date") for o in _ORDER}
OPERATORS = _POSITIVE | set(_NEGATED) | {"Null"}


def _split_operator(name: str) -> tuple[str | None, str, bool]:
    """(set qualifier, base operator, IfExists) of a condition operator name."""
    qualifier = None
    for q in ("ForAnyValue:", "ForAllValues:"):
        if name.startswith(q):
            qualifier, name = q[:-1], name[len(q):]
    if_exists = name.endswith("IfExists") and name != "Null"
    if if_exists:
        name = name[: -len("IfExists")]
    return qualifier, name, if_exists


def _condition_holds(operator: str, key: str, wanted: list[str], context: Mapping[str, ContextValue]) -> bool:
    qualifier, base, if_exists = _split_operator(operator)
    present = _lookup(context, key)
    if base == "Null":
        absent = present is None or present == [] or present == ""
        return any(str(w).lower() == ("true" if absent else "false") for w in wanted)
    if present is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or base in _NEGATED
    values = [present] if isinstance(present, str) else list(present)
    positive = _NEGATED.get(base, base)

    def one(value: str) -> bool:
        return any(_compare(positive, str(w), value, context) for w in wanted)

    if qualifier == "ForAllValues":
        results = [one(v) for v in values]
        return all(not r for r in results) if base in _NEGATED else all(results)
    matched = any(one(v) for v in values)
    return not matched if base in _NEGATED else matched


def conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, ContextValue]) -> bool:
    for operator, block in (condition or {}).items():
        for key, wanted in block.items():
            if not _condition_holds(operator, key, [str(w) for w in _list(wanted)], context):
                return False
    return True


# -- statements -----------------------------------------------------------------------------------------
def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _list(policy.get("Statement") or []) if isinstance(s, dict)]


def statement_applies(statement: Mapping[str, Any], who: Principal, action: str, resource: str,
                      context: Mapping[str, ContextValue]) -> bool:
    if "Principal" in statement:
        if not principal_matches(statement["Principal"], who):
            return False
    elif "NotPrincipal" in statement and principal_matches(statement["NotPrincipal"], who):
        return False
    if "Action" in statement:
        if not any(glob_match(a, action, ignore_case=True) for a in _list(statement["Action"])):
            return False
    elif any(glob_match(a, action, ignore_case=True) for a in _list(statement.get("NotAction") or [])):
        return False
    if "Resource" in statement:
        if not any(_literal_glob(substitute(r, context), resource) for r in _list(statement["Resource"])):
            return False
    elif any(_literal_glob(substitute(r, context), resource) for r in _list(statement.get("NotResource") or [])):
        return False
    return conditions_hold(statement.get("Condition"), context)


def evaluate(policy: Mapping[str, Any] | None, principal: Principal, action: str, resource: str,
             context: Mapping[str, ContextValue] | None = None) -> Decision:
    """``"deny"`` when a Deny statement applies, else ``"allow"`` when an Allow does, else ``"none"``."""
    if not policy:
        return "none"
    ctx = context or {}
    allowed = False
    for statement in _statements(policy):
        if statement_applies(statement, principal, action, resource, ctx):
            if statement.get("Effect") == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "none"


def is_public(policy: Mapping[str, Any] | None) -> bool:
    """S3's notion: an Allow for any principal that no fixed-value condition restricts."""
    for statement in _statements(policy or {}):
        if statement.get("Effect") != "Allow":
            continue
        spec = statement.get("Principal")
        wildcard = spec == "*" or (isinstance(spec, dict) and "*" in _list(spec.get("AWS", [])))
        if "NotPrincipal" in statement:
            wildcard = True
        if not wildcard:
            continue
        restricted = False
        for operator, block in (statement.get("Condition") or {}).items():
            _, base, _ = _split_operator(operator)
            if base in _NEGATED or base == "Null":
                continue
            for key, wanted in block.items():
                if key.lower() in RESTRICTING_KEYS and not any("*" in str(w) for w in _list(wanted)):
                    if key.lower() != "aws:sourceip" or not any(str(w).endswith("/0") for w in _list(wanted)):
                        restricted = True
        if not restricted:
            return True
    return False


# -- validation -------------------------------------------------------------------------------------
def parse(text: str | bytes, bucket: str) -> dict[str, Any]:
    """The policy document of PutBucketPolicy for ``bucket``, checked (``MalformedPolicy``)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'") from None
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise AWSError("Policies must be less than 20 KB", code="PolicyTooLarge")
    stripped = text.strip()
    if not stripped.startswith("{"):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = json.loads(stripped)
    except ValueError:
        raise MalformedPolicy("This policy contains invalid Json") from None
    if not isinstance(document, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    for name in document:
        if name not in ("Version", "Id", "Statement"):
            raise MalformedPolicy(f"Unknown field {name}")
    if "Version" in document and document["Version"] not in VERSIONS:
        raise MalformedPolicy("The policy must contain a valid version string")
    if "Id" in document and not isinstance(document["Id"], str):
        raise MalformedPolicy("Id must be a string")
    statements = document.get("Statement")
    if statements is None:
        raise MalformedPolicy("Missing required field Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy("Could not parse the policy: Statement is not well formatted.")
    sids: set[str] = set()
    for statement in statements:
        _check_statement(statement, bucket, sids)
    return document


def _strings(value: Any, field: str) -> list[str]:
    items = _list(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise MalformedPolicy(f"{field} must be a string or a non-empty list of strings")
    return items


def _check_statement(statement: Any, bucket: str, sids: set[str]) -> None:
    if not isinstance(statement, dict):
        raise MalformedPolicy("Could not parse the policy: Statement is not well formatted.")
    for name in statement:
        if name not in _STATEMENT_KEYS:
            raise MalformedPolicy(f"Unknown field {name}")
    sid = statement.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise MalformedPolicy("Sid must be a string")
        if sid and sid in sids:
            raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
        sids.add(sid)
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise MalformedPolicy("Invalid effect: " + str(statement.get("Effect")) if "Effect" in statement
                              else "Missing required field Effect")
    _exactly_one(statement, "Principal", "NotPrincipal")
    _check_principal(statement.get("Principal", statement.get("NotPrincipal")))
    _exactly_one(statement, "Action", "NotAction")
    for action in _strings(statement.get("Action", statement.get("NotAction")), "Action"):
        if action != "*" and not action.lower().startswith("s3:"):
            raise MalformedPolicy("Policy has invalid action")
    _exactly_one(statement, "Resource", "NotResource")
    for resource in _strings(statement.get("Resource", statement.get("NotResource")), "Resource"):
        if resource == "*":
            continue
        if not resource.startswith("arn:aws:s3:::"):
            raise MalformedPolicy("Policy has invalid resource")
        name = resource[len("arn:aws:s3:::"):].split("/", 1)[0]
        if not glob_match(name, bucket):
            raise MalformedPolicy("Policy has invalid resource")
    condition = statement.get("Condition")
    if condition is not None:
        _check_condition(condition)


def _exactly_one(statement: Mapping[str, Any], name: str, negated: str) -> None:
    if (name in statement) == (negated in statement):
        raise MalformedPolicy(f"Missing required field {name}" if name not in statement
                              else f"Statement has both {name} and {negated}")


def _check_principal(spec: Any) -> None:
    if spec == "*":
        return
    if not isinstance(spec, dict) or not spec:
        raise MalformedPolicy("Invalid principal in policy")
    for kind, values in spec.items():
        if kind not in ("AWS", "CanonicalUser", "Service", "Federated"):
            raise MalformedPolicy("Invalid principal in policy")
        for value in _list(values):
            if not isinstance(value, str) or not value:
                raise MalformedPolicy("Invalid principal in policy")
            if kind == "AWS" and value != "*" and not _ACCOUNT.match(value) and not _IAM_ARN.match(value):
                raise MalformedPolicy("Invalid principal in policy")


def _check_condition(condition: Any) -> None:
    if not isinstance(condition, dict):
        raise MalformedPolicy("Condition must be an object")
    for operator, block in condition.items():
        _, base, _ = _split_operator(operator)
        if base not in OPERATORS:
            raise MalformedPolicy(f"Invalid Condition type : {operator}")
        if not isinstance(block, dict) or not block:
            raise MalformedPolicy(f"Invalid Condition block for {operator}")
        for key, wanted in block.items():
            values = _list(wanted)
            if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
                raise MalformedPolicy(f"Invalid Condition value for {key}")
            for value in values:
                _check_value(base, key, str(value).lower() if isinstance(value, bool) else str(value))


def _check_value(base: str, key: str, value: str) -> None:
    positive = _NEGATED.get(base, base)
    if positive == "IpAddress":
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise MalformedPolicy(f"Invalid Condition value for {key}: {value} is not an IP address") from None
    elif positive in ("Bool", "Null") and value.lower() not in ("true", "false"):
        raise MalformedPolicy(f"Invalid Condition value for {key}: {value} is not a boolean")
    elif positive.startswith("Numeric") and _number(value) is None:
        raise MalformedPolicy(f"Invalid Condition value for {key}: {value} is not a number")
    elif positive.startswith("Date") and _date(value) is None:
        raise MalformedPolicy(f"Invalid Condition value for {key}: {value} is not a date")
