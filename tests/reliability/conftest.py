"""Fixtures of the reliability suite: a running two-country federation shared by the
read-only tests (fuzzing, mTLS refusals); destructive tests build their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from relnet import RelNet

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    """DE and FR nodes serving (FR may ask DE up to 1000 items per request)."""
    # Session-wide: the fuzzing and mTLS modules share it (faults and load build their own).
    with RelNet.start(tmp_path_factory.mktemp("relnet"), ["DE", "FR"], records=50) as running:
        yield running
