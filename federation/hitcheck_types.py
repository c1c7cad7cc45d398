"""The vocabulary of a hit check: what is asked, and what each country answered.

These types cross from the flow (:mod:`federation.hitcheck`) to the investigator's CLI
and to scripts (through :meth:`CheckResult.to_json`, whose schema is documented in
``docs/investigators.md``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from federation.labels import Label
from fedlookup.errors import VerificationError
from fedlookup.identifiers import IDENTIFIER_VERSION, Identifiers

__all__ = [
    "CheckContext",
    "CheckItem",
    "CheckResult",
    "CountryAnswer",
    "Outcome",
    "PeerReport",
    "QueryAuditor",
    "QueryOutcome",
    "SignedQuery",
    "classify",
]


class Outcome(enum.StrEnum):
    """One country's answer about one firearm."""

    #: The make and serial match a record; category and reference follow.
    HIT = "hit"
    #: Only the serial matches (under another make): a weaker lead worth a follow-up.
    POSSIBLE = "possible"
    #: Neither matches any record the country lets this caller see.
    NO_HIT = "no-hit"
    #: The country could not be asked (down, too slow, broken answer); the reason says why.
    UNAVAILABLE = "unavailable"
    #: The country answered with a refusal (policy, quota, identity).
    REFUSED = "refused"
    #: Not sent to any country: this node refused the input (a placeholder serial...).
    NOT_CHECKED = "not-checked"


def classify(
    make_serial: Sequence[Label], serial_only: Sequence[Label]
) -> tuple[Outcome, tuple[Label, ...]]:
    """One firearm's outcome from the labels of its two identifiers, and the labels shown.

    A make+serial match is a hit; a serial-only match alone is a possible match (another
    maker may use the same serial).
    """
    if make_serial:
        return Outcome.HIT, tuple(make_serial)
    if serial_only:
        return Outcome.POSSIBLE, tuple(serial_only)
    return Outcome.NO_HIT, ()


@dataclass(frozen=True)
class CheckItem:
    """One firearm to check: display fields plus its canonical identifier items.

    Attributes:
        make: the make as the investigator typed it (shown back, never sent).
        serial: the serial as typed (shown back, never sent).
        identifiers: its canonical identifiers (``registry_adapter.record_identifiers``
            for v1, ``node.ask.check_items`` for every version): ``make_serial`` is empty
            when the make is unknown (then only serial-only items are sent and the best
            answer is ``possible``); ``variants`` are extra serial-only items (rules v2).
        warnings: what looked suspicious in the input (never the serial itself).
        version: the identifier version of these items (``"v1"``, ``"v2"``).
        fallback: the same firearm under an older version, for peers that do not speak
            ``version`` yet.
        refusal: why this node refused to send the firearm at all (a placeholder serial);
            every country then answers :attr:`Outcome.NOT_CHECKED`.
    """

    make: str
    serial: str
    identifiers: Identifiers
    warnings: tuple[str, ...] = ()
    version: str = IDENTIFIER_VERSION
    fallback: CheckItem | None = None
    refusal: str = ""

    def items(self) -> tuple[bytes, ...]:
        """The items sent for this firearm: make+serial first (when known), then serial-only
        and its variants; none when the firearm is refused."""
        return () if self.refusal else self.identifiers.items()

    @property
    def hit_items(self) -> int:
        """How many leading items of :meth:`items` make a ``hit`` (0 or 1)."""
        return 0 if self.refusal else self.identifiers.hit_items

    def under(self, versions: frozenset[str]) -> CheckItem:
        """This firearm in the newest form a peer speaking ``versions`` reads; itself when
        none fits (its bytes are versioned, so they simply cannot match)."""
        form: CheckItem | None = self
        while form is not None:
            if form.version in versions:
                return form
            form = form.fallback
        return self


@dataclass(frozen=True)
class CheckContext:
    """Why the check is made: written into every signed statement and both audit logs.

    Attributes:
        case_id: the case reference.
        purpose: the stated purpose.
        legal_basis: the legal basis, when given.
        investigator: the investigator's pseudonym.
    """

    case_id: str
    purpose: str
    legal_basis: str = ""
    investigator: str = ""


@dataclass(frozen=True)
class SignedQuery:
    """A signed query statement ready to send, with the request id it carries."""

    request_id: str
    statement: bytes
    signature: bytes
    #: The key to blind this request under (``audit.commitment.blinding_key`` of its
    #: opening), so an auditor can recompute the request; empty: a fresh random key.
    blinding_key: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class QueryOutcome:
    """How one sent query ended, for the outgoing log.

    Attributes:
        query: the signed query that was sent.
        status: ``answered``, ``refused``, ``unavailable`` or ``error``.
        receipt: the peer's signed receipt (empty when it gave none).
        hits: firearms found (make and serial).
        possible: firearms found by serial only.
        no_hits: firearms not found.
        verified: the receipt was already checked with :meth:`QueryAuditor.verify_receipt`
            (and ``status`` says how that went); otherwise it is checked when logged.
    """

    query: SignedQuery
    status: str
    receipt: bytes = b""
    hits: int = 0
    possible: int = 0
    no_hits: int = 0
    verified: bool = False


