"""How each protocol names validation and authentication failures.

The core raises neutral :class:`ParamError` / :class:`AuthError` kinds; AWS services spell them
differently (EC2 ``AuthFailure``, STS ``InvalidClientTokenId``, S3 ``InvalidAccessKeyId``…).
Each entry is ``kind -> (code, http status)``.
"""

from __future__ import annotations

from overcast.core.errors import AuthError, AWSError, ParamError

EC2_PARAM = {
    "missing": ("MissingParameter", 400),
    "unknown": ("UnknownParameter", 400),
    "type": ("InvalidParameterValue", 400),
    "enum": ("InvalidParameterValue", 400),
    "range": ("InvalidParameterValue", 400),
    "combination": ("InvalidParameterCombination", 400),
}
QUERY_PARAM = {
    "missing": ("ValidationError", 400),
    "unknown": ("ValidationError", 400),
    "type": ("ValidationError", 400),
    "enum": ("ValidationError", 400),
    "range": ("ValidationError", 400),
    "combination": ("ValidationError", 400),
}
REST_XML_PARAM = {
    "missing": ("InvalidRequest", 400),
    "unknown": ("InvalidRequest", 400),
    "type": ("InvalidArgument", 400),
    "enum": ("InvalidArgument", 400),
    "range": ("InvalidArgument", 400),
    "combination": ("InvalidRequest", 400),
}

EC2_AUTH = {
    "missing": ("AuthFailure", 401),
    "unknown_key": ("AuthFailure", 401),
    "mismatch": ("AuthFailure", 401),
    "incomplete": ("AuthFailure", 401),
    "malformed": ("AuthFailure", 401),
    "unsupported": ("AuthFailure", 401),
    "token_invalid": ("AuthFailure", 401),
    "expired": ("RequestExpired", 400),
    "skewed": ("RequestExpired", 400),
    "token_expired": ("RequestExpired", 400),
}
QUERY_AUTH = {
    "missing": ("MissingAuthenticationToken", 403),
    "unknown_key": ("InvalidClientTokenId", 403),
    "token_invalid": ("InvalidClientTokenId", 403),
    "mismatch": ("SignatureDoesNotMatch", 403),
    "incomplete": ("IncompleteSignature", 400),
    "malformed": ("IncompleteSignature", 400),
    "unsupported": ("IncompleteSignature", 400),
    "expired": ("RequestExpired", 400),
    "skewed": ("SignatureDoesNotMatch", 403),
    "token_expired": ("ExpiredToken", 403),
}
REST_XML_AUTH = {
    "missing": ("AccessDenied", 403),
    "unknown_key": ("InvalidAccessKeyId", 403),
    "token_invalid": ("InvalidToken", 400),
    "mismatch": ("SignatureDoesNotMatch", 403),
    "incomplete": ("AuthorizationHeaderMalformed", 400),
    "malformed": ("AuthorizationQueryParametersError", 400),
    "unsupported": ("InvalidRequest", 400),
    "expired": ("AccessDenied", 403),
    "skewed": ("RequestTimeTooSkewed", 403),
    "token_expired": ("ExpiredToken", 400),
}


def resolve(err: AWSError, params: dict[str, tuple[str, int]], auth: dict[str, tuple[str, int]]) -> tuple[str, int]:
    """The (code, status) a protocol sends for ``err``."""
    if isinstance(err, ParamError):
        return params.get(err.kind, (err.code, err.status))
    if isinstance(err, AuthError):
        return auth.get(err.kind, (err.code, err.status))
    return err.code, err.status
