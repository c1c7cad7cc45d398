"""Column mapping onto an existing registry table (node configuration ``[registry.mapping]``).

Example (TOML)::

    [registry.mapping]
    table = "armes.detention"            # optional schema prefix
    record_id = "id_arme"
    make = "marque"
    serial = "num_serie"
    category = "statut"                  # omit to label every row with default_category
    model = "modele"                     # optional
    caliber = "calibre"                  # optional
    recorded_at = "date_saisie"          # optional; 1970-01-01 UTC when absent
    notes = "observations"               # optional; never leaves the node
    default_category = "registered"      # optional; for codes not in category_values
    [registry.mapping.category_values]   # foreign code -> category
    D = "registered"
    V = "stolen"
    P = "lost"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedlookup.errors import ConfigError
from registry_adapter.models import Category, parse_category

__all__ = ["ColumnMapping"]

_REQUIRED = ("table", "record_id", "make", "serial")
_OPTIONAL = ("category", "model", "caliber", "recorded_at", "notes")
_KNOWN = frozenset((*_REQUIRED, *_OPTIONAL, "category_values", "default_category"))


@dataclass(frozen=True)
class ColumnMapping:
    """Where each record field lives in a foreign table.

    Attributes:
        table: table name, optionally ``schema.table``.
        record_id: column holding the registry's key (any type; read as text).
        make: manufacturer column.
        serial: serial number column.
        category: category column; ``None`` labels every row ``default_category``.
        model, caliber, recorded_at, notes: optional columns.
        category_values: foreign code to :class:`Category`; empty means the column holds
            our category names.
        default_category: category for codes missing from ``category_values``; ``None``
            makes an unmapped code an error (fail closed).
    """

    table: str
    record_id: str
    make: str
    serial: str
    category: str | None = None
    model: str | None = None
    caliber: str | None = None
    recorded_at: str | None = None
    notes: str | None = None
    category_values: Mapping[str, Category] = field(default_factory=dict)
    default_category: Category | None = None

    def __post_init__(self) -> None:
        if self.category is None and self.default_category is None:
            raise ConfigError("category", "set a category column or a default_category")

    @property
    def schema_and_table(self) -> tuple[str | None, str]:
        """``(schema, table)`` split from :attr:`table`."""
        schema, _, name = self.table.rpartition(".")
        return (schema or None), name

    def map_category(self, code: object) -> Category | None:
        """Category of a foreign value; ``None`` when unmapped and no default is set."""
        text = "" if code is None else str(code).strip()
        if self.category_values:
            hit = self.category_values.get(text)
            return hit if hit is not None else self.default_category
        try:
            return parse_category(text)
        except ValueError:
            return self.default_category

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, source: str | None = None, prefix: str = "registry.mapping"
    ) -> ColumnMapping:
        """Build a mapping from configuration, checking every field.

        Args:
            d: the ``[registry.mapping]`` table.
            source: file it came from, for the error message.
            prefix: dotted name of the table, for the error message.

        Raises:
            ConfigError: naming the offending field (``registry.mapping.serial``).
        """
        for key in d:
            if key not in _KNOWN:
                raise ConfigError(f"{prefix}.{key}", "unknown key", source)
        values: dict[str, Any] = {}
        for key in (*_REQUIRED, *_OPTIONAL):
            value = d.get(key)
            if value is None:
                if key in _REQUIRED:
                    raise ConfigError(f"{prefix}.{key}", "required", source)
                continue
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{prefix}.{key}", "must be a non-empty column name", source)
            values[key] = value.strip()
        raw_codes = d.get("category_values", {})
        if not isinstance(raw_codes, Mapping):
            raise ConfigError(f"{prefix}.category_values", "must be a table", source)
        codes: dict[str, Category] = {}
        for code, name in raw_codes.items():
            try:
                codes[str(code)] = parse_category(str(name))
            except ValueError as exc:
                raise ConfigError(f"{prefix}.category_values.{code}", str(exc), source) from exc
        values["category_values"] = codes
        if "default_category" in d:
            try:
                values["default_category"] = parse_category(str(d["default_category"]))
            except ValueError as exc:
                raise ConfigError(f"{prefix}.default_category", str(exc), source) from exc
        if "category" not in values and "default_category" not in values:
            raise ConfigError(
                f"{prefix}.category", "set a category column or a default_category", source
            )
        return cls(**values)
