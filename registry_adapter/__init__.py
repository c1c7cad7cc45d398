"""Reading a country's registry: the embedded store, a mapped foreign table, identifiers.

The node reads every registry through :class:`RegistrySource` (count, streaming
iteration, change feed). :class:`RegistryStore` is the embedded, read-write store (SQLite by
default, PostgreSQL by URL) with CSV / JSON Lines import; :class:`MappedRegistry` reads an
existing table through a :class:`ColumnMapping`. :func:`record_identifiers` turns a make and
serial into the versioned bytes both ends of a lookup derive (``docs/identifiers.md``).

Example:
    >>> import pathlib, tempfile
    >>> from registry_adapter import RegistryStore, record_identifiers
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "r.csv").write_text(
    ...     "record_id,make,model,caliber,serial,category,recorded_at\\n"
    ...     "A1,S&W,686,.357 Magnum,dhb-1234,stolen,2024-03-01\\n"
    ... )
    >>> with RegistryStore(str(tmp / "r.db")) as store:
    ...     summary = store.import_file(tmp / "r.csv")
    ...     feed = list(store.changes_since(None))
    >>> summary.inserted, feed[0].record.category
    (1, <Category.STOLEN: 'stolen'>)
    >>> record_identifiers(feed[0].record.make, feed[0].record.serial).make_serial
    b'v1|MS|SMITHANDWESSON|DHB1234'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedlookup.errors import ConfigError
from registry_adapter.generate import GenerateSummary, generate_registry
from registry_adapter.identifiers import (
    IDENTIFIER_VERSION,
    Identifiers,
    MakeAliases,
    canonical_make,
    canonical_serial,
    record_identifiers,
)
from registry_adapter.importer import ImportSummary
from registry_adapter.mapped import MappedRegistry
from registry_adapter.mapping import ColumnMapping
from registry_adapter.models import Category, Change, Record
from registry_adapter.parse import Reject
from registry_adapter.source import RegistrySource
from registry_adapter.staging import ApplyCounts
from registry_adapter.stats import RegistryStats, compute_stats
from registry_adapter.store import RegistryStore

__all__ = [
    "IDENTIFIER_VERSION",
    "ApplyCounts",
    "Category",
    "Change",
    "ColumnMapping",
    "GenerateSummary",
    "Identifiers",
    "ImportSummary",
    "MakeAliases",
    "MappedRegistry",
    "Record",
    "RegistrySource",
    "RegistryStats",
    "RegistryStore",
    "Reject",
    "canonical_make",
    "canonical_serial",
    "compute_stats",
    "generate_registry",
    "open_registry",
    "record_identifiers",
]


def open_registry(
    url: str,
    mapping: ColumnMapping | Mapping[str, Any] | None = None,
    *,
    snapshot: Path | None = None,
) -> RegistrySource:
    """Open the registry a node reads.

    Args:
        url: SQLAlchemy URL or SQLite path.
        mapping: read an existing table through this mapping; the embedded store when
            ``None``. A plain mapping is the node configuration's ``[registry.mapping]``
            table, checked by :meth:`ColumnMapping.from_dict`; its optional ``snapshot`` key
            names the change-feed snapshot file.
        snapshot: change-feed snapshot file for a mapped registry (ignored otherwise);
            a temporary one when neither this nor the ``snapshot`` key is given.

    Returns:
        A :class:`MappedRegistry` when ``mapping`` is given, else a :class:`RegistryStore`.

    Raises:
        ConfigError: bad URL or mapping.
        RegistryUnavailableError: the database cannot be reached.
    """
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        fields = dict(mapping)
        where = fields.pop("snapshot", None)
        if where is not None and snapshot is None:
            if not isinstance(where, str | Path) or not str(where).strip():
                raise ConfigError("registry.mapping.snapshot", "must be a file path")
            snapshot = Path(where)
        mapping = ColumnMapping.from_dict(fields)
    if mapping is not None:
        return MappedRegistry(url, mapping, snapshot=snapshot)
    return RegistryStore(url)
