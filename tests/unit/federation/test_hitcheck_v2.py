"""The hit check with identifier rules v2: variable items per firearm, versions per peer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from federation_harness import Federation, Firearm
from pki_fixtures import TestPKI

from federation.hitcheck import HitCheck
from federation.hitcheck_types import CheckContext, Outcome
from federation.index import IndexInput
from federation.labels import Label, make_reference
from fedlookup.errors import InputError
from node.ask.check_items import check_item, refused_item
from registry_adapter.identifier_versions import IdentifierRules

CONTEXT = CheckContext("CASE-V2", "matching", "art. 1", "inv-2")
FR_RECORDS = [
    ("r1", "Glock Ges.m.b.H.", "No. 00AB12345"),
    ("r2", "?", "CD98765"),
    ("r3", "Ижмаш", "ВЛ 4711 08"),
    ("r4", "Beretta", "PX 204518 DE 2019"),
]


@pytest.fixture
def fed(tmp_path: Path, test_pki: TestPKI) -> Iterator[Federation]:
    f = Federation(tmp_path, test_pki)
    f.add_country("DE", [Firearm("d1", "Walther", "QQ77123")])
    fr = f.add_country("FR", [])
    rules = IdentifierRules(("v2",))
    fr.service.index.update(
        [
            IndexInput(rid, rules.record_items(make, serial),
                       Label("stolen", make_reference(fr.reference_key, "FR", rid)))
            for rid, make, serial in FR_RECORDS
        ],
        workers=1,
    )  # fmt: skip
    f.add_country("NL", [Firearm("n1", "Glock", "00AB12345", "lost")])  # indexed under v1
    f.countries["NL"].service.responder.identifier_version = "v1"
    yield f
    f.close()


def _check(fed: Federation, *countries: str) -> HitCheck:
    peers = [t for t in fed.transports("DE") if t.country in countries]
    return fed.hit_check("DE", peers=peers)


@pytest.mark.parametrize(
    ("make", "serial", "expected"),
    [
        ("GLOCK", "00-AB-12345", Outcome.HIT),  # label gone, same marking
        ("Glock", "AB12345", Outcome.POSSIBLE),  # leading zeros: a variant, never a hit
        ("Beretta", "CD98765", Outcome.POSSIBLE),  # registry make unknown
        ("-", "CD98765", Outcome.POSSIBLE),  # asker make unknown: serial only
        ("Kalashnikov Concern", "BL 471108", Outcome.HIT),  # Cyrillic read after shape
        ("Kalashnikov", "VL471108", Outcome.POSSIBLE),  # read by sound: a variant
        ("Beretta S.p.A.", "PX204518", Outcome.POSSIBLE),  # import mark dropped: a variant
        ("Glock", "AB12346", Outcome.NO_HIT),
    ],
)
def test_v2_outcomes(fed: Federation, make: str, serial: str, expected: Outcome) -> None:
    result = _check(fed, "FR").run([check_item(make, serial)], CONTEXT)
    assert result.answers[0]["FR"].outcome is expected


def test_quota_counts_every_item_and_refused_firearms_are_not_sent(fed: Federation) -> None:
    asked = [check_item("Glock", "AB12345"), check_item("?", "CD98765")]
    with pytest.raises(InputError):
        check_item("Glock", "sans numéro")
    asked.append(refused_item("Glock", "sans numéro", "line 4: serial: placeholder"))
    result = _check(fed, "FR").run(asked, CONTEXT)
    assert [a["FR"].outcome for a in result.answers] == [
        Outcome.POSSIBLE, Outcome.POSSIBLE, Outcome.NOT_CHECKED
    ]  # fmt: skip
    assert result.answers[2]["FR"].reason == "line 4: serial: placeholder"
    sent = sum(len(item.items()) for item in asked)
    assert sent == 2 + 1  # make+serial and serial; serial only (the variant is FR's)
    assert fed.countries["FR"].service.quotas.used("DE") == sent


def test_each_peer_gets_the_newest_version_it_speaks(fed: Federation) -> None:
    rules = IdentifierRules(("v1", "v2"))
    item = check_item("Glock", "00AB12345", rules)
    assert item.version == "v2"
    assert item.fallback is not None
    result = _check(fed, "FR", "NL").run([item], CONTEXT)
    assert result.answers[0]["FR"].outcome is Outcome.HIT
    assert result.answers[0]["NL"].outcome is Outcome.HIT  # NL's index is still v1
    assert fed.countries["NL"].service.quotas.used("DE") == 2  # v1: two items


def test_the_signed_directory_says_which_version_a_peer_speaks(fed: Federation) -> None:
    # NL's NodeInfo claims v2, but its index is still v1: the directory's word wins.
    fed.countries["NL"].service.responder.identifier_version = "v2"
    rules = IdentifierRules(("v1", "v2"))
    check = _check(fed, "NL")
    assert (
        check.run([check_item("Glock", "00AB12345", rules)], CONTEXT).answers[0]["NL"].outcome
        is Outcome.NO_HIT
    )
    check.versions = {"NL": "v1"}
    result = check.run([check_item("Glock", "00AB12345", rules)], CONTEXT)
    assert result.answers[0]["NL"].outcome is Outcome.HIT


def test_chunks_hold_whole_firearms_under_the_askers_own_limit(fed: Federation) -> None:
    # Variable items per firearm (1 to several), chunked under the smaller of the two
    # limits, fixed before the first request; every firearm is read back from its own items.
    asked = [
        check_item("GLOCK", "00-AB-12345"),
        check_item("-", "CD98765"),
        check_item("Kalashnikov", "VL471108"),
        check_item("Glock", "AB12346"),
        check_item("Beretta S.p.A.", "PX204518"),
    ]
    sizes = [len(item.under(frozenset({"v2"})).items()) for item in asked]
    assert max(sizes) > 2  # truly variable
    assert min(sizes) == 1
    limit = max(sizes)
    expected_chunks, total = 1, 0
    for n in sizes:
        if total + n > limit:
            expected_chunks, total = expected_chunks + 1, 0
        total += n
    assert expected_chunks > 1
    check = _check(fed, "FR")
    check.max_items_per_request = limit
    result = check.run(asked, CONTEXT)
    assert result.peers["FR"].status == "answered", result.peers["FR"]
    assert len(result.peers["FR"].request_ids) == expected_chunks
    assert [a["FR"].outcome for a in result.answers] == [
        Outcome.HIT, Outcome.POSSIBLE, Outcome.POSSIBLE, Outcome.NO_HIT, Outcome.POSSIBLE
    ]  # fmt: skip
