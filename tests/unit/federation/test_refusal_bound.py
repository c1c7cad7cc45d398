"""Refusals of one peer are logged one by one up to a bound per interval, then counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.refusal_bound import RefusalBound

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_past_the_bound_refusals_are_counted_then_written_once() -> None:
    bound = RefusalBound(per_interval=3, interval=60)
    admitted = [bound.admit("NL", "CountryMismatchError", T0) for _ in range(10)]
    assert admitted == [True] * 3 + [False] * 7
    assert bound.admit("FR", "PolicyRefusedError", T0)  # another peer has its own bound
    assert bound.due(T0 + timedelta(seconds=59)) == []  # the interval has not ended
    (entry,) = bound.due(T0 + timedelta(seconds=60))
    assert entry.kind == "refusals_aggregated"
    assert (entry["peer"], entry["count"]) == ("NL", 7)
    assert entry["reasons"] == "CountryMismatchError=7"
    assert bound.due(T0 + timedelta(seconds=61)) == []  # handed out once
    # A new interval logs one by one again.
    assert bound.admit("NL", "VerificationError", T0 + timedelta(seconds=61))


def test_reasons_are_counted_apart_and_flush_writes_everything() -> None:
    bound = RefusalBound(per_interval=1, interval=3600)
    for reason in ("B", "A", "B"):
        bound.admit("NL", reason, T0)
    (entry,) = bound.due(T0, flush=True)
    assert (entry["count"], entry["reasons"]) == (2, "A=1,B=1")


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="per_interval"):
        RefusalBound(per_interval=0)
