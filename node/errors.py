"""The one error catalog: domain error -> gRPC status and fixed public message.

A foreign country sees only the status code and the public message below; the full
reason (with peer, request id and the exception's own text) goes to the node's local log.
Three refusals carry their text to the caller because it is the caller's own or the node's
public configuration: :class:`~fedlookup.errors.QuotaExceededError` and
:class:`~fedlookup.errors.RequestTooLargeError` (its limit and what is left of it), and
:class:`~fedlookup.errors.UnsupportedParameterError` (the parameters the node offers).
The most specific class wins; anything not listed (including non-fedlookup exceptions) is
``INTERNAL`` with a generic message.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from fedlookup import errors as e

__all__ = ["CATALOG", "PublicError", "public_error"]


@dataclass(frozen=True)
class PublicError:
    """What a caller is told about an error.

    Attributes:
        code: the gRPC status code.
        message: the text sent to the caller.
        reason: short code for logs and the refusals metric (the error class name).
    """

    code: grpc.StatusCode
    message: str
    reason: str


_S = grpc.StatusCode
_CREDENTIALS = "caller's credentials are not accepted"
_POLICY = "refused by the node's policy"
_NOT_READY = "node is not ready to answer"

#: (error class, status, fixed public message, whether the error's own text is public);
#: the first matching row wins, so subclasses come before their bases.
CATALOG: tuple[tuple[type[BaseException], grpc.StatusCode, str, bool], ...] = (
    (e.QuotaExceededError, _S.RESOURCE_EXHAUSTED, "daily item quota exceeded", True),
    (e.RequestTooLargeError, _S.INVALID_ARGUMENT, "too many items in one request", True),
    (e.PolicyRefusedError, _S.PERMISSION_DENIED, _POLICY, False),
    (e.PolicyError, _S.PERMISSION_DENIED, _POLICY, False),
    (e.CountryMismatchError, _S.PERMISSION_DENIED, "statement country does not match", False),
    (e.UnlistedPeerError, _S.PERMISSION_DENIED, "caller is not a federation member", False),
    (e.RevokedError, _S.UNAUTHENTICATED, _CREDENTIALS, False),
    (e.CertificateError, _S.UNAUTHENTICATED, _CREDENTIALS, False),
    (e.IdentityError, _S.UNAUTHENTICATED, _CREDENTIALS, False),
    (e.VerificationError, _S.INVALID_ARGUMENT, "query statement or signature is invalid", False),
    (e.PSIProtocolError, _S.INVALID_ARGUMENT, "malformed PSI request", False),
    (e.EpochMismatchError, _S.FAILED_PRECONDITION, "epoch changed; refresh node info", False),
    (e.IndexVersionError, _S.ABORTED, "index changed during the transfer; restart it", False),
    (e.IndexIntegrityError, _S.UNAVAILABLE, _NOT_READY, False),  # this node's store damaged
    (e.UnsupportedParameterError, _S.INVALID_ARGUMENT, "parameters not offered", True),
    (e.InputError, _S.INVALID_ARGUMENT, "invalid request", False),
    (e.LogWriteError, _S.UNAVAILABLE, "node cannot record queries right now", False),
    (e.RegistryUnavailableError, _S.UNAVAILABLE, _NOT_READY, False),
    (e.RegistryError, _S.UNAVAILABLE, _NOT_READY, False),  # unreadable or unmigrated registry
    (e.DirectoryError, _S.UNAVAILABLE, _NOT_READY, False),
)

_INTERNAL = (grpc.StatusCode.INTERNAL, "internal error")


def public_error(exc: BaseException) -> PublicError:
    """Map an exception to what the caller may be told.

    Args:
        exc: any exception raised while answering.

    Returns:
        The status, public message and reason code (the exception's class name).
    """
    reason = type(exc).__name__
    for cls, code, message, detail_public in CATALOG:
        if isinstance(exc, cls):
            text = f"{message}: {exc}" if detail_public else message
            return PublicError(code=code, message=text, reason=reason)
    return PublicError(code=_INTERNAL[0], message=_INTERNAL[1], reason=reason)
