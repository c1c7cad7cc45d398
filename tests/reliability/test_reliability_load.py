"""Concurrent investigators against node processes on loopback, audited at both ends.

CI runs 5 investigators x 10 checks against 2 nodes; ``scripts/reliability.py load`` runs
the full 50 x 200 against 5 nodes. Either way: zero errors, and as many audit entries on
each side as queries answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loadrun import FAILED_OUTCOMES, run_load
from relnet import RelNet

pytestmark = pytest.mark.integration


def test_concurrent_investigators_zero_errors_and_full_audit(tmp_path: Path) -> None:
    with RelNet.start(tmp_path / "net", ["DE", "FR"], records=50) as net:
        result = run_load(net, investigators=5, checks=10)
    assert len(result.latencies_ms) == 50
    assert not result.errors, result.errors
    assert not any(result.outcomes[o] for o in FAILED_OUTCOMES)
    assert result.answered_queries == 50  # one query to the one peer per check
    assert result.logged_received == result.answered_queries
    assert result.logged_answered_receipts == result.answered_queries
