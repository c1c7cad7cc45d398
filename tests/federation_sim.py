"""An in-memory federation built from ``federation`` and ``audit`` alone: no node, no sockets.

In the spirit of python-tuf's ``RepositorySimulator``: each country is the protocol core's
own parts (an epoch key store, an encrypted :class:`~federation.index.NodeIndex` fed straight
from a list of firearms, a :class:`~federation.responder.Responder` with an in-memory quota
ledger and a policy given as a plain table, a real :class:`~audit.log.AuditLog` behind a
:class:`~federation.trail.ResponderTrail`), the directory is built in memory from fresh
Ed25519 audit keys, and peers are reached through
:class:`~federation.inprocess.InProcessTransport`. Five countries run in one test in well
under a second per check. Nothing here imports ``node`` (``tests/unit/packages`` checks).

Example::

    sim = FederationSimulator(tmp_path)
    sim.add_country("FR", [Firearm("fr-1", "Glock", "XK4471Z", "stolen")])
    sim.add_country("DE", [])
    result = sim.hit_check("DE").run(items([("Glock", "XK4471Z")]), CONTEXT)
"""

from __future__ import annotations

import functools
import random
import string
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.commitment import OpeningStore
from audit.log import AuditLog
from federation.directory_model import Directory, DirectoryLimits, Member
from federation.evaluation import Evaluator
from federation.hitcheck import HitCheck
from federation.hitcheck_types import CheckItem
from federation.index import IndexInput, NodeIndex
from federation.index_head import DirectoryHeadCheck, sign_head
from federation.inprocess import InProcessTransport
from federation.keys import EpochKeyStore, load_or_create_reference_key
from federation.labels import Label, make_reference
from federation.mirrors import MirrorStore
from federation.responder import PeerGrant, Responder
from federation.trail import AskerTrail, ResponderTrail
from fedlookup.errors import QuotaExceededError
from registry_adapter.identifiers import record_identifiers

COUNTRIES = ("DE", "FR", "NL", "BE", "AT")
#: The grant of a peer the policy table does not mention (a node's defaults).
DEFAULT_GRANT = PeerGrant(True, None, True, max_items_per_request=1000, items_per_day=10_000)


@dataclass(frozen=True)
class Firearm:
    """One registry record of the simulator."""

    record_id: str
    make: str
    serial: str
    category: str = "registered"


class MemoryLedger:
    """A :class:`~federation.responder.QuotaLedger` in memory (one day, never rolls over)."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def charge(self, peer: str, items: int, limit: int) -> int:
        """Charge atomically, whole or nothing (QuotaExceededError past ``limit``)."""
        with self._lock:
            used = self._used.get(peer, 0)
            if used + items > limit:
                raise QuotaExceededError(
                    f"{items} items would exceed the daily quota of {limit} items "
                    f"({max(0, limit - used)} left today, UTC)"
                )
            self._used[peer] = used + items
            return limit - used - items

    def remaining(self, peer: str, limit: int) -> int:
        """Items left today."""
        with self._lock:
            return max(0, limit - self._used.get(peer, 0))

    def used(self, peer: str) -> int:
        """Items used today."""
        with self._lock:
            return self._used.get(peer, 0)


class TablePolicy:
    """A policy from a ``[policy]``-shaped table: ``{"peers": {"DE": {"allow": False}}}``."""

    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self._peers: Mapping[str, Mapping[str, Any]] = (table or {}).get("peers", {})

    def grant(self, peer: str) -> PeerGrant:
        """The default grant with the peer's overrides."""
        o = self._peers.get(peer, {})
        categories = o.get("categories")
        return PeerGrant(
            allowed=o.get("allow", DEFAULT_GRANT.allowed),
            categories=frozenset(categories) if categories is not None else None,
            reveal=o.get("mode", "reveal") == "reveal",
            max_items_per_request=o.get(
                "max_items_per_request", DEFAULT_GRANT.max_items_per_request
            ),
            items_per_day=o.get("items_per_day", DEFAULT_GRANT.items_per_day),
            min_items_per_request=o.get("min_items_cardinality", 0),
        )


@dataclass
class Country:
    """One in-memory country: its index, log and responder."""

    code: str
    root: Path
    audit_key: Ed25519PrivateKey
    keys: EpochKeyStore
    index: NodeIndex
    log: AuditLog
    ledger: MemoryLedger
    reference_key: bytes
    responder: Responder = field(init=False)
    records: dict[str, Firearm] = field(default_factory=dict)

    def inputs(self, records: Sequence[Firearm]) -> list[IndexInput]:
        """Index inputs for ``records`` (labels with sealed follow-up references)."""
        out = []
        for r in records:
            label = Label(r.category, make_reference(self.reference_key, self.code, r.record_id))
            out.append(IndexInput(r.record_id, record_identifiers(r.make, r.serial), label))
        return out

    def add(self, records: Sequence[Firearm]) -> int:
        """Add or change records; return the new index version."""
        for r in records:
            self.records[r.record_id] = r
        return self.index.update(self.inputs(records), workers=1)

    def rotate_epoch(self) -> str:
        """Rotate the epoch key and rebuild the index under it; return the new epoch id."""
        key = self.keys.rotate()
        self.index.close()
        self.index = NodeIndex(self.root / "index", key=key, country=self.code)
        self.index.update(self.inputs(list(self.records.values())), workers=1, complete=True)
        return key.epoch_id


