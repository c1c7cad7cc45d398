"""The trust policy an auditor verifies an export against.

``policy.json`` (canonical JSON) names the log's origin and country, the log's note vkey, the
cosigners' vkeys (type 0x04), and ``quorum``: how many of them must have cosigned the latest
checkpoint. An export ships the policy its node believes in; an auditor should pass a policy
built from keys obtained independently (the federation directory) with ``--policy``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.canonical import canonical_bytes, parse_canonical
from audit.note import ALG_COSIGNATURE_V1, ALG_ED25519, Verifier
from audit.statements import check_keys, int_field, text_field
from fedlookup.errors import InputError, VerificationError

__all__ = ["Policy"]


@dataclass(frozen=True)
class Policy:
    """Which keys an auditor trusts for one log."""

    origin: str
    country: str
    log_vkey: str
    cosigners: tuple[str, ...] = ()
    quorum: int = 0

    def log_verifier(self) -> Verifier:
        """The log's note verifier."""
        return Verifier.parse(self.log_vkey)

    def cosigner_verifiers(self) -> list[Verifier]:
        """The trusted cosigners."""
        return [Verifier.parse(v) for v in self.cosigners]

    def to_bytes(self) -> bytes:
        """Canonical JSON plus a newline."""
        obj: dict[str, Any] = {
            "v": 1,
            "origin": self.origin,
            "country": self.country,
            "log_vkey": self.log_vkey,
            "cosigners": sorted(set(self.cosigners)),
            "quorum": self.quorum,
        }
        return canonical_bytes(obj) + b"\n"

    @classmethod
    def parse(cls, data: bytes, *, strict: bool = True) -> Policy:
        """Parse a policy. ``strict`` requires the exact canonical bytes (as exported).

        Raises:
            VerificationError: malformed, wrong key types, quorum above the cosigner count.
        """
        what = "policy"
        if strict:
            if not data.endswith(b"\n"):
                raise VerificationError(f"{what}: must end with a newline")
            obj = parse_canonical(data[:-1], what)
        else:
            try:
                obj = json.loads(data)
            except ValueError as exc:
                raise VerificationError(f"{what}: not JSON ({exc})") from exc
        check_keys(obj, {"v", "origin", "country", "log_vkey", "cosigners", "quorum"}, what)
        if obj["v"] != 1 or not isinstance(obj["cosigners"], list):
            raise VerificationError(f"{what}: unsupported version")
        policy = cls(
            origin=text_field(obj, "origin", what, empty=False),
            country=text_field(obj, "country", what),
            log_vkey=text_field(obj, "log_vkey", what, empty=False),
            cosigners=tuple(str(c) for c in obj["cosigners"]),
            quorum=int_field(obj, "quorum", what),
        )
        if strict and list(policy.cosigners) != sorted(set(policy.cosigners)):
            raise VerificationError(f"{what}: cosigners must be sorted and unique")
        log = policy.log_verifier()
        if log.alg != ALG_ED25519 or log.name != policy.origin:
            raise VerificationError(f"{what}: log_vkey must be an Ed25519 key named the origin")
        if any(v.alg != ALG_COSIGNATURE_V1 for v in policy.cosigner_verifiers()):
            raise VerificationError(f"{what}: cosigners must be cosignature (0x04) keys")
        if policy.quorum > len(policy.cosigners):
            raise VerificationError(f"{what}: quorum {policy.quorum} exceeds the cosigner count")
        return policy

    @classmethod
    def load(cls, path: Path) -> Policy:
        """Read a hand-written (non-canonical allowed) policy file.

        Raises:
            InputError: unreadable or invalid.
        """
        try:
            return cls.parse(path.read_bytes(), strict=False)
        except OSError as exc:
            raise InputError(f"cannot read: {exc}", file=str(path)) from exc
        except VerificationError as exc:
            raise InputError(str(exc), file=str(path)) from exc
