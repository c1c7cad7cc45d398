"""Revocation list round trip, freshness, and picking up new roots/CRLs without restart."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pki_fixtures import TestPKI

from certs import (
    CAFiles,
    CredentialFiles,
    PeerVerifier,
    ReloadingPeerVerifier,
    init_ca,
    issue_node_certificate,
    refresh_crl,
    revoke,
)
from fedlookup.errors import CertificateError, InputError, RevokedError


@pytest.fixture
def ca(tmp_path: Path) -> CAFiles:
    return init_ca(tmp_path / "ca", "CRL federation")


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_revoke_round_trip(ca: CAFiles, tmp_path: Path) -> None:
    keep = issue_node_certificate(ca, "DE", tmp_path / "DE")
    gone = issue_node_certificate(ca, "FR", tmp_path / "FR")
    before = PeerVerifier.from_files(ca.cert_path, ca.crl_path)
    assert before.verify(gone.cert_path.read_bytes()).country == "FR"
    crl = revoke(ca, gone.cert_path, "superseded")
    assert len(crl) == 1
    assert _crl_number(crl) == 2
    assert crl.is_signature_valid(ca.certificate().public_key())  # type: ignore[arg-type]
    after = PeerVerifier.from_files(ca.cert_path, ca.crl_path)
    with pytest.raises(RevokedError, match=r"\(superseded\)"):
        after.verify(gone.cert_path.read_bytes())
    assert after.verify(keep.cert_path.read_bytes()).country == "DE"
    ledger = {e["country"]: e for e in ca.ledger()}
    assert ledger["FR"]["revoked"]["reason"] == "superseded"
    assert ledger["DE"]["revoked"] is None


def test_revoking_twice_keeps_one_entry(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "DE", tmp_path / "DE")
    revoke(ca, files.cert_path)
    crl = revoke(ca, files.cert_path)
    assert len(crl) == 1
    assert _crl_number(crl) == 3


def test_revoke_refuses_foreign_certificate_and_unknown_reason(ca: CAFiles, tmp_path: Path) -> None:
    other = init_ca(tmp_path / "other", "other")
    foreign = issue_node_certificate(other, "DE", tmp_path / "foreign")
    with pytest.raises(InputError, match="not issued by this CA"):
        revoke(ca, foreign.cert_path)
    with pytest.raises(InputError, match="unknown revocation reason") as info:
        revoke(other, foreign.cert_path, "because")
    assert info.value.field == "reason"
    assert len(ca.crl()) == 0


def test_stale_crl_fails_closed_until_refreshed(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "DE", tmp_path / "DE")
    later = datetime.now(UTC) + timedelta(days=8)
    with pytest.raises(CertificateError, match="revocation list out of date"):
        PeerVerifier.from_files(ca.cert_path, ca.crl_path).verify(
            files.cert_path.read_bytes(), now=later
        )
    crl = refresh_crl(ca, days=14)
    assert _crl_number(crl) == 2
    fresh = PeerVerifier.from_files(ca.cert_path, ca.crl_path)
    assert fresh.verify(files.cert_path.read_bytes(), now=later).country == "DE"


def test_credential_files_report_each_change_once(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"1")
    b.write_bytes(b"1")
    watched = CredentialFiles([a, b])
    assert watched.changed() is False
    b.write_bytes(b"22")
    assert watched.changed() is True
    assert watched.changed() is False
    assert watched.read() == [b"1", b"22"]
    a.unlink()
    assert watched.changed() is True


def test_reloading_verifier_picks_up_a_revocation(test_pki: TestPKI, tmp_path: Path) -> None:
    ca = CAFiles(tmp_path / "ca")
    shutil.copytree(test_pki.ca.directory, ca.directory)
    verifier = ReloadingPeerVerifier([ca.cert_path], [ca.crl_path])
    assert verifier.verify(test_pki.pem("NL")).country == "NL"
    revoke(ca, test_pki.nodes["NL"].cert_path, "cessationOfOperation")
    with pytest.raises(RevokedError):
        verifier.verify(test_pki.pem("NL"))


def test_reloading_verifier_keeps_old_state_on_a_broken_file(
    test_pki: TestPKI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = CAFiles(tmp_path / "ca")
    shutil.copytree(test_pki.ca.directory, ca.directory)
    verifier = ReloadingPeerVerifier([ca.cert_path], [ca.crl_path])
    before = verifier.current
    ca.crl_path.write_bytes(b"half a CRL")
    assert verifier.verify(test_pki.pem("DE")).country == "DE"
    assert verifier.current is before
    assert "new files refused" in caplog.text
    # A CRL signed by another authority is refused the same way.
    shutil.copyfile(test_pki.other_ca.crl_path, ca.crl_path)
    with pytest.raises(RevokedError):
        verifier.verify(test_pki.pem("revoked"))
    assert verifier.current is before


def test_credential_files_see_a_same_size_rewrite_in_one_tick(tmp_path: Path) -> None:
    import os

    a = tmp_path / "a"
    a.write_bytes(b"one")
    before = os.stat(a)
    watched = CredentialFiles([a])
    with open(a, "r+b") as fh:
        fh.write(b"two")
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watched.changed() is True
    assert watched.changed() is False


def test_newest_of_two_crls_from_one_root_is_used(ca: CAFiles, tmp_path: Path) -> None:
    files = issue_node_certificate(ca, "DE", tmp_path / "DE")
    old = ca.crl()
    new = revoke(ca, files.cert_path, now=datetime.now(UTC) + timedelta(seconds=5))
    for order in ([old, new], [new, old]):
        verifier = PeerVerifier([ca.certificate()], order)
        with pytest.raises(RevokedError):
            verifier.verify(files.cert_path.read_bytes(), now=datetime.now(UTC) + timedelta(1))


def test_new_root_with_the_old_name(tmp_path: Path) -> None:
    old = init_ca(tmp_path / "old", "Same name")
    new = init_ca(tmp_path / "new", "Same name")
    files = issue_node_certificate(new, "NL", tmp_path / "NL")
    revoke(new, files.cert_path)
    verifier = PeerVerifier([old.certificate(), new.certificate()], [old.crl(), new.crl()])
    with pytest.raises(RevokedError):
        verifier.verify(files.cert_path.read_bytes())
