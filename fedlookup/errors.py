"""The one error tree of fedlookup.

Foreign exceptions (openmined ``RuntimeError``, protobuf ``DecodeError``, ``grpc.RpcError``,
SQLAlchemy ``OperationalError``, ``cryptography`` ``InvalidSignature``) are translated at the
boundary that meets them, with ``raise ... from exc``. Verification raises; it never returns
``False``. The node's servicer maps each class below to one gRPC status and a fixed public
message (``federation.refusals``, one table for both transports); the full reason stays in
the local log.

::

    FedlookupError
    ├── ConfigError ...................... bad configuration value (names the field)
    ├── InputError ....................... bad user input (names file, line, field)
    │   ├── ImportRejectedError .......... --strict import refused; nothing written
    │   └── UnsupportedParameterError .... a parameter the node does not offer (public)
    ├── RegistryError
    │   ├── RegistryUnavailableError ..... database unreachable / locked
    │   └── WatermarkError ............... change feed cannot resume from a watermark
    ├── CryptoError
    │   ├── KeyFileError ................. key file missing, wrong mode, wrong length
    │   ├── PSIProtocolError ............. malformed PSI message, invalid point, wrong count
    │   └── EpochMismatchError ........... request or mirror made under another epoch key
    ├── IndexFormatError
    │   ├── IndexIntegrityError .......... checksum mismatch, truncated, tampered
    │   └── IndexVersionError ............ delta does not apply to this version
    ├── IdentityError
    │   ├── CertificateError ............. expired, wrong usage, other CA, bad SAN
    │   ├── RevokedError
    │   ├── UnlistedPeerError ............ peer not in the federation directory
    │   └── CountryMismatchError ......... statement country differs from certificate
    ├── DirectoryError
    │   ├── DirectorySignatureError
    │   └── DirectoryRollbackError ....... older or equal version than the one held
    ├── PolicyError
    │   ├── PolicyRefusedError ........... peer or purpose not permitted
    │   ├── RequestTooLargeError ......... items per request over the limit
    │   └── QuotaExceededError ........... items per day over the quota
    ├── PeerError
    │   ├── PeerUnavailableError ......... unreachable, timed out, handshake failed
    │   └── PeerRejectedError ............ peer answered with a refusal
    └── AuditError
        ├── LogWriteError ................ the log cannot be made durable: refuse to answer
        ├── LogBusyError ................. the log is open in another process
        ├── ConsistencyError ............. two checkpoints do not describe one history
        └── VerificationError ............ signature, inclusion, commitment or export invalid
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "CertificateError",
    "ConfigError",
    "ConsistencyError",
    "CountryMismatchError",
    "CryptoError",
    "DirectoryError",
    "DirectoryRollbackError",
    "DirectorySignatureError",
    "EpochMismatchError",
    "FedlookupError",
    "IdentityError",
    "ImportRejectedError",
    "IndexFormatError",
    "IndexIntegrityError",
    "IndexVersionError",
    "InputError",
    "KeyFileError",
    "LogBusyError",
    "LogWriteError",
    "PSIProtocolError",
    "PeerError",
    "PeerRejectedError",
    "PeerUnavailableError",
    "PolicyError",
    "PolicyRefusedError",
    "QuotaExceededError",
    "RegistryError",
    "RegistryUnavailableError",
    "RequestTooLargeError",
    "RevokedError",
    "UnlistedPeerError",
    "UnsupportedParameterError",
    "VerificationError",
    "WatermarkError",
]


class FedlookupError(Exception):
    """Base of every error fedlookup raises on purpose."""


class ConfigError(FedlookupError):
    """A configuration value is invalid.

    Args:
        field: dotted name of the offending field (``"peers.FR.items_per_day"``).
        reason: what is wrong with it.
        source: file the value came from, or ``"environment"``.
    """

    def __init__(self, field: str, reason: str, source: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}: {field}: {reason}")


class InputError(FedlookupError):
    """User-supplied input is malformed.

    Args:
        reason: what is wrong.
        file: the input file, when there is one.
        line: 1-based line number, when known.
        field: the field or column, when known.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.field = field
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        fld = f"{field}: " if field else ""
        super().__init__(f"{prefix}{fld}{reason}")


class ImportRejectedError(InputError):
    """A strict import found rejected rows and wrote nothing."""


class UnsupportedParameterError(InputError):
    """A request asks for parameters the node does not offer; the message names the ones
    it does (public: it holds only the node's own configuration)."""


class RegistryError(FedlookupError):
    """The registry could not be read or written."""


class RegistryUnavailableError(RegistryError):
    """The registry database is unreachable or refuses connections."""


class WatermarkError(RegistryError):
    """The change feed cannot resume from the given watermark; a full rebuild is needed."""


class CryptoError(FedlookupError):
    """A cryptographic operation failed or was given bad material."""


class KeyFileError(CryptoError):
    """A key file is missing, has unsafe permissions, or holds malformed key material."""


class PSIProtocolError(CryptoError):
    """A PSI message is malformed: bad encoding, invalid curve point, wrong element count."""


class EpochMismatchError(CryptoError):
    """A request, response or mirror belongs to a different epoch key than expected."""


class IndexFormatError(FedlookupError):
    """An encrypted index or delta cannot be used."""


class IndexIntegrityError(IndexFormatError):
    """An index or delta is truncated, tampered with, or fails its checksum."""


class IndexVersionError(IndexFormatError):
    """A delta does not apply to the version held (gap, wrong base, other epoch)."""


class IdentityError(FedlookupError):
    """A peer's identity could not be established or is not acceptable."""


class CertificateError(IdentityError):
    """A certificate is invalid: expired, not yet valid, wrong usage, other CA, bad SAN."""


class RevokedError(IdentityError):
    """A certificate is on the federation's revocation list."""


class UnlistedPeerError(IdentityError):
    """A peer is not a member in the current federation directory."""


class CountryMismatchError(IdentityError):
    """The country claimed in a request differs from the caller's certificate."""


class DirectoryError(FedlookupError):
    """A federation directory cannot be accepted."""


class DirectorySignatureError(DirectoryError):
    """The directory's signature does not verify under the federation authority key."""


class DirectoryRollbackError(DirectoryError):
    """The directory's version is not newer than the one already held."""


class PolicyError(FedlookupError):
    """A request is refused by the node's policy."""


class PolicyRefusedError(PolicyError):
    """The peer, purpose or category is not permitted."""


class RequestTooLargeError(PolicyError):
    """A request carries more items than the per-request limit."""


class QuotaExceededError(PolicyError):
    """A request would take the peer past its items-per-day quota."""


class PeerError(FedlookupError):
    """A call to a peer node failed.

    Args:
        peer: the peer's country code.
        reason: what went wrong, for the local operator.
    """

    def __init__(self, peer: str, reason: str) -> None:
        self.peer = peer
        self.reason = reason
        super().__init__(f"peer {peer}: {reason}")


class PeerUnavailableError(PeerError):
    """The peer could not be reached, timed out, or failed the TLS handshake."""


class PeerRejectedError(PeerError):
    """The peer answered, refusing the request (policy, quota, identity)."""


class AuditError(FedlookupError):
    """The audit log could not be written or verified."""


class LogWriteError(AuditError):
    """An entry could not be made durable; the node must not answer."""


class LogBusyError(AuditError):
    """The audit log is held open by another process (the serving node, another check)."""


class ConsistencyError(AuditError):
    """Two checkpoints or logs do not describe one append-only history."""


class VerificationError(AuditError):
    """A signature, proof, commitment or export failed verification."""
