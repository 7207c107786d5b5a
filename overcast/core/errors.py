"""Domain errors.

Every error the cloud raises carries the AWS error code a client expects, the HTTP status and
whether the caller (sender) is at fault.  Codecs render them per protocol; nothing here knows
about HTTP or XML.
"""

from __future__ import annotations


class AWSError(Exception):
    """An error with an AWS error code.  Subclasses fix the code and status."""

    code: str = "InternalError"
    status: int = 400
    sender_fault: bool = True

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None,
                 sender_fault: bool | None = None, extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, str] = dict(extra or {})   # protocol-specific fields (S3: BucketName, Key…)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if sender_fault is not None:
            self.sender_fault = sender_fault

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InternalError(AWSError):
    code = "InternalError"
    status = 500
    sender_fault = False


class ServiceUnavailable(AWSError):
    code = "ServiceUnavailable"
    status = 503
    sender_fault = False


# --- request validation (the protocol codecs raise these; each protocol may rename) -------------

class ParamError(AWSError):
    """A request parameter failed validation.

    ``kind`` says what went wrong so that each protocol can pick its own code:
    ``missing`` (required member absent), ``unknown`` (not in the input shape), ``type`` (not
    parseable as its type), ``enum``, ``range`` (min/max of numbers, lengths and list sizes),
    ``combination``.
    """

    code = "InvalidParameterValue"

    def __init__(self, kind: str, param: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.param = param


class MissingParameter(AWSError):
    code = "MissingParameter"


class InvalidParameterValue(AWSError):
    code = "InvalidParameterValue"


class InvalidParameterCombination(AWSError):
    code = "InvalidParameterCombination"


class InvalidParameter(AWSError):
    code = "InvalidParameter"


class InvalidAction(AWSError):
    code = "InvalidAction"


class MissingAction(AWSError):
    code = "MissingAction"


class NotYetImplemented(AWSError):
    """An operation that exists in the AWS API but that Overcast does not do yet."""

    code = "NotImplemented"
    status = 501


class DryRunOperation(AWSError):
    code = "DryRunOperation"
    status = 412

    def __init__(self, message: str = "Request would have succeeded, but DryRun flag is set.") -> None:
        super().__init__(message)


class UnauthorizedOperation(AWSError):
    code = "UnauthorizedOperation"
    status = 403


class AccessDenied(AWSError):
    code = "AccessDenied"
    status = 403


class NotFound(AWSError):
    """A resource that does not exist (or belongs to another account).  Code is per resource."""

    code = "NotFound"


class Conflict(AWSError):
    code = "Conflict"


class LimitExceeded(AWSError):
    code = "LimitExceeded"


# --- authentication: kinds; every service names them its own way ---------------------------------

class AuthError(AWSError):
    """Authentication failed.  ``kind`` is one of: missing, unknown_key, mismatch, incomplete,
    expired (presigned URL past X-Amz-Expires), skewed (clock), token_expired, token_invalid,
    malformed, unsupported.  The gateway maps kinds to each service's error code."""

    code = "AuthFailure"
    status = 403

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