class QueryAuditor(Protocol):
    """The asking side's audit hooks (implemented over :mod:`audit` by the node)."""

    def sign_many(
        self, requests: Sequence[tuple[str, Sequence[bytes]]], context: CheckContext
    ) -> list[SignedQuery]:
        """Commit to each request's items (storing the openings, in one transaction), sign
        the statements, and log them as sent with one ``fsync``.

        Returns:
            One signed query per request, in order.

        Raises:
            AuditError: the openings or the log entries could not be made durable (none of
                the queries may be sent).
        """
        ...

    def verify_receipt(
        self, query: SignedQuery, receipt: bytes, *, binding: dict[str, Any] | None = None
    ) -> None:
        """Check a peer's receipt for a sent query (signature, checkpoint, inclusion, and
        that the peer logged this statement) with the peer's key from the directory.

        With ``binding`` (``audit.statements.answer_binding`` of what was sent and
        received), the receipt must bind exactly that answer.

        Safe to call from several threads at once: a check verifies each answer as it
        arrives, before the outcomes are logged together.

        Raises:
            VerificationError: the receipt does not verify.
        """
        ...

    def verify_epoch_key(
        self, country: str, epoch_id: str, public: bytes, signature: bytes
    ) -> None:
        """Check that ``country`` vouched for ``public`` as its key of ``epoch_id`` (an
        Ed25519 signature by its audit key, pinned in the directory).

        Raises:
            VerificationError: no key, or the signature does not verify.
        """
        ...

    def record_many(self, outcomes: Sequence[QueryOutcome]) -> list[VerificationError | None]:
        """Log the outcomes of sent queries (``answered``, ``refused``, ``unavailable``) with
        their result counts and the peers' receipts, with one ``fsync``.

        Every outcome is logged; a receipt not yet verified is verified first, and logged
        with status ``error`` when it does not verify.

        Returns:
            Per outcome, in order, the receipt's verification error or ``None``.

        Raises:
            LogWriteError: the entries could not be made durable.
        """
        ...


@dataclass(frozen=True)
class CountryAnswer:
    """One country's answer about one firearm.

    Attributes:
        outcome: hit, possible, no-hit, unavailable or refused.
        labels: for a hit or possible match, the matching records' category and reference.
        index_version: the version of the country's index the serial was checked against.
        latency_ms: wall time of this country's part of the check.
        reason: why the country was unavailable or refused (empty otherwise).
    """

    outcome: Outcome
    labels: tuple[Label, ...] = ()
    index_version: int | None = None
    latency_ms: float = 0.0
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The answer as a JSON-ready dict (see ``docs/investigators.md``)."""
        return {
            "outcome": self.outcome.value,
            "matches": [{"category": lb.category, "reference": lb.reference} for lb in self.labels],
            "index_version": self.index_version,
            "latency_ms": round(self.latency_ms, 1),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PeerReport:
    """How the exchange with one country went, over the whole check.

    Attributes:
        country: the peer.
        status: ``answered``, ``unavailable``, ``refused`` or ``partial`` (some chunks only).
        reason: the first failure's reason, when there was one.
        index_version: the version of its index used.
        epoch_id: the epoch of its index used.
        sync: what the mirror refresh fetched (``none``, ``delta``, ``full``).
        latency_ms: wall time of the exchange.
        request_ids: one per request sent (batches go in chunks).
    """

    country: str
    status: str
    reason: str = ""
    index_version: int | None = None
    epoch_id: str | None = None
    sync: str = ""
    latency_ms: float = 0.0
    request_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "status": self.status,
            "reason": self.reason,
            "index_version": self.index_version,
            "epoch_id": self.epoch_id,
            "sync": self.sync,
            "latency_ms": round(self.latency_ms, 1),
            "request_ids": list(self.request_ids),
        }


@dataclass(frozen=True)
class CheckResult:
    """The merged answer of a hit check.

    Attributes:
        items: the firearms asked about, in input order.
        answers: per item (same order), per country code, that country's answer.
        peers: per country code, how the exchange went.
        elapsed_ms: wall time of the whole check.
    """

    items: tuple[CheckItem, ...]
    answers: tuple[dict[str, CountryAnswer], ...]
    peers: dict[str, PeerReport] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def complete(self) -> bool:
        """True when every country answered every item."""
        return all(p.status == "answered" for p in self.peers.values())

    def count(self, outcome: Outcome) -> int:
        """How many (item, country) answers have ``outcome``."""
        return sum(1 for per in self.answers for a in per.values() if a.outcome is outcome)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (schema ``fedlookup.check/v1``)."""
        return {
            "schema": "fedlookup.check/v1",
            "complete": self.complete,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "summary": {o.value: self.count(o) for o in Outcome},
            "peers": {c: p.to_json() for c, p in sorted(self.peers.items())},
            "results": [
                {
                    "make": item.make,
                    "serial": item.serial,
                    "items": len(item.items()),
                    "warnings": list(item.warnings),
                    "refused": item.refusal,
                    "countries": {c: a.to_json() for c, a in sorted(per.items())},
                }
                for item, per in zip(self.items, self.answers, strict=True)
            ],
        }
