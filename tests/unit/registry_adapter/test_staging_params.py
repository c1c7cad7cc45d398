"""The SQLite staging parameters hold the same timestamp text as SQLAlchemy's DateTime."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from registry_adapter.parse import Row
from registry_adapter.staging import _sqlite_params


def test_timestamp_text_is_isoformat_with_microseconds_without_offset() -> None:
    rng = random.Random(5)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]
    for n in range(20_000):
        at = datetime(
            rng.choice((1, 999, 1970, 2001, 2026, 9999)), rng.randint(1, 12), rng.randint(1, 28),
            rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
            rng.choice((0, 0, 1, 999_999, rng.randint(0, 999_999))), tzinfo=rng.choice(zones),
        )  # fmt: skip
        row = Row(n, f"R{n}", "Glock", "17", "9mm", "AB123", "stolen", at, rng.choice((None, "x")))
        params = _sqlite_params(row)
        assert params[7] == at.isoformat(sep=" ", timespec="microseconds")[:26]
        assert len(params[7]) == 26
        assert params[:7] == tuple(row[:7])
        assert params[8] == row.notes
