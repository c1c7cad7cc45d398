"""A mirror is bound to its author on disk too: real nodes, one attack each.

(a) A dishonest FR (its TLS *and* audit keys, running as its own process at FR's endpoint)
answers DE's delta request with a well-formed delta under a correctly signed head that
names a state the delta does not lead to (the delta hides one of FR's entries, the head
says "nothing changed"). DE must refuse it, ask for the full index, report FR
``unavailable`` when that fails, and keep both mirror files byte for byte.

(b) Between two runs of DE's ``fedlookup check``, DE's mirror of FR is edited on disk: a
stolen firearm's entries are removed and the file re-encoded with a valid checksum. DE must
discard the mirror on load (a WARNING naming FR and the reason), download it in full, and
find the hit again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import fedlookup, member_process
from reliability.relnet import RelNet, audit_kinds

from federation.index_build import evaluate_identifiers
from federation.index_format import IndexBlob, decode, encode
from federation.keys import EpochKeyStore
from federation.labels import LABEL_LENGTH, category_code, chain_heads

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelNet]:
    with RelNet.start(tmp_path_factory.mktemp("net"), ["DE", "FR"], records=5) as running:
        yield running


def _check(net: RelNet) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    run = fedlookup(
        "check", "--config", net.folder("DE") / "node.toml", "--peer", "FR",
        "--make", "Glock", "--serial", "FR000000", "--case", "C-1", "--purpose", "p", "--json",
    )  # fmt: skip
    fr: dict[str, str] = json.loads(run.stdout)["results"][0]["countries"]["FR"]
    return fr, run


def _mirror(net: RelNet) -> Path:
    return net.folder("DE") / "data" / "mirrors" / "FR.mirror"


def _firearm_tags(net: RelNet, make: str, serial: str, category: str) -> set[int]:
    """FR's index tags of one of its firearms (computed with FR's epoch key)."""
    config = net.network.nodes["FR"].config()
    key = EpochKeyStore(config.epoch_key_dir).current()
    items = config.identifier_rules().record_items(make, serial)
    codes = [category_code(category)] * len(items)
    tags: set[int] = set()
    for part in evaluate_identifiers(key.secret, key.epoch_id, items, codes, workers=1):
        for prk in part.prks:
            tags.update(chain_heads(prk))
    return tags


def test_a_mirror_edited_on_disk_is_discarded_and_the_hit_found_again(net: RelNet) -> None:
    assert _check(net)[0]["outcome"] == "hit"  # FR000000 is FR's stolen Glock
    path = _mirror(net)
    held = decode(path.read_bytes())
    gone = _firearm_tags(net, "Glock", "FR000000", "stolen") & set(held.tags)
    assert gone, "the firearm's entries are in DE's mirror"
    keep = [i for i, t in enumerate(held.tags) if t not in gone]
    labels = held.labels or b""
    edited = IndexBlob(
        held.country, held.epoch_id, 0, held.version, array("q", [held.tags[i] for i in keep]),
        b"".join(labels[i * LABEL_LENGTH : (i + 1) * LABEL_LENGTH] for i in keep),
        held.removed, len(keep), False,
    )  # fmt: skip
    path.write_bytes(encode(edited))  # a valid checksum: only the signed head tells
    fr, run = _check(net)
    assert fr["outcome"] == "hit", fr
    assert "discarding the mirror of FR" in run.stderr, run.stderr
    assert "not the state its signed head names" in run.stderr
    assert decode(path.read_bytes()).tags == held.tags  # downloaded again, in full


def test_a_delta_leading_to_an_unsigned_state_never_reaches_the_mirror(
    net: RelNet, tmp_path: Path
) -> None:
    assert _check(net)[0]["outcome"] == "hit"
    mirrors = _mirror(net).parent
    before = {p.name: p.read_bytes() for p in mirrors.iterdir() if p.is_file()}
    held = decode(before["FR.mirror"])
    kinds_before = audit_kinds(net.outgoing_dir("DE"))
    tls, record = net.folder("FR") / "tls", tmp_path / "calls.jsonl"
    net.procs.stop("FR")
    try:
        with member_process(
            "poisoner", "--port", str(net.ports["FR"]), "--cert", str(tls / "node.pem"),
            "--key", str(tls / "node.key"), "--ca", str(tls / "ca.pem"),
            "--audit-key", str(net.folder("FR") / "keys" / "audit.key"),
            "--epoch", held.epoch_id, "--version", "99", "--record", str(record),
            # The delta hides FR's first entry; the head says the state is what DE holds.
            "--delta-remove", str(held.tags[0]), "--delta-total", str(len(held.tags) - 1),
            "--state-sha256", hashlib.sha256(before["FR.mirror"]).hexdigest(),
        ):  # fmt: skip
            fr, run = _check(net)
    finally:
        net.start_again("FR")
    after = {p.name: p.read_bytes() for p in mirrors.iterdir() if p.is_file()}
    new_kinds = audit_kinds(net.outgoing_dir("DE"))[len(kinds_before) :]
    # What DE did: the delta refused for the state it leads to, FR unavailable, mirror kept.
    assert "refused a delta from FR" in run.stderr, run.stderr
    assert "leads to a state its signed head does not name" in run.stderr
    assert fr["outcome"] == "unavailable", fr
    assert after == before
    # What the member got: a delta request, then a full one; never a statement.
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert [c.get("since") for c in calls if c["method"] == "SyncIndex"] == [held.version, None]
    assert "Evaluate" not in {c["method"] for c in calls}
    assert "query_sent" not in new_kinds, new_kinds
