"""Where a node keeps everything: every path under ``[node] data_dir`` and every log origin.

One place, so an operator's backup list (``docs/operations.md``), the serving process, the
investigator's check and the operator tools agree on the folder::

    <data_dir>/
      keys/                     reference key (follow-up references of labels)
      keys/epoch/               epoch keys, 0600, one current
      index/                    the encrypted index store
      audit/                    the node's log of incoming queries   origin fedlookup/CC
      audit-outgoing/           the log of this node's own queries   origin fedlookup/CC/outgoing
      openings.sqlite3          openings of the outgoing commitments (0600)
      mirrors/CC.mirror         mirrors of the peers' indexes
      quotas.sqlite             the per-peer quota ledger
      compat/                   cached stock openmined setups
      cosign/                   ``fedlookup node cosign`` requests and answers
      registry-snapshot.sqlite3 a consistent copy of the registry while indexing

Example::

    >>> from pathlib import Path
    >>> NodeLayout(Path("/var/lib/fedlookup")).audit_outgoing
    PosixPath('/var/lib/fedlookup/audit-outgoing')
    >>> log_origins("DE")
    ('fedlookup/DE', 'fedlookup/DE/outgoing')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["NodeLayout", "log_origins", "node_log_origin", "outgoing_log_origin"]


def node_log_origin(country: str) -> str:
    """Origin line of a country's node (incoming-query) audit log."""
    return f"fedlookup/{country}"


def outgoing_log_origin(country: str) -> str:
    """Origin line of a country's outgoing-query log."""
    return f"fedlookup/{country}/outgoing"


def log_origins(country: str) -> tuple[str, str]:
    """Origins of a country's node log and outgoing-query log."""
    return node_log_origin(country), outgoing_log_origin(country)


@dataclass(frozen=True)
class NodeLayout:
    """The paths of one node's data folder (see the module docstring).

    Attributes:
        data_dir: the node's ``[node] data_dir``.
    """

    data_dir: Path

    @property
    def reference_keys(self) -> Path:
        """Directory of the reference key (follow-up references of labels)."""
        return self.data_dir / "keys"

    @property
    def epoch_keys(self) -> Path:
        """Directory of the epoch key files."""
        return self.data_dir / "keys" / "epoch"

    @property
    def index(self) -> Path:
        """Directory of the encrypted index."""
        return self.data_dir / "index"

    @property
    def index_rules(self) -> Path:
        """File naming the identifier rules the index was built under (``v1+v2``)."""
        return self.index / "identifiers"

    @property
    def audit(self) -> Path:
        """Directory of the node's (incoming-query) audit log."""
        return self.data_dir / "audit"

    @property
    def audit_outgoing(self) -> Path:
        """Directory of the node's outgoing-query log."""
        return self.data_dir / "audit-outgoing"

    @property
    def openings(self) -> Path:
        """SQLite file of the openings of this node's commitments."""
        return self.data_dir / "openings.sqlite3"

    @property
    def mirrors(self) -> Path:
        """Directory of the peers' index mirrors."""
        return self.data_dir / "mirrors"

    @property
    def quotas(self) -> Path:
        """SQLite file of the quota ledger."""
        return self.data_dir / "quotas.sqlite"

    @property
    def compat(self) -> Path:
        """Directory of cached stock openmined setups."""
        return self.data_dir / "compat"

    @property
    def cosign_requests(self) -> Path:
        """Where ``fedlookup node cosign`` leaves its requests and finds the answers."""
        return self.data_dir / "cosign"

    @property
    def followups(self) -> Path:
        """SQLite file of the follow-up requests received from peers (node and desk)."""
        return self.data_dir / "followups.sqlite3"

    @property
    def registry_snapshot(self) -> Path:
        """A consistent copy of an SQLite registry, taken while indexing."""
        return self.data_dir / "registry-snapshot.sqlite3"
