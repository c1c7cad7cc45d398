"""``fedlookup node status`` for people: the status document as a table, nothing elided.

The JSON form (``--json``) is the document itself; this view shows the same fields, one
line each, with nested values (index, audit, quotas per peer) spelled out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

__all__ = ["status_table"]

_HEALTH_STYLE = {"SERVING": "green", "NOT_SERVING": "red"}


def _lines(value: Any) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "none"
        return "\n".join(f"{k}: {_lines(v)}" for k, v in value.items())
    return str(value)


def status_table(doc: Mapping[str, Any]) -> Table:
    """The node status document (:func:`node.ops.operations.node_status`) as a two-column table.

    Args:
        doc: the status document.

    Returns:
        A table with one row per field; values fold rather than being cut.
    """
    table = Table(title=f"Node {doc.get('country', '?')}", title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in doc.items():
        text = _lines(value)
        if key == "health":
            style = _HEALTH_STYLE.get(str(value), "yellow")
            text = f"[{style}]{text}[/]"
        elif key == "quotas_today" and isinstance(value, Mapping):
            text = _lines({peer: f"{items} items" for peer, items in value.items()})
        table.add_row(key.replace("_", " "), text)
    return table
