"""Fixtures of the audit tests: keys and logs under tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditLog, generate_key


@pytest.fixture(scope="session")
def keys() -> dict[str, Ed25519PrivateKey]:
    return {c: generate_key() for c in ("FR", "DE", "IT")}


@pytest.fixture
def open_log(
    tmp_path: Path, keys: dict[str, Ed25519PrivateKey]
) -> Iterator[Callable[[str], AuditLog]]:
    """Open a country's log under tmp_path; every log opened is closed after the test."""
    opened: list[AuditLog] = []

    def _open(country: str, **kwargs: float) -> AuditLog:
        log = AuditLog.open(
            tmp_path / country,
            f"fedlookup.test/{country}",
            keys[country],
            country=country,
            **kwargs,
        )
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()