class FederationSimulator:
    """Countries in one process; every country is in the directory from the start.

    Args:
        root: a folder for the indexes and logs (``tmp_path``).
        countries: the directory's members.
    """

    def __init__(self, root: Path, countries: Sequence[str] = COUNTRIES) -> None:
        self.root = root
        self.audit_keys = {c: Ed25519PrivateKey.generate() for c in countries}
        self.directory = Directory(
            federation="simulated",
            version=1,
            issued_at=datetime.now(UTC),
            members=tuple(
                Member(
                    c,
                    "127.0.0.1:1",
                    None,
                    k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                    DirectoryLimits(max_items_per_request=1000, items_per_day=100_000),
                )
                for c, k in self.audit_keys.items()
            ),
        )
        self.countries: dict[str, Country] = {}
        self.trails: dict[str, AskerTrail] = {}
        self._closers: list[Callable[[], None]] = []

    def add_country(
        self, code: str, records: Sequence[Firearm], policy: Mapping[str, Any] | None = None
    ) -> Country:
        """Start ``code`` with ``records`` indexed and ``policy`` (a ``[policy]`` table)."""
        root = self.root / code
        keys = EpochKeyStore(root / "epoch-keys")
        index = NodeIndex(root / "index", key=keys.current(), country=code)
        log = AuditLog.open(
            root / "audit", f"fedlookup/{code}", self.audit_keys[code], country=code
        )
        self._closers += [log.close, lambda: country.index.close()]
        country = Country(
            code, root, self.audit_keys[code], keys, index, log, MemoryLedger(),
            load_or_create_reference_key(root / "epoch-keys"),
        )  # fmt: skip
        country.responder = Responder(
            country=code,
            index=lambda: country.index if country.index.version > 0 else None,
            evaluator_factory=lambda epoch: Evaluator(keys.load(epoch)),
            policy=TablePolicy(policy),
            quotas=country.ledger,
            audit=ResponderTrail(log, used=country.ledger.used),
            directory=self.directory,
            signer=self.audit_keys[code].sign,
            head_signer=functools.partial(sign_head, key=self.audit_keys[code]),
        )
        country.add(records)
        self.countries[code] = country
        return country

    def transports(self, asker: str, wrap: Callable[[Country], Any] | None = None) -> list[Any]:
        """In-process transports from ``asker`` to every other country."""
        return [
            InProcessTransport(wrap(c) if wrap else c.responder, as_country=asker, country=code)
            for code, c in sorted(self.countries.items())
            if code != asker
        ]

    def trail(self, asker: str) -> AskerTrail:
        """``asker``'s outgoing-query trail (one log and openings store per asker)."""
        trail = self.trails.get(asker)
        if trail is None:
            root = self.root / f"asker-{asker}"
            root.mkdir(parents=True, exist_ok=True)
            key = self.audit_keys[asker]
            origin = f"fedlookup/{asker}/outgoing"
            log = AuditLog.open(root / "audit-outgoing", origin, key, country=asker)
            openings = OpeningStore(root / "openings.sqlite3")
            self._closers += [log.close, openings.close]
            trail = AskerTrail(
                country=asker, log=log, openings=openings, key=key, directory=self.directory
            )
            self.trails[asker] = trail
        return trail

    def hit_check(
        self, asker: str, *, timeout: float = 5.0, peers: list[Any] | None = None
    ) -> HitCheck:
        """A hit check from ``asker``: a new mirror store each time (as after a restart: it
        reads the mirrors from disk)."""
        check = HitCheck(
            country=asker,
            peers=peers if peers is not None else self.transports(asker),
            mirrors=MirrorStore(
                self.root / f"asker-{asker}" / "mirrors",
                head_check=DirectoryHeadCheck(self.directory),
            ),
            auditor=self.trail(asker),
            timeout=timeout,
            sync_timeout=timeout,
        )
        self._closers.append(check.close)
        return check

    def close(self) -> None:
        """Close every log, index and store opened."""
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def items(pairs: Sequence[tuple[str, str]]) -> list[CheckItem]:
    """Check items for (make, serial) pairs."""
    return [CheckItem(make, serial, record_identifiers(make, serial)) for make, serial in pairs]


MAKES = ("Glock", "Beretta", "Walther", "Heckler & Koch", "Sig Sauer", "Smith & Wesson", "CZ")


def random_registry(code: str, n: int, seed: int) -> list[Firearm]:
    """``n`` random records whose serials carry the country code (no accidental overlap)."""
    rng = random.Random(seed)
    alphabet = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
    return [
        Firearm(
            f"{code}-{i}",
            rng.choice(MAKES),
            f"{code}{''.join(rng.choices(alphabet, k=7))}",
            rng.choice(("registered", "registered", "stolen", "lost", "exported")),
        )
        for i in range(n)
    ]


def messy(serial: str) -> str:
    """The same serial as a tired clerk would type it: lower case, spaced, O for 0."""
    s = serial.lower().replace("0", "o")
    return f"{s[:3]} {s[3:6]}-{s[6:]}"


#: The planted hits of :func:`three_countries`: FR holds a stolen Glock, NL an exported Walther.
STOLEN = Firearm("fr-1", "Glock", "XK4471Z", "stolen")
EXPORTED = Firearm("nl-1", "Walther", "WP99812", "exported")
#: The two planted firearms as an investigator types them.
ASK = [("glock", "xk 4471 z"), ("Walther", "WP-99812")]


def three_countries(root: Path) -> FederationSimulator:
    """DE (the asker), FR holding :data:`STOLEN` and NL holding :data:`EXPORTED`, each among
    random records of its own. The caller closes it."""
    fed = FederationSimulator(root)
    fed.add_country("DE", random_registry("DE", 5, seed=3))
    fed.add_country("FR", [STOLEN, *random_registry("FR", 20, seed=1)])
    fed.add_country("NL", [EXPORTED, *random_registry("NL", 20, seed=2)])
    return fed
