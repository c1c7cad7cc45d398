"""A category-restricted peer, end to end: DE's hit check against FR's real node service.

FR's policy lets DE see some categories only. FR's registry draws serials from a small
pool, so records of every category share identifiers (the review's case: a `stolen`
record whose serial a hidden `registered` record also holds). For random registries and
random policies, every answer DE gets equals a plaintext join of its items with FR's
records restricted to the policy: the outcome, and the labels (category and reference) of
every matching record it may see, none of the others.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from federation_harness import Federation
from federation_sim import Firearm, items
from pki_fixtures import TestPKI

from federation.hitcheck_types import CheckContext, Outcome
from federation.labels import CATEGORIES, make_reference
from registry_adapter.identifiers import record_identifiers

CONTEXT = CheckContext("CASE-13", "restricted view", "art. 1", "inv-3")


def _expected(
    fr: list[Firearm], view: set[str], make: str, serial: str, reference_key: bytes
) -> tuple[Outcome, list[tuple[str, str]]]:
    asked = record_identifiers(make, serial)
    visible = [r for r in fr if r.category in view]
    same = [r for r in visible if record_identifiers(r.make, r.serial) == asked]
    loose = [
        r for r in visible if record_identifiers(r.make, r.serial).serial_only == asked.serial_only
    ]
    found, outcome = (same, Outcome.HIT) if same else (loose, Outcome.POSSIBLE)
    if not found:
        return Outcome.NO_HIT, []
    labels = [(r.category, make_reference(reference_key, "FR", r.record_id)) for r in found]
    return outcome, sorted(labels)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_restricted_peer_finds_exactly_the_records_of_its_view(
    tmp_path: Path, test_pki: TestPKI, seed: int
) -> None:
    rng = random.Random(seed)
    view = set(rng.sample(CATEGORIES, rng.randint(1, 4)))
    fr = [
        Firearm(f"FR-{i}", rng.choice(["Glock", "Walther"]), f"FRX{rng.randrange(12):03d}",
                rng.choice(CATEGORIES))
        for i in range(60)
    ]  # fmt: skip
    fed = Federation(tmp_path, test_pki)
    try:
        fed.add_country("DE", [Firearm("DE-1", "Glock", "DEX001")])
        fed.add_country("FR", fr, policy={"peers": {"DE": {"categories": sorted(view)}}})
        asked = [*sorted({(r.make, r.serial) for r in fr}), ("Beretta", "FRX003"), ("CZ", "NONE1")]
        result = fed.hit_check("DE").run(items(asked), CONTEXT)
        assert result.complete, result.peers
        key = fed.countries["FR"].reference_key
        for (make, serial), per in zip(asked, result.answers, strict=True):
            got = per["FR"]
            labels = sorted((lb.category, lb.reference) for lb in got.labels)
            assert (got.outcome, labels) == _expected(fr, view, make, serial, key), (make, serial)
    finally:
        fed.close()
