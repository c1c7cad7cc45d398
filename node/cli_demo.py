"""``fedlookup demo``: (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root application."""
