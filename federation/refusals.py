"""The one refusal table: error class -> verdict, gRPC status and fixed public message.

Both transports read it, so a federation run in one process sees the same answers as one
over the network: the node's servicer (``node.serve.errors.public_error``) sends the status and
message of the row an error matches; the gRPC client (:func:`peer_error`, through
``federation.grpc_transport.translate_rpc_error``) turns a status back into a verdict; the
in-process transport (``federation.inprocess``) goes through both halves without the wire.

A foreign country sees only the status and the public message; the full reason (with peer,
request id and the exception's own text) goes to the answering node's local log. Three
refusals carry their text to the caller because it is the caller's own or the node's public
configuration: :class:`~fedlookup.errors.QuotaExceededError` and
:class:`~fedlookup.errors.RequestTooLargeError` (its limit and what is left of it), and
:class:`~fedlookup.errors.UnsupportedParameterError` (the parameters the node offers). The
most specific class wins; anything not listed (including non-fedlookup exceptions) is
``INTERNAL`` with a generic message.

The verdict follows from the status alone: the codes in :data:`UNAVAILABLE_STATUSES` mean
"the peer did not answer" (:class:`~fedlookup.errors.PeerUnavailableError`, shown as
``unavailable``); every other code is "the peer said no"
(:class:`~fedlookup.errors.PeerRejectedError`, shown as ``refused``).

Example::

    refusal_for(QuotaExceededError("5 items would exceed 10")).status  # "RESOURCE_EXHAUSTED"
    peer_error("FR", "Evaluate", "UNAVAILABLE", "node is not ready to answer")
"""

from __future__ import annotations

from dataclasses import dataclass

from fedlookup import errors as e

__all__ = ["TABLE", "UNAVAILABLE_STATUSES", "Refusal", "peer_error", "refusal_for"]

#: Status names meaning "the peer did not answer" rather than "the peer said no".
UNAVAILABLE_STATUSES = frozenset(
    {"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN", "INTERNAL", "UNIMPLEMENTED",
     "DATA_LOSS"}
)  # fmt: skip

_CREDENTIALS = "caller's credentials are not accepted"
_POLICY = "refused by the node's policy"
_NOT_READY = "node is not ready to answer"

#: (error class, gRPC status name, fixed public message, whether the error's own text is
#: public); the first matching row wins, so subclasses come before their bases.
TABLE: tuple[tuple[type[BaseException], str, str, bool], ...] = (
    (e.QuotaExceededError, "RESOURCE_EXHAUSTED", "daily item quota exceeded", True),
    (e.RequestTooLargeError, "INVALID_ARGUMENT", "too many items in one request", True),
    (e.PolicyRefusedError, "PERMISSION_DENIED", _POLICY, False),
    (e.PolicyError, "PERMISSION_DENIED", _POLICY, False),
    (e.CountryMismatchError, "PERMISSION_DENIED", "statement country does not match", False),
    (e.UnlistedPeerError, "PERMISSION_DENIED", "caller is not a federation member", False),
    (e.RevokedError, "UNAUTHENTICATED", _CREDENTIALS, False),
    (e.CertificateError, "UNAUTHENTICATED", _CREDENTIALS, False),
    (e.IdentityError, "UNAUTHENTICATED", _CREDENTIALS, False),
    (e.VerificationError, "INVALID_ARGUMENT", "query statement or signature is invalid", False),
    (e.PSIProtocolError, "INVALID_ARGUMENT", "malformed PSI request", False),
    (e.EpochMismatchError, "FAILED_PRECONDITION", "epoch changed; refresh node info", False),
    (e.IndexVersionError, "ABORTED", "index changed during the transfer; restart it", False),
    (e.IndexIntegrityError, "UNAVAILABLE", _NOT_READY, False),  # this node's store damaged
    (e.UnsupportedParameterError, "INVALID_ARGUMENT", "parameters not offered", True),
    (e.InputError, "INVALID_ARGUMENT", "invalid request", False),
    (e.LogWriteError, "UNAVAILABLE", "node cannot record queries right now", False),
    (e.RegistryUnavailableError, "UNAVAILABLE", _NOT_READY, False),
    (e.RegistryError, "UNAVAILABLE", _NOT_READY, False),  # unreadable or unmigrated registry
    (e.DirectoryError, "UNAVAILABLE", _NOT_READY, False),
)

_INTERNAL = ("INTERNAL", "internal error")


@dataclass(frozen=True)
class Refusal:
    """What a caller is told about an error, and what it makes of it.

    Attributes:
        status: the gRPC status code's name (``"PERMISSION_DENIED"``).
        message: the text sent to the caller.
        reason: short code for the local log and the refusals metric (the class name).
    """

    status: str
    message: str
    reason: str

    @property
    def unavailable(self) -> bool:
        """Whether the caller reads this as "the peer did not answer"."""
        return self.status in UNAVAILABLE_STATUSES


def refusal_for(exc: BaseException) -> Refusal:
    """The row of :data:`TABLE` an exception matches (``INTERNAL`` when none does).

    Args:
        exc: any exception raised while answering.

    Returns:
        The status name, public message and reason code.
    """
    reason = type(exc).__name__
    for cls, status, message, detail_public in TABLE:
        if isinstance(exc, cls):
            text = f"{message}: {exc}" if detail_public else message
            return Refusal(status=status, message=text, reason=reason)
    return Refusal(status=_INTERNAL[0], message=_INTERNAL[1], reason=reason)


def peer_error(country: str, action: str, status: str, message: str) -> e.PeerError:
    """The caller's view of a peer's answer with ``status`` and ``message``.

    Args:
        country: the peer's country.
        action: the call (``"Evaluate"``), named in the reason.
        status: the gRPC status name the peer answered with.
        message: the public message it sent.

    Returns:
        :class:`PeerUnavailableError` for the statuses of :data:`UNAVAILABLE_STATUSES`,
        else :class:`PeerRejectedError`.
    """
    if status == "DEADLINE_EXCEEDED":
        return e.PeerUnavailableError(country, f"{action}: no answer before the deadline")
    reason = f"{action}: {status}: {message}"
    if status in UNAVAILABLE_STATUSES:
        return e.PeerUnavailableError(country, reason)
    return e.PeerRejectedError(country, reason)
