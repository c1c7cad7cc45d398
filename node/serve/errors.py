"""The gRPC face of the one refusal table (:mod:`federation.refusals`).

:func:`public_error` gives the status code and fixed public message a caller sees for an
error; the table itself, and the reasons behind it, live in :mod:`federation.refusals`, which
the in-process transport and the gRPC client read too.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from federation.refusals import refusal_for

__all__ = ["PublicError", "public_error"]


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


def public_error(exc: BaseException) -> PublicError:
    """Map an exception to what the caller may be told (:func:`federation.refusals.refusal_for`).

    Args:
        exc: any exception raised while answering.

    Returns:
        The status, public message and reason code (the exception's class name).
    """
    refusal = refusal_for(exc)
    return PublicError(
        code=grpc.StatusCode[refusal.status], message=refusal.message, reason=refusal.reason
    )
